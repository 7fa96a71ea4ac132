"""Output shapes: JSON-ready dicts and the rich terminal view. rich is imported only here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from levlab import DISCLAIMER, __version__
from levlab.catalog import analytes
from levlab.errors import LevlabError
from levlab.grading import criteria
from levlab.interpret import uses_default_interval
from levlab.model import FLAG_WORDS, HL7_INTERPRETATION, AnalyteResult, Grade, Interval, PanelResult, Pattern
from levlab.ranges import describe_interval
from levlab.rules import Rule
from levlab.values import format_number, split_value

FLAG_STYLES = {"H": "bold red", "L": "bold blue", "N": "green", "?": "bold yellow"}


def _number(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def grade_json(grade: Grade | None) -> dict[str, Any] | None:
    """A CTCAE grade as JSON: version, grade (0-4 or null when undecided), term, basis, reason."""
    if grade is None:
        return None
    return {"version": grade.version, "grade": grade.grade, "term": grade.term, "basis": grade.basis, "reason": grade.reason}


def pattern_json(pattern: Pattern | None) -> dict[str, Any] | None:
    """The R-ratio pattern as JSON, or None when it is not classified."""
    if pattern is None:
        return None
    return {"r_ratio": round(pattern.r_ratio, 3), "type": pattern.type, "source": pattern.source}


def grade_cell(grade: Grade | None) -> str:
    """`2`, `1 BL` (against the baseline), `?` (undecided) or empty (no CTCAE term)."""
    if grade is None:
        return ""
    if grade.grade is None:
        return "?"
    return f"{grade.grade} BL" if grade.basis == "baseline" else str(grade.grade)


def change_json(result: AnalyteResult, previous: AnalyteResult | None) -> dict[str, Any] | None:
    """What the same analyte was on the patient's previous sample, and the change (null if censored)."""
    if previous is None:
        return None
    now, before = result.measurement, previous.measurement
    exact = now is not None and before is not None and now.comparator is None and before.comparator is None
    return {
        "input": before.input if before else None,
        "value": _number(before.value) if before else None,
        "flag": previous.flag,
        "change": _number(now.value - before.value) if exact and now and before else None,
    }


def change_text(result: AnalyteResult, previous: AnalyteResult) -> str:
    """`alt: 35 -> 200 U/L (+165), N -> H` for the footer."""

    def shown(m: Any) -> str:
        return "?" if m is None else f"{m.comparator or ''}{format_number(m.value)}"

    change = (change_json(result, previous) or {}).get("change")
    delta = "" if change is None else f" ({'+' if change >= 0 else '-'}{format_number(abs(change))})"
    unit = analytes()[result.analyte].canonical_unit
    return f"{result.analyte}: {shown(previous.measurement)} -> {shown(result.measurement)} {unit}{delta}, {previous.flag} -> {result.flag}"


def analyte_json(result: AnalyteResult, grade: Grade | None = None, previous: AnalyteResult | None = None) -> dict[str, Any]:
    """One analyte's JSON object (the contract in the README); `ctcae` is its CTCAE grade or null,
    `since_previous` the same analyte on the patient's previous sample or null."""
    m, interval = result.measurement, result.interval
    return {
        "name": analytes()[result.analyte].name,
        "input": m.input if m else None,
        "value": _number(m.value) if m else None,
        "comparator": m.comparator if m else None,
        "unit": analytes()[result.analyte].canonical_unit,
        "input_unit": m.unit if m else None,
        "unit_assumed": m.unit_assumed if m else False,
        "unit_from_settings": m.unit_from_settings if m else False,
        "low": _number(interval.low) if interval else None,
        "high": _number(interval.high) if interval else None,
        "interval": describe_interval(interval) if interval else None,
        "range_source": interval.source if interval else None,
        "range_is_default": uses_default_interval(result),
        "flag": result.flag,
        "interpretation_code": HL7_INTERPRETATION[result.flag],
        "x_uln": None if result.x_uln is None else round(result.x_uln, 3),
        "reason": result.reason,
        "warnings": list(result.warnings),
        "possible_intervals": [interval_json(i) for i in result.candidates] if interval is None and result.candidates else [],
        "ctcae": grade_json(grade),
        "since_previous": change_json(result, previous),
    }


def _previous(panel: PanelResult, analyte_id: str) -> AnalyteResult | None:
    return next((result for result in panel.previous if result.analyte == analyte_id), None)


def panel_json(panel: PanelResult) -> dict[str, Any]:
    """The whole `interpret --format json` document."""
    return {
        **panel_json_head(panel),
        "analytes": {
            result.analyte: analyte_json(result, panel.grade(result.analyte), _previous(panel, result.analyte))
            for result in panel.results
        },
        **panel_json_tail(panel),
    }


