"""Article sentiment: VADER for English, Pattern lexicons for Dutch, French and German."""

import dataclasses
import time

import pytest

from newsbeam.transforms.enrich.sentiment import MAX_CHARS, Sentiment, SentimentScorer, label_for


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
        "Le gouvernement présente un excellent plan pour des logements abordables.",
        "L'équipe a livré une magnifique performance et les supporters étaient heureux.",
    ],
    "de": [
        "Die Regierung stellt einen hervorragenden Plan für bezahlbare Wohnungen vor.",
        "Die Mannschaft zeigte eine großartige Leistung und die Fans waren sehr glücklich.",
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
    "de": [
        "Eine schreckliche Katastrophe fordert viele Tote.",
        "Das Wetter war schlecht und die Mannschaft erlitt eine bittere, enttäuschende Niederlage.",
    ],
}


@pytest.mark.parametrize(("language", "text"), [(lang, t) for lang, texts in POSITIVE.items() for t in texts])
def test_clearly_positive_news(scorer, language, text):
    result = scorer.score(text, language)
    assert result.score > 0.05 and result.label == "positive"


@pytest.mark.parametrize(("language", "text"), [(lang, t) for lang, texts in NEGATIVE.items() for t in texts])
def test_clearly_negative_news(scorer, language, text):
    result = scorer.score(text, language)
    assert result.score < -0.05 and result.label == "negative"


@pytest.mark.parametrize(
    ("language", "plain", "negated"),
    [
        ("nl", "Het resultaat is goed.", "Het resultaat is niet goed."),
        ("nl", "Het is een goede zaak.", "Het is geen goede zaak."),
        ("en", "The result is good.", "The result is not good."),
        ("fr", "Le résultat est bon.", "Le résultat n'est pas bon."),
        ("fr", "bon", "pas bon"),
        ("de", "Das Ergebnis ist gut.", "Das Ergebnis ist nicht gut."),
        ("de", "Das ist ein Erfolg.", "Das ist kein Erfolg."),
        ("nl", "Het is slecht.", "Het is niet zo slecht."),  # "not so bad": negative becomes mildly positive
    ],
)
def test_negation_flips_the_sign(scorer, language, plain, negated):
    before, after = scorer.score(plain, language).score, scorer.score(negated, language).score
    assert before * after < 0
    assert abs(after) < abs(before)


@pytest.mark.parametrize(
    ("language", "plain", "intensified"),
    [
        ("nl", "Het resultaat is goed.", "Het resultaat is zeer goed."),
        ("en", "The result is good.", "The result is very good."),
        ("fr", "Le résultat est bon.", "Le résultat est très bon."),
        ("de", "Die Lage ist bitter.", "Die Lage ist sehr bitter."),
    ],
)
def test_intensifier_strengthens(scorer, language, plain, intensified):
    assert abs(scorer.score(intensified, language).score) > abs(scorer.score(plain, language).score)


def test_negation_does_not_cross_a_clause(scorer):
    assert scorer.score("Niet alles lukte, maar het resultaat is goed.", "nl").score > 0


def test_inflected_forms_are_found(scorer):
    assert scorer.score("een mooie, sterke en goede prestatie", "nl").score > 0.5
    assert scorer.score("schlechte Nachrichten und schlechteren Aussichten", "de").score < -0.5
    assert scorer.score("Die Lage verbessert sich.", "de").score > 0


@pytest.mark.parametrize("language", ["es", "it", "xx", "und", None, "", "../../x"])
def test_unsupported_language_returns_none(scorer, language):
    assert scorer.score("Una noticia excelente y maravillosa.", language) is None


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
@pytest.mark.parametrize("language", ["nl", "en", "fr", "de"])
def test_empty_text_returns_none(scorer, text, language):
    assert scorer.score(text, language) is None


def test_text_without_sentiment_words_is_neutral(scorer):
    for language, text in [("nl", "De vergadering begint om negen uur."), ("de", "Die Sitzung beginnt um neun Uhr.")]:
        assert scorer.score(text, language) == Sentiment(0.0, "neutral", f"pattern-{language}-lexicon")


def test_language_tags_are_normalised(scorer):
    assert scorer.score("Het resultaat is goed.", "nl-BE") == scorer.score("Het resultaat is goed.", "nl")
    assert scorer.score("Das Ergebnis ist gut.", "ger").method == "pattern-de-lexicon"


def test_method_names(scorer):
    assert scorer.score("Good news.", "en").method == "vader-3.3.2"
    assert {scorer.score("x", lang).method for lang in ("nl", "fr", "de")} == {
        "pattern-nl-lexicon", "pattern-fr-lexicon", "pattern-de-lexicon"
    }  # fmt: skip
    assert SentimentScorer.supported_languages == {"en", "nl", "fr", "de"}


@pytest.mark.parametrize("language", ["nl", "en", "fr", "de"])
def test_scores_stay_within_bounds(scorer, language):
    texts = POSITIVE[language] + NEGATIVE[language]
    extreme = " ".join(["Zeer zeer zeer goed!!! Great, AMAZING, très très bon, sehr sehr gut."] * 50)
    for text in texts + [extreme, " ".join(NEGATIVE[language] * 40)]:
        result = scorer.score(text, language)
        assert -1.0 <= result.score <= 1.0
        assert result.label == label_for(result.score)


def test_long_articles_average_over_sentences(scorer):
    positive = POSITIVE["en"][0]
    factual = " ".join(["The meeting starts at nine and lasts two hours."] * 9)
    alone, diluted = scorer.score(positive, "en").score, scorer.score(f"{positive} {factual}", "en").score
    assert 0 < diluted < alone
    assert diluted == pytest.approx(alone / 10, abs=1e-3)


def test_only_a_bounded_prefix_is_scored(scorer):
    text = " ".join([NEGATIVE["nl"][0]] * (MAX_CHARS // 40)) + " " + " ".join([POSITIVE["nl"][0]] * 5000)
    start = time.perf_counter()
    assert scorer.score(text, "nl").label == "negative"
    assert time.perf_counter() - start < 2.0


def test_label_thresholds():
    assert [label_for(s) for s in (-1.0, -0.05, -0.0499, 0.0, 0.0499, 0.05, 1.0)] == [
        "negative", "negative", "neutral", "neutral", "neutral", "positive", "positive"
    ]  # fmt: skip


def test_sentiment_is_frozen(scorer):
    result = scorer.score("Good news.", "en")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 0.0
