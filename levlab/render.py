"""Output shapes: JSON-ready dicts and the rich terminal view. rich is imported only here."""

from __future__ import annotations

from typing import IO, Any

from levlab import DISCLAIMER, __version__
from levlab.catalog import analytes
from levlab.model import FLAG_WORDS, HL7_INTERPRETATION, AnalyteResult, Interval, PanelResult
from levlab.ranges import describe_interval
from levlab.rules import Rule
from levlab.values import format_number

FLAG_STYLES = {"H": "bold red", "L": "bold blue", "N": "green", "?": "bold yellow"}


def _number(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def analyte_json(result: AnalyteResult) -> dict[str, Any]:
    """One analyte's JSON object (the contract in the README)."""
    m, interval = result.measurement, result.interval
    return {
        "name": analytes()[result.analyte].name,
        "input": m.input if m else None,
        "value": _number(m.value) if m else None,
        "comparator": m.comparator if m else None,
        "unit": analytes()[result.analyte].canonical_unit,
        "input_unit": m.unit if m else None,
        "unit_assumed": m.unit_assumed if m else False,
        "low": _number(interval.low) if interval else None,
        "high": _number(interval.high) if interval else None,
        "interval": describe_interval(interval) if interval else None,
        "range_source": interval.source if interval else None,
        "flag": result.flag,
        "interpretation_code": HL7_INTERPRETATION[result.flag],
        "x_uln": None if result.x_uln is None else round(result.x_uln, 3),
        "reason": result.reason,
        "possible_intervals": [interval_json(i) for i in result.candidates] if interval is None and result.candidates else [],
    }


def panel_json(panel: PanelResult) -> dict[str, Any]:
    """The whole `interpret --format json` document."""
    return {
        "levlab_version": __version__,
        "sex": panel.patient.sex,
        "age": panel.patient.age,
        "smoker": panel.patient.smoker,
        "analytes": {result.analyte: analyte_json(result) for result in panel.results},
        "flags": [
            {"id": hit.rule_id, "kind": hit.kind, "message": hit.message, "source": hit.source, "section": hit.section}
            for hit in panel.hits
        ],
        "undecided": list(panel.undecided),
        "normal_panel": {
            "status": panel.normal_panel.status,
            "reason": panel.normal_panel.reason,
            "statement": panel.normal_panel.statement,
        },
        "notes": list(panel.notes),
        "disclaimer": DISCLAIMER,
    }


def interval_json(interval: Interval) -> dict[str, Any]:
    """One reference interval as `ranges --format json` lists it."""
    return {
        "analyte": interval.analyte,
        "sex": interval.sex,
        "age_min": interval.age_min,
        "age_max": interval.age_max,
        "smoker": interval.smoker,
        "low": _number(interval.low),
        "high": _number(interval.high),
        "low_inclusive": interval.low_inclusive,
        "high_inclusive": interval.high_inclusive,
        "unit": interval.unit,
        "text": interval.text,
        "source": interval.source,
        "note": interval.note,
    }


def rule_json(rule: Rule) -> dict[str, Any]:
    """One rule as `rules --format json` lists it."""
    return {
        "id": rule.id,
        "kind": rule.kind,
        "condition": rule.condition,
        "statement": rule.statement,
        "source": rule.source,
        "section": rule.section,
        "interpretation": rule.interpretation,
    }


def make_console(file: IO[str] | None = None) -> Any:
    """A rich Console on `file` (stdout by default): colour only on a terminal, NO_COLOR honoured."""
    from rich.console import Console

    return Console(file=file, highlight=False, soft_wrap=False)


def print_panel(panel: PanelResult, console: Any) -> None:
    """The terminal view of one interpreted panel."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="levlab: liver panel", title_justify="left")
    for column in ("analyte", "as given", "value", "reference interval", "xULN", "flag"):
        table.add_column(column, justify="right" if column in ("value", "xULN") else "left")
    for result in panel.results:
        m = result.measurement
        given = "" if m is None else m.input + (f" ({m.unit} assumed)" if m.unit_assumed else "")
        value = "" if m is None else f"{m.comparator or ''}{format_number(m.value)} {analytes()[m.analyte].canonical_unit}"
        interval = describe_interval(result.interval) if result.interval else "(see note)" if result.reason else ""
        x_uln = "" if result.x_uln is None else f"{result.x_uln:.2f}"
        flag = f"[{FLAG_STYLES[result.flag]}]{result.flag}[/] {FLAG_WORDS[result.flag]}"
        table.add_row(result.analyte, escape(given), value, interval, x_uln, flag)
    console.print(table)
    for result in panel.results:
        if result.reason:
            console.print(f"  [dim]{result.analyte}:[/] {escape(result.reason)}")
        if result.interval:
            console.print(f"  [dim]{result.analyte} interval source: {result.interval.source}[/]")
    if panel.hits:
        console.print("\n[bold]Rules met[/]")
        for hit in panel.hits:
            console.print(f"  [bold]{hit.rule_id}[/] ({hit.kind}): {escape(hit.message)}")
            console.print(f"    [dim]source: {hit.source}, section {hit.section}[/]")
    else:
        console.print("\n[bold]Rules met:[/] none")
    if panel.undecided:
        console.print("[bold]Undecided[/]")
        for line in panel.undecided:
            console.print(f"  {escape(line)}")
    status = panel.normal_panel
    style = {"met": "green", "not-met": "red", "incomplete": "yellow"}[status.status]
    console.print(f"\n[bold]normal-panel:[/] [{style}]{status.status}[/] - {escape(status.reason)}")
    if status.statement:
        console.print(f"  {status.statement} (iLive, Uitzaaiingen naar de lever, Biochemische indicatoren)")
    for note in panel.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    console.print(f"\n[italic]{DISCLAIMER}[/]")
