"""Named entities with spaCy through Beam's RunInference: one lazily loaded pipeline per language, batched nlp.pipe."""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from newsbeam.errors import dead_letter
from newsbeam.transforms.enrich.conventions import conform
from newsbeam.transforms.enrich.gazetteer import load_gazetteer
from newsbeam.transforms.enrich.labels import normalise_label
from newsbeam.transforms.enrich.registry import ModelSpec
from newsbeam.transforms.normalise.text import TITLE_SEPARATOR, title_and_text

# Components of spaCy's trained pipelines that entity recognition does not use: not loaded at all.
_NOT_NEEDED = (
    "parser", "tagger", "morphologizer", "lemmatizer", "trainable_lemmatizer", "attribute_ruler",
    "senter", "textcat", "textcat_multilabel", "spancat", "entity_linker",
)  # fmt: skip
ERRORS = "errors"


def spans_to_entities(article: dict, spans: Iterable[tuple[str, str, int, int]]) -> list[dict]:
    """Entity structs with offsets into the `title` or `text` field, labels normalised, duplicates of a span dropped."""
    title = article.get("title") or ""
    offset = len(title) + len(TITLE_SEPARATOR) if title else 0
    entities, seen = [], set()
    for text, label, start, end in spans:
        normalised = normalise_label(label)
        if normalised is None or not text.strip():
            continue
        if title and start < len(title):
            field, start, end = "title", start, min(end, len(title))
        else:
            field, start, end = "text", start - offset, end - offset
        key = (field, start, end)
        if key not in seen:
            seen.add(key)
            entities.append({"text": text, "label": normalised, "start": start, "end": end, "field": field})
    return entities


class NerFailure(str):
    """Stands in for the entities of an article its pipeline could not process; the text says why."""


def _spans(doc, language: str, is_country):
    """(text, label, start, end) of the doc's entities under the news conventions of `language`."""
    return ((ent.text, ent.label_, ent.start_char, ent.end_char) for ent in conform(doc, language, is_country))


def _doc_or_failure(nlp, text: str):
    try:
        return nlp(text)
    except Exception as exc:
        return NerFailure(f"{type(exc).__name__}: {exc}")


# Loaded pipelines, per process: a chunked run builds one pipeline per chunk, and each would load its
# models again (~1-2 s each). Keyed by spec, so languages that name the same pipeline share it.
_LOADED: dict[ModelSpec, object] = {}
_LOADED_LOCK = threading.Lock()


class SpacyPipelines:
    """The worker-side model: spaCy pipelines by language, each loaded on first use, once per process, and the
    gazetteer's test for country names the conventions add where a pipeline missed them."""

    def __init__(self, models: dict[str, ModelSpec]):
        self._specs = models
        # Cached: the same capitalised names come back in article after article (9 % of NER time uncached).
        self.is_country = functools.lru_cache(maxsize=1 << 16)(load_gazetteer().names_only_a_country)

    def spec(self, language: str) -> ModelSpec | None:
        return self._specs.get(language)

    def pipeline(self, language: str):
        return loaded_pipeline(self._specs[language])


def loaded_pipeline(spec: ModelSpec):
    """The pipeline `spec` names, loaded for inference once per process (callers wait while it loads)."""
    with _LOADED_LOCK:
        if spec not in _LOADED:
            _LOADED[spec] = spec.load(exclude=_NOT_NEEDED)
        return _LOADED[spec]


_BREAKS = ("\n\n", "\n", ". ", " ")