def panel_json_head(panel: PanelResult) -> dict[str, Any]:
    """The fields of `panel_json` before `analytes`: version and patient."""
    return {"levlab_version": __version__, "sex": panel.patient.sex, "age": panel.patient.age, "smoker": panel.patient.smoker}


def panel_json_tail(panel: PanelResult) -> dict[str, Any]:
    """The fields of `panel_json` after `analytes`."""
    return {
        "baseline": {result.analyte: analyte_json(result) for result in panel.baseline},
        "pattern": pattern_json(panel.pattern),
        "relation": panel.relation,
        "flags": [
            {"id": hit.rule_id, "kind": hit.kind, "message": hit.message, "source": hit.source, "section": hit.section}
            for hit in panel.hits
        ],
        "undecided": list(panel.undecided),
        "normal_panel": {
            "status": panel.normal_panel.status,
            "reason": panel.normal_panel.reason,
            "statement": panel.normal_panel.statement,
            "default_intervals": list(panel.normal_panel_defaults),
        },
        "default_intervals": list(panel.default_intervals),
        "notes": list(panel.notes),
        "warnings": list(panel.warnings),
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


#: the width of a console that is not a terminal (a pipe, a file): wide enough that no cell is cut
PIPE_WIDTH = 10_000


def make_console(file: IO[str] | None = None) -> Any:
    """A rich Console on `file` (stdout by default): colour only on a terminal, NO_COLOR honoured.
    Piped or written to a file it has no width to fit: tables take their natural width, never cut."""
    from rich.console import Console

    console = Console(file=file, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(file=file, highlight=False, soft_wrap=True, width=PIPE_WIDTH)
    return console


TABLE_HEADER = ("analyte", "as given", "value", "reference interval", "xULN", "CTCAE", "flag")


def as_given(m: Any) -> str:
    """The "as given" cell of a measurement: its text, with the unit it was given in when that came
    from elsewhere (a unit column or header: `0,5 µkat/L`), or ` *` when the unit was assumed."""
    if m.unit_assumed:
        return f"{m.input} *"
    if m.unit_from_settings:
        return f"{m.input} {m.unit} (settings)"
    try:
        unit_in_text = split_value(m.input).unit_text
    except LevlabError:  # cannot happen for a text that was read; shown as it is
        unit_in_text = "?"
    return m.input if unit_in_text else f"{m.input} {m.unit}"


def panel_rows(panel: PanelResult) -> list[tuple[str, ...]]:
    """One row of plain cells per analyte; the last cell is the flag letter."""
    rows = []
    for result in panel.results:
        m = result.measurement
        given = "" if m is None else as_given(m) + (" !" if m.warnings else "")
        value = "" if m is None else f"{m.comparator or ''}{format_number(m.value)} {analytes()[m.analyte].canonical_unit}"
        interval = describe_interval(result.interval) if result.interval else "see below"
        x_uln = "" if result.x_uln is None else f"{result.x_uln:.2f}"
        rows.append((result.analyte, given, value, interval, x_uln, grade_cell(panel.grade(result.analyte)), result.flag))
    return rows


def panel_footer(panel: PanelResult) -> list[tuple[str, str]]:
    """The lines under the table as (style, text): reasons, sources, rules, normal-panel, disclaimer."""
    lines: list[tuple[str, str]] = []
    assumed = [r.analyte for r in panel.results if r.measurement is not None and r.measurement.unit_assumed]
    if assumed:
        unit = analytes()[assumed[0]].canonical_unit
        lines.append(("dim", f"* no unit given: {unit} assumed ({', '.join(assumed)})"))
    configured = [f"{r.analyte} {r.measurement.unit}" for r in panel.results
                  if r.measurement is not None and r.measurement.unit_from_settings]
    if configured:
        lines.append(("dim", f"(settings) no unit given: unit from settings, units = \"si\" ({', '.join(configured)})"))
    lines.extend(("bold yellow", f"! warning, {line}") for line in panel.warnings)
    for result in panel.results:
        if result.reason:
            lines.append(("yellow" if result.flag == "?" else "dim", f"{result.analyte}: {result.reason}"))
    sources: dict[str, list[str]] = {}
    for result in panel.results:
        if result.interval is not None:
            sources.setdefault(result.interval.source, []).append(result.analyte)
    for source, ids in sources.items():
        default = all(i in panel.default_intervals for i in ids)
        lines.append(("dim", f"interval source ({', '.join(ids)}): {source}" + (DEFAULT_MARK if default else "")))
    if panel.grades:
        lines.append(("dim", f"CTCAE v{criteria().version} grades (a convention, not the iLive texts; BL = graded against the baseline): {criteria().source}"))
        lines.extend(("yellow", f"{g.analyte} CTCAE undecided: {g.reason}") for g in panel.grades if g.grade is None)
    if panel.pattern is not None:
        lines.append(("", f"pattern: R ratio {panel.pattern.r_ratio:.2f}, {panel.pattern.type} (convention: {panel.pattern.source})"))
    if panel.relation:
        lines.append(("", f"note: {panel.relation}"))
    changes = [(r, _previous(panel, r.analyte)) for r in panel.results if _previous(panel, r.analyte) is not None]
    if changes:
        lines.append(("bold", "Since the previous sample"))
        lines.extend(("", f"  {change_text(result, before)}") for result, before in changes if before is not None)
    lines.append(("", ""))
    if panel.hits:
        lines.append(("bold", "Rules met"))
        for hit in panel.hits:
            lines.append(("", f"  {hit.rule_id} ({hit.kind}): {hit.message}"))
            lines.append(("dim", f"    source: {hit.source}, section {hit.section}"))
    else:
        lines.append(("bold", "Rules met: none"))
    if panel.undecided:
        lines.append(("bold", "Undecided"))
        lines.extend(("yellow", f"  {line}") for line in panel.undecided)
    status = panel.normal_panel
    style = {"met": "green", "not-met": "red", "incomplete": "yellow"}[status.status]
    lines.append(("", ""))
    lines.append((f"bold {style}", f"normal-panel: {status.status} - {status.reason}"))
    if status.statement:
        lines.append((style, f"  {status.statement} (iLive, Uitzaaiingen naar de lever, Biochemische indicatoren)"))
    if panel.normal_panel_defaults:
        lines.append(("bold yellow", f"  {defaults_sentence(panel.normal_panel_defaults)}"))
    lines.append(("", ""))
    lines.append(("italic", DISCLAIMER))
    return lines


DEFAULT_MARK = " (levlab default, not your laboratory's)"


def defaults_sentence(analyte_ids: Sequence[str]) -> str:
    """The line beside normal-panel when its outcome rests on levlab's default intervals."""
    names = ", ".join(a.upper() if len(a) <= 3 else a for a in analyte_ids)
    return (f"this outcome rests on levlab's default intervals for {names}, not your laboratory's own: "
            "check them against your laboratory's ranges (--ranges FILE, or a range column)")


def print_panel(panel: PanelResult, console: Any) -> None:
    """The rich terminal view of one interpreted panel (colour on a terminal)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title="levlab: liver panel", title_justify="left")
    for column in TABLE_HEADER:
        table.add_column(column, justify="right" if column in ("value", "xULN") else "left")
    for *cells, flag in panel_rows(panel):
        # Text, not str: a str cell is rich markup, and `35 [iu]/l` would lose its `[iu]`.
        table.add_row(*(Text(cell) for cell in cells), Text(f"{flag} {FLAG_WORDS[flag]}", style=FLAG_STYLES[flag]))
    console.print(table)
    for style, line in panel_footer(panel):
        console.print(Text(line, style=style))


def panel_text(panel: PanelResult) -> str:
    """The same view as plain aligned text, for pipes and files (no rich import)."""
    rows = [TABLE_HEADER] + [(*cells, f"{flag} {FLAG_WORDS[flag]}") for *cells, flag in panel_rows(panel)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    out = ["levlab: liver panel"]
    for number, row in enumerate(rows):
        out.append("  ".join(cell.rjust(w) if i in (2, 4) else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if number == 0:
            out.append("  ".join("-" * w for w in widths))
    out.extend(line for _, line in panel_footer(panel))
    return "\n".join(out) + "\n"


def _csv_panel_title(out: Any) -> str:
    key = ", ".join(f"{name} {value}" for name, value in out.key.items())
    rows = f"row {out.rows[0]}" if len(out.rows) == 1 else f"rows {out.rows[0]}-{out.rows[-1]}"
    return f"{key} ({rows})" if key else rows


def print_csv_panels(outs: list[Any], console: Any) -> None:
    """`levlab csv --format table` for a small file: each panel (rows, key, errors) in full."""
    from rich.text import Text

    for out in outs:
        if console.is_terminal:
            console.rule(Text(_csv_panel_title(out), style="bold"), align="left")
        else:  # a rule would be as wide as the console
            console.print(Text(f"── {_csv_panel_title(out)}", style="bold"))
        for error in out.errors:
            console.print(Text(f"row {error.row}, {error.column}: {error.message}", style="yellow"))
        for warning in getattr(out, "warnings", ()):  # the panel's own (follow-up), beside its results'
            console.print(Text(f"! warning, {warning}", style="bold yellow"))
        print_panel(out.panel, console)


def print_csv_summary(collected: Any, console: Any) -> None:
    """`levlab csv --format table` for a large file: counts, then the panels with findings first."""
    from rich.table import Table
    from rich.text import Text

    console.print(Text(f"levlab csv: {collected.total} panels, {collected.with_errors} with row errors", style="bold"))
    statuses = Table(title="normal-panel", title_justify="left")
    statuses.add_column("status")
    statuses.add_column("panels", justify="right")
    for status in ("met", "not-met", "incomplete"):
        statuses.add_row(status, str(collected.statuses.get(status, 0)))
    console.print(statuses)
    if collected.without_liver_test:
        console.print(f"{collected.without_liver_test} panels with no liver test result (a blood gas, a blood count...): "
                      "counted apart, not in normal-panel above")
    if collected.rule_counts:
        hits = Table(title="rules met", title_justify="left")
        hits.add_column("rule")
        hits.add_column("panels", justify="right")
        for rule_id, count in collected.rule_counts.most_common():
            hits.add_row(rule_id, str(count))
        console.print(hits)
    if collected.findings:
        found = Table(title="panels with findings (first ones)", title_justify="left")
        for column in ("panel", "raised", "rules met", "normal-panel"):
            found.add_column(column)
        for out in collected.findings:
            raised = " ".join(r.analyte for r in out.panel.results if r.flag == "H")
            found.add_row(_csv_panel_title(out), raised, " ".join(h.rule_id for h in out.panel.hits),
                          out.panel.normal_panel.status)
        console.print(found)
        if collected.more_findings:
            console.print(f"... and {collected.more_findings} more panels with findings (use --format jsonl or csv)")
    console.print(Text(DISCLAIMER, style="italic"))


def cumulative_json(report: Any) -> dict[str, Any]:
    """The cumulative report of one patient (cumulative.Cumulative) as JSON: per analyte the interval,
    ×ULN of the latest result, the change since the previous result against the RCV and the worst
    CTCAE grade after baseline; Hy's law over the series."""
    def change(found: Any) -> dict[str, Any] | None:
        if found is None:
            return None
        return {"percent": None if found.percent is None else round(found.percent, 2),
                "rcv_percent": None if found.rcv is None else round(found.rcv, 2),
                "exceeds_rcv": found.exceeds, "reason": found.reason, "kind": "convention"}

    from levlab.cumulative import display_label

    def named(sample: Any) -> str:
        return display_label(sample, report.samples)

    series = report.hys_law
    return {
        "baseline": None if report.baseline is None else named(report.baseline),
        "analytes": {row.analyte: {
            "unit": row.unit, "interval": row.interval, "interval_source": row.interval_source,
            "latest_x_uln": None if row.latest_x_uln is None else round(row.latest_x_uln, 3),
            "change_since_previous": change(row.latest_change),
            "worst_ctcae_after_baseline": None if row.worst is None else {
                "version": criteria().version, "grade": row.worst.grade, "samples": list(row.worst.samples),
                "undecided_samples": row.worst.undecided, "basis": row.worst.basis, "baseline_rule": row.worst.rule},
        } for row in report.rows},
        "hys_law_over_time": {
            "status": series.status, "window_days": series.window_days, "kind": "convention",
            "met": [{"transaminase_sample": named(p.transaminase), "bilirubin_sample": named(p.bilirubin), "days": p.days}
                    for p in series.met],
            "undecided_pairs": len(series.undecided),
        },
    }


def trend_json(groups: Sequence[tuple[str | None, Sequence[Any]]], reports: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """`levlab trend --format json`: per patient, each sample (serial.Sample) as `interpret` JSON
    plus its date and the interval since the previous sample; with `reports` (one per group, in
    order), the patient's cumulative report under `cumulative`. A sample without a patient id is
    one entry of its own with `"patient": null` and its `rows`."""
    from levlab.serial import since

    return [
        {"patient": patient, **({"rows": list(samples[0].rows)} if patient is None else {}), "samples": [
            {"date": sample.label, "datetime": sample.when.isoformat() if sample.when else None,
             "since_previous": None if i == 0 or sample.when is None else since(samples[i - 1].when, sample.when),
             **panel_json(sample.panel)}
            for i, sample in enumerate(samples)],
         **({"cumulative": cumulative_json(reports[number])} if reports else {})}
        for number, (patient, samples) in enumerate(groups)
    ]
