"""The dataset as the report sees it: its visible Parquet files and run summaries, and DuckDB views over them.

Only visible files are read: a path with any part starting with `.` or `_` is a temporary, a staged chunk,
a pending count or the lock, never data. DuckDB reads the Parquet files itself, so no row passes through
Python; the report asks it for aggregates only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os


class NotADataset(ValueError):
    """The folder holds no newsbeam dataset (no articles/, errors/ or _runs/): a usage error."""


@dataclasses.dataclass(frozen=True)
class Selection:
    """What the report covers: publication days in [since, until) and languages (all when empty)."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    languages: tuple[str, ...] = ()


def visible_parquet_files(root: str) -> list[str]:
    """Every `*.parquet` under `root` whose path below it has no part starting with `.` or `_`, sorted."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith((".", "_"))]
        found += [os.path.join(folder, name) for name in files
                  if name.endswith(".parquet") and not name.startswith((".", "_"))]  # fmt: skip
    return sorted(found)


def run_summaries(output: str) -> list[dict]:
    """The run summaries in `_runs/` (visible `*.json` only), oldest first; unreadable ones are skipped."""
    folder = os.path.join(output, "_runs")
    if not os.path.isdir(folder):
        return []
    runs = []
    for name in sorted(os.listdir(folder)):
        if name.startswith((".", "_")) or not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                runs.append(json.load(handle))
        except (OSError, ValueError):
            continue  # a summary being replaced or hand-edited must not stop the report
    return sorted(runs, key=lambda run: str(run.get("started_at", "")))


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join(_sql_string(path) for path in paths) + "]"


def _partition_filter(selection: Selection, with_language: bool) -> str:
    """SQL conditions on the Hive partition columns, so DuckDB skips the files outside the selection."""
    conditions = ["TRUE"]
    if selection.since:
        conditions.append(f"date >= DATE '{selection.since.date().isoformat()}'")
    if selection.until:
        conditions.append(f"date < TIMESTAMP '{selection.until.replace(tzinfo=None).isoformat()}'")
    if with_language and selection.languages:
        conditions.append("lang IN (" + ", ".join(_sql_string(code) for code in selection.languages) + ")")
    return " AND ".join(conditions)


_HIVE = "hive_partitioning = true, union_by_name = true, hive_types = {'date': DATE, 'lang': VARCHAR}"
_ERROR_HIVE = "hive_partitioning = true, union_by_name = true, hive_types = {'date': DATE}"


# The article columns the figures use (the rest, text above all, is never read); optional ones when present.
REPORT_COLUMNS = ("date", "lang", "source", "source_name", "sentiment", "published_at", "published_precision",
                  "ingested_at", "entities")  # fmt: skip
OPTIONAL_COLUMNS = ("places", "sentiment_negative_share")


class Dataset:
    """A DuckDB connection with the selected, visible rows in tables `articles` (the columns the report
    uses), `entities` (one row per entity: date, lang, text, label) and view `errors`.

    The tables are read from Parquet once, inside DuckDB; each figure then aggregates them in memory
    instead of re-reading the files. `columns` says which article columns exist, since newer columns
    may be missing from older datasets; `has_articles` and `has_errors` whether there are any files.
    """

    def __init__(self, output: str, selection: Selection):
        if "://" in output:
            raise NotADataset(f"the report reads a local folder (copy or mount the dataset first): {output}")
        if not any(os.path.isdir(os.path.join(output, part)) for part in ("articles", "errors", "_runs")):
            raise NotADataset(f"not a newsbeam dataset (no articles/, errors/ or _runs/): {output}")
        import duckdb  # here: the CLI imports this module for every command

        self.output, self.selection = output, selection
        self.connection = duckdb.connect()
        self.connection.execute("SET TimeZone = 'UTC'")
        article_files = visible_parquet_files(os.path.join(output, "articles"))
        error_files = visible_parquet_files(os.path.join(output, "errors"))
        self.has_articles = self._create_view("article_files", article_files, _HIVE, _partition_filter(selection, True))
        self.has_errors = self._create_view("errors", error_files, _ERROR_HIVE, _partition_filter(selection, False))
        self.columns = self._load_articles() if self.has_articles else {}
        self.runs = run_summaries(output)

    def _load_articles(self) -> dict[str, str]:
        """Fill the `articles` and `entities` tables; returns the article columns' DuckDB types."""
        available = self._columns("article_files")
        wanted = [name for name in (*REPORT_COLUMNS, *OPTIONAL_COLUMNS) if name in available]
        self.connection.execute(f"CREATE TEMP TABLE articles AS SELECT {', '.join(wanted)} FROM article_files")
        self.connection.execute("CREATE TEMP TABLE entities AS SELECT date, lang, e.text AS text, e.label AS label "
                                "FROM articles, unnest(entities) AS t(e)")  # fmt: skip
        self.connection.execute("ALTER TABLE articles DROP COLUMN entities")
        return available

    def _create_view(self, name: str, files: list[str], options: str, where: str) -> bool:
        if not files:
            return False
        self.connection.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_list(files)}, {options}) WHERE {where}"
        )
        return True

    def _columns(self, view: str) -> dict[str, str]:
        """Column name -> DuckDB type of a view."""
        return {row[0]: row[1] for row in self.connection.execute(f"DESCRIBE {view}").fetchall()}

    def rows(self, sql: str, parameters: list | None = None) -> list[tuple]:
        return self.connection.execute(sql, parameters or []).fetchall()

    def close(self) -> None:
        self.connection.close()
