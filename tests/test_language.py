"""Declared language tags and lingua-based language detection."""

import pickle
import re
from types import SimpleNamespace

import pytest

from newsbeam.transforms.normalise import language
from newsbeam.transforms.normalise.language import LanguageDetector, normalise_language_tag


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("nl-NL", "nl"), ("IT-it", "it"), ("en_US", "en"), ("EN", "en"), (" fr-BE ", "fr"), ("pt-BR", "pt"),
        ("zh-Hant-TW", "zh"), ("fre", "fr"), ("fra", "fr"), ("ger", "de"), ("deu", "de"), ("dut", "nl"),
        ("nld", "nl"), ("eng", "en"), ("spa", "es"), ("nb-NO", "no"), ("nn", "no"), ("nor", "no"), ("iw", "he"),
    ],
)  # fmt: skip
def test_normalise_language_tag_to_iso_639_1(tag, expected):
    assert normalise_language_tag(tag) == expected


@pytest.mark.parametrize(
    "tag", [None, "", "   ", "../../x", "xx-yy-zz-!!", "12", "xx", "und", "english", "en/../../etc", "e", "en-", "qaa"]
)
def test_normalise_language_tag_rejects_garbage(tag):
    assert normalise_language_tag(tag) is None


def test_normalised_tags_are_safe_path_segments():
    junk = ["en\x00", "nl;drop", "fr\n", "de-DE-1996", "EN-us-x-private", "sr-Latn", "é", "..", "en-GB-oxendict"]
    for tag in junk:
        result = normalise_language_tag(tag)
        assert result is None or re.fullmatch(r"[a-z]{2,3}", result)


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    """The production configuration (default languages and accuracy policy), loaded once for the module."""
    return LanguageDetector()


CLEAR = {
    "nl": "Het kabinet wil volgend jaar meer geld uittrekken voor de versterking van de dijken langs de rivieren.",
    "en": "The government plans to spend more money next year on strengthening the dikes along the rivers.",
    "fr": "Le gouvernement prévoit de consacrer davantage d'argent l'an prochain au renforcement des digues.",
    "de": "Die Regierung will im nächsten Jahr mehr Geld für die Verstärkung der Deiche an den Flüssen ausgeben.",
    "es": "El gobierno prevé destinar más dinero el próximo año al refuerzo de los diques de los ríos.",
    "it": "Il governo prevede di spendere più soldi il prossimo anno per il rafforzamento degli argini dei fiumi.",
    "pl": "Rząd planuje w przyszłym roku wydać więcej pieniędzy na wzmocnienie wałów wzdłuż rzek.",
    "ru": "Правительство планирует в следующем году потратить больше денег на укрепление дамб вдоль рек.",
    "uk": "Уряд планує наступного року витратити більше грошей на зміцнення дамб уздовж річок.",
    "no": "Regjeringen vil neste år bruke mer penger på å forsterke dikene langs elvene.",
    "ja": "政府は来年、河川沿いの堤防の強化により多くの予算を充てる計画だ。",
    "ar": "تخطط الحكومة لإنفاق المزيد من الأموال العام المقبل على تقوية السدود على طول الأنهار.",
}


@pytest.mark.parametrize("code", sorted(CLEAR))
def test_detects_clear_sentences(detector, code):
    detected, confidence = detector.detect(CLEAR[code])
    assert detected == code
    assert 0.5 < confidence <= 1.0


@pytest.mark.parametrize("text", ["", "   ", "12345 !!!", "OK", "—", "2-1"])
def test_empty_or_letterless_text_is_undetermined(detector, text):
    assert detector.detect(text) == ("und", None)


def test_hint_never_overrides_a_clear_detection(detector):
    assert detector.detect(CLEAR["nl"], hint="en-GB")[0] == "nl"
    assert detector.detect(CLEAR["de"], hint="nl")[0] == "de"


def test_hint_settles_an_ambiguous_short_text(detector):
    code, confidence = detector.detect("Station Zuid")
    assert (code, confidence) == ("und", 0.0)
    hinted, hinted_confidence = detector.detect("Station Zuid", hint="nl-NL")
    assert hinted == "nl" and 0.0 < hinted_confidence <= 1.0


