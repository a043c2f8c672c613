"""Article sentiment: a news classifier for English, calibrated lexicons for Dutch and French, null elsewhere."""

import dataclasses
import importlib.resources
import time

import numpy as np
import pytest

from newsbeam.transforms.enrich.sentiment import MAX_CHARS, Sentiment, SentimentScorer, _model, _sentences, label_for
from newsbeam.transforms.enrich.sentiment_model import LABEL_ORDER, LinearModel


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return SentimentScorer()


POSITIVE = {
    "nl": [
        "Het kabinet presenteert een uitstekend plan voor betaalbare woningen.",
        "Het team leverde een prachtige prestatie en de fans waren zeer tevreden.",
    ],
    "en": [
        "The government unveiled an excellent plan for affordable housing.",
        "The team delivered a wonderful performance and the fans were delighted.",
    ],
    "fr": [
        "Le gouvernement présente un excellent plan, une très bonne nouvelle pour les familles.",
        "L'équipe a livré une magnifique performance et les supporters étaient heureux.",
    ],
}
NEGATIVE = {
    "nl": [
        "Een vreselijke ramp kost tientallen mensen het leven.",
        "Het weer was slecht en de wedstrijd werd een teleurstellende nederlaag.",
    ],
    "en": [
        "A terrible disaster killed dozens of people.",
        "The weather was awful and the match ended in a disappointing defeat.",
    ],
    "fr": [
        "Une terrible catastrophe a fait des dizaines de morts.",
        "Le temps était mauvais et le match s'est terminé par une triste défaite.",
    ],
}


@pytest.mark.parametrize(("language", "text"), [(lang, t) for lang, texts in POSITIVE.items() for t in texts])
def test_clearly_positive_news(scorer, language, text):
    result = scorer.score(text, language)
    assert result.score > 0 and result.label == "positive" and result.positive_share == 1.0


@pytest.mark.parametrize(("language", "text"), [(lang, t) for lang, texts in NEGATIVE.items() for t in texts])
def test_clearly_negative_news(scorer, language, text):
    result = scorer.score(text, language)
    assert result.score < 0 and result.label == "negative" and result.negative_share == 1.0


@pytest.mark.parametrize(
    ("language", "plain", "negated"),
    [
        ("nl", "Het resultaat is goed.", "Het resultaat is niet goed."),
        ("nl", "Het is een goede zaak.", "Het is geen goede zaak."),
        ("en", "The result is good.", "The result is not good."),
        ("fr", "Le résultat est bon.", "Le résultat n'est pas bon."),
        ("nl", "Het is slecht.", "Het is niet zo slecht."),  # "not so bad": negative becomes mildly positive
    ],
)
def test_negation_flips_the_sign(scorer, language, plain, negated):
    assert scorer.score(plain, language).score * scorer.score(negated, language).score < 0


@pytest.mark.parametrize(
    ("language", "plain", "intensified"),
    [
        ("nl", "Het resultaat is goed.", "Het resultaat is zeer goed."),
        ("en", "The result is good.", "The result is very good."),
        ("fr", "Le résultat est bon.", "Le résultat est très bon."),
    ],
)
def test_intensifier_strengthens(scorer, language, plain, intensified):
    assert abs(scorer.score(intensified, language).score) > abs(scorer.score(plain, language).score)


def test_negation_does_not_cross_a_clause(scorer):
    assert scorer.score("Niet alles lukte, maar het resultaat is goed.", "nl").score > 0


def test_inflected_forms_are_found(scorer):
    assert scorer.score("een mooie, sterke en goede prestatie", "nl").score > 0
    assert scorer.score("Les résultats sont mauvais et les perspectives mauvaises.", "fr").score < 0


@pytest.mark.parametrize(
    ("language", "text"),
    [("nl", "De oorlog en de invasie zorgden voor paniek."), ("fr", "La guerre et l'invasion ont semé la panique.")],
)
def test_news_nouns_carry_polarity_where_adjective_lexicons_do_not(scorer, language, text):
    assert scorer.score(text, language).label == "negative"


