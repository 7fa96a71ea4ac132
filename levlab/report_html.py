"""The HTML report of `levlab trend -o FILE`: one self-contained file (no scripts, no network), A4 print.

jinja2 (the optional extra `levlab[report]`) fills templates/report.html.j2; charts are inline SVG
from svg_chart.py. The cells and lines come from trend_view.view, so the file says what the
terminal says.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from levlab import DISCLAIMER, __version__
from levlab.cumulative import Cumulative, display_label, variation_table
from levlab.errors import UsageError
from levlab.grading import criteria
from levlab.hyslaw import spec as hys_spec
from levlab.svg_chart import EdishPoint, Point, edish_chart, series_chart
from levlab.trend_view import TORSVIK, Styled, View, view

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")
INSTALL_HINT = "the HTML report needs jinja2: pip install 'levlab[report]'"


def require_extra() -> None:
    """A usage error naming the extra to install when jinja2 is missing."""
    try:
        import jinja2  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None


def _render(**context: Any) -> str:
    require_extra()
    import jinja2

    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template("report.html.j2").render(
        version=__version__, disclaimer=DISCLAIMER, made=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", **context)


def _css(style: str) -> str:
    return " ".join(f"s-{part}" for part in style.split())


def _charts(report: Cumulative) -> list[dict[str, Any]]:
    dated = [s.when for s in report.samples if s.when is not None]
    span = (min(dated), max(dated)) if dated else None  # one time axis for every chart of the patient
    charts = []
    for row in report.rows:
        points = []
        for sample, cell in zip(report.samples, row.cells, strict=True):
            m = None if cell.result is None else cell.result.measurement
            if sample.when is not None and m is not None:
                points.append(Point(sample.when, m.value, cell.flag,
                                    f"{display_label(sample, report.samples)}: {cell.text} {row.unit} {cell.flag}", m.comparator))
        from markupsafe import Markup

        charts.append({"analyte": row.analyte, "unit": row.unit, "interval": row.interval,
                       "censored": sum(1 for p in points if p.comparator),
                       "svg": Markup(series_chart(f"{row.analyte} ({row.unit})", row.unit, points, row.low, row.high, span))})
    return charts


#: sample columns per table on an A4 page; more samples continue in the next table
SAMPLES_PER_TABLE = 6
#: the terminal's text sparkline is left out of the HTML table: every analyte has its chart
TERMINAL_ONLY = ("trend [band]",)


def _table(shown: View) -> dict[str, Any]:
    keep = [i for i, name in enumerate(shown.header) if name not in TERMINAL_ONLY]
    first_fixed = shown.header.index("xULN")
    kind = {i: "sample" if 2 <= i < first_fixed else "fixed" for i in keep}  # sample cells never wrap

    return {"header": [{"text": shown.header[i], "css": kind[i]} for i in keep],
            "rows": [[{"text": unbroken_dates(row[i].text), "css": f"{kind[i]} {_css(row[i].style)}"} for i in keep]
                     for row in shown.rows]}


def unbroken_dates(text: str) -> str:
    """ISO dates with non-breaking hyphens, so a line wraps at spaces, never inside a date."""
    return re.sub(r"(\d{4})-(\d{2})-(\d{2})", "\\1\u2011\\2\u2011\\3", text)


def _patient(report: Cumulative) -> dict[str, Any]:
    count = len(report.samples)
    chunks = [list(range(start, min(start + SAMPLES_PER_TABLE, count))) for start in range(0, count, SAMPLES_PER_TABLE)]
    tables = [_table(view(report, chunk)) for chunk in chunks] or [_table(view(report, []))]
    everything = view(report, list(range(count)))
    # the conventions come once, in their own section, and the disclaimer once, at the end
    return {"title": everything.title, "patient": report.patient, "tables": tables, "charts": _charts(report),
            "lines": _lines(everything.per_sample) + _lines(everything.hys_law) + _lines(everything.rule_sources)}


def _lines(lines: Sequence[Styled]) -> list[dict[str, Any]]:
    return [{"text": unbroken_dates(line.text.lstrip()), "indent": len(line.text) - len(line.text.lstrip()), "css": _css(line.style)}
            for line in lines if line.text.strip()]


def _conventions() -> dict[str, Any]:
    table, hy = variation_table(), hys_spec()
    sources = list(dict.fromkeys(f"CVi: {v.source}; CVa: {v.cva_source}" for v in table.by_analyte.values()))
    return {
        "torsvik": TORSVIK, "rcv_formula": table.formula, "rcv_z": table.z, "rcv_source": table.formula_source,
        "rcv_analytes": [{"analyte": v.analyte, "cvi": v.cvi, "cva": v.cva, "rcv": v.rcv,
                          "source_number": sources.index(f"CVi: {v.source}; CVa: {v.cva_source}") + 1}
                         for v in table.by_analyte.values()],
        "rcv_sources": sources,
        "rcv_unverified": table.unverified,
        "ctcae": f"CTCAE v{criteria().version}: {criteria().source}",
        "hy_source": hy.rule_source, "hy_window": hy.window_source, "hy_note": hy.note,
    }


def patient_html(reports: Mapping[str, Cumulative], source_name: str) -> str:
    """The report of each patient in `reports`: charts, cumulative table, rules per sample, conventions."""
    require_extra()
    return _render(kind="patient", source=os.path.basename(source_name), patients=[_patient(r) for r in reports.values()],
                   edish=None, conventions=_conventions())


def peak(report: Cumulative, analyte_id: str) -> tuple[float, str] | None:
    """The highest exact ×ULN of an analyte over the patient's samples, and the sample's label."""
    row = next((r for r in report.rows if r.analyte == analyte_id), None)
    if row is None:
        return None
    found = [(c.result.x_uln, display_label(s, report.samples)) for s, c in zip(report.samples, row.cells, strict=True)
             if c.result is not None and c.result.x_uln is not None]
    return max(found, key=lambda item: item[0]) if found else None


def cohort_html(reports: Mapping[str, Cumulative], source_name: str) -> str:
    """The cohort report: the eDISH chart (one point per patient) and a table of the peaks."""
    require_extra()
    points, rows = [], []
    for patient, report in reports.items():
        alt, bilirubin = peak(report, "alt"), peak(report, "bilirubin")
        status = report.hys_law.status
        rows.append({"patient": patient or "(no patient column)", "alt": alt, "bilirubin": bilirubin, "status": status,
                     "samples": len(report.samples),
                     "why": "" if alt and bilirubin else "not plotted: no exact ALT or bilirubin with a single ULN"})
        if alt and bilirubin and alt[0] > 0 and bilirubin[0] > 0:
            points.append(EdishPoint(patient, alt[0], bilirubin[0], status == "met"))
    from markupsafe import Markup

    return _render(kind="cohort", source=os.path.basename(source_name), patients=[],
                   edish={"svg": Markup(edish_chart(points)), "rows": rows}, conventions=_conventions())