def test_garbage_hint_is_ignored(detector):
    assert detector.detect(CLEAR["fr"], hint="../../x")[0] == "fr"


ENGLISH_BODY = [
    "Engineers inspected the embankments after a week of heavy rain across the region.",
    "Officials said the work would start in spring and last for about three years.",
    "Residents living near the river were told that no evacuation was needed for now.",
    "The minister is expected to present the detailed budget to parliament next month.",
    "Farmers welcomed the decision but asked for compensation for the land they lose.",
    "Insurance companies have raised premiums in areas that flooded twice in a decade.",
    "Scientists warn that extreme weather will become more frequent in the coming years.",
    "A spokesperson for the water board declined to comment on the estimated costs.",
]


def test_only_a_bounded_prefix_is_read(detector):
    # lingua counts distinct n-grams, so the English part must not be one sentence repeated.
    text = CLEAR["nl"] + " " + " ".join(ENGLISH_BODY * 40)
    assert len(text) > 20_000
    assert detector.detect(text)[0] == "en"
    assert LanguageDetector(max_chars=len(CLEAR["nl"]) + 5).detect(text)[0] == "nl"


class _FakeLingua:
    """Stands in for lingua's detector: fixed confidence values, so the hint policy is tested exactly."""

    def __init__(self, values: dict[str, float]):
        self.values = values

    def compute_language_confidence_values(self, text):
        ordered = sorted(self.values.items(), key=lambda item: -item[1])
        return [
            SimpleNamespace(language=SimpleNamespace(iso_code_639_1=SimpleNamespace(name=code.upper())), value=value)
            for code, value in ordered
        ]

    def compute_language_confidence_values_in_parallel(self, texts):
        return [self.compute_language_confidence_values(text) for text in texts]


def _with_values(monkeypatch, values: dict[str, float]) -> LanguageDetector:
    fake = _FakeLingua(values)
    monkeypatch.setattr(language, "_shared", lambda key: fake)
    return LanguageDetector(("nl", "de", "en", "nb", "nn"))


@pytest.mark.parametrize(
    ("values", "hint", "expected"),
    [
        ({"de": 0.55, "nl": 0.40, "en": 0.05}, None, ("de", 0.55)),
        ({"de": 0.55, "nl": 0.40, "en": 0.05}, "nl", ("nl", 0.40)),  # near-tie: the hint decides
        ({"de": 0.70, "nl": 0.30}, "nl", ("de", 0.70)),  # clear detection: the hint is ignored
        ({"de": 0.15, "nl": 0.10, "en": 0.05}, None, ("und", 0.0)),  # ambiguous
        ({"de": 0.15, "nl": 0.10, "en": 0.05}, "nl", ("nl", 0.10)),
        ({"de": 0.15, "nl": 0.10, "en": 0.05}, "de", ("de", 0.15)),  # hint agrees with a weak best candidate
        ({"de": 0.15, "nl": 0.10, "en": 0.05}, "fr", ("und", 0.0)),  # not a candidate
        ({"nb": 0.30, "nn": 0.25, "de": 0.45}, None, ("no", 0.55)),  # Bokmål and Nynorsk add up
        ({"de": 0.0, "nl": 0.0}, "nl", ("und", None)),  # lingua found no signal
    ],
)
def test_detection_policy(monkeypatch, values, hint, expected):
    code, confidence = _with_values(monkeypatch, values).detect(ENGLISH_BODY[0] + " " + ENGLISH_BODY[1], hint)
    assert code == expected[0]
    assert confidence == (None if expected[1] is None else pytest.approx(expected[1]))


def test_nothing_is_built_until_first_use_and_models_are_shared(monkeypatch):
    built = []
    monkeypatch.setattr(language, "_SHARED", {})
    fake = _FakeLingua({"nl": 1.0})
    monkeypatch.setattr(language, "_build", lambda *key: built.append(key) or fake)
    first, second = LanguageDetector(("nl", "en")), LanguageDetector(("en", "nl"))
    assert built == []
    assert first.detect("goedemorgen allemaal") == ("nl", 1.0)
    assert second.detect("nog een zin") == ("nl", 1.0)
    assert built == [(("en", "nl"), True, True)]  # low accuracy, preloaded; one candidate: nothing to refine


