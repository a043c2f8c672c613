"""Fetch one feed over HTTP(S) with bounded time, size and redirects, conditional GET, and classified failures.

`fetch(url, validators, settings)` returns a `FetchResult` or raises `FetchError` (a `NewsbeamError` with
stage `fetch`); 429 and 503 raise `RateLimited`, which carries `retry_after`. Transient failures
(connection errors, timeouts, bodies cut short, 5xx other than 501, 503 only without Retry-After) are retried
with jittered exponential back-off, all inside one total deadline. httpx's timeouts bound each read, not the
whole request, so a watchdog shuts the connection down at the deadline: a server that drips its status line,
headers or body a byte at a time cannot hold a fetch any longer than that.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import random
import socket
import threading
import time
import zlib
from collections.abc import Iterator

import httpx

from newsbeam import __version__
from newsbeam.errors import NewsbeamError

USER_AGENT = f"newsbeam/{__version__} (+https://github.com/newsbeam/newsbeam)"
_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


@dataclasses.dataclass(frozen=True)
class FetchSettings:
    """Limits and policy for one fetch; tests shrink the times."""

    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # longest wait for any single read
    total_deadline: float = 30.0  # whole call, retries and back-off included
    max_bytes: int = 15 * 1024 * 1024  # of the decompressed body
    max_redirects: int = 5
    retries: int = 2  # extra attempts after the first, for transient failures only
    backoff_base: float = 1.0  # first back-off in seconds, doubled per retry, jittered by x0.5..1.5
    default_retry_after: float = 3600.0  # seconds to wait after a 429/503 without a usable Retry-After
    max_retry_after: float = 86400.0  # cap on what a server may ask for
    user_agent: str = USER_AGENT
    trust_env: bool = True  # honour HTTP(S)_PROXY / NO_PROXY and SSL_CERT_FILE from the environment


@dataclasses.dataclass(frozen=True)
class Validators:
    """Cache validators from the previous successful fetch, sent back as If-None-Match / If-Modified-Since."""

    etag: str | None = None
    last_modified: str | None = None


@dataclasses.dataclass(frozen=True)
class FetchResult:
    """A successful response (2xx, or 304 with `not_modified` and no body)."""

    status: int
    body: bytes | None
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    final_url: str
    etag: str | None
    last_modified: str | None
    not_modified: bool
    elapsed: float  # seconds, whole call
    attempts: int


class FetchError(NewsbeamError):
    """A classified fetch failure; `status` is the HTTP status when there was one."""

    def __init__(self, reason: str, detail: str = "", status: int | None = None, transient: bool = False):
        super().__init__("fetch", reason, detail)
        self.status = status
        self.transient = transient


class RateLimited(FetchError):
    """429 or 503: the server asked us to come back later, at `retry_after` (aware UTC)."""

    def __init__(self, reason: str, detail: str, status: int, retry_after: dt.datetime, transient: bool = False):
        super().__init__(reason, detail, status, transient)
        self.retry_after = retry_after


def fetch(url: str, validators: Validators | None = None, settings: FetchSettings | None = None) -> FetchResult:
    """GET `url` under `settings`, retrying transient failures until the total deadline; raise FetchError otherwise."""
    settings = settings or FetchSettings()
    start = time.monotonic()
    deadline = start + settings.total_deadline
    attempt = 0
    with httpx.Client(headers=_request_headers(settings, validators), follow_redirects=False,
                      trust_env=settings.trust_env) as client, _Watchdog(deadline) as watchdog:
        while True:
            attempt += 1
            try:
                status, body, headers, final_url = _attempt(client, url, settings, deadline, watchdog)
                break
            except FetchError as error:
                delay = settings.backoff_base * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
                if not error.transient or attempt > settings.retries or time.monotonic() + delay >= deadline:
                    raise
                time.sleep(delay)
    not_modified = status == 304
    return FetchResult(
        status=status,
        body=None if not_modified else body,
        headers=headers,
        final_url=final_url,
        etag=headers.get("etag") or (validators.etag if not_modified and validators else None),
        last_modified=headers.get("last-modified") or (validators.last_modified if not_modified and validators else None),
        not_modified=not_modified,
        elapsed=time.monotonic() - start,
        attempts=attempt,
    )


def parse_retry_after(value: str | None, now: dt.datetime, settings: FetchSettings) -> dt.datetime:
    """Retry-After as delta-seconds or HTTP-date -> aware UTC datetime, capped; the default when absent or bad."""
    seconds = settings.default_retry_after
    if value and value.strip().isdigit():
        seconds = float(value.strip())
    elif value:
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.timezone.utc)
            seconds = max(0.0, (when - now).total_seconds())
        except (TypeError, ValueError, IndexError):
            pass
    return now + dt.timedelta(seconds=min(seconds, settings.max_retry_after))


def _request_headers(settings: FetchSettings, validators: Validators | None) -> dict[str, str]:
    headers = {"User-Agent": settings.user_agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _attempt(client: httpx.Client, url: str, settings: FetchSettings, deadline: float,
             watchdog: _Watchdog) -> tuple[int, bytes, dict[str, str], str]:
    """One attempt, following redirects by hand so each hop is scheme-checked and counted."""
    for _ in range(settings.max_redirects + 1):
        _check_url(url)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout", f"total deadline of {settings.total_deadline}s exceeded", transient=True)
        read = min(settings.read_timeout, remaining)
        timeout = httpx.Timeout(connect=min(settings.connect_timeout, remaining), read=read, write=read, pool=remaining)
        try:
            with client.stream("GET", url, timeout=timeout, extensions={"trace": watchdog.trace}) as response:
                headers = _lower_headers(response.headers)
                if response.status_code in _REDIRECTS and "location" in headers:
                    url = str(response.url.join(headers["location"]))  # httpx has already validated it
                    continue
                _raise_for_status(response.status_code, headers, settings)
                body = _read_body(response, headers, settings, deadline, watchdog)
                return response.status_code, body, headers, str(response.url)
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", f"{type(exc).__name__} for {url}", transient=True) from exc
        except httpx.TransportError as exc:
            if watchdog.expired.is_set() or time.monotonic() >= deadline:
                raise _deadline_exceeded(settings, f"while fetching {url}") from exc
            raise FetchError("connection_error", f"{type(exc).__name__}: {exc}", transient=True) from exc
    raise FetchError("too_many_redirects", f"more than {settings.max_redirects} redirects, last to {url}")


def _check_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError("bad_url", f"{url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError("bad_url", f"only http(s) URLs with a host can be fetched, not {url!r}")


def _lower_headers(headers: httpx.Headers) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for name, value in headers.multi_items():
        name = name.lower()
        lowered[name] = f"{lowered[name]}, {value}" if name in lowered else value
    return lowered


def _raise_for_status(status: int, headers: dict[str, str], settings: FetchSettings) -> None:
    """Map a non-success status to its FetchError; 2xx and 304 pass."""
    if 200 <= status < 300 or status == 304:
        return
    now = dt.datetime.now(dt.timezone.utc)
    if status == 429:
        raise RateLimited("rate_limited", f"HTTP 429, Retry-After {headers.get('retry-after')!r}", status,
                          parse_retry_after(headers.get("retry-after"), now, settings))
    if status == 503:  # retried only when the server did not say when to come back
        raise RateLimited("http_5xx", f"HTTP 503, Retry-After {headers.get('retry-after')!r}", status,
                          parse_retry_after(headers.get("retry-after"), now, settings), transient="retry-after" not in headers)
    if status in (404, 410):
        raise FetchError(f"http_{status}", f"HTTP {status}", status)
    if 400 <= status < 500:
        raise FetchError("http_4xx", f"HTTP {status}", status)
    if status >= 500:
        raise FetchError("http_5xx", f"HTTP {status}", status, transient=status != 501)
    raise FetchError("http_3xx" if status >= 300 else "bad_status", f"HTTP {status} without a usable Location", status)


def _read_body(response: httpx.Response, headers: dict[str, str], settings: FetchSettings, deadline: float,
               watchdog: _Watchdog) -> bytes:
    """Stream the body, decompressing ourselves so a bomb stops at max_bytes, and stop at the deadline.

    A connection that ends before the body does (fewer bytes than Content-Length, a cut chunked body)
    is `truncated`, unless it was the watchdog that ended it.
    """
    declared = headers.get("content-length", "")
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > settings.max_bytes:
        raise FetchError("too_large", f"Content-Length {declared} exceeds {settings.max_bytes} bytes")
    body = bytearray()
    try:
        for chunk in _decoded(response.iter_raw(_CHUNK), encoding):
            body += chunk
            if len(body) > settings.max_bytes:
                raise FetchError("too_large", f"body exceeds {settings.max_bytes} bytes (after decompression)")
            if time.monotonic() >= deadline:
                break
    except httpx.TransportError as exc:
        if isinstance(exc, httpx.TimeoutException) or watchdog.expired.is_set() or time.monotonic() >= deadline:
            raise
        expected = f" of {declared}" if declared.isdigit() else ""
        raise FetchError("truncated", f"the connection ended after {response.num_bytes_downloaded}{expected} bytes "
                                      f"of the body ({exc})", transient=True) from exc
    if watchdog.expired.is_set() or time.monotonic() >= deadline:  # the watchdog may have cut the body short
        raise _deadline_exceeded(settings, "while reading the body")
    return bytes(body)


def _deadline_exceeded(settings: FetchSettings, where: str) -> FetchError:
    return FetchError("timeout", f"total deadline of {settings.total_deadline}s exceeded {where}", transient=True)


def _decoded(raw: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """Undo gzip/deflate incrementally, at most one chunk of output per step, so a bomb never inflates in memory."""
    if encoding in ("", "identity"):
        yield from raw
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError("bad_content_encoding", f"unsupported Content-Encoding {encoding!r}")
    decompressor = None
    try:
        for data in raw:
            if decompressor is None and data:
                decompressor = zlib.decompressobj(_wbits(encoding, data))
            while data and decompressor is not None and not decompressor.eof:
                yield decompressor.decompress(data, _CHUNK)
                data = decompressor.unconsumed_tail
    except zlib.error as exc:
        raise FetchError("bad_content_encoding", f"corrupt {encoding} body: {exc}") from exc


def _wbits(encoding: str, first: bytes) -> int:
    """zlib window bits: gzip wrapper, zlib wrapper, or raw deflate (which some servers send as `deflate`)."""
    if encoding != "deflate":
        return 16 + zlib.MAX_WBITS
    zlib_header = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
    return zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS


class _Watchdog:
    """Shuts down every connection of one fetch when its total deadline passes, so that no read (of the
    status line, the headers or the body) outlives the deadline: a blocked read then returns at once.

    httpx reports each connection it opens through the `trace` request extension; `expired` is set when
    the watchdog fired (what was read until then is incomplete).
    """

    _OPENED = (".connect_tcp.complete", ".start_tls.complete")  # after TLS, the wrapped socket is the live one

    def __init__(self, deadline: float):
        self.expired = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict) -> None:
        """httpx's trace hook: remember the socket of each new connection (shut at once if already expired)."""
        stream = info.get("return_value") if event.endswith(self._OPENED) else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired.is_set()
        if expired:
            _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired.set()
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    """Shut the socket down at the OS level; for TLS too, without touching the SSL object a reader may be using."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed
