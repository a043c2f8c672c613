"""EnrichArticles: entities, their places, then sentiment; a record whose enrichment fails goes to the dead letters."""

from __future__ import annotations

import apache_beam as beam

from newsbeam.errors import dead_letter_from
from newsbeam.transforms.enrich.ner import ExtractEntities
from newsbeam.transforms.enrich.places import ResolvePlaces
from newsbeam.transforms.enrich.registry import ModelSpec
from newsbeam.transforms.enrich.sentiment import SentimentScorer
from newsbeam.transforms.normalise.text import title_and_text

ERRORS = "errors"


class _ScoreSentiment(beam.DoFn):
    def setup(self):
        self._scorer = SentimentScorer()  # models load on first use per language

    def process(self, article: dict):
        try:
            result = self._scorer.score(title_and_text(article), article["language"])
        except Exception as error:
            yield beam.pvalue.TaggedOutput(ERRORS, dead_letter_from(article["source"], error, "enrich", article["id"]))
            return
        yield {
            **article,
            "sentiment": result.score if result else None,
            "sentiment_label": result.label if result else None,
            "sentiment_method": result.method if result else None,
            "sentiment_negative_share": result.negative_share if result else None,
            "sentiment_positive_share": result.positive_share if result else None,
        }


class EnrichArticles(beam.PTransform):
    """Article rows -> rows with `entities`, `ner_model`, `places`, `countries`, `sentiment*` (main) and dead letters
    (`errors`)."""

    def __init__(self, models: dict[str, ModelSpec], **ner_options):
        super().__init__()
        self._models = models
        self._ner_options = ner_options

    def expand(self, articles):
        entities = articles | "Entities" >> ExtractEntities(self._models, **self._ner_options)
        placed = entities.articles | "Places" >> ResolvePlaces()
        scored = placed.articles | "Sentiment" >> beam.ParDo(_ScoreSentiment()).with_outputs(ERRORS, main="articles")
        errors = (entities[ERRORS], placed[ERRORS], scored[ERRORS]) | "EnrichErrors" >> beam.Flatten()
        return {"articles": scored.articles, ERRORS: errors}