def test_detector_pickles_without_its_models(detector):
    clone = pickle.loads(pickle.dumps(detector))
    assert clone.detect(CLEAR["de"])[0] == "de"


def test_unknown_candidate_language_is_rejected_on_build():
    with pytest.raises(ValueError, match="xx"):
        LanguageDetector(("nl", "xx")).load()


EARNINGS_TABLE = (
    "NORTHWIND TRADING CORP 3RD QTR NET\n\nShr 41 cts vs 37 cts\nNet 2,817,000 vs 2,540,000\n"
    "Revs 61.2 mln vs 55.9 mln\nNine mths\nShr 1.12 dlrs vs 98 cts\nNet 7,702,000 vs 6,731,000\n"
    "Revs 176.4 mln vs 160.3 mln\nAvg shrs 6,880,000 vs 6,850,000"
)


def test_short_and_word_poor_samples_are_refined():
    detector = LanguageDetector()
    assert detector._needs_refining("Kort bericht over de dijken")
    assert detector._needs_refining(EARNINGS_TABLE)
    assert not detector._needs_refining(CLEAR["nl"] + " " + CLEAR["nl"])
    assert not LanguageDetector(low_accuracy=True)._needs_refining("Kort bericht")
    assert not LanguageDetector(accurate_below=None)._needs_refining("Kort bericht")


def test_refinement_rescores_the_top_candidates_and_the_hint_with_high_accuracy(monkeypatch):
    low = _FakeLingua({"lt": 0.90, "fr": 0.06, "sv": 0.03, "en": 0.01, "de": 0.0})
    high = _FakeLingua({"en": 0.62, "lt": 0.30, "fr": 0.08})  # what lingua's high-accuracy models say
    asked, preloaded = [], []
    monkeypatch.setattr(language, "_shared", lambda key: low if key[1] else asked.append(key) or high)
    monkeypatch.setattr(language, "_build", lambda *key: preloaded.append(key))
    monkeypatch.setattr(language, "_ACCURATE", {"nl"})  # already loaded by an earlier batch
    detector = LanguageDetector(refine_candidates=2)
    assert detector.detect(EARNINGS_TABLE, hint="nl") == ("en", pytest.approx(0.62))
    assert asked == [(("fr", "lt", "nl"), False, False)]  # top 2 plus the hint
    assert preloaded == [(("fr", "lt"), False, True)]  # the models not loaded yet, in one parallel build
    assert detector.detect(CLEAR["nl"] + " " + CLEAR["nl"]) == ("lt", pytest.approx(0.90))  # prose: not refined
    assert len(asked) == 1
    high.values = {"lt": 0.40, "fr": 0.35, "nl": 0.25}  # refined, but no clear winner
    assert detector.detect(EARNINGS_TABLE) == ("und", 0.0)


def test_a_batch_is_detected_as_each_text_alone(detector):
    texts = [CLEAR["nl"], "12345 !!!", EARNINGS_TABLE, "Station Zuid", CLEAR["fr"], ""]
    hints = [None, None, None, "nl-NL", "de", None]
    batch, alone = detector.detect_many(texts, hints), [detector.detect(text, hint) for text, hint in zip(texts, hints)]
    assert [code for code, _ in batch] == [code for code, _ in alone]
    assert (batch[0][0], batch[1], batch[3][0], batch[4][0], batch[5]) == ("nl", ("und", None), "nl", "fr", ("und", None))
    assert [confidence for _, confidence in batch] == [pytest.approx(c) if c else c for _, c in alone]
    assert detector.detect_many(["", "!!!"], [None, "nl"]) == [("und", None), ("und", None)]


