"""Which spaCy pipeline serves which language: official pipelines first when installed, then newsbeam's own.

The registry is resolved on the driver into picklable ModelSpecs; workers load them by name or path.
"""

from __future__ import annotations

import dataclasses
import pathlib

import spacy.util

import newsbeam
from newsbeam.transforms.enrich.conventions import VERSION as CONVENTIONS_VERSION

BUNDLED_NAME = "newsbeam_ner"
BUNDLED_PATH = pathlib.Path(newsbeam.__file__).parent / "models" / "xx_newsbeam_ner"
BUNDLED_LANGUAGES = ("nl", "en", "fr", "de")

OFFICIAL = {
    "nl": ("nl_core_news_lg", "nl_core_news_md", "nl_core_news_sm"),
    "en": ("en_core_web_lg", "en_core_web_md", "en_core_web_sm"),
    "fr": ("fr_core_news_lg", "fr_core_news_md", "fr_core_news_sm"),
    "de": ("de_core_news_lg", "de_core_news_md", "de_core_news_sm"),
}
DISABLED = "none"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A loadable spaCy pipeline: an installed package name, or a folder path (the bundled model is one)."""

    name: str
    version: str
    path: str | None = None

    @property
    def label(self) -> str:
        """What the `ner_model` column records: the pipeline, and the news conventions applied after it."""
        return f"{self.name}-{self.version}+{CONVENTIONS_VERSION}"

    def resolved_path(self) -> str:
        """Where the pipeline lives on this machine (resolved where it runs: workers install the package elsewhere)."""
        if self.path:
            return self.path
        if self.name == BUNDLED_NAME:
            return str(BUNDLED_PATH)
        return str(spacy.util.get_package_path(self.name))

    def meta(self) -> dict:
        """The pipeline's meta.json (no model load); empty when it has none."""
        meta_path = pathlib.Path(self.resolved_path()) / "meta.json"
        return spacy.util.load_meta(meta_path) if meta_path.exists() else {}

    def load(self, exclude=()):
        """Load the pipeline; `exclude` names components inference does not need."""
        target = self.name if self.path is None and self.name != BUNDLED_NAME else self.resolved_path()
        return spacy.load(target, exclude=list(exclude))


def _from_path(path: pathlib.Path) -> ModelSpec:
    meta = spacy.util.load_meta(path / "meta.json")
    return ModelSpec(meta.get("name", path.name), meta.get("version", "0"), str(path.resolve()))


def _from_package(name: str) -> ModelSpec | None:
    if not spacy.util.is_package(name):
        return None
    return ModelSpec(name, spacy.util.get_package_version(name) or "0")


def bundled() -> ModelSpec | None:
    """The model shipped inside the package, if this installation has it."""
    if not (BUNDLED_PATH / "meta.json").exists():
        return None
    meta = spacy.util.load_meta(BUNDLED_PATH / "meta.json")
    return ModelSpec(BUNDLED_NAME, meta.get("version", "0"))


class ModelRegistry:
    """Per-language ordered candidates; `overrides` (language -> package name, folder path or `none`) win."""

    def __init__(self, overrides: dict[str, str] | None = None):
        self.overrides = dict(overrides or {})

    def languages(self) -> list[str]:
        return sorted(set(OFFICIAL) | set(BUNDLED_LANGUAGES) | set(self.overrides))

    def candidates(self, language: str) -> list[str]:
        if language in self.overrides:
            return [self.overrides[language]]
        names = list(OFFICIAL.get(language, ()))
        if language in BUNDLED_LANGUAGES:
            names.append(BUNDLED_NAME)
        return names

    def resolve(self, language: str) -> ModelSpec | None:
        """The first available candidate, or None (no entities for that language).

        An explicit override that cannot be found is an error, not a silent fallback.
        """
        for candidate in self.candidates(language):
            if candidate == DISABLED:
                return None
            spec = self._lookup(candidate)
            if spec is not None:
                return spec
            if language in self.overrides:
                raise ValueError(f"--ner-model {language}={candidate}: no installed spaCy package or pipeline folder by that name")
        return None

    def resolve_all(self) -> dict[str, ModelSpec]:
        resolved = {language: self.resolve(language) for language in self.languages()}
        return {language: spec for language, spec in resolved.items() if spec is not None}

    @staticmethod
    def _lookup(candidate: str) -> ModelSpec | None:
        if candidate == BUNDLED_NAME:
            return bundled()
        path = pathlib.Path(candidate)
        if (path / "meta.json").exists():
            return _from_path(path)
        return _from_package(candidate)


def parse_overrides(values: list[str]) -> dict[str, str]:
    """`nl=nl_core_news_md` pairs (from --ner-model or the config file) into a dict."""
    overrides = {}
    for value in values:
        language, sep, model = value.partition("=")
        if not sep or not language.strip() or not model.strip():
            raise ValueError(f"expected LANG=MODEL, got {value!r}")
        overrides[language.strip().lower()] = model.strip()
    return overrides
