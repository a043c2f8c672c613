"""A LanguageDetector in a helper process, so that lingua scores the next batches while this process runs spaCy.

lingua holds the GIL while it scores and while its refinement models load, so a thread cannot overlap it
with NER; a process can. The helper is `python -m newsbeam.transforms.normalise.detector_process`, as
Beam starts its own SDK workers: not `multiprocessing`, whose fork is unsafe next to gRPC threads and
whose spawn re-runs the caller's main script. Requests and replies are pickles over the helper's stdin
and a pipe of its own; replies come back in order and resolve futures.
"""

from __future__ import annotations

import atexit
import collections
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future

from newsbeam.transforms.normalise.language import LanguageDetector


class HelperGone(RuntimeError):
    """The helper process ended (killed, out of memory) before it answered."""


def worth_a_helper() -> bool:
    """A helper only pays where this process may use another core to run it on (and runs on POSIX only:
    the replies come on an inherited pipe)."""
    if os.name != "posix" or not sys.executable:
        return False
    return len(os.sched_getaffinity(0)) > 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) > 1


class DetectorProcess:
    """`LanguageDetector(languages, **options).detect_many` in one helper process; results come back as futures."""

    def __init__(self, languages: tuple[str, ...], options: dict):
        read_end, write_end = os.pipe()
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["newsbeam"].__file__)))
        python_path = os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(write_end)],
            stdin=subprocess.PIPE,
            stdout=2,  # its stdout to this process's stderr: this process's stdout may carry a dry run's JSON
            pass_fds=(write_end,),
            env={**os.environ, "PYTHONPATH": python_path},  # importable as here, however this process found it
        )
        os.close(write_end)
        self._replies = os.fdopen(read_end, "rb")
        self._pending: collections.deque[Future] = collections.deque()
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()  # None ends the requests
        self._lock = threading.Lock()
        self.broken = False
        # The helper builds its detector from this first message while this process goes on.
        self._outbox.put((tuple(languages), dict(options)))
        # Pipes hold ~64 KB and the helper reads a batch only when it is done with the last one: a writer
        # thread keeps the caller from blocking on a full pipe.
        self._writer = threading.Thread(target=self._write_requests, name="newsbeam-detector-requests", daemon=True)
        self._writer.start()
        threading.Thread(target=self._read_replies, name="newsbeam-detector-replies", daemon=True).start()

    def submit(self, texts: Sequence[str], hints: Sequence[str | None]) -> Future:
        future = Future()
        with self._lock:
            if not self.broken:
                self._pending.append(future)
                self._outbox.put((list(texts), list(hints)))
                return future
        future.set_exception(HelperGone("the language detector process has ended"))
        return future

    def close(self) -> None:
        with self._lock:
            self.broken = True  # no more batches: shared_helper starts a new helper if one is asked for
        self._outbox.put(None)
        self._writer.join(timeout=30)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()

    def kill(self) -> None:
        """End a helper that stopped answering; its pending batches fail with HelperGone."""
        self._process.kill()

    def _write_requests(self) -> None:
        stdin = self._process.stdin
        try:
            while (message := self._outbox.get()) is not None:
                pickle.dump(message, stdin, protocol=pickle.HIGHEST_PROTOCOL)
                stdin.flush()
            stdin.close()  # end of requests: the helper exits
        except OSError:
            self._fail_pending()

    def _read_replies(self) -> None:
        while True:
            try:
                ok, value = pickle.load(self._replies)
            except (EOFError, OSError, pickle.UnpicklingError):
                self._fail_pending()
                return
            with self._lock:
                future = self._pending.popleft()
            if ok:
                future.set_result(value)
            else:
                future.set_exception(RuntimeError(value))

    def _fail_pending(self) -> None:
        with self._lock:
            self.broken = True
            pending, self._pending = list(self._pending), collections.deque()
        for future in pending:
            future.set_exception(HelperGone("the language detector process has ended"))


_HELPERS: dict[tuple, DetectorProcess] = {}
_HELPERS_LOCK = threading.Lock()


def shared_helper(languages: tuple[str, ...], options: dict) -> DetectorProcess:
    """One helper per configuration per process, for the process's life: a chunked run's pipelines and a
    worker's DoFn instances share its loaded models."""
    key = (tuple(languages), tuple(sorted(options.items())))
    with _HELPERS_LOCK:
        helper = _HELPERS.get(key)
        if helper is None or helper.broken:
            helper = _HELPERS[key] = DetectorProcess(languages, options)
        return helper


@atexit.register
def _close_helpers() -> None:
    for helper in _HELPERS.values():
        helper.close()


def _serve(replies) -> None:
    """The helper's loop: a detector from the first request, then one reply per batch until stdin closes."""
    requests = sys.stdin.buffer
    try:
        languages, options = pickle.load(requests)
    except EOFError:
        return
    detector = LanguageDetector(languages, **options)
    detector.load()
    while True:
        try:
            texts, hints = pickle.load(requests)
        except EOFError:
            return
        try:
            reply = (True, detector.detect_many(texts, hints))
        except Exception as error:  # the caller retries the batch row by row
            reply = (False, f"{type(error).__name__}: {error}")
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


if __name__ == "__main__":
    with os.fdopen(int(sys.argv[1]), "wb") as reply_pipe:
        _serve(reply_pipe)