def test_a_batch_loads_its_refinement_models_once(monkeypatch):
    preloaded, build = [], language._build
    monkeypatch.setattr(language, "_ACCURATE", set())
    monkeypatch.setattr(language, "_build", lambda *key: preloaded.append(key) or build(*key))
    detector = LanguageDetector(("nl", "en", "fr", "de"))
    detector.detect_many([EARNINGS_TABLE, "Kort bericht over de dijken", CLEAR["de"]], [None, None, None])
    refinement_builds = [key for key in preloaded if key[1:] == (False, True)]
    assert len(refinement_builds) == 1 and set(refinement_builds[0][0]) <= {"nl", "en", "fr", "de"}
    detector.detect_many([EARNINGS_TABLE, "Kort bericht over de dijken"], [None, None])
    assert [key for key in preloaded if key[1:] == (False, True)] == refinement_builds  # loaded once per process


def test_refinement_models_can_load_in_steps(monkeypatch):
    preloaded, build = [], language._build
    monkeypatch.setattr(language, "_ACCURATE", set())
    monkeypatch.setattr(language, "_build", lambda *key: preloaded.append(key) or build(*key))
    detector = LanguageDetector(("nl", "en", "fr", "de"))
    _, refinements = detector.first_pass([EARNINGS_TABLE, "Kort bericht over de dijken"], [None, "nl"])
    needed = {code for refinement in refinements for code in refinement.codes}
    steps = 1
    while not detector.load_refinement_models(refinements, at_most=2):
        steps += 1
    assert len(needed) >= 3 and steps == (len(needed) + 1) // 2  # two models per step
    step_builds = [key[0] for key in preloaded if key[1:] == (False, True)]
    assert len(step_builds) == steps and all(len(codes) <= 2 for codes in step_builds) and language._ACCURATE == needed
    assert detector.load_refinement_models(refinements, at_most=2)  # nothing left to load
    refined = {i: code for i, (code, _) in detector.refine(refinements).items()}
    assert refined == {0: detector.detect(EARNINGS_TABLE)[0], 1: "nl"}


def test_earnings_table_is_not_given_a_foreign_language(detector):
    # lingua's low-accuracy models alone label such tables Lithuanian, French or Swedish with high confidence.
    assert detector.detect(EARNINGS_TABLE)[0] in ("en", "und")


def test_full_high_accuracy_on_request():
    always_high = LanguageDetector(("nl", "en", "fr", "de"), accurate_below=None)
    assert always_high.load() is always_high._detector(low=False)
    assert LanguageDetector(("nl", "en", "fr", "de")).load() is LanguageDetector(("de", "fr", "en", "nl"))._detector(low=True)
    assert LanguageDetector(("nl", "en"), low_accuracy=True, accurate_below=None).load() is LanguageDetector(("nl", "en"))._detector(low=True)


def test_detection_modes_choose_the_policy():
    refined, fast, accurate = (LanguageDetector(**language.DETECTION_MODES[m]) for m in ("refined", "fast", "accurate"))
    assert refined._needs_refining("Kort bericht") and not fast._needs_refining("Kort bericht")
    assert fast.load() is fast._detector(low=True)  # low-accuracy models only
    assert accurate.load() is accurate._detector(low=False)  # high-accuracy models for every sample


def test_unsupported_languages_are_named():
    assert language.unsupported_languages(["nl", "no", "la", "xx", "qq"]) == ["qq", "xx"]


def test_detect_language_transform_honours_candidates_and_mode():
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from newsbeam.pipelines.runner import OfflineDirectRunner
    from newsbeam.transforms.normalise.detect import DetectLanguage

    rows = [
        {"id": "nl", "source": "s", "title": None, "text": CLEAR["nl"], "language": None},
        {"id": "fr", "source": "s", "title": None, "text": CLEAR["fr"], "language": None},
    ]
    with TestPipeline(runner=OfflineDirectRunner()) as pipeline:
        detected = pipeline | beam.Create(rows) | DetectLanguage(("nl", "en"), "fast")
        labels = detected.articles | "Labels" >> beam.Map(lambda row: (row["id"], row["language"] == "nl"))
        assert_that(labels, equal_to([("nl", True), ("fr", False)]))  # fr is not a candidate
        assert_that(detected.errors, equal_to([]), label="NoErrors")
    with pytest.raises(ValueError, match="unknown language detection mode"):
        DetectLanguage(mode="quick")
