"""Classified failures: every error that reaches the dead-letter output carries a stage and a short reason code."""

from __future__ import annotations

import datetime as _dt

# Stages in the order records flow through the pipeline.
STAGES = ("fetch", "parse", "normalise", "enrich", "write")


class NewsbeamError(Exception):
    """A failure of one source or one record, with the stage it happened in and a short reason code.

    `reason` is a stable, machine-readable code (`timeout`, `http_404`, `not_a_feed`, ...);
    `detail` is the human-readable explanation.
    """

    def __init__(self, stage: str, reason: str, detail: str = ""):
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        super().__init__(f"{stage}/{reason}: {detail}" if detail else f"{stage}/{reason}")
        self.stage = stage
        self.reason = reason
        self.detail = detail


def dead_letter(source: str, stage: str, reason: str, detail: str = "", record_id: str | None = None) -> dict:
    """Build one row of the `errors/` dataset."""
    return {
        "source": source,
        "stage": stage,
        "reason": reason,
        "detail": (detail or "")[:2000],
        "record_id": record_id,
        "at": _dt.datetime.now(_dt.timezone.utc),
    }


def dead_letter_from(source: str, error: BaseException, stage: str = "normalise", record_id: str | None = None) -> dict:
    """Dead-letter row for any exception: classified ones keep their stage and reason, others become `unexpected`."""
    if isinstance(error, NewsbeamError):
        return dead_letter(source, error.stage, error.reason, error.detail, record_id)
    return dead_letter(source, stage, "unexpected", f"{type(error).__name__}: {error}", record_id)


class OutputLocked(Exception):
    """Another live run holds the output folder's lock."""

    def __init__(self, path: str, holder: dict):
        super().__init__(
            f"{path} is held by run {holder.get('run_id')} (pid {holder.get('pid')} on {holder.get('host')}, "
            f"since {holder.get('acquired_at')}, heartbeat {holder.get('heartbeat_at')})"
        )
        self.holder = holder
