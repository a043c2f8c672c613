"""One writer per output: a lock file with a heartbeat, taken by `ingest` and `compact`.

On a local disk the lock is created with O_EXCL, so two runs can never both hold it. On object stores
(gs://, s3://) there is no exclusive create; the lock is written, then read back to check it is ours,
which narrows the race to the store's consistency window. A lock whose holder died is stale: at once
when the holder ran on this host and its process is gone, else when its heartbeat is older than
`stale_after`.

Taking over a stale lock on a local disk is atomic: the taker holds an exclusive `flock` on the stale
lock file (never blocking: a second taker is refused), checks that the name still refers to that file
and that its holder is still stale, deletes it, and then creates its own with O_EXCL like any run. So of
runs that find the same stale lock, only one removes it and only one holds the new one; the kernel drops
a `flock` when its process dies, so a taker killed half-way blocks no one.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import socket
import threading
import uuid

from apache_beam.io.filesystems import BeamIOError, FileSystems

from newsbeam.errors import OutputLocked
from newsbeam.transforms.sink.files import normalise_location, write_bytes_atomically

LOCK_NAME = "_lock.json"
# `ingest` checks that it can write the output before it takes the lock (cli._check_output_writable): these
# hidden probes belong to live runs, so the sweep below leaves them alone.
WRITE_PROBE_PREFIX = ".write-probe-"
# Compaction's working folders: `_runs/.compact-<stamp>-<partition>` (older versions built them as
# `articles/date=<day>/.lang=<lang>.compact-<stamp>`). One that a dead compaction left is swept below.
COMPACTION_FOLDER_PREFIX = ".compact-"
HEARTBEAT_SECONDS = 30.0
# A lock file that cannot be read yet may be in the middle of being created: it is given this long.
UNREADABLE_GRACE_SECONDS = 5.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputLock:
    """Context manager: hold `<output>/_lock.json` for the duration of a run, refreshing its heartbeat."""

    def __init__(self, output: str, run_id: str, *, stale_after: dt.timedelta = dt.timedelta(minutes=10)):
        self.path = FileSystems.join(output, LOCK_NAME)
        self._stale_after = stale_after
        self._token = uuid.uuid4().hex
        self._holder = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(), "token": self._token}
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def is_stale(self, holder: dict) -> bool:
        if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
            if not _process_alive(holder["pid"]):
                return True
        try:
            beat = dt.datetime.fromisoformat(holder["heartbeat_at"])
        except (KeyError, TypeError, ValueError):
            return True
        return _now() - beat > self._stale_after

    def acquire(self) -> None:
        for _ in range(2):  # a second try after removing a stale lock
            if self._create():
                self._heartbeat = threading.Thread(target=self._beat, name="newsbeam-lock-heartbeat", daemon=True)
                self._heartbeat.start()
                return
            if "://" in self.path:
                self._remove_stale_object()
            else:
                self._remove_stale_file()
        raise OutputLocked(self.path, self._read() or {})

    def _refuse_unless_stale(self, holder: dict | None, age_seconds: float) -> None:
        """Raise OutputLocked unless the lock (`holder`, None when unreadable) may be taken over."""
        if holder is None and age_seconds < UNREADABLE_GRACE_SECONDS:
            raise OutputLocked(self.path, {"run_id": "(being written)"})
        if holder is not None and not self.is_stale(holder):
            raise OutputLocked(self.path, holder)

    def _remove_stale_file(self) -> None:
        """Delete the local lock file if it is stale, so that at most one of the runs that found it does."""
        try:
            handle = open(self.path, "r+b")  # read-write: NFS grants an exclusive flock only then
        except FileNotFoundError:
            return  # released or taken over meanwhile: try to create it again
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputLocked(self.path, {"run_id": "(being taken over by another run)"}) from None
            if not _names_file(self.path, handle):
                return  # another run took it over before us: try to create it, then judge the new one
            status = os.fstat(handle.fileno())
            self._refuse_unless_stale(_parse(handle.read()), _now().timestamp() - status.st_mtime)
            os.unlink(self.path)

    def _remove_stale_object(self) -> None:
        """Delete a stale lock object (best effort: object stores have no exclusive create to build on)."""
        try:
            age = _now().timestamp() - FileSystems.last_updated(self.path)
        except Exception:  # gone meanwhile, or no timestamp: judge by the content alone
            age = UNREADABLE_GRACE_SECONDS
        self._refuse_unless_stale(self._read(), age)
        try:
            FileSystems.delete([self.path])
        except BeamIOError:
            pass  # removed by another run meanwhile: try to create it again

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        holder = self._read()
        if holder is not None and holder.get("token") == self._token:
            FileSystems.delete([self.path])

    def _document(self) -> bytes:
        now = _now().isoformat()
        self._holder.setdefault("acquired_at", now)
        return json.dumps({**self._holder, "heartbeat_at": now}).encode("utf-8")

    def _create(self) -> bool:
        if "://" not in self.path:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            try:
                descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(self._document())
            return True
        if FileSystems.exists(self.path):
            return False
        write_bytes_atomically(self.path, self._document())
        holder = self._read()
        return holder is not None and holder.get("token") == self._token

    def _read(self) -> dict | None:
        try:
            with FileSystems.open(self.path, compression_type="uncompressed") as handle:
                return _parse(handle.read())
        except Exception:  # missing: treat as absent
            return None

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            holder = self._read()
            if holder is None or holder.get("token") != self._token:
                return  # someone broke our lock as stale; release() will leave theirs alone
            write_bytes_atomically(self.path, self._document())


def _parse(document: bytes) -> dict | None:
    """The holder a lock file names; None when it is half-written by a holder that died (or is still writing)."""
    try:
        holder = json.loads(document.decode("utf-8"))
    except ValueError:
        return None
    return holder if isinstance(holder, dict) else None


def _names_file(path: str, handle) -> bool:
    """Whether `path` still refers to the file open as `handle` (not deleted, not replaced by another)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(handle.fileno())
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def remove_temporaries(output: str) -> list[str]:
    """Delete what dead runs and compactions left anywhere under `output`: hidden (`.`-prefixed) files
    such as temporaries and staged chunks, and compaction's working folders; returns the files deleted.

    Only call this while holding the lock: then no live writer owns any of them, but for the write probes of
    runs waiting for the lock, which are kept.
    """
    output = normalise_location(output).rstrip("/")
    if "://" not in output:
        _remove_compaction_folders(output)
    matches = FileSystems.match([FileSystems.join(output, "**")])[0].metadata_list
    stale = [m.path for m in matches if _left_behind(m.path[len(output) :].strip("/").split("/"))]
    if stale:
        FileSystems.delete(stale)
    return stale


def _is_compaction_folder(name: str) -> bool:
    return name.startswith(".") and COMPACTION_FOLDER_PREFIX in name


def _left_behind(parts: list[str]) -> bool:
    """Whether the file at these path parts (below the output) is a leftover: hidden, but not a write
    probe, or inside a compaction's working folder (object stores have no folders to remove)."""
    name = parts[-1]
    hidden = name.startswith(".") and not name.startswith(WRITE_PROBE_PREFIX)
    return hidden or any(_is_compaction_folder(part) for part in parts[:-1])


def _remove_compaction_folders(output: str) -> None:
    """Delete the working folders of compactions that died, under a local output."""
    for folder, subfolders, _ in os.walk(output):
        for name in [name for name in subfolders if _is_compaction_folder(name)]:
            shutil.rmtree(os.path.join(folder, name))
            subfolders.remove(name)
