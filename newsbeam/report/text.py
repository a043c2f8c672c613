"""`newsbeam report --format text`: the report's key figures as plain lines for a terminal."""

from __future__ import annotations

from newsbeam.report.figures import Figures, format_delay, source_label

TOP_LINES = 5  # entities, sources and failure reasons listed per group


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _shares(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    return ", ".join(f"{name} {n:,} ({100 * n / total:.0f} %)" for name, n in counts.items())


def render_text(figures: Figures, output: str) -> str:
    """Key figures: totals, languages, sources, entities, tone, failures, freshness, runs."""
    t = figures.totals
    span = f"{t['first_day']} to {t['last_day']}" if t["first_day"] else "no publication days"
    lines = [f"newsbeam report: {output}",
             f"articles: {t['articles']:,} in {_plural(t['languages'], 'language')} from "
             f"{_plural(t['sources'], 'source')}, published {span}"]  # fmt: skip
    if figures.languages:
        lines.append(f"by language: {_shares(figures.languages)}")
    if figures.sources:
        top = dict(list(figures.sources.items())[:TOP_LINES])
        lines.append("top sources: " + ", ".join(f"{source_label(s)} {n:,}" for s, n in top.items()))
    for language, entities in figures.top_entities.items():
        names = ", ".join(f"{text} ({label}) {n:,}" for text, label, n in entities[:TOP_LINES])
        lines.append(f"top entities {language}: {names}")
    if figures.mean_tone:
        lines.append("mean tone (-1 to 1): " + ", ".join(f"{lang} {tone:+.3f}" for lang, tone in figures.mean_tone.items()))
    if figures.places:
        places = ", ".join(f"{p['name']} {p['mentions']:,}" for p in figures.places[:TOP_LINES])
        lines.append(f"top places ({figures.places_from}): {places}")
    lines.append(f"dead letters: {t['errors']:,}")
    reasons = {reason: sum(counts) for reason, counts in figures.errors_by_reason.values.items()}
    if reasons:
        top = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:TOP_LINES]
        lines.append("  by reason: " + ", ".join(f"{reason} {n:,}" for reason, n in top))
    if figures.median_delay_hours:
        lines.append("median delay publication -> ingestion: "
                     + ", ".join(f"{lang} {format_delay(hours)}" for lang, hours in figures.median_delay_hours.items()))
    lines.append(f"runs: {t['runs']:,}")
    if figures.runs:
        last = figures.runs[-1]
        lines.append(f"  last run {last['run_id']} at {last['started_at']} UTC: {_plural(last['written'], 'article')} "
                     f"written, {last['failed']:,} failed, {last['seconds']:.1f} s")  # fmt: skip
    return "\n".join(lines) + "\n"
