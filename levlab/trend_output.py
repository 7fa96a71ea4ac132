"""What `levlab trend` writes: the cumulative view in the terminal, JSON, or the HTML report, and
its stderr lines (said as `levlab trend:`). The edge, like cli.py: it prints; the core it calls is pure."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from levlab.errors import UsageError


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

        from levlab.render import trend_json

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
