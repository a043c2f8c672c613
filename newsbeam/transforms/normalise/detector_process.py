"""A LanguageDetector in a helper process, so that lingua scores the next batches while spaCy runs elsewhere.

lingua holds the GIL while it scores and while its refinement models load, so a thread cannot overlap it
with NER; a process can. The helper is `python -m newsbeam.transforms.normalise.detector_process`, as
Beam starts its own SDK workers: not `multiprocessing`, whose fork is unsafe next to gRPC threads and
whose spawn re-runs the caller's main script. Requests and replies are pickles. Each batch gets two replies:
its first pass, as soon as the helper reads it, then the texts that need high-accuracy models, once those
have loaded; first passes go before refinements, so loading models never holds up the rows that do not
need them.

A helper serves the process that started it (over its stdin and a pipe) and any process of this machine
that connects to its Unix socket, `address`: the worker processes of a local multi_processing run share
the launcher's helper, so lingua's models load once per run instead of once per worker.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import pickle
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import BinaryIO, NamedTuple

from newsbeam.transforms.normalise.language import LanguageDetector

# High-accuracy models loaded between two looks at the requests (~0.16 s each on one thread): a batch's
# refinement may need thirty, and first passes waiting behind all of them would hold up every worker.
MODELS_PER_STEP = 4
# Longest socket path every POSIX system binds (Linux allows 107 bytes, macOS 103).
_MAX_SOCKET_PATH = 100


class HelperGone(RuntimeError):
    """The helper process ended (killed, out of memory) before it answered."""


def worth_a_helper() -> bool:
    """A helper only pays where this process may use another core to run it on (and runs on POSIX only:
    the replies come on an inherited pipe or a Unix socket)."""
    if os.name != "posix" or not sys.executable:
        return False
    return len(os.sched_getaffinity(0)) > 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) > 1


class BatchFutures(NamedTuple):
    """A batch's results: `first` the first pass (None where a text is refined), `rest` the refined ones by index."""

    first: Future
    rest: Future


class _Client:
    """Batches to a helper over a stream of requests; their results come back as futures from a stream of replies."""

    def __init__(self, requests: BinaryIO, replies: BinaryIO, greeting: tuple | None = None):
        self._requests, self._replies = requests, replies
        self._pending: dict[int, BatchFutures] = {}
        self._next_id = 0
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()  # None ends the requests
        self._lock = threading.Lock()
        self.broken = False
        if greeting is not None:
            self._outbox.put(greeting)
        # Pipes and sockets hold ~64 KB and the helper may be busy loading models: a writer thread keeps the
        # caller from blocking on a full one.
        self._writer = threading.Thread(target=self._write_requests, name="newsbeam-detector-requests", daemon=True)
        self._writer.start()
        threading.Thread(target=self._read_replies, name="newsbeam-detector-replies", daemon=True).start()

    def submit(self, texts: Sequence[str], hints: Sequence[str | None]) -> BatchFutures:
        futures = BatchFutures(Future(), Future())
        with self._lock:
            if not self.broken:
                batch_id, self._next_id = self._next_id, self._next_id + 1
                self._pending[batch_id] = futures
                self._outbox.put((batch_id, list(texts), list(hints)))
                return futures
        for future in futures:
            future.set_exception(HelperGone("the language detector process has ended"))
        return futures

    def close(self) -> None:
        with self._lock:
            self.broken = True  # no more batches: a new client is made if one is asked for
        self._outbox.put(None)
        self._writer.join(timeout=30)

    def _end_requests(self) -> None:
        self._requests.close()

    def _write_requests(self) -> None:
        try:
            while (message := self._outbox.get()) is not None:
                pickle.dump(message, self._requests, protocol=pickle.HIGHEST_PROTOCOL)
                self._requests.flush()
            self._end_requests()  # the helper finishes what it was asked, then stops serving this client
        except OSError:
            self._fail_pending()

    def _read_replies(self) -> None:
        while True:
            try:
                batch_id, kind, value = pickle.load(self._replies)
            except (EOFError, OSError, pickle.UnpicklingError):
                self._fail_pending()
                return
            with self._lock:
                futures = self._pending.get(batch_id)
                if futures is not None and (kind != "first" or None not in value):
                    del self._pending[batch_id]  # nothing more will come for this batch
            if futures is None:  # already failed: the helper was given up on
                continue
            if kind == "error":
                for future in futures:
                    if not future.done():
                        future.set_exception(RuntimeError(value))
            elif kind == "first":
                futures.first.set_result(value)
                if None not in value:
                    futures.rest.set_result({})
            else:
                futures.rest.set_result(value)

    def _fail_pending(self) -> None:
        with self._lock:
            self.broken = True
            pending, self._pending = list(self._pending.values()), {}
        self._outbox.put(None)  # the writer thread ends too
        for future in (future for futures in pending for future in futures):
            if not future.done():
                future.set_exception(HelperGone("the language detector process has ended"))


