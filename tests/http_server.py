"""A small threaded HTTP server on 127.0.0.1 for tests: register routes, serve, inspect what clients sent.

    with TestServer() as server:                       # or the `http_server` pytest fixture (conftest.py)
        server.route("/feed.xml", feed(RSS, etag='"v1"'))  # a handler: Request -> Response
        server.route("/gone", Response(410))               # or a fixed Response
        url = server.url("/feed.xml")
        ...
        server.route("/feed.xml", feed(RSS2, etag='"v2"')) # replace content while running
        assert server.requests_to("/feed.xml")[0].headers["user-agent"].startswith("newsbeam/")

Ready-made handlers below: status, feed (conditional GET with 304), redirect, hang, drip, slow_headers,
gzip_bomb, html_page, gzipped; http_date formats Last-Modified / Retry-After values. Import as `from http_server
import ...` (tests/ is on sys.path through the rootdir conftest; no tests/__init__.py).
Slow handlers wait on the server's stop event, so closing the server never waits for them.
"""

from __future__ import annotations

import dataclasses
import gzip
import http.server
import io
import threading
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate


@dataclasses.dataclass
class Request:
    """What the server received: method, path (with query), lower-cased headers."""

    method: str
    path: str
    headers: dict[str, str]


@dataclasses.dataclass
class Response:
    """What to send. `body` may be bytes or an iterable of byte chunks, sent `chunk_delay` seconds apart;
    `delay` waits before the status line; `header_delay` sends the status line and headers one byte at a
    time, that many seconds apart. Content-Length is added for bytes bodies unless already set."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    header_delay: float = 0.0


Handler = Callable[[Request], Response]


class TestServer:
    """ThreadingHTTPServer on an ephemeral port, run in a daemon thread; unknown paths get 404."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler_class(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> TestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving, release slow handlers, close the socket."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, handler: Handler | Response) -> None:
        """Serve `path` (exact match, query string ignored) with a handler or a fixed Response; replaces any earlier one."""
        with self._lock:
            self._routes[path] = handler if callable(handler) else (lambda _request, r=handler: r)

    def requests_to(self, path: str) -> list[Request]:
        """Requests received for `path` (query string ignored), oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def sleep(self, seconds: float) -> None:
        """Wait in a handler, returning early when the server stops."""
        self.stopping.wait(seconds)

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            handler = self._routes.get(request.path.split("?", 1)[0])
        return handler(request) if handler else Response(404, b"not found")


def _make_handler_class(server: TestServer) -> type[http.server.BaseHTTPRequestHandler]:
    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            response = server._handle(request)
            try:
                self._send(response)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, which is what many tests want

        do_HEAD = do_GET

        def _send(self, response: Response) -> None:
            if response.delay:
                server.sleep(response.delay)
                if server.stopping.is_set():
                    return
            headers = {k.lower(): v for k, v in response.headers.items()}
            if isinstance(response.body, bytes):
                headers.setdefault("content-length", str(len(response.body)))
            headers["connection"] = "close"
            if response.header_delay:
                if not self._send_head_slowly(response.status, headers, response.header_delay):
                    return
            else:
                self.send_response(response.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
            if self.command == "HEAD":
                return
            for chunk in [response.body] if isinstance(response.body, bytes) else response.body:
                self.wfile.write(chunk)
                self.wfile.flush()
                if response.chunk_delay:
                    server.sleep(response.chunk_delay)
                    if server.stopping.is_set():
                        return

        def _send_head_slowly(self, code: int, headers: dict[str, str], interval: float) -> bool:
            """Status line and headers one byte every `interval` seconds; False when the server stopped meanwhile."""
            lines = [f"{self.protocol_version} {code} {http.HTTPStatus(code).phrase}"]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            for byte in ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"):
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                server.sleep(interval)
                if server.stopping.is_set():
                    return False
            return True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass  # keep test output clean

    return _Handler


# Ready-made handlers.

def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Response:
    """A bare status response, e.g. status(429, {"Retry-After": "120"})."""
    return Response(code, body or f"status {code}".encode(), headers or {})


def feed(body: bytes, etag: str | None = None, last_modified: str | None = None,
         content_type: str = "application/rss+xml") -> Handler:
    """Serve a feed with validators, answering 304 when If-None-Match / If-Modified-Since match."""
    headers = {"Content-Type": content_type}
    if etag:
        headers["ETag"] = etag
    if last_modified:
        headers["Last-Modified"] = last_modified

    def handler(request: Request) -> Response:
        if (etag and request.headers.get("if-none-match") == etag) or (
                not etag and last_modified and request.headers.get("if-modified-since") == last_modified):
            return Response(304, b"", {k: v for k, v in headers.items() if k != "Content-Type"})
        return Response(200, body, headers)

    return handler


def redirect(location: str, code: int = 302) -> Response:
    """A redirect; point two routes at each other for a loop."""
    return Response(code, b"", {"Location": location})


def hang(seconds: float = 30.0) -> Response:
    """Accept the request but send nothing for `seconds` (or until the server stops)."""
    return Response(200, b"late", delay=seconds)


def drip(body: bytes, interval: float) -> Response:
    """Send the body one byte every `interval` seconds (with a truthful Content-Length)."""
    return Response(200, [body[i:i + 1] for i in range(len(body))],
                    {"Content-Type": "application/rss+xml", "Content-Length": str(len(body))}, chunk_delay=interval)


def slow_headers(body: bytes, interval: float) -> Response:
    """A feed whose status line and headers arrive one byte every `interval` seconds, then the whole body."""
    return Response(200, body, {"Content-Type": "application/rss+xml"}, header_delay=interval)


def gzip_bomb(size: int) -> Response:
    """`size` bytes of zeros, gzip-compressed (a few KB on the wire), sent with Content-Encoding: gzip."""
    return Response(200, _gzip_zeros(size), {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"})


def html_page(title: str = "Welcome") -> Response:
    """An ordinary HTML page, as a site serves when a feed URL is wrong."""
    page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><p>{title}</p></body></html>"
    return Response(200, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


def gzipped(body: bytes, content_type: str = "application/rss+xml") -> Response:
    """A normal gzip-encoded response."""
    return Response(200, gzip.compress(body), {"Content-Type": content_type, "Content-Encoding": "gzip"})


def http_date(seconds_from_now: float = 0.0) -> str:
    """An IMF-fixdate, for Last-Modified and Retry-After."""
    return formatdate(time.time() + seconds_from_now, usegmt=True)


_bombs: dict[int, bytes] = {}


def _gzip_zeros(size: int) -> bytes:
    """gzip of `size` zero bytes, compressed a megabyte at a time and cached per size."""
    if size not in _bombs:
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as out:
            block = bytes(1024 * 1024)
            for offset in range(0, size, len(block)):
                out.write(block[: size - offset])
        _bombs[size] = buffer.getvalue()
    return _bombs[size]
