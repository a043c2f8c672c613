"""Places: LOC entities (and country names the recogniser labelled ORG or MISC) resolved to GeoNames places, offline.

Each name's candidates come from the packaged gazetteer; the one chosen is the likeliest given its size and kind
(countries and large cities first), the other places of the same article (their countries and first-level regions),
the article's language, and the words around the mention ("regio Donetsk" is the region, "stad Izjoem" the town).

Names the recogniser missed are looked up too, conservatively (`PlaceResolver.unrecognised`): they count in the
article's `places` and `countries`, never as entities, which stay what the NER model found.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import apache_beam as beam

from newsbeam.errors import dead_letter_from
from newsbeam.transforms.enrich.gazetteer import Gazetteer, Place, load_gazetteer

ERRORS = "errors"

# Score terms, in log10(population) units: a country outweighs a city 1,000 times its size, a shared country with
# the article's other places a city ~30 times larger (Donetsk, Ukraine over Donetsk, Russia), a shared region ~1,000
# times (Paris, Texas over Paris, France in an article about Texas).
_FEATURE_PRIOR = {"country": 3.0, "continent": 2.0, "region": 0.0, "city": 0.0}
_PREFERRED = 1.0  # the name is the place's own or a curated one, not one of its many alternate names
_SAME_COUNTRY = 1.5
_SAME_REGION = 3.0
_LANGUAGE = 0.5  # the article's language is spoken in the place's country
_REGION_NAMED_LIKE_CITY = -2.0  # "Donetsk" alone is the city, not the oblast
_KIND_WORD = 6.0  # "regio Donetsk", "the city of Paris"

_REGION_WORDS = frozenset(
    "regio regios provincie oblast oblasts region regions province provinces state county "
    "région régions départemental département gebiet provinz bundesland landkreis".split()
)
_CITY_WORDS = frozenset("stad stadt city town ville".split())
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_WORDS_AROUND = 3  # how many words before a mention, and after it, may name its kind
_KIND_WORDS = _REGION_WORDS | _CITY_WORDS
_LINKS = frozenset("of de van von du des".split())
# A city this large is taken without support from the article; a smaller one only when its country or region is
# among the article's other places or speaks the article's language (no Harlingen, Texas, in a Dutch article).
_UNSUPPORTED_CITY_MIN_POPULATION = 100_000
_OTHER_LABELS_RESOLVED = frozenset({"ORG", "MISC"})  # resolved only when they name a country; PER never
# Names the recogniser missed: runs of capitalised words in the text (titles are often title-cased), not at the start
# of a sentence, in languages that capitalise names only (German capitalises every noun: "beim Essen").
_WORD_TOKEN = re.compile(r"[^\W\d_]+(?:[’'-][^\W\d_]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n\"“”‘’'(«»—–-])\s*$")
_NOUNS_CAPITALISED = frozenset({"de", "lb"})
# English also capitalises the months and days, some of which are towns (March, Cambridgeshire).
_CALENDAR_WORDS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
_MIN_NAME_LENGTH = 4
# A missed name's place is taken without the article's support when it is this large.
_UNRECOGNISED_LARGE_PLACE = 1_000_000


@dataclass(frozen=True)
class Span:
    """A place name in an article's field that the recogniser did not tag."""

    field: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Mention:
    index: int  # position in the article's entities
    text: str
    kind: str | None  # "region" or "city" when the words around the mention say so


def _words_around(text: str, start: int, end: int) -> set[str]:
    before = _WORD.findall(text[max(0, start - 40) : start])[-_WORDS_AROUND:]
    after = _WORD.findall(text[end : end + 40])[:_WORDS_AROUND]
    return {word.casefold().replace("’", "").replace("'", "") for word in before + after}


def _without_kind_words(text: str) -> str:
    """The name without words naming its kind, which recognisers often include ("provincie Friesland", "the city of
    Paris", "Donetsk region"); the text unchanged when it has none."""
    words = text.split()
    if len(words) > 1 and words[-1].casefold() in _KIND_WORDS:
        words = words[:-1]
    if len(words) > 1 and words[0].casefold() == "the":
        words = words[1:]
    if len(words) > 1 and words[0].casefold() in _KIND_WORDS:
        words = words[1:]
        while len(words) > 1 and words[0].casefold() in _LINKS:
            words = words[1:]
    return " ".join(words)


def _capitalised_runs(text: str) -> list[Span]:
    """Maximal runs of capitalised words joined by single spaces in the `text` field ("Den Haag", "Izjoem"), kept when
    they may be a missed name: one to three words, not all capitals, no month or day, not opening a sentence."""
    runs, current = [], []
    for match in _WORD_TOKEN.finditer(text):
        joined = bool(current) and text[current[-1].end() : match.start()] == " "
        if current and not (joined and match.group()[0].isupper()):
            runs.append(Span("text", current[0].start(), current[-1].end(), text[current[0].start() : current[-1].end()]))
            current = []
        if match.group()[0].isupper():
            current.append(match)
    if current:
        runs.append(Span("text", current[0].start(), current[-1].end(), text[current[0].start() : current[-1].end()]))
    return [span for span in runs if _may_be_missed_name(span, text)]


def _may_be_missed_name(span: Span, text: str) -> bool:
    return (
        len(span.text) >= _MIN_NAME_LENGTH and len(span.text.split(" ")) <= 3 and not span.text.isupper()
        and span.text.casefold() not in _CALENDAR_WORDS
        and not _SENTENCE_START.search(text[max(0, span.start - 20) : span.start])
    )  # fmt: skip


def _overlaps(span: Span, entities: list[dict]) -> bool:
    return any(e.get("field") == span.field and e["start"] < span.end and span.start < e["end"] for e in entities)


def _kind_named_around(article: dict, entity: dict) -> str | None:
    """'region' or 'city' when a word in or next to the mention names its kind ("regio's Donetsk en Lugansk")."""
    words = _words_around(article.get(entity["field"]) or "", entity["start"], entity["end"])
    words |= {word.casefold() for word in _WORD.findall(entity["text"])}
    if words & _REGION_WORDS:
        return "region"
    if words & _CITY_WORDS:
        return "city"
    return None


class PlaceResolver:
    """Chooses, for each place mention of an article, one gazetteer place or none."""

    def __init__(self, gazetteer: Gazetteer):
        self._gazetteer = gazetteer

    def candidates(self, entity: dict) -> list[tuple[Place, bool]]:
        found = self._gazetteer.candidates(entity["text"]) or self._gazetteer.candidates(_without_kind_words(entity["text"]))
        if entity["label"] == "LOC":
            return found
        if entity["label"] in _OTHER_LABELS_RESOLVED:
            return [(place, canonical) for place, canonical in found if place.feature == "country"]
        return []

    def resolve(self, article: dict) -> list[Place | None]:
        """The place of each of the article's entities (None where an entity is no place or is not found)."""
        entities = article.get("entities") or []
        mentions, options = [], {}
        for index, entity in enumerate(entities):
            found = self.candidates(entity)
            if found:
                mentions.append(_Mention(index, entity["text"], _kind_named_around(article, entity)))
                options[index] = found
        language = article.get("language") or ""
        first_guess = {m.text: self._best(options[m.index], m.kind, language, {}, {}) for m in mentions}
        first_guess = {text: place for text, place in first_guess.items() if place is not None}
        places: list[Place | None] = [None] * len(entities)
        for mention in mentions:
            countries, regions = _context(first_guess, mention.text)
            places[mention.index] = self._best(options[mention.index], mention.kind, language, countries, regions)
        return places

    def unrecognised(self, article: dict, places: list[Place | None]) -> list[tuple[Span, Place]]:
        """Places named in the text where the recogniser found no entity, given `places`, those of its entities. A
        name is taken only when all its places lie in one country, one of its names there is a preferred one, and
        the article supports the place chosen (see `_missed_name_supported`)."""
        language, text = article.get("language") or "", article.get("text") or ""
        if language in _NOUNS_CAPITALISED:
            return []
        recognised = [place for place in places if place is not None]
        countries = Counter(place.country_code for place in recognised)
        regions = Counter(code for place in recognised for code in place.admin1)
        found = []
        for span in _capitalised_runs(text):
            options = [] if _overlaps(span, article.get("entities") or []) else self._gazetteer.candidates(span.text)
            if len({place.country_code for place, _ in options}) != 1 or not any(preferred for _, preferred in options):
                continue
            kind = _kind_named_around(article, {"field": "text", "start": span.start, "end": span.end, "text": span.text})
            place = self._best(options, kind, language, countries, regions)
            if place and self._missed_name_supported(place, kind, countries, regions):
                found.append((span, place))
        return found

    @staticmethod
    def _missed_name_supported(place: Place, kind, countries, regions) -> bool:
        """Whether the article supports a missed name's place. Cities and regions only: the capitalised words that
        match countries are mostly adjectives ("Swiss franc", "Iraqi"), and recognisers tag country names well.
        A large place needs nothing else; others need their country among the recognised places', and a city
        under 100,000 also its region there or a word calling it a city ("de stad Izjoem"; no "Bear, Stearns")."""
        if place.feature not in ("city", "region"):
            return False
        if place.population >= _UNRECOGNISED_LARGE_PLACE:
            return True
        if place.country_code not in countries:
            return False
        small_city = place.feature == "city" and place.population < _UNSUPPORTED_CITY_MIN_POPULATION
        return not small_city or kind == "city" or bool(regions.keys() & set(place.admin1))

    def _best(self, found, kind, language, countries, regions) -> Place | None:
        cities_named = {place.country_code for place, _ in found if place.feature == "city"}
        supported = [option for option in found if self._supported(option[0], kind, language, countries, regions)]
        if not supported:
            return None
        return max(
            supported,
            key=lambda option: (self._score(option, kind, language, countries, regions, cities_named), option[0].population),
        )[0]

    def _supported(self, place: Place, kind, language, countries, regions) -> bool:
        """Whether a candidate may be chosen at all: any country, continent or region; a city if it is large, or
        the article supports it (its country or region named there, its country speaking the article's language)."""
        if place.feature != "city" or place.population >= _UNSUPPORTED_CITY_MIN_POPULATION or kind == "city":
            return True
        if place.country_code in countries or regions.keys() & set(place.admin1):
            return True
        return language in self._gazetteer.country_languages.get(place.country_code, ())

    def _score(self, option, kind, language, countries, regions, cities_named) -> float:
        place, preferred = option
        score = math.log10(place.population + 10) + _FEATURE_PRIOR[place.feature]
        score += _PREFERRED if preferred else 0.0
        if place.feature != "country" and place.country_code in countries:
            score += _SAME_COUNTRY  # not added to the language's bonus: either says "the article's country"
        elif language in self._gazetteer.country_languages.get(place.country_code, ()):
            score += _LANGUAGE
        if regions.keys() & set(place.admin1):
            score += _SAME_REGION
        if place.feature == "region" and place.country_code in cities_named:
            score += _REGION_NAMED_LIKE_CITY
        if kind is not None and kind == place.feature:
            score += _KIND_WORD
        return score


