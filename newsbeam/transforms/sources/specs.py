"""Source specifications: what `--source` and `--sources FILE` name, and how they expand into concrete inputs."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import tomllib

from apache_beam.io.filesystems import FileSystems

from newsbeam.errors import NewsbeamError

# File kinds by extension; anything else is sniffed from its first bytes.
EXTENSIONS = {
    ".xml": "feed", ".rss": "feed", ".atom": "feed", ".rdf": "feed", ".feed": "feed",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".txt": "text", ".text": "text",
}  # fmt: skip
_GLOB_CHARS = set("*?[")
_COMMENT = re.compile(r"(^|\s)#.*$")  # a '#' inside a URL is a fragment, not a comment


@dataclasses.dataclass(frozen=True)
class SourceSpec:
    """One source as the user named it, with optional hints: a display name and a declared language."""

    location: str
    name: str | None = None
    language: str | None = None

    @property
    def is_url(self) -> bool:
        return self.location.lower().startswith(("http://", "https://"))

    @property
    def is_glob(self) -> bool:
        return bool(_GLOB_CHARS & set(self.location))


@dataclasses.dataclass(frozen=True)
class SourceInput:
    """A concrete input: a feed URL, or one file with its kind (`feed`, `jsonl`, `html`, `text`, or None to sniff)."""

    spec: SourceSpec
    location: str
    kind: str | None


class UnreadableFile(NewsbeamError):
    """A matched file that cannot be an input, e.g. because its name is not valid UTF-8; a dead letter of its own."""

    def __init__(self, location: str, reason: str, detail: str):
        super().__init__("fetch", reason, detail)
        self.location = location


def file_identity(location: str) -> str:
    """What names a file source everywhere (ids, run summary, dead letters): its resolved absolute path, so
    `a.jsonl`, `./a.jsonl` and `/data/a.jsonl` are one source; a location on a remote filesystem as given."""
    return location if "://" in location else os.path.realpath(location)


def resolve(spec: SourceSpec) -> SourceSpec:
    """The spec with its location resolved as `file_identity` does (a URL stays as given)."""
    return dataclasses.replace(spec, location=file_identity(spec.location))


def printable(location: str) -> str:
    """`location` with the bytes of a file name that are not UTF-8 shown as `\\xNN` (they arrive as lone surrogates)."""
    return location.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def kind_from_name(path: str) -> str | None:
    """The input kind implied by a file name's extension, or None when it must be sniffed."""
    return EXTENSIONS.get(pathlib.PurePosixPath(path).suffix.lower())


def sniff_kind(head: bytes) -> str:
    """The input kind of a file from its first bytes, for names without a known extension."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if start.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf", b"<channel")):
        return "feed"
    if start.startswith(b"{"):
        return "jsonl"
    return "text"


def parse_sources_file(path: str) -> list[SourceSpec]:
    """Read a sources file: TOML (`[[source]]` tables with location/name/language) or one source per line.

    Line format: `LOCATION [name=NAME] [language=LL]`; `#` starts a comment.
    """
    with FileSystems.open(path) as handle:
        content = handle.read().decode("utf-8-sig")
    if path.endswith(".toml"):
        try:
            tables = tomllib.loads(content).get("source", [])
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: invalid TOML: {exc}") from None
        specs = []
        for table in tables:
            if "location" not in table:
                raise ValueError(f"{path}: every [[source]] needs a location")
            specs.append(SourceSpec(str(table["location"]), table.get("name"), table.get("language")))
        return specs
    specs = []
    for number, line in enumerate(content.splitlines(), 1):
        line = _COMMENT.sub("", line).strip()
        if not line:
            continue
        location, *hints = line.split()
        options = {}
        for hint in hints:
            key, sep, value = hint.partition("=")
            if not sep or key not in ("name", "language"):
                raise ValueError(f"{path}:{number}: expected name=... or language=..., got {hint!r}")
            options[key] = value
        specs.append(SourceSpec(location, options.get("name"), options.get("language")))
    return specs


def expand(spec: SourceSpec, exclude: str | None = None, skipped: list[str] | None = None) -> list[SourceInput | UnreadableFile]:
    """Concrete inputs of one spec: the URL itself, or the files a path, folder or glob matches, each named
    by its `file_identity` and listed once. Hidden files are skipped, and so is everything under `exclude`
    (the run's own output, which may lie inside a glob); a file whose name is not UTF-8 is an UnreadableFile.
    Files inside a folder with an unknown extension are skipped too, and appended to `skipped` when given.
    """
    if spec.is_url:
        return [SourceInput(spec, spec.location, "feed")]
    pattern = file_identity(spec.location)
    is_folder = not spec.is_glob and "://" not in pattern and os.path.isdir(pattern)
    if is_folder:
        pattern = FileSystems.join(pattern, "**")
    try:
        matches = FileSystems.match([pattern])[0].metadata_list
    except Exception as exc:  # Beam raises BeamIOError for unreadable or unknown filesystems.
        raise NewsbeamError("fetch", "not_found", f"{printable(spec.location)}: {exc}") from None
    excluded = file_identity(exclude) if exclude else None
    inputs = {}
    for metadata in matches:
        name = pathlib.PurePosixPath(metadata.path).name
        location = file_identity(metadata.path)
        if name.startswith((".", "_")) or (excluded and _inside(location, excluded)):
            continue
        kind = kind_from_name(metadata.path)
        if is_folder and kind is None:
            if skipped is not None:
                skipped.append(location)
            continue  # inside a folder, only files we recognise by name
        inputs[location] = _input(spec, location, kind)
    if not inputs:
        raise NewsbeamError("fetch", "not_found", f"{printable(spec.location)}: no matching files")
    return [inputs[location] for location in sorted(inputs)]


def _inside(location: str, folder: str) -> bool:
    return location == folder or location.startswith(folder.rstrip("/") + "/")


def _input(spec: SourceSpec, location: str, kind: str | None) -> SourceInput | UnreadableFile:
    """The input for one matched file; an UnreadableFile when its name cannot be stored (not valid UTF-8)."""
    shown = printable(location)
    if shown != location:
        return UnreadableFile(shown, "bad_file_name", f"{shown}: the file name is not valid UTF-8")
    return SourceInput(spec, location, kind)


def skipped_files(specs: list[SourceSpec], exclude: str | None = None) -> dict[str, int]:
    """Per folder source, how many of its files `expand` skips for their unknown extension (for the run summary)."""
    counts = {}
    for spec in specs:
        if spec.is_url or spec.is_glob or "://" in spec.location or not pathlib.Path(spec.location).is_dir():
            continue
        skipped: list[str] = []
        try:
            expand(spec, exclude, skipped=skipped)
        except NewsbeamError:
            pass  # a folder without readable inputs is a dead letter of the run itself
        if skipped:
            counts[spec.location] = len(skipped)
    return counts