class DetectorProcess(_Client):
    """`LanguageDetector(languages, **options)` in a helper process that this process starts and owns; other
    processes of this machine reach it at `address` (a socket in a folder only this user may enter), or
    nowhere (None) when no socket could be made."""

    def __init__(self, languages: tuple[str, ...], options: dict):
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["newsbeam"].__file__)))
        environment = {
            **os.environ,
            # importable as here, however this process found it
            "PYTHONPATH": os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH")))),
            # lingua on one thread leaves the other core to NER: on 3,000 Reuters articles 1.14 x bare spaCy
            # against 1.20-1.22 x with a thread per core (benchmarks/results/performance.md)
            "RAYON_NUM_THREADS": os.environ.get("RAYON_NUM_THREADS", "1"),
        }
        # Listening before the helper starts: a worker that connects early waits in the backlog, never fails.
        listener, self.address = _listening_socket()
        read_end, write_end = os.pipe()
        passed = [write_end] + ([listener.fileno()] if listener else [])
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, *map(str, passed)],
                stdin=subprocess.PIPE,
                stdout=2,  # its stdout to this process's stderr: this process's stdout may carry a dry run's JSON
                pass_fds=passed,
                env=environment,
            )
        except BaseException:
            os.close(read_end)
            _remove_socket(self.address)
            raise
        finally:
            os.close(write_end)
            if listener:
                listener.close()
        # The helper builds its detector from the greeting while this process goes on.
        super().__init__(self._process.stdin, os.fdopen(read_end, "rb"), greeting=(tuple(languages), dict(options)))

    def close(self) -> None:
        super().close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        _remove_socket(self.address)

    def give_up(self) -> None:
        """End a helper that stopped answering; its pending batches fail with HelperGone."""
        self._process.kill()


def _listening_socket() -> tuple[socket.socket | None, str | None]:
    """A Unix socket listening in a new private folder, and its path; (None, None) where none can be made."""
    folder = None
    try:
        folder = tempfile.mkdtemp(prefix="newsbeam-detector-")
        if len(os.path.join(folder, "socket")) > _MAX_SOCKET_PATH:  # a long TMPDIR
            os.rmdir(folder)
            folder = tempfile.mkdtemp(prefix="newsbeam-detector-", dir="/tmp")
        address = os.path.join(folder, "socket")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(address)
            listener.listen()
        except OSError:
            listener.close()
            raise
        return listener, address
    except OSError as error:  # the helper still serves this process; other processes start their own
        logging.warning("newsbeam: the language detector helper gets no socket, so it serves one process: %s", error)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        return None, None


class _Connection(_Client):
    """A client of the helper another process of this machine owns, at its address."""

    def __init__(self, address: str):
        self.address = address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._socket.connect(address)
        except OSError:
            self._socket.close()
            raise
        super().__init__(self._socket.makefile("wb"), self._socket.makefile("rb"))

    def _end_requests(self) -> None:
        super()._end_requests()
        self._socket.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        super().close()
        self._socket.close()

    def give_up(self) -> None:
        """The helper is another process's and cannot be ended from here: this process stops using it (its
        pending batches fail with HelperGone) and will not connect to it again."""
        _GIVEN_UP.add(self.address)
        self._socket.shutdown(socket.SHUT_RDWR)


_HELPERS: dict[tuple, DetectorProcess] = {}  # owned by this process, by configuration
_CONNECTIONS: dict[str, _Connection] = {}  # to other processes' helpers, by address
_GIVEN_UP: set[str] = set()  # addresses of helpers that stopped answering this process
_HELPERS_LOCK = threading.Lock()


def shared_helper(languages: tuple[str, ...], options: dict) -> DetectorProcess:
    """One helper per configuration per process, for the process's life: a chunked run's pipelines and a
    worker's DoFn instances share its loaded models, and so do the processes this one gives its address."""
    key = (tuple(languages), tuple(sorted(options.items())))
    with _HELPERS_LOCK:
        helper = _HELPERS.get(key)
        if helper is None or helper.broken:
            if helper is not None:
                helper.close()  # reaps it and removes its socket
            helper = _HELPERS[key] = DetectorProcess(languages, options)
        return helper


def helper_at(address: str) -> _Client:
    """The helper at `address`: this process's own when it owns it, else one connection per process to it.
    Raises OSError when no helper listens there or it stopped answering this process."""
    with _HELPERS_LOCK:
        for helper in _HELPERS.values():
            if helper.address == address and not helper.broken:
                return helper
        if address in _GIVEN_UP:
            raise ConnectionRefusedError(f"the language detector at {address} stopped answering")
        connection = _CONNECTIONS.get(address)
        if connection is None or connection.broken:
            if connection is not None:
                connection.close()
            connection = _CONNECTIONS[address] = _Connection(address)
        return connection


