"""Per-feed polling state (cache validators, failures, back-off) kept with the output as one JSON document.

The document lives at `<output>/_state/feeds.json` and goes through Beam's FileSystems, so the same code
works on local disk, gs:// and s3://. It is written to a `.`-prefixed temporary name and renamed into place,
so readers never see half a file (an atomic replace on local disk; copy-then-delete on object stores).
Transitions are pure: `after_success` / `after_failure` return a new FeedState. Merging the states of
several workers is left to the caller.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from newsbeam.errors import NewsbeamError
from newsbeam.transforms.sources.fetch import FetchResult, Validators

STATE_DIR = "_state"
STATE_FILE = "feeds.json"
FORMAT_VERSION = 1
# Back-off after repeated failures (as Miniflux does): from the 3rd consecutive failure on,
# wait 15 min, 30 min, 1 h, ... capped at a day.
BACKOFF_AFTER_FAILURES = 3
BACKOFF_STEP = dt.timedelta(minutes=15)
BACKOFF_MAX = dt.timedelta(hours=24)


@dataclasses.dataclass(frozen=True)
class FeedState:
    """What we remember about one feed URL between runs."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_status: int | None = None
    last_success_at: dt.datetime | None = None
    consecutive_failures: int = 0
    next_attempt_at: dt.datetime | None = None
    last_error: str | None = None  # reason code of the last failure, e.g. "http_5xx"
    last_error_detail: str | None = None

    def validators(self) -> Validators:
        """The conditional-GET validators to send on the next fetch."""
        return Validators(self.etag, self.last_modified)

    def to_dict(self) -> dict:
        """JSON-ready dict; datetimes as ISO 8601 strings in UTC."""
        data = dataclasses.asdict(self)
        for name in ("last_success_at", "next_attempt_at"):
            if data[name] is not None:
                data[name] = data[name].astimezone(dt.timezone.utc).isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> FeedState:
        """Inverse of to_dict; unknown keys (from a newer writer) are ignored."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("last_success_at", "next_attempt_at"):
            if values.get(name):
                values[name] = _aware(dt.datetime.fromisoformat(values[name]))
        return cls(**values)


def state_path(output_dir: str) -> str:
    return FileSystems.join(output_dir, STATE_DIR, STATE_FILE)


def load(output_dir: str) -> dict[str, FeedState]:
    """States by URL from `<output_dir>/_state/feeds.json`; empty when there is none yet."""
    path = state_path(output_dir)
    if not FileSystems.exists(path):
        return {}
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        document = json.loads(handle.read().decode("utf-8"))
    if document.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported feed state version {document.get('version')!r}")
    return {url: FeedState.from_dict({**data, "url": url}) for url, data in document["feeds"].items()}


def save(output_dir: str, states: dict[str, FeedState]) -> None:
    """Write all states as one document: to a hidden temporary name first, then renamed over the old one."""
    path = state_path(output_dir)
    temporary = FileSystems.join(output_dir, STATE_DIR, f".{STATE_FILE}.{uuid.uuid4().hex}.tmp")
    document = {"version": FORMAT_VERSION, "feeds": {url: _without_url(s.to_dict()) for url, s in sorted(states.items())}}
    with FileSystems.create(temporary, mime_type="application/json", compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        handle.write(json.dumps(document, indent=1, sort_keys=True).encode("utf-8"))
    FileSystems.rename([temporary], [path])


def due(state: FeedState | None, now: dt.datetime) -> bool:
    """Whether the feed should be fetched at `now` (an unknown feed always is)."""
    return state is None or state.next_attempt_at is None or now >= state.next_attempt_at


def after_success(state: FeedState, result: FetchResult, now: dt.datetime) -> FeedState:
    """State after a 2xx or 304: new validators (kept on a 304 that omits them), failures and back-off cleared."""
    return dataclasses.replace(
        state,
        etag=result.etag or (state.etag if result.not_modified else None),
        last_modified=result.last_modified or (state.last_modified if result.not_modified else None),
        last_status=result.status,
        last_success_at=now,
        consecutive_failures=0,
        next_attempt_at=None,
        last_error=None,
        last_error_detail=None,
    )


def after_failure(state: FeedState, error: BaseException, now: dt.datetime) -> FeedState:
    """State after a failed fetch or parse: count it and schedule the next attempt.

    The next attempt is the later of the server's Retry-After (a `RateLimited` error's `retry_after`)
    and the back-off for the number of consecutive failures; None (fetch next run) if neither applies.
    """
    failures = state.consecutive_failures + 1
    candidates = [t for t in (getattr(error, "retry_after", None), _backoff_until(failures, now)) if t is not None]
    classified = isinstance(error, NewsbeamError)
    return dataclasses.replace(
        state,
        last_status=getattr(error, "status", None),
        consecutive_failures=failures,
        next_attempt_at=max(candidates) if candidates else None,
        last_error=error.reason if classified else "unexpected",
        last_error_detail=(error.detail if classified else f"{type(error).__name__}: {error}")[:500],
    )


def backoff_delay(failures: int) -> dt.timedelta | None:
    """How long to skip a feed after `failures` consecutive failures: none below 3, then 15 min doubling to 24 h."""
    if failures < BACKOFF_AFTER_FAILURES:
        return None
    exponent = min(failures - BACKOFF_AFTER_FAILURES, 16)  # 2**16 * 15 min is far past the cap
    return min(BACKOFF_STEP * 2 ** exponent, BACKOFF_MAX)


def _backoff_until(failures: int, now: dt.datetime) -> dt.datetime | None:
    delay = backoff_delay(failures)
    return now + delay if delay else None


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


def _without_url(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "url"}
