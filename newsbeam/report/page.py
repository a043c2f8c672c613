"""The HTML report: one self-contained page (styles, script and charts inline) built from the figures."""

from __future__ import annotations

import datetime as dt
import html
import string
from collections.abc import Sequence
from importlib import resources

from newsbeam.report import svg
from newsbeam.report.dataset import Selection
from newsbeam.report.figures import Figures, Series, format_delay, source_label

BUCKET_AXIS = {"day": "publication day (UTC)", "week": "publication week (UTC, from Monday)",
               "month": "publication month (UTC)"}  # fmt: skip
RUNS_SHOWN = 60  # the most recent runs in the run charts
RUNS_LISTED = 20
ENTITY_CHART_WIDTH = 600  # drawn beside the entity table, so narrower: text stays legible


def _escape(value) -> str:
    return html.escape(str(value))


def _legend(names: Sequence[str], colors: dict[str, str], labels: dict[str, str] | None = None) -> str:
    items = "".join(f'<li><i style="background:{colors[name]}"></i>{_escape((labels or {}).get(name, name))}</li>'
                    for name in names)  # fmt: skip
    return f'<ul class="legend">{items}</ul>'


def _figure(key: str, title: str, chart: str, legend: str = "", note: str = "") -> str:
    note_html = f'<p class="note">{note}</p>' if note else ""
    return (f'<figure class="chart" data-chart="{key}"><figcaption>{_escape(title)}</figcaption>'
            f"{chart}{legend}{note_html}</figure>")  # fmt: skip