def _context(guesses: dict[str, Place], excluded: str) -> tuple[Counter, Counter]:
    """Countries and first-level regions of the article's other place names (not the one being resolved)."""
    countries, regions = Counter(), Counter()
    for text, place in guesses.items():
        if text != excluded:
            countries[place.country_code] += 1
            regions.update(place.admin1)
    return countries, regions


def place_columns(article: dict, places: list[Place | None], unrecognised: list[tuple[Span, Place]] = ()) -> dict:
    """The article's `entities` with `place_id`, its `places` (one per distinct place, in order of first mention,
    with its count of mentions, the `unrecognised` ones included) and `countries` (the distinct ISO codes of those
    places, sorted)."""
    entities = [{**entity, "place_id": place.geonames_id if place else None}
                for entity, place in zip(article.get("entities") or [], places)]  # fmt: skip
    positioned = [((entity.get("field") != "title", entity["start"]), place) for entity, place in zip(entities, places)]
    positioned += [((span.field != "title", span.start), place) for span, place in unrecognised]
    mentions = Counter(place for _, place in sorted(positioned, key=lambda item: item[0]) if place is not None)
    rows = [
        {
            "geonames_id": place.geonames_id, "name": place.name, "country_code": place.country_code,
            "feature": place.feature, "latitude": place.latitude, "longitude": place.longitude, "mentions": count,
        }
        for place, count in mentions.items()
    ]  # fmt: skip
    countries = sorted({place.country_code for place in mentions if place.country_code})
    return {"entities": entities, "places": rows, "countries": countries}


class _ResolvePlaces(beam.DoFn):
    def setup(self):
        self._resolver = PlaceResolver(load_gazetteer())  # loaded once per process

    def process(self, article: dict):
        try:
            places = self._resolver.resolve(article)
            columns = place_columns(article, places, self._resolver.unrecognised(article, places))
        except Exception as error:
            yield beam.pvalue.TaggedOutput(ERRORS, dead_letter_from(article["source"], error, "enrich", article["id"]))
            return
        yield {**article, **columns}


class ResolvePlaces(beam.PTransform):
    """Article rows with `entities` -> rows with `place_id` on each entity, `places` and `countries` (those of the
    entities and of names the recogniser missed) (main), and dead letters (`errors`)."""

    def expand(self, articles):
        return articles | beam.ParDo(_ResolvePlaces()).with_outputs(ERRORS, main="articles")
