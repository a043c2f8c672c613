"""A LanguageDetector in a helper process, so that lingua scores the next batches while this process runs spaCy.

lingua holds the GIL while it scores and while its refinement models load, so a thread cannot overlap it
with NER; a process can. The helper is `python -m newsbeam.transforms.normalise.detector_process`, as
Beam starts its own SDK workers: not `multiprocessing`, whose fork is unsafe next to gRPC threads and
whose spawn re-runs the caller's main script. Requests and replies are pickles over the helper's stdin
and a pipe of its own. Each batch gets two replies: its first pass, as soon as the helper reads it, then
the texts that need high-accuracy models, once those have loaded; first passes go before refinements, so
loading models never holds up the rows that do not need them.
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
from typing import NamedTuple

from newsbeam.transforms.normalise.language import LanguageDetector


class HelperGone(RuntimeError):
    """The helper process ended (killed, out of memory) before it answered."""


def worth_a_helper() -> bool:
    """A helper only pays where this process may use another core to run it on (and runs on POSIX only:
    the replies come on an inherited pipe)."""
    if os.name != "posix" or not sys.executable:
        return False
    return len(os.sched_getaffinity(0)) > 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) > 1


class BatchFutures(NamedTuple):
    """A batch's results: `first` the first pass (None where a text is refined), `rest` the refined ones by index."""

    first: Future
    rest: Future


class DetectorProcess:
    """`LanguageDetector(languages, **options)` in one helper process; each batch's results come back as futures."""

    def __init__(self, languages: tuple[str, ...], options: dict):
        read_end, write_end = os.pipe()
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["newsbeam"].__file__)))
        environment = {
            **os.environ,
            # importable as here, however this process found it
            "PYTHONPATH": os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH")))),
            # lingua on one thread leaves the other core to this process's NER: on 3,000 Reuters articles
            # 1.14 x bare spaCy against 1.20-1.22 x with a thread per core (benchmarks/results/performance.md)
            "RAYON_NUM_THREADS": os.environ.get("RAYON_NUM_THREADS", "1"),
        }
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(write_end)],
            stdin=subprocess.PIPE,
            stdout=2,  # its stdout to this process's stderr: this process's stdout may carry a dry run's JSON
            pass_fds=(write_end,),
            env=environment,
        )
        os.close(write_end)
        self._replies = os.fdopen(read_end, "rb")
        self._pending: dict[int, BatchFutures] = {}
        self._next_id = 0
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()  # None ends the requests
        self._lock = threading.Lock()
        self.broken = False
        # The helper builds its detector from this first message while this process goes on.
        self._outbox.put((tuple(languages), dict(options)))
        # Pipes hold ~64 KB and the helper may be busy loading models: a writer thread keeps the caller from
        # blocking on a full pipe.
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
        for future in (future for futures in pending for future in futures):
            if not future.done():
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
    """The helper's loop: a detector from the first message, then for each batch its first pass, and its
    refinement when no first pass is waiting, until the requests end."""
    stdin = sys.stdin.buffer
    try:
        languages, options = pickle.load(stdin)
    except EOFError:
        return
    detector = LanguageDetector(languages, **options)
    detector.load()
    requests: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_read_requests, args=(stdin, requests), daemon=True).start()
    refining: collections.deque = collections.deque()  # (batch id, refinements) whose first pass was sent

    def reply(*message) -> None:
        pickle.dump(message, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()

    while True:
        try:
            request = requests.get(block=not refining)
        except queue.Empty:  # no first pass waiting: refine the oldest batch
            batch_id, refinements = refining.popleft()
            try:
                reply(batch_id, "rest", detector.refine(refinements))
            except Exception as error:  # the caller scores these texts itself
                reply(batch_id, "error", f"{type(error).__name__}: {error}")
            continue
        if request is None:  # the requests ended: finish the refinements asked for, then stop
            if not refining:
                return
            requests.put(None)
            continue
        batch_id, texts, hints = request
        try:
            results, refinements = detector.first_pass(texts, hints)
        except Exception as error:  # the caller retries the batch itself, row by row
            reply(batch_id, "error", f"{type(error).__name__}: {error}")
            continue
        reply(batch_id, "first", results)
        if refinements:
            refining.append((batch_id, refinements))


def _read_requests(stdin, requests: queue.SimpleQueue) -> None:
    while True:
        try:
            requests.put(pickle.load(stdin))
        except EOFError:
            requests.put(None)
            return


if __name__ == "__main__":
    with os.fdopen(int(sys.argv[1]), "wb") as reply_pipe:
        _serve(reply_pipe)
