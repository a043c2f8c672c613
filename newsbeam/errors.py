"""Classified failures: every error that reaches the dead-letter output carries a stage and a short reason code."""

from __future__ import annotations

import datetime as _dt

# Stages in the order records flow through the pipeline.
STAGES = ("fetch", "parse", "normalise", "enrich", "write")


class NewsbeamError(Exception):
    """A failure of one source or one record, with the stage it happened in and a short reason code.

    `reason` is a stable, machine-readable code (`timeout`, `http_404`, `not_a_feed`, ...);
    `detail` is the human-readable explanation; `record_id` the id the failed record had, if any.
    """

    def __init__(self, stage: str, reason: str, detail: str = "", record_id: str | None = None):
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        super().__init__(f"{stage}/{reason}: {detail}" if detail else f"{stage}/{reason}")
        self.stage = stage
        self.reason = reason
        self.detail = detail
        self.record_id = record_id


def dead_letter(source: str, stage: str, reason: str, detail: str = "", record_id: str | None = None) -> dict:
    """Build one row of the `errors/` dataset."""
    return {
        "source": storable(source),
        "stage": stage,
        "reason": reason,
        "detail": storable((detail or "")[:2000]),
        "record_id": storable(record_id),
        "at": _dt.datetime.now(_dt.timezone.utc),
    }


def storable(value: str | None) -> str | None:
    """`value` as UTF-8 can store it: a lone surrogate (from a bad record or file name) becomes its `\\udXXX` escape."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if value is not None else None


def dead_letter_from(source: str, error: BaseException, stage: str = "normalise", record_id: str | None = None) -> dict:
    """Dead-letter row for any exception: classified ones keep their stage and reason, others become `unexpected`.

    The row's `record_id` is `record_id`, else the one the error names.
    """
    if isinstance(error, NewsbeamError):
        return dead_letter(source, error.stage, error.reason, error.detail, record_id or error.record_id)
    return dead_letter(source, stage, "unexpected", f"{type(error).__name__}: {error}", record_id)


class OutputLocked(Exception):
    """Another live run holds the output folder's lock."""

    def __init__(self, path: str, holder: dict):
        super().__init__(
            f"{path} is held by run {holder.get('run_id')} (pid {holder.get('pid')} on {holder.get('host')}, "
            f"since {holder.get('acquired_at')}, heartbeat {holder.get('heartbeat_at')})"
        )
        self.holder = holder
