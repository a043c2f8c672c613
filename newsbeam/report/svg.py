"""Charts as inline SVG strings: stacked columns, lines and a world map, with axes, ticks and axis titles.

Drawn in Python so that the report needs no script library and opens offline. Every drawn datum has
class `mark` and a `<title>` (its tooltip); the page's script checks that each chart has marks and a size.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from importlib import resources

WIDTH, HEIGHT = 880, 300
LEFT, RIGHT, TOP, BOTTOM = 72, 20, 14, 58
# Okabe-Ito, distinguishable with the common colour-vision deficiencies; grey is kept for "other".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#8C6D31", "#7F3C8D")
OTHER_COLOR = "#999999"
MAX_X_LABELS = 9


def colors_for(names: Sequence[str]) -> dict[str, str]:
    """A colour per series name, stable for a given order; 'other ...' series are grey."""
    colors, index = {}, 0
    for name in names:
        if name.startswith("other "):
            colors[name] = OTHER_COLOR
        else:
            colors[name] = PALETTE[index % len(PALETTE)]
            index += 1
    return colors


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value < high + step * 0.999:
        ticks.append(round(value, 10) + 0.0)  # + 0.0: no "-0" label
        value += step
    return ticks


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}" if value == int(value) else f"{value:.2f}".rstrip("0")


def _text(x: float, y: float, content: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{html.escape(content)}</text>'


class _Frame:
    """The plot area of one chart: maps category indexes and values to pixels, draws axes and titles."""

    def __init__(self, n_categories: int, ticks: list[float], width: int):
        self.n, self.ticks, self.width = max(n_categories, 1), ticks, width
        self.low, self.high = ticks[0], ticks[-1]
        self.plot_w, self.plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        self.right = width - RIGHT

    def x(self, index: float) -> float:
        """Centre of category `index`."""
        return LEFT + (index + 0.5) * self.plot_w / self.n

    @property
    def band(self) -> float:
        return self.plot_w / self.n

    def y(self, value: float) -> float:
        return TOP + self.plot_h * (1 - (value - self.low) / (self.high - self.low))

    def axes(self, categories: Sequence[str], x_label: str, y_label: str) -> list[str]:
        parts = []
        for tick in self.ticks:
            y = self.y(tick)
            parts.append(f'<line class="grid" x1="{LEFT}" x2="{self.right}" y1="{y:.1f}" y2="{y:.1f}"/>')
            parts.append(_text(LEFT - 6, y + 4, _number(tick), "end"))
        step = max(1, math.ceil(len(categories) / (MAX_X_LABELS * self.width / WIDTH)))
        for index in range(0, len(categories), step):
            x = self.x(index)
            parts.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + self.plot_h}" y2="{TOP + self.plot_h + 4}"/>')
            parts.append(_text(x, TOP + self.plot_h + 18, categories[index]))
        parts.append(f'<line class="axis" x1="{LEFT}" x2="{self.right}" y1="{TOP + self.plot_h}" y2="{TOP + self.plot_h}"/>')
        parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + self.plot_h}"/>')
        parts.append(_text(LEFT + self.plot_w / 2, HEIGHT - 8, x_label, extra=' class="axis-title"'))
        mid = TOP + self.plot_h / 2
        parts.append(_text(16, mid, y_label, extra=f' class="axis-title" transform="rotate(-90 16 {mid:.1f})"'))
        return parts


def _svg(parts: list[str], label: str, width: int) -> str:
    return (f'<svg class="chart-svg" viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{html.escape(label)}" '
            f'xmlns="http://www.w3.org/2000/svg">' + "".join(parts) + "</svg>")  # fmt: skip


def column_chart(categories: Sequence[str], series: dict[str, Sequence[float | None]], *, x_label: str,
                 y_label: str, colors: dict[str, str], unit: str = "", width: int = WIDTH) -> str:
    """Stacked columns: one column per category, one coloured segment per series."""
    totals = [sum(values[i] or 0 for values in series.values()) for i in range(len(categories))]
    frame = _Frame(len(categories), nice_ticks(0, max(totals, default=0) or 1), width)
    parts = frame.axes(categories, x_label, y_label)
    bar = max(1.0, frame.band * 0.8)
    base = [0.0] * len(categories)
    for name, values in series.items():
        for index, value in enumerate(values):
            if not value:
                continue
            top, bottom = frame.y(base[index] + value), frame.y(base[index])
            tip = f"{categories[index]} · {name}: {_number(value)}{unit}"
            parts.append(f'<rect class="mark" x="{frame.x(index) - bar / 2:.1f}" y="{top:.1f}" width="{bar:.1f}" '
                         f'height="{max(bottom - top, 0.5):.1f}" fill="{colors[name]}"><title>{html.escape(tip)}</title></rect>')  # fmt: skip
            base[index] += value
    return _svg(parts, y_label, width)


def line_chart(categories: Sequence[str], series: dict[str, Sequence[float | None]], *, x_label: str, y_label: str,
               colors: dict[str, str], unit: str = "", bounds: tuple[float, float] | None = None,
               width: int = WIDTH) -> str:
    """Lines with a dot per value; a None value breaks the line. `bounds` clamps the value axis."""
    present = [v for values in series.values() for v in values if v is not None]
    low, high = min(present, default=0), max(present, default=1)
    if bounds:
        low, high = max(bounds[0], min(low, 0)), min(bounds[1], max(high, 0))
    frame = _Frame(len(categories), nice_ticks(low, high), width)
    parts = frame.axes(categories, x_label, y_label)
    if frame.low < 0 < frame.high:
        parts.append(f'<line class="zero" x1="{LEFT}" x2="{frame.right}" y1="{frame.y(0):.1f}" y2="{frame.y(0):.1f}"/>')
    for name, values in series.items():
        runs, current = [], []
        for index, value in enumerate(values):
            if value is None:
                runs, current = runs + [current] if current else runs, []
            else:
                current.append((frame.x(index), frame.y(value)))
        runs += [current] if current else []
        for points in runs:
            if len(points) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                parts.append(f'<polyline class="line" points="{path}" stroke="{colors[name]}"/>')
        for index, value in enumerate(values):
            if value is not None:
                tip = f"{categories[index]} · {name}: {_number(round(value, 3))}{unit}"
                parts.append(f'<circle class="mark" cx="{frame.x(index):.1f}" cy="{frame.y(value):.1f}" r="3" '
                             f'fill="{colors[name]}"><title>{html.escape(tip)}</title></circle>')  # fmt: skip
    return _svg(parts, y_label, width)


def _land_path() -> str:
    return resources.files("newsbeam.report").joinpath("assets/land-110m.svgpath").read_text(encoding="ascii")


def world_map(places: Sequence[dict]) -> str:
    """Places as circles (area in proportion to mentions) on an equirectangular world map, degrees on the axes."""
    scale = (WIDTH - LEFT - RIGHT) / 360
    height = 180 * scale
    top = TOP
    parts = [f'<g transform="translate({LEFT} {top}) scale({scale:.4f})">',
             f'<rect class="sea" x="0" y="0" width="360" height="180"/><path class="land" d="{_land_path()}"/>']
    biggest = max((place["mentions"] for place in places), default=1)
    for place in places:
        radius = 1 + 5 * math.sqrt(place["mentions"] / biggest)
        tip = f"{place['name']}: {place['mentions']} mentions ({place['lat']:.2f}°, {place['lon']:.2f}°)"
        parts.append(f'<circle class="mark place" cx="{place["lon"] + 180:.2f}" cy="{90 - place["lat"]:.2f}" '
                     f'r="{radius:.2f}"><title>{html.escape(tip)}</title></circle>')  # fmt: skip
    parts.append("</g>")
    for lon in range(-180, 181, 60):
        x = LEFT + (lon + 180) * scale
        parts.append(_text(x, top + height + 16, f"{lon}°"))
    for lat in range(-90, 91, 45):
        y = top + (90 - lat) * scale
        parts.append(_text(LEFT - 6, y + 4, f"{lat}°", "end"))
    total_height = top + height + 46
    parts.append(_text(LEFT + 180 * scale, total_height - 6, "longitude (degrees east)", extra=' class="axis-title"'))
    mid = top + height / 2
    parts.append(_text(16, mid, "latitude (degrees north)", extra=f' class="axis-title" transform="rotate(-90 16 {mid:.1f})"'))
    return (f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {total_height:.0f}" role="img" aria-label="places on a '
            f'world map" xmlns="http://www.w3.org/2000/svg">' + "".join(parts) + "</svg>")  # fmt: skip