def _table(headers: Sequence[str], rows: Sequence[Sequence], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{_escape(v)}</td>' if i in numeric else f"<td>{_escape(v)}</td>"
                         for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _nothing(what: str) -> str:
    return f'<p class="note">{_escape(what)}</p>'


class _Sections:
    """One method per section of the page."""

    def __init__(self, figures: Figures):
        self.f = figures
        self.x_label = BUCKET_AXIS[figures.bucket]
        self.per = f"per {figures.bucket}"
        self.language_colors = svg.colors_for(list(figures.languages))
        names = list(figures.sources) + ["other sources"]
        self.source_colors = svg.colors_for(names)
        self.source_labels = {name: source_label(name) for name in names}

    def _series_chart(self, key: str, title: str, series: Series, y_label: str, by: str, kind: str = "columns",
                      note: str = "", **options) -> str:
        """A chart over time of per-language or per-source series, with its legend."""
        colors = self.language_colors if by == "language" else self.source_colors
        labels = None if by == "language" else self.source_labels
        draw = svg.column_chart if kind == "columns" else svg.line_chart
        chart = draw(series.buckets, series.values, x_label=self.x_label, y_label=y_label, colors=colors, **options)
        return _figure(key, title, chart, _legend(list(series.values), colors, labels), note)

    def articles(self) -> str:
        if self.f.by_language.empty:
            return "<h2>Articles</h2>" + _nothing("No articles in this selection.")
        return (
            "<h2>Articles</h2>"
            + self._series_chart("articles-by-language", f"Articles {self.per} by language", self.f.by_language,
                                 f"articles {self.per}", "language")
            + self._series_chart("articles-by-source", f"Articles {self.per} by source (top {len(self.f.sources)})",
                                 self.f.by_source, f"articles {self.per}", "source")
        )  # fmt: skip

    def entities(self) -> str:
        parts = ["<h2>Named entities</h2>"]
        if not self.f.top_entities:
            return parts[0] + _nothing("No entities in this selection.")
        for language, entities in self.f.top_entities.items():
            trend = self.f.entity_trends[language]
            colors = svg.colors_for(list(trend.values))
            chart = svg.line_chart(trend.buckets, trend.values, x_label=self.x_label,
                                   y_label=f"mentions {self.per}", colors=colors, width=ENTITY_CHART_WIDTH)  # fmt: skip
            table = _table(("entity", "label", "mentions"), entities, numeric=(2,))
            figure = _figure(f"entities-{language}", f"Top entities in {language}: mentions {self.per}", chart,
                             _legend(list(trend.values), colors))  # fmt: skip
            parts.append(f'<h3>{_escape(language)}</h3><div class="pair"><div>{table}</div>{figure}</div>')
        return "".join(parts)

    def tone(self) -> str:
        head = "<h2>Tone</h2>"
        if not self.f.tone_by_language.scored:
            return head + _nothing("No article in this selection has a sentiment score.")
        y_label = "mean sentiment (-1 to 1)"
        note = ("Mean of the articles' sentiment scores; the lexicons differ per language (VADER for English, "
                "Pattern's adjective lexicons for nl, fr, de), so compare a language with itself over time.")
        parts = [head,
                 self._series_chart("tone-by-language", f"Tone {self.per} by language", self.f.tone_by_language,
                                    y_label, "language", "lines", bounds=(-1, 1), note=note),
                 self._series_chart("tone-by-source", f"Tone {self.per} by source", self.f.tone_by_source,
                                    y_label, "source", "lines", bounds=(-1, 1))]  # fmt: skip
        if self.f.negative_share is not None and self.f.negative_share.scored:
            parts.append(self._series_chart("negative-share", f"Share of negative sentences {self.per} by language",
                                            self.f.negative_share, "negative sentences (%)", "language", "lines",
                                            unit=" %", bounds=(0, 100)))  # fmt: skip
        return "".join(parts)

    def places(self) -> str:
        head = "<h2>Places</h2>"
        if not self.f.places:
            return head + _nothing("No places in this selection.")
        top = [(p["name"], p["mentions"]) for p in self.f.places[:25]]
        table = _table(("place", "mentions"), top, numeric=(1,))
        if self.f.places_have_coordinates:
            figure = _figure("places-map", "Places mentioned (circle area: mentions)", svg.world_map(self.f.places))
            return head + figure + table
        source = ("The dataset has no place coordinates yet: the places below are the LOC entities; a world map "
                  "appears once articles carry places with coordinates.") if self.f.places_from == "LOC entities" \
            else "The places carry no coordinates: a table instead of a map."  # fmt: skip
        return head + _nothing(source) + table

    def failures(self) -> str:
        head = "<h2>Failed sources and records</h2>"
        if not self.f.error_sources:
            return head + _nothing("No dead letters in this selection.")
        colors = svg.colors_for(list(self.f.errors_by_reason.values))
        per = f"per {self.f.error_bucket}"
        chart = svg.column_chart(self.f.errors_by_reason.buckets, self.f.errors_by_reason.values,
                                 x_label=BUCKET_AXIS[self.f.error_bucket].replace("publication", "failure"),
                                 y_label=f"dead letters {per}", colors=colors)  # fmt: skip
        figure = _figure("errors-by-reason", f"Dead letters {per} by reason", chart,
                         _legend(list(self.f.errors_by_reason.values), colors),
                         "One row per failed source or record (errors/); --lang does not apply to them.")  # fmt: skip
        table = _table(("source", "reason", "dead letters", "last (UTC)"), self.f.error_sources, numeric=(2,))
        return head + figure + table

    def freshness(self) -> str:
        head = "<h2>Freshness</h2>"
        if self.f.freshness.empty:
            return head + _nothing("No article with an exact publication time in this selection.")
        chart = svg.column_chart(self.f.freshness.buckets, self.f.freshness.values,
                                 x_label="delay between publication and ingestion", y_label="articles",
                                 colors=self.language_colors)  # fmt: skip
        figure = _figure("freshness", "Delay between publication and ingestion, by language", chart,
                         _legend(list(self.f.freshness.values), self.language_colors),
                         "Articles whose publication time is known to the minute or second.")  # fmt: skip
        medians = [(language, format_delay(hours)) for language, hours in self.f.median_delay_hours.items()]
        return head + figure + _table(("language", "median delay"), medians)

    def runs(self) -> str:
        head = "<h2>Runs</h2>"
        if not self.f.runs:
            return head + _nothing("No run summaries in _runs/.")
        recent = self.f.runs[-RUNS_SHOWN:]
        starts = [run["started_at"][5:16] for run in recent]
        counts = {"written": [run["written"] for run in recent], "failed": [run["failed"] for run in recent]}
        colors = {"written": svg.PALETTE[2], "failed": svg.PALETTE[3]}
        x_label = "run start (UTC, month-day hour:minute)"
        written = _figure("runs-written", "Articles written and failures per run",
                          svg.column_chart(starts, counts, x_label=x_label, y_label="articles or failures per run",
                                           colors=colors), _legend(list(counts), colors))  # fmt: skip
        seconds = {"duration": [run["seconds"] for run in recent]}
        duration = _figure("runs-duration", "Run duration",
                           svg.line_chart(starts, seconds, x_label=x_label, y_label="duration (s)",
                                          colors={"duration": svg.PALETTE[0]}, unit=" s"))  # fmt: skip
        rows = [(r["run_id"], r["started_at"], f"{r['seconds']:.1f}", r["written"], r["failed"], r["state"])
                for r in reversed(self.f.runs[-RUNS_LISTED:])]  # fmt: skip
        table = _table(("run", "started (UTC)", "seconds", "written", "failed", "state"), rows, numeric=(2, 3, 4))
        return head + written + duration + table


def _header(figures: Figures, output: str, selection: Selection) -> str:
    t = figures.totals
    span = f"{t['first_day']} to {t['last_day']}" if t["first_day"] else "no data"
    chosen = [f"since {selection.since:%Y-%m-%d %H:%M}" if selection.since else "",
              f"until {selection.until:%Y-%m-%d %H:%M}" if selection.until else "",
              "languages " + ", ".join(selection.languages) if selection.languages else ""]  # fmt: skip
    chosen_text = "; ".join(c for c in chosen if c) or "everything"
    cards = [("articles", t["articles"]), ("languages", t["languages"]), ("sources", t["sources"]),
             ("dead letters", t["errors"]), ("runs", t["runs"])]  # fmt: skip
    cards_html = "".join(f'<div class="card"><b>{value:,}</b><span>{name}</span></div>' for name, value in cards)
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<h1>newsbeam report</h1><p class=\"meta\">{_escape(output)} · publication days {_escape(span)} · "
            f"selection: {_escape(chosen_text)} · generated {generated}</p><div class=\"cards\">{cards_html}</div>")  # fmt: skip


def render(figures: Figures, output: str, selection: Selection) -> str:
    """The whole page as one string."""
    sections = _Sections(figures)
    body = "".join([_header(figures, output, selection), sections.articles(), sections.entities(), sections.tone(),
                    sections.places(), sections.failures(), sections.freshness(), sections.runs()])  # fmt: skip
    template = resources.files("newsbeam.report").joinpath("page.html").read_text(encoding="utf-8")
    return string.Template(template).substitute(title=_escape(f"newsbeam report: {output}"), body=body)
