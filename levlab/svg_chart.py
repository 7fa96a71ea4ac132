"""Small inline SVG charts for the HTML report: no dependencies, no scripts, no external references. Pure.

`series_chart` draws one analyte over time (dates on the axis, the reference band shaded,
points coloured by flag); `edish_chart` draws peak ALT ×ULN against peak bilirubin ×ULN on log
scales with the lines at 3× and 2×. Every text is escaped; the output is one <svg> element that
parses as XML.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

FLAG_COLOURS = {"H": "#c0392b", "L": "#1f5fbf", "N": "#2e7d32", "?": "#b7950b"}
BAND_COLOUR = "#d9f0dc"
WIDTH, HEIGHT = 340, 170
LEFT, RIGHT, TOP, BOTTOM = 46, 30, 14, 34


@dataclass(frozen=True)
class Point:
    """One result on a chart: when, the value (canonical unit), its flag and a label for the tooltip."""

    when: datetime
    value: float
    flag: str
    label: str
    comparator: str | None = None  # "<", "<=", ">", ">=": a censored result, drawn at its bound


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering low..high (about `count` of them)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks, tick = [], first
    while tick <= high + step * 1e-9:
        ticks.append(round(tick, 10))
        tick += step
    return ticks


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 10000 else f"{value:.0f}"


def series_chart(title: str, unit: str, points: Sequence[Point], low: float | None, high: float | None,
                 time_range: tuple[datetime, datetime] | None = None) -> str:
    """One analyte over time: values joined by a line, the reference band shaded, flagged points
    coloured (H red, L blue), dates on the x axis. Empty points give a chart saying so.
    `time_range` gives every chart of a patient the same time axis, so that they line up."""
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [p.value for p in points]
    scale = values + [x for x in (low, high) if x is not None]
    y_low = min([0.0, *scale]) if scale else 0.0
    y_high = max(scale) * 1.08 if scale else 1.0
    ticks = nice_ticks(y_low, y_high)
    y_low, y_high = ticks[0], max(ticks[-1], y_high)
    times = [p.when.timestamp() for p in points]
    if time_range is not None:
        times = [*times, time_range[0].timestamp(), time_range[1].timestamp()]
    t_low, t_high = (min(times), max(times)) if times else (0.0, 1.0)
    if t_high == t_low:
        t_low, t_high = t_low - 86400 * 15, t_high + 86400 * 15

    def x(t: float) -> float:
        return LEFT + (t - t_low) / (t_high - t_low) * inner_w

    def y(v: float) -> float:
        return TOP + inner_h - (v - y_low) / (y_high - y_low) * inner_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{_attr(title)}">',
             f'<title>{escape(title)}</title>']
    if low is not None or high is not None:
        band_top = y(high) if high is not None else TOP
        band_bottom = y(low) if low is not None else TOP + inner_h
        parts.append(f'<rect class="band" x="{LEFT}" y="{band_top:.1f}" width="{inner_w}" '
                     f'height="{max(band_bottom - band_top, 0):.1f}" fill="{BAND_COLOUR}"/>')
    for tick in ticks:
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + inner_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e5e5" stroke-width="0.6"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y(tick) + 3:.1f}" font-size="9" text-anchor="end">{_number(tick)}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + inner_h}" stroke="#555" stroke-width="0.8"/>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT + inner_w}" y1="{TOP + inner_h}" y2="{TOP + inner_h}" stroke="#555" stroke-width="0.8"/>')
    parts.append(f'<text x="{LEFT - 4}" y="{TOP - 4}" font-size="9" text-anchor="end">{escape(unit)}</text>')
    ends = [Point(moment, 0.0, "", "") for moment in (time_range or ())]
    axis = sorted({p.when: p for p in [*points, *ends]}.values(), key=lambda p: p.when)
    for point, shown in zip(axis, _date_labels(axis), strict=True):
        if shown:
            px = x(point.when.timestamp())
            parts.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{TOP + inner_h}" y2="{TOP + inner_h + 3}" stroke="#555"/>')
            parts.append(f'<text class="date" x="{px:.1f}" y="{TOP + inner_h + 13}" font-size="8.5" '
                         f'text-anchor="middle">{escape(shown)}</text>')
    parts.extend(_marks(points, x, y))
    if not points:  # nothing to draw
        parts.append(f'<text x="{LEFT + inner_w / 2}" y="{TOP + inner_h / 2}" font-size="10" text-anchor="middle">'
                     'no exact dated values</text>')
    parts.append("</svg>")
    return "".join(parts)


def _marks(points: Sequence[Point], x: Callable[[float], float], y: Callable[[float], float]) -> list[str]:
    """The line through the exact values and a mark per point: a dot coloured by its flag, an open
    triangle at the bound of a censored value, pointing where the value lies."""
    parts = []
    exact = [p for p in points if p.comparator is None]
    if len(exact) > 1:
        path = " ".join(f"{x(p.when.timestamp()):.1f},{y(p.value):.1f}" for p in exact)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#444" stroke-width="1.2"/>')
    for point in points:
        colour = FLAG_COLOURS.get(point.flag, "#444")
        if point.comparator is not None:  # an open triangle at the bound, pointing where the value lies
            px, py, d = x(point.when.timestamp()), y(point.value), 4.5
            tip = py + d if point.comparator.startswith("<") else py - d
            base = py - d if point.comparator.startswith("<") else py + d
            parts.append(f'<polygon class="censored" points="{px - d:.1f},{base:.1f} {px + d:.1f},{base:.1f} {px:.1f},{tip:.1f}" '
                         f'fill="white" stroke="{colour}" stroke-width="1.4"><title>{escape(point.label)}</title></polygon>')
            continue
        radius = 3.8 if point.flag in ("H", "L") else 2.8
        parts.append(f'<circle class="point flag-{_attr(point.flag if point.flag != "?" else "q")}" '
                     f'cx="{x(point.when.timestamp()):.1f}" cy="{y(point.value):.1f}" r="{radius}" fill="{colour}">'
                     f'<title>{escape(point.label)}</title></circle>')
    return parts


def _date_labels(points: Sequence[Point]) -> list[str]:
    """The date under each point, thinned so that labels do not overlap (first and last kept)."""
    if not points:  # nothing to draw
        return []
    span = (points[-1].when - points[0].when).total_seconds() or 1.0
    room = (WIDTH - LEFT - RIGHT) / 52  # about 52 px per label
    labels, last = [], None
    for index, point in enumerate(points):
        position = (point.when - points[0].when).total_seconds() / span
        keep = last is None or position - last >= 1 / room or (index == len(points) - 1 and position - last >= 0.5 / room)
        labels.append(f"{point.when:%Y-%m-%d}" if keep else "")
        if keep:
            last = position
    return labels


@dataclass(frozen=True)
class EdishPoint:
    """One patient: peak ALT ×ULN, peak bilirubin ×ULN, and whether Hy's law over time was met."""

    patient: str
    alt_x_uln: float
    bilirubin_x_uln: float
    series_met: bool


