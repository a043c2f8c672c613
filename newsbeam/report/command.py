"""The `newsbeam report` subcommand: its options and what it does with them."""

from __future__ import annotations

import argparse
import re
import sys

from newsbeam.report import Selection, build_figures, write_html

FORMATS = ("html", "text")


def _languages(value: str) -> tuple[str, ...]:
    codes = tuple(sorted({code.strip().lower() for code in value.split(",") if code.strip()}))
    if not codes or not all(re.fullmatch(r"[a-z]{2,3}", code) for code in codes):
        raise argparse.ArgumentTypeError(f"expected ISO 639-1 codes separated by commas (nl,en or und), got {value!r}")
    return codes


def add_report_parser(commands, utc_time) -> argparse.ArgumentParser:
    """Register `report` on the CLI's subparsers; `utc_time` parses --since/--until as `ingest` does."""
    report = commands.add_parser(
        "report",
        help="what a dataset holds: one self-contained HTML page, or key figures in the terminal",
        description="Charts and tables of a dataset (articles per day, entities, tone, places, failures, "
                    "freshness, runs), aggregated by DuckDB over its visible Parquet files.",
    )  # fmt: skip
    report.add_argument("output", metavar="DIR", help="dataset root written by `newsbeam ingest --output DIR`")
    report.add_argument("--since", type=utc_time, metavar="DATE",
                        help="only publication days from DATE's day on (ISO 8601, UTC if no offset)")
    report.add_argument("--until", type=utc_time, metavar="DATE", help="only publication days before DATE")
    report.add_argument("--lang", type=_languages, default=(), metavar="LL,LL,...",
                        help="only these languages (the lang= partitions; default all)")
    report.add_argument("--format", choices=FORMATS, default="html",
                        help="html (default): write the page to --output; text: print the key figures on stdout")
    report.add_argument("--output", dest="report_path", default="report.html", metavar="FILE",
                        help="where the HTML page goes (default report.html in the current folder)")
    return report


def run_report(args) -> int:
    """Build the report the options ask for; the page's path goes to stderr, text figures to stdout."""
    from newsbeam.report.text import render_text

    if args.since and args.until and args.since >= args.until:
        raise ValueError("--since must be before --until")
    selection = Selection(args.since, args.until, args.lang)
    output = args.output.rstrip("/") or "/"
    if args.format == "text":
        sys.stdout.write(render_text(build_figures(output, selection), output))
        return 0
    figures = write_html(output, selection, args.report_path)
    articles = figures.totals["articles"]
    print(f"newsbeam: report of {articles:,} article{'' if articles == 1 else 's'} written to {args.report_path}",
          file=sys.stderr)  # fmt: skip
    return 0
