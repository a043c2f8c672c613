"""What each subcommand's `--help` ends with: two or three examples, shown as written (not re-wrapped)."""

from __future__ import annotations

import argparse

EXAMPLES = {
    "ingest": """\
examples:
  newsbeam ingest --source newsbeam/data/samples --output out
  newsbeam ingest --sources examples/sources.txt --languages nl,en,fr,de --output /data/news --log-level INFO
  newsbeam ingest --streaming --poll-interval 60 --stop-after 3600 --sources examples/sources.txt --output out""",
    "compact": """\
examples:
  newsbeam compact /data/news
  newsbeam compact /data/news --partition date=2023-03-01/lang=nl --rows-per-file 100000""",
    "models": """\
examples:
  newsbeam models
  newsbeam models --json --ner-model nl=/path/to/pipeline --ner-model de=none""",
    "report": """\
examples:
  newsbeam report out                      # writes report.html
  newsbeam report out --since 2023-03-01 --until 2023-04-01 --lang nl,en --output march.html
  newsbeam report out --format text""",
}


def add_examples(commands: argparse._SubParsersAction) -> None:
    """Give every registered subcommand its examples as epilog, kept verbatim by the formatter."""
    for name, parser in commands.choices.items():
        parser.epilog = EXAMPLES[name]
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
