"""Every feed of a corpus through one `newsbeam ingest` run: does each file end as articles or dead letters?

Meant for feedparser's own test suite (wellformed/, illformed/, encoding/, entities/: each file opens with a
comment holding `Description:`, `Expect:` and optional `Header:` lines) and for folders of real feeds. Files
whose comment has `Header:` lines are served from a local HTTP server on 127.0.0.1 with those headers, so
the fetch path and the header rules (charset, Content-Location, Content-Language) are exercised too; all
other files are read as files. A file's outcome, from the run summary's per-source counts:

- `articles`: at least one item kept (written, a duplicate of one written from another file, or already seen);
- `dead letter`: no item kept, and at least one dead-letter row with a reason;
- `empty`: a feed with no items and no error (e.g. a channel without items);
- `crash`: a dead letter with reason `unexpected`; a failed run (exit status not 0) makes every file one.

As a cross-check, plain feedparser parses every file too (with its simulated headers): a file where newsbeam
read fewer items than feedparser found entries is listed as losing items.

    python benchmarks/feed_corpus.py /work/shared/data/feeds/feedparser-suite /work/shared/data/feeds/real \\
        --output /tmp/feed_corpus --report /tmp/feed_corpus/report.md

Prints a Markdown report (also written to --report) and writes `outcomes.json` (one entry per file) to --output.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.server
import json
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

import feedparser
import pyarrow.dataset as ds

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]  # the newsbeam checkout whose code is measured
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf"}
_HEADER = re.compile(r"^\s*Header:\s*([^:\s][^:]*):\s*(.*?)\s*$", re.MULTILINE)
_FIRST_COMMENT = re.compile(rb"<!--(.*?)-->", re.DOTALL)


def corpus_files(roots: list[pathlib.Path]) -> list[pathlib.Path]:
    """Feed files under the roots (by suffix; LICENSE and other notes skipped), sorted."""
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file() and p.suffix.lower() in FEED_SUFFIXES)


def simulated_headers(path: pathlib.Path) -> dict[str, str]:
    """The HTTP headers a test file asks for in its first comment (`Header: Name: value`), empty when none."""
    match = _FIRST_COMMENT.search(path.read_bytes()[:4096])
    if not match:
        return {}
    comment = match.group(1).decode("latin-1")
    return {name.strip(): value for name, value in _HEADER.findall(comment)}


class _CorpusServer(http.server.ThreadingHTTPServer):
    """Serves /<n> as the bytes of files[n] with that file's simulated headers."""

    daemon_threads = True

    def __init__(self, files: list[pathlib.Path]):
        self.files = files
        super().__init__(("127.0.0.1", 0), _CorpusHandler)

    def url(self, index: int) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/{index}/{urllib.parse.quote(self.files[index].name)}"


class _CorpusHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        try:
            path = self.server.files[int(self.path.split("/")[1])]
        except (ValueError, IndexError):
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        headers = simulated_headers(path)
        for name, value in headers.items():
            self.send_header(name, value)
        if not any(name.lower() == "content-type" for name in headers):
            self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@contextlib.contextmanager
def serving(files: list[pathlib.Path]):
    server = _CorpusServer(files)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _table(output: pathlib.Path, name: str) -> list[dict]:
    folder = output / name
    if not folder.exists():
        return []
    return ds.dataset(str(folder), format="parquet", partitioning="hive").to_table().to_pylist()


def classify(locations: dict[str, pathlib.Path], summary: dict, errors: list[dict], exit_status: int) -> dict[str, dict]:
    """Outcome per corpus file (keyed by its path), from the run summary's per-source counts and the dead letters."""
    reasons = collections.defaultdict(list)
    for row in errors:
        reasons[row["source"]].append(f"{row['stage']}/{row['reason']}")
    outcomes = {}
    for location, path in locations.items():
        counts = summary.get("sources", {}).get(location, {})
        found = sorted(reasons.get(location, []))
        if exit_status != 0 or any(reason.endswith("/unexpected") for reason in found):
            outcome = "crash"
        elif sum(counts.get(k, 0) for k in ("written", "duplicates", "seen")) > 0:
            outcome = "articles"
        elif found:
            outcome = "dead letter"
        else:
            outcome = "empty"
        outcomes[str(path)] = {"source": location, "outcome": outcome, "reasons": found,
                               "feedparser_entries": feedparser_entries(path),
                               **{k: counts.get(k, 0) for k in ("read", "written", "duplicates", "failed")}}
    return outcomes


def feedparser_entries(path: pathlib.Path) -> int:
    """How many entries plain feedparser finds in the file, given its simulated headers (the reference)."""
    headers = {name.lower(): value for name, value in simulated_headers(path).items()}
    return len(feedparser.parse(path.read_bytes(), response_headers=headers).entries)