def edish_chart(points: Sequence[EdishPoint]) -> str:
    """eDISH: peak ALT ×ULN (x) against peak total bilirubin ×ULN (y), both log10, lines at 3× and 2×,
    one point per patient (filled red where Hy's law over time was met, open otherwise)."""
    width, height, left, right, top, bottom = 520, 400, 56, 16, 16, 46
    inner_w, inner_h = width - left - right, height - top - bottom
    x_min, x_max, y_min, y_max = 0.1, 100.0, 0.1, 100.0
    for p in points:
        x_min, x_max = min(x_min, p.alt_x_uln), max(x_max, p.alt_x_uln)
        y_min, y_max = min(y_min, p.bilirubin_x_uln), max(y_max, p.bilirubin_x_uln)
    x_lo, x_hi = math.floor(math.log10(x_min)), math.ceil(math.log10(x_max))
    y_lo, y_hi = math.floor(math.log10(y_min)), math.ceil(math.log10(y_max))

    def x(v: float) -> float:
        return left + (math.log10(v) - x_lo) / (x_hi - x_lo) * inner_w

    def y(v: float) -> float:
        return top + inner_h - (math.log10(v) - y_lo) / (y_hi - y_lo) * inner_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart edish" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="eDISH">', "<title>eDISH: peak ALT against peak bilirubin</title>"]
    parts.append(f'<rect x="{x(3):.1f}" y="{top}" width="{left + inner_w - x(3):.1f}" height="{y(2) - top:.1f}" fill="#fbe3e0"/>')
    for power in range(x_lo, x_hi + 1):
        value = 10.0**power
        parts.append(f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top}" y2="{top + inner_h}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{x(value):.1f}" y="{top + inner_h + 14}" font-size="10" text-anchor="middle">{value:g}</text>')
    for power in range(y_lo, y_hi + 1):
        value = 10.0**power
        parts.append(f'<line x1="{left}" x2="{left + inner_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 5}" y="{y(value) + 3:.1f}" font-size="10" text-anchor="end">{value:g}</text>')
    parts.append(f'<line class="threshold" x1="{x(3):.1f}" x2="{x(3):.1f}" y1="{top}" y2="{top + inner_h}" stroke="#c0392b" stroke-dasharray="4 3"/>')
    parts.append(f'<line class="threshold" x1="{left}" x2="{left + inner_w}" y1="{y(2):.1f}" y2="{y(2):.1f}" stroke="#c0392b" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{x(3) + 4:.1f}" y="{top + 12}" font-size="10" fill="#c0392b">ALT 3x ULN</text>')
    parts.append(f'<text x="{left + inner_w - 4}" y="{y(2) - 4:.1f}" font-size="10" fill="#c0392b" text-anchor="end">bilirubin 2x ULN</text>')
    quadrants = (("possible Hy's law", x(3) + 4, top + 26), ("hyperbilirubinaemia / cholestasis", left + 4, top + 26),
                 ("Temple's corollary", x(3) + 4, top + inner_h - 6), ("normal range", left + 4, top + inner_h - 6))
    for text, qx, qy in quadrants:
        parts.append(f'<text x="{qx:.1f}" y="{qy:.1f}" font-size="9" fill="#777">{escape(text)}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{inner_w}" height="{inner_h}" fill="none" stroke="#555"/>')
    parts.append(f'<text x="{left + inner_w / 2}" y="{height - 8}" font-size="11" text-anchor="middle">peak ALT (x ULN, log scale)</text>')
    parts.append(f'<text transform="translate(14 {top + inner_h / 2}) rotate(-90)" font-size="11" text-anchor="middle">'
                 'peak total bilirubin (x ULN, log scale)</text>')
    placed: list[tuple[float, float]] = []  # label positions so far: a label that would overlap one moves down
    for p in points:
        fill = "#c0392b" if p.series_met else "white"
        parts.append(f'<circle class="patient" cx="{x(p.alt_x_uln):.1f}" cy="{y(p.bilirubin_x_uln):.1f}" r="4.5" '
                     f'fill="{fill}" stroke="#222"><title>{escape(p.patient)}: ALT {p.alt_x_uln:.2f}x, '
                     f'bilirubin {p.bilirubin_x_uln:.2f}x ULN</title></circle>')
        lx, ly = x(p.alt_x_uln) + 6, y(p.bilirubin_x_uln) - 5
        while any(abs(lx - px) < 40 and abs(ly - py) < 10 for px, py in placed):
            ly += 11
        placed.append((lx, ly))
        parts.append(f'<text class="patient-label" x="{lx:.1f}" y="{ly:.1f}" font-size="9">{escape(p.patient)}</text>')
    parts.append("</svg>")
    return "".join(parts)
