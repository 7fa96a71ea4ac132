"""What `levlab trend` writes: the cumulative view in the terminal, JSON (its shape: `trend_json`),
or the HTML report, and its stderr lines (said as `levlab trend:`). The edge, like cli.py: it prints; the core it calls is pure."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from levlab.errors import UsageError


def baseline_day(baseline_date: str | None) -> Any:
    """The day of `--baseline-date` (ISO or day-first), or None when not given; a text that is
    not a date is a usage error."""
    if baseline_date is None:
        return None
    from levlab import serial

    parsed = serial.parse_datetime(baseline_date)
    if parsed is None:
        raise UsageError(f"--baseline-date {baseline_date!r} is not a date; write 2024-03-01 or 01-03-2024")
    return parsed.date()


def check_report_options(report_file: str | None, edish: bool, output_format: str, file: str) -> None:
    """Usage errors of -o / --edish before any reading; the report extra is checked here too."""
    if edish and report_file is None:
        raise UsageError("--edish draws a chart: give -o FILE.html for the report")
    if report_file is not None:
        if output_format == "json":
            raise UsageError("-o writes the HTML report; for JSON use --format json > FILE")
        if file != "-" and os.path.exists(report_file) and os.path.samefile(report_file, file):
            raise UsageError(f"-o {report_file} is the input file; choose another name")
        from levlab.report_html import require_extra

        require_extra()


def write_trend(groups: list[tuple[str | None, Any]], baseline_on: Any, output_format: str, last: int | None,
                 hy_window: int | None, report_file: str | None, edish: bool, file: str, lang: str = "en") -> None:
    """The output part of `trend`: cumulative reports as JSON, an HTML file, or the terminal view."""
    from levlab import cumulative

    reports = {group_name(patient, found): cumulative.build(group_name(patient, found), found, baseline_on, hy_window)
               for patient, found in groups}
    if report_file is not None:
        from levlab.outfile import text_output
        from levlab.report_html import cohort_html, patient_html

        html = cohort_html(reports, file) if edish else patient_html(reports, file)
        with text_output(report_file, bom=False) as stream:
            stream.write(html)
        click.echo(f"levlab trend: report written to {report_file}", err=True)
        return
    if output_format == "json":
        import json

        click.echo(json.dumps(trend_json(groups, list(reports.values())), ensure_ascii=False, indent=2))
        return
    from levlab import trend_view

    terminal = sys.stdout.isatty()
    console = None
    if terminal:
        from levlab.render import make_console

        console = make_console()
    for number, report in enumerate(reports.values()):
        from levlab.language import language

        reader = language(lang)
        shown = trend_view.columns_that_fit(report, console.width if console is not None else None, last, reader)
        patient_view = trend_view.view(report, shown, reader)
        if number:
            click.echo()
        if console is not None:
            trend_view.print_view(patient_view, console)
        else:
            click.echo(trend_view.view_text(patient_view), nl=False)


def group_name(patient: str | None, samples: Any) -> str:
    """How a group of samples is named in the views: its patient id, or the rows of a sample without one."""
    if patient is not None:
        return (patient if len(patient) <= 60 else f"{patient[:60]}... ({len(patient)} characters)") or "(whole file, --one-patient)"
    rows = ", ".join(map(str, samples[0].rows[:3])) + (", ..." if len(samples[0].rows) > 3 else "")
    return f"(no patient id, row {rows}: compared with no other sample)"


def trend_lines(lines: list[str]) -> list[str]:
    """`levlab csv`'s report or closing lines, said by `levlab trend`."""
    from levlab.language import Msg

    return [Msg(line.template, **{**line.fields, "command": "levlab trend"})
            if isinstance(line, Msg) and line.fields.get("command") == "levlab csv"
            else f"levlab trend:{line[len('levlab csv:'):]}" if line.startswith("levlab csv:") else line for line in lines]


def closing_lines(run: Any, collected: Any, groups: list[tuple[str | None, Any]]) -> list[str]:
    """What stderr says after the view: `levlab csv`'s closing lines as trend's, the summary line
    (last) with the patients followed and the samples compared with no other, and before it the
    panels left out of the view and the implausible dates (said by sample, not as csv says them)."""
    from levlab.language import Msg

    lone = sum(patient is None for patient, _ in groups)
    followed = len(groups) - lone
    lines = trend_lines(run.closing_lines(dates=False))
    lines[-1] = Msg("{line}; {followed} followed, {rows} rows without a patient id ({lone} samples compared with "
                    "no other)", line=lines[-1], rows=collected.rows_without_patient, lone=lone,
                    followed=Msg("1 patient") if followed == 1 else Msg("{count} patients", count=followed))
    if collected.without_analytes:
        lines.insert(-1, Msg("levlab trend: {count} panels with no analyte levlab reads (other tests only) left out "
                             "of the view", count=collected.without_analytes))
    if collected.implausible_dates:
        lines.insert(-1, Msg("levlab trend: {count} samples dated before 1900 or after today: shown, never ordered, "
                             "compared or used as the CTCAE baseline", count=collected.implausible_dates))
    return lines


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
    from levlab.grading import criteria

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
    from levlab.render import panel_json
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