def report(outcomes: dict[str, dict], roots: list[pathlib.Path], errors: list[dict], articles: int,
           seconds: float, exit_status: int, command: str, served: int) -> str:
    """The Markdown summary: totals per root, dead letters by stage/reason, crashes, wall time, command."""
    lines = ["| corpus | files | with articles | dead letters only | empty (no items, no error) | crashes |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for root in roots:
        mine = [o for path, o in outcomes.items() if pathlib.Path(path).is_relative_to(root)]
        for group in sorted({pathlib.Path(p).relative_to(root).parts[0] for p in outcomes if pathlib.Path(p).is_relative_to(root)}):
            part = [o for p, o in outcomes.items() if pathlib.Path(p).is_relative_to(root / group)]
            if (root / group).is_dir():
                lines.append(_row(f"{root.name}/{group}", part))
        lines.append(_row(f"**{root.name}**", mine))
    lines.append(_row("**all**", list(outcomes.values())))
    by_reason = collections.Counter((e["stage"], e["reason"]) for e in errors)
    totals = {k: sum(o[k] for o in outcomes.values()) for k in ("read", "written", "duplicates")}
    lines += ["", f"Items read: {totals['read']}; articles written: {articles}; duplicates dropped (the same id "
              f"in several files): {totals['duplicates']}; items that became record-level dead letters: "
              f"{totals['read'] - articles - totals['duplicates']}.",
              f"Files served over HTTP with their `Header:` lines: {served}.", "",
              "| dead letters: stage | reason | rows |", "| --- | --- | ---: |"]
    lines += [f"| {stage} | {reason} | {n} |" for (stage, reason), n in sorted(by_reason.items())]
    lost = {p: o for p, o in outcomes.items() if o["read"] < o["feedparser_entries"]}
    same = sum(o["read"] == o["feedparser_entries"] for o in outcomes.values())
    lines += ["", f"Items read per file equal to plain feedparser's entry count: {same} of {len(outcomes)} files; "
              f"fewer: {len(lost)}"]
    lines += [f"- `{_short(p, roots)}`: {o['read']} of {o['feedparser_entries']} ({', '.join(o['reasons']) or 'no dead letter'})"
              for p, o in sorted(lost.items())]
    record_only = [o for o in outcomes.values() if o["outcome"] == "dead letter"
                   and all(r.split("/")[0] not in ("fetch", "parse") for r in o["reasons"])]
    rejected = sorted((_short(p, roots), o["reasons"]) for p, o in outcomes.items()
                      if any(r.split("/")[0] in ("fetch", "parse") for r in o["reasons"]))
    lines += ["", f"Files whose every item became a record-level dead letter (e.g. no title and no text left "
              f"after HTML removal): {len(record_only)}.", "", "Files rejected as a whole:"]
    lines += [f"- `{path}`: {', '.join(reasons)}" for path, reasons in rejected] or ["- none"]
    crashes = [p for p, o in outcomes.items() if o["outcome"] == "crash"]
    lines += ["", f"Crashes: {len(crashes)}" + (" (" + ", ".join(crashes[:20]) + ")" if crashes else ""),
              f"Exit status: {exit_status}; wall time of the `newsbeam ingest` process (start-up and model loading "
              f"included): {seconds:.1f} s.", "", "```", command, "```"]
    return "\n".join(lines) + "\n"


def _short(path: str, roots: list[pathlib.Path]) -> str:
    root = next(r for r in roots if pathlib.Path(path).is_relative_to(r))
    return f"{root.name}/{pathlib.Path(path).relative_to(root)}"


def _row(label: str, outcomes: list[dict]) -> str:
    count = collections.Counter(o["outcome"] for o in outcomes)
    return (f"| {label} | {len(outcomes)} | {count['articles']} | {count['dead letter']} | {count['empty']} "
            f"| {count['crash']} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="+", type=pathlib.Path, help="folders of feed files")
    parser.add_argument("--output", required=True, type=pathlib.Path,
                        help="dataset folder: new, empty, or the output of an earlier run of this script (replaced)")
    parser.add_argument("--report", type=pathlib.Path, help="also write the Markdown report here")
    parser.add_argument("--ingest-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for `newsbeam ingest` (repeatable), e.g. --ingest-arg=--log-level=ERROR")
    args = parser.parse_args(argv)
    roots = [root.resolve() for root in args.roots]
    files = corpus_files(roots)
    if args.output.exists() and any(args.output.iterdir()):
        if not (args.output / "outcomes.json").exists():
            parser.error(f"--output {args.output} is not empty and not an earlier result of this script")
        shutil.rmtree(args.output)
    args.output.mkdir(parents=True)
    with_headers = [p for p in files if simulated_headers(p)]
    with serving(with_headers) as server:
        locations = {server.url(i): p for i, p in enumerate(with_headers)}
        served = set(with_headers)
        locations.update({str(p): p for p in files if p not in served})
        sources_file = args.output / "_corpus_sources.txt"  # `_`: readers of the dataset skip it
        sources_file.write_text("".join(f"{location}\n" for location in locations))
        command = [sys.executable, "-m", "newsbeam.cli", "ingest", "--sources", str(sources_file),
                   "--output", str(args.output), "--run-id", "corpus", "--fetch-retries", "0", *args.ingest_arg]
        began = time.monotonic()
        exit_status = subprocess.run(command, check=False, cwd=REPOSITORY).returncode
        seconds = time.monotonic() - began
    summary_path = args.output / "_runs" / "corpus.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    errors = _table(args.output, "errors")
    outcomes = classify(locations, summary, errors, exit_status)
    (args.output / "outcomes.json").write_text(json.dumps(outcomes, indent=1, sort_keys=True))
    shown = shlex.join(["python", "benchmarks/feed_corpus.py", *map(str, args.roots), "--output", str(args.output),
                        *(["--report", str(args.report)] if args.report else []),
                        *[f"--ingest-arg={a}" for a in args.ingest_arg]])
    text = report(outcomes, roots, errors, summary.get("totals", {}).get("written", 0), seconds, exit_status,
                  shown, len(with_headers))
    if args.report:
        args.report.write_text(text)
    print(text)
    crashes = sum(o["outcome"] == "crash" for o in outcomes.values())
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