@atexit.register
def _close_helpers() -> None:
    for client in (*_CONNECTIONS.values(), *_HELPERS.values()):
        client.close()


class _Requester:
    """Where the helper's replies to one client go; a client that went away gets no more."""

    def __init__(self, replies: BinaryIO):
        self._replies, self.gone = replies, False

    def reply(self, *message) -> None:
        if self.gone:
            return
        try:
            pickle.dump(message, self._replies, protocol=pickle.HIGHEST_PROTOCOL)
            self._replies.flush()
        except OSError:
            self.gone = True


def _serve(stdin: BinaryIO, replies: BinaryIO, listener: socket.socket | None) -> None:
    """The helper's loop: a detector from the owner's greeting, then for each batch of any client its first
    pass, and its refinement when no first pass is waiting, until the owner's requests end; then what is
    asked already is answered and the socket is removed."""
    try:
        languages, options = pickle.load(stdin)
    except EOFError:
        return
    requests: queue.SimpleQueue = queue.SimpleQueue()  # (requester, request or None at its end)
    owner = _Requester(replies)
    _read_requests_of(owner, stdin, requests)
    if listener is not None:
        threading.Thread(target=_accept, args=(listener, requests), daemon=True).start()
    detector = LanguageDetector(languages, **options)
    detector.load()
    refining: collections.deque = collections.deque()  # (requester, batch id, refinements) whose first pass was sent
    owner_done = False
    while not (owner_done and not refining and requests.empty()):
        try:
            requester, request = requests.get(block=not refining and not owner_done)
        except queue.Empty:  # no first pass waiting: go on refining the oldest batch
            if _refine_step(detector, *refining[0]):
                refining.popleft()
            continue
        if request is None:  # one client's requests ended; the owner's end the helper
            if requester is owner and listener is not None:
                _stop_listening(listener)
            owner_done = owner_done or requester is owner
            continue
        try:
            batch_id, texts, hints = request
        except (TypeError, ValueError):  # not a batch: nothing to answer
            continue
        try:
            results, refinements = detector.first_pass(texts, hints)
        except Exception as error:  # the caller retries the batch itself, row by row
            requester.reply(batch_id, "error", f"{type(error).__name__}: {error}")
            continue
        requester.reply(batch_id, "first", results)
        if refinements:
            refining.append((requester, batch_id, refinements))


def _refine_step(detector: LanguageDetector, requester: _Requester, batch_id: int, refinements: list) -> bool:
    """Load the next few models a batch's refinement needs, or, once all are loaded, answer it; True when the
    batch is done with (answered, failed, or its client gone)."""
    if requester.gone:
        return True
    try:
        if not detector.load_refinement_models(refinements, MODELS_PER_STEP):
            return False  # more models to load, after a look at the requests
        requester.reply(batch_id, "rest", detector.refine(refinements))
    except Exception as error:  # the caller scores these texts itself
        requester.reply(batch_id, "error", f"{type(error).__name__}: {error}")
    return True


def _accept(listener: socket.socket, requests: queue.SimpleQueue) -> None:
    """Each process of this machine that connects becomes a client, until the owner's requests end."""
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        _read_requests_of(_Requester(connection.makefile("wb")), connection.makefile("rb"), requests)


def _stop_listening(listener: socket.socket) -> None:
    """No new clients; the socket and its folder go (the owner removes them too, unless it was killed)."""
    address = listener.getsockname()
    try:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
    except OSError:
        pass
    listener.close()
    _remove_socket(address)


def _remove_socket(address: str | None) -> None:
    """The socket and the private folder made for it (nothing for a helper without one)."""
    if address:
        shutil.rmtree(os.path.dirname(address), ignore_errors=True)


def _read_requests_of(requester: _Requester, stream: BinaryIO, requests: queue.SimpleQueue) -> None:
    def read() -> None:
        while True:
            try:
                requests.put((requester, pickle.load(stream)))
            except Exception:  # the end of the stream, or garbage on it: this client is done
                requests.put((requester, None))
                return

    threading.Thread(target=read, daemon=True).start()


def _main(reply_fd: int, listener_fd: int | None) -> None:
    listener = socket.socket(fileno=listener_fd) if listener_fd is not None else None
    try:
        with os.fdopen(reply_fd, "wb") as reply_pipe:
            _serve(sys.stdin.buffer, reply_pipe, listener)
    finally:
        if listener is not None and listener.fileno() != -1:  # ended before its owner's requests did
            _stop_listening(listener)


if __name__ == "__main__":
    _main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else None)
