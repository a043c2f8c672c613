"""Shared helpers for the benchmarks: run a child process and measure its wall time and memory, machine facts.

Memory is reported two ways:
- `peak_rss_mib`: wait4's ru_maxrss, the largest peak of the child or any descendant it reaped (not a sum);
- `peak_tree_rss_mib` / `peak_tree_pss_mib`: the largest sum over the child's whole process tree (Beam's
  multi_processing workers are grandchildren), sampled from /proc (RSS every 0.5 s, PSS every 2 s, so a
  PSS peak shorter than that can be missed). PSS splits shared pages between processes, so it does not
  count the same library twice. The sampler costs ~1% of a core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import platform
import subprocess
import sys
import threading
import time


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def take_articles(corpus: str, count: int, target: pathlib.Path) -> pathlib.Path:
    """The first `count` lines of a JSON Lines corpus, copied to `target`."""
    written = 0
    with open(corpus, encoding="utf-8") as source, open(target, "w", encoding="utf-8") as out:
        for line in source:
            if written >= count:
                break
            out.write(line)
            written += 1
    if written < count:
        raise SystemExit(f"{corpus} has only {written} articles, {count} asked")
    return target


def _children(pid: int) -> list[int]:
    """Children of every thread of `pid` (Beam starts its worker processes from threads other than the main one)."""
    children = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children += [int(p) for p in handle.read().split()]
        except OSError:
            pass
    return children


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(_children(current))
    return pids


_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _rss_kib(pid: int) -> int:
    """Resident set of one process in KiB (cheap: /proc/PID/statm), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * _PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def _pss_kib(pid: int) -> int:
    """Proportional set size in KiB (/proc/PID/smaps_rollup walks every mapping: read it less often)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (/proc/PID/stat), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class TreeSampler(threading.Thread):
    """Peak summed RSS (every `interval`) and PSS (every `pss_every` samples) of a process tree, and the CPU
    seconds its processes used (as last sampled: a process that ends loses at most `interval` of it)."""

    def __init__(self, pid: int, interval: float = 0.5, pss_every: int = 4):
        super().__init__(daemon=True)
        self.pid, self.interval, self.pss_every = pid, interval, pss_every
        self.peak_rss = self.peak_pss = 0
        self.peak_processes = 0
        self._cpu: dict[int, float] = {}
        self._halt = threading.Event()

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    def cpu_mark(self) -> float:
        """The tree's CPU seconds now, to subtract from a later reading (a worker's CPU before a run)."""
        return sum(_cpu_seconds(pid) for pid in _tree(self.pid))

    def run(self):
        tick = 0
        while not self._halt.is_set():
            pids = _tree(self.pid)
            for pid in pids:
                self._cpu[pid] = max(self._cpu.get(pid, 0.0), _cpu_seconds(pid))
            self.peak_rss = max(self.peak_rss, sum(map(_rss_kib, pids)))
            if tick % self.pss_every == 0:
                self.peak_pss = max(self.peak_pss, sum(map(_pss_kib, pids)))
            self.peak_processes = max(self.peak_processes, len(pids))
            tick += 1
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()


def run_child(command: list[str], *, env: dict | None = None, check: bool = True) -> dict:
    """Run `command`; wall seconds, memory (see module doc), stdout, stderr and the load average before/after."""
    load_before = load_average()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, **(env or {})})  # fmt: skip
    sampler = TreeSampler(process.pid)
    sampler.start()
    err_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: err_chunks.append(process.stderr.read()))
    reader.start()
    out = process.stdout.read()
    reader.join()
    sampler.stop()  # before the reap: the tree must still exist while it is sampled
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = err_chunks[0].decode(errors="replace")
    if check and process.returncode:
        raise SystemExit(f"{' '.join(command[:6])} failed ({process.returncode}):\n{stderr[-3000:]}")
    return {
        "seconds": round(elapsed, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "peak_tree_rss_mib": round(sampler.peak_rss / 1024),
        "peak_tree_pss_mib": round(sampler.peak_pss / 1024),
        "processes": sampler.peak_processes,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_before": load_before,
        "load_after": load_average(),
        "returncode": process.returncode,
        "stdout": out.decode(errors="replace"),
        "stderr": stderr,
    }


def without_output(run: dict) -> dict:
    """A child run's measurements without its captured stdout/stderr, for the results file."""
    return {k: v for k, v in run.items() if k not in ("stdout", "stderr")}


def run_ingest(source: pathlib.Path, output: pathlib.Path, ner_models: list[str], beam_args: list[str]) -> tuple[dict, dict]:
    """`newsbeam ingest` as a measured child process; returns the measurements and the run summary."""
    run = run_child([sys.executable, "-m", "newsbeam.cli", "ingest", "--source", str(source), "--output", str(output),
                     *[f"--ner-model={m}" for m in ner_models], *beam_args])  # fmt: skip
    (summary_path,) = (output / "_runs").glob("*.json")
    return run, json.loads(summary_path.read_text())


def pipeline_fields(run: dict, summary: dict) -> dict:
    """What a results file keeps of a measured `newsbeam ingest` child: its measurements and the run's totals."""
    return {**without_output(run), "pipeline_seconds": summary["seconds"], "totals": summary["totals"]}


def corpus_parser(doc: str, results: pathlib.Path, articles: int) -> argparse.ArgumentParser:
    """The arguments of a benchmark over the first N articles of a corpus: the corpus, `--articles`, `--label`
    (free text stored with the result) and `--results` (the JSON Lines file to append to)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("corpus", help="JSON Lines corpus (e.g. reuters21578.jsonl)")
    parser.add_argument("--articles", type=int, default=articles, help="first N articles")
    parser.add_argument("--label", default="", help="free text stored with the result")
    parser.add_argument("--results", default=str(results), help="append results here")
    return parser


def record_result(path: str, benchmark: str, fields: dict) -> dict:
    """Append one result line (benchmark name, UTC time, `fields`, load average at the end, machine); return it."""
    result = {"benchmark": benchmark, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              **fields, "load_end": load_average(), "machine": machine()}  # fmt: skip
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(result, sort_keys=True) + "\n")
    return result