def text_pieces(text: str, max_chars: int) -> list[tuple[int, str]]:
    """(offset, piece) covering the whole text in pieces of at most `max_chars`, cut at a paragraph, line,
    sentence or word break in the second half of a piece where there is one.

    spaCy refuses texts beyond its `max_length` and its arrays grow with a text's length, so a long article is
    annotated piece by piece, with offsets into the whole text.
    """
    pieces, start = [], 0
    while len(text) - start > max_chars:
        window = text[start : start + max_chars]
        cut = max_chars
        for brk in _BREAKS:
            found = window.rfind(brk, max_chars // 2)
            if found != -1:
                cut = found + len(brk)
                break
        pieces.append((start, window[:cut]))
        start += cut
    pieces.append((start, text[start:]))
    return pieces


def bounded_batches(texts: list[str], max_texts: int, max_chars: int) -> Iterable[list[str]]:
    """Consecutive groups of at most `max_texts` texts and `max_chars` characters (a longer text goes alone).

    A batch of long articles would otherwise make spaCy allocate arrays of hundreds of MB at once.
    """
    group: list[str] = []
    size = 0
    for text in texts:
        if group and (len(group) >= max_texts or size + len(text) > max_chars):
            yield group
            group, size = [], 0
        group.append(text)
        size += len(text)
    if group:
        yield group


class SpacyNERModelHandler(ModelHandler[dict, PredictionResult, SpacyPipelines]):
    """RunInference model handler: articles in, PredictionResult(article, entities, ner_model label) out.

    Articles in a language without a pipeline get no entities and a null `ner_model`.
    """

    def __init__(self, models: dict[str, ModelSpec], *, batch_size: int = 64, max_chars: int = 100_000,
                 batch_chars: int = 30_000, max_batch_size: int = 256):
        super().__init__()
        self._models = dict(models)
        self._batch_size = batch_size  # texts per nlp.pipe batch, and at most...
        self._batch_chars = batch_chars  # ...this many characters: the tok2vec's arrays grow with a batch's tokens
        self._max_chars = max_chars  # the longest piece of a text spaCy sees at once (see text_pieces)
        # BatchElements sizes batches by timing; from 1 up it settled on 1-10 articles, and the NER of 3,000
        # Reuters articles took 24.2 s against 22.5 s with a floor of one full nlp.pipe batch. A bundle's
        # last batch may be smaller.
        self._batching = {"min_batch_size": batch_size, "max_batch_size": max_batch_size}

    def load_model(self) -> SpacyPipelines:
        return SpacyPipelines(self._models)

    def run_inference(self, batch: Sequence[dict], model: SpacyPipelines, inference_args=None) -> Iterable[PredictionResult]:
        by_language: dict[str, list[int]] = defaultdict(list)
        for index, article in enumerate(batch):
            if model.spec(article["language"]) is not None:
                by_language[article["language"]].append(index)
        results: list[PredictionResult | None] = [None] * len(batch)
        for language, indexes in by_language.items():
            nlp, label = model.pipeline(language), model.spec(language).label
            articles = [batch[i] for i in indexes]
            for index, entities in zip(indexes, self._annotate(nlp, articles, language, model.is_country)):
                results[index] = PredictionResult(batch[index], entities, label)
        return [r if r is not None else PredictionResult(a, [], None) for r, a in zip(results, batch)]

    def _annotate(self, nlp, articles: list[dict], language: str, is_country) -> list[list[dict] | NerFailure]:
        """Entities per article, long texts piece by piece; if the batch fails, articles one by one, so only the
        bad one is lost."""
        pieces = [text_pieces(title_and_text(article), self._max_chars) for article in articles]
        texts = [piece for article_pieces in pieces for _, piece in article_pieces]
        try:
            docs = [doc for group in bounded_batches(texts, self._batch_size, self._batch_chars)
                    for doc in nlp.pipe(group, batch_size=len(group))]  # fmt: skip
        except Exception:
            docs = [_doc_or_failure(nlp, text) for text in texts]
        results, position = [], 0
        for article, article_pieces in zip(articles, pieces):
            article_docs = docs[position : position + len(article_pieces)]
            position += len(article_pieces)
            failure = next((doc for doc in article_docs if isinstance(doc, NerFailure)), None)
            spans = (
                (text, label, offset + start, offset + end)
                for (offset, _), doc in zip(article_pieces, article_docs)
                for text, label, start, end in ([] if failure else _spans(doc, language, is_country))
            )
            results.append(failure if failure is not None else spans_to_entities(article, spans))
        return results

    def get_num_bytes(self, batch: Sequence[dict]) -> int:
        return sum(len(a["text"]) + len(a.get("title") or "") for a in batch)

    def get_metrics_namespace(self) -> str:
        return "newsbeam_ner"

    def batch_elements_kwargs(self):
        return self._batching


class _Attach(beam.DoFn):
    def process(self, result: PredictionResult):
        article = result.example
        if isinstance(result.inference, NerFailure):
            detail = f"{result.model_id}: {result.inference}"
            yield beam.pvalue.TaggedOutput(ERRORS, dead_letter(article["source"], "enrich", "ner_failed", detail, article["id"]))
        else:
            yield {**article, "entities": result.inference, "ner_model": result.model_id}


class ExtractEntities(beam.PTransform):
    """Articles in, articles with `entities` and `ner_model` out (main); articles spaCy failed on (`errors`)."""

    def __init__(self, models: dict[str, ModelSpec], **handler_kwargs):
        super().__init__()
        self._handler = SpacyNERModelHandler(models, **handler_kwargs)

    def expand(self, articles):
        return (
            articles
            | "RunInference" >> RunInference(self._handler)
            | "AttachEntities" >> beam.ParDo(_Attach()).with_outputs(ERRORS, main="articles")
        )