@pytest.mark.parametrize("text", ["Eine schreckliche Katastrophe fordert viele Tote.", "Ein großartiger Erfolg."])
def test_german_gets_a_null_score_because_nothing_beat_always_neutral(scorer, text):
    result = scorer.score(text, "de")
    assert result == Sentiment(None, None, "none: no method above always-neutral on held-out German news")
    assert scorer.score(text, "de-AT") == result


@pytest.mark.parametrize(("language", "expected"), [("es", "es"), ("it", "it"), ("xx", "und"), ("und", "und"),
                                                    (None, "und"), ("", "und"), ("../../x", "und")])  # fmt: skip
def test_other_languages_get_a_null_score_and_the_reason(scorer, language, expected):
    result = scorer.score("Una noticia excelente y maravillosa.", language)
    assert result == Sentiment(None, None, f"none: no validated method for language {expected}")


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
@pytest.mark.parametrize("language", ["nl", "en", "fr", "de", "es"])
def test_empty_text_returns_none(scorer, text, language):
    assert scorer.score(text, language) is None


def test_text_without_sentiment_words_is_neutral(scorer):
    for language, text in [("nl", "De vergadering begint om negen uur."), ("en", "The meeting starts at nine."),
                           ("fr", "La réunion commence à neuf heures.")]:  # fmt: skip
        result = scorer.score(text, language)
        assert result.label == "neutral" and abs(result.score) < _model(language).band
        assert result.negative_share == result.positive_share == 0.0
    assert scorer.score("De vergadering begint om negen uur.", "nl").score == 0.0  # the lexicon map is centred


def test_language_tags_are_normalised(scorer):
    assert scorer.score("Het resultaat is goed.", "nl-BE") == scorer.score("Het resultaat is goed.", "nl")
    assert scorer.score("The result is good.", "eng").method == "classifier-en-2"


def test_method_names_and_models_ship_with_the_package(scorer):
    assert {lang: scorer.score("x", lang).method for lang in ("en", "nl", "fr")} == {
        "en": "classifier-en-2", "nl": "lexicon-nl-1", "fr": "lexicon-fr-1"
    }  # fmt: skip
    assert SentimentScorer.supported_languages == {"en", "nl", "fr"}
    data = importlib.resources.files("newsbeam").joinpath("data/sentiment")
    assert sum(data.joinpath(f"model-{name}.npz").stat().st_size for name in ("en", "lexicon")) < 5_000_000


@pytest.mark.parametrize("language", ["nl", "en", "fr"])
def test_scores_and_shares_stay_within_bounds(scorer, language):
    texts = POSITIVE[language] + NEGATIVE[language]
    extreme = " ".join(["Zeer zeer zeer goed!!! Great, AMAZING, très très bon, sehr sehr gut."] * 50)
    for text in texts + [extreme, " ".join(NEGATIVE[language] * 40)]:
        result = scorer.score(text, language)
        assert -1.0 <= result.score <= 1.0
        assert 0.0 <= result.negative_share <= 1.0 and 0.0 <= result.positive_share <= 1.0
        assert result.negative_share + result.positive_share <= 1.0


@pytest.mark.parametrize(("argmax", "expected"), [(True, "neutral"), (False, "positive")])
def test_a_model_labels_sentences_by_its_decision_rule(argmax, expected):
    # P(negative, neutral, positive) = 0.1, 0.5, 0.4: score 0.3 is above the band, yet neutral is most probable.
    model = LinearModel("t", "de", 0, "pattern-de", 0.2, np.zeros((3, 3), np.float32), np.log([0.1, 0.5, 0.4]),
                        argmax=argmax)  # fmt: skip
    scores, classes = model.predict(["Die Sitzung beginnt um neun."])
    assert scores[0] == pytest.approx(0.3)
    assert LABEL_ORDER[classes[0]] == expected


def test_english_sentences_are_labelled_by_their_most_probable_class(scorer):
    sentences = POSITIVE["en"] + NEGATIVE["en"] + ["The meeting starts at nine and lasts two hours."]
    scores, classes = scorer.sentence_predictions(sentences, "en")
    assert _model("en").argmax and list(scores) == list(scorer.sentence_scores(sentences, "en"))
    assert [LABEL_ORDER[c] for c in classes] == ["positive"] * 2 + ["negative"] * 2 + ["neutral"]
    result = scorer.score(" ".join(sentences), "en")
    assert (result.positive_share, result.negative_share) == (0.4, 0.4)


def test_article_score_is_the_mean_of_its_sentence_scores(scorer):
    text = " ".join([POSITIVE["en"][0], NEGATIVE["en"][0], "The meeting starts at nine and lasts two hours."])
    sentences = _sentences(text)
    assert len(sentences) == 3
    expected = float(np.mean(scorer.sentence_scores(sentences, "en")))
    assert scorer.score(text, "en").score == pytest.approx(expected, abs=1e-4)


def test_shares_tell_a_mixed_article_from_a_neutral_one(scorer):
    factual = " ".join(["The meeting starts at nine and lasts two hours."] * 4)
    mixed = " ".join(POSITIVE["en"] + NEGATIVE["en"])
    neutral, both = scorer.score(factual, "en"), scorer.score(mixed, "en")
    assert neutral.negative_share == neutral.positive_share == 0.0
    assert both.negative_share == both.positive_share == 0.5
    assert neutral.label == both.label == "neutral"


def test_a_negative_article_with_many_factual_sentences_is_labelled_negative(scorer):
    factual = " ".join(["De vergadering begint om negen uur en duurt twee uur."] * 6)
    result = scorer.score(f"{NEGATIVE['nl'][0]} {NEGATIVE['nl'][1]} {factual}", "nl")
    assert result.negative_share == pytest.approx(0.25) and result.positive_share == 0.0
    assert result.label == "negative"


# Written for this test in the manner of the reference article (a retreat reported in Dutch news): facts, quotes,
# a chaotic flight and abandoned materiel, a success for the other side.
RETREAT_NL = """ date 2022-09 De terugtrekking van het leger verloopt dermate chaotisch dat veel voertuigen en munitie
zijn achtergelaten. Soldaten zouden van hun posities wegrennen, zeggen getuigen.

Op beelden is te zien hoe tanks in beslag worden genomen. Een officier beschrijft de paniek van de troepen.
Door aanvallen op centrales viel de stroom in grote delen van de provincie weg.

Het succes doet veel goed voor het moraal, maar de oorlog is nog niet voorbij. Het ministerie zegt maandag dat
het beschietingen uitvoert op de verloren gebieden."""


def test_a_report_of_a_chaotic_retreat_is_negative(scorer):
    result = scorer.score(RETREAT_NL, "nl")
    assert result.score < 0 and result.label == "negative"
    assert result.negative_share > result.positive_share


def test_only_a_bounded_prefix_is_scored(scorer):
    text = " ".join([NEGATIVE["nl"][0]] * (MAX_CHARS // 40)) + " " + " ".join([POSITIVE["nl"][0]] * 5000)
    start = time.perf_counter()
    assert scorer.score(text, "nl").label == "negative"
    assert time.perf_counter() - start < 2.0


def test_label_thresholds():
    assert [label_for(s, 0.2) for s in (-1.0, -0.2, -0.1999, 0.0, 0.1999, 0.2, 1.0)] == [
        "negative", "negative", "neutral", "neutral", "neutral", "positive", "positive"
    ]  # fmt: skip


def test_sentiment_is_frozen(scorer):
    result = scorer.score("Good news.", "en")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 0.0
