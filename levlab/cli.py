"""The command line: parse options, call the core, hand the result to a writer.

Only `main` turns a LevlabError into an `Error: ...` line and an exit status. What a command
needs (the settings file, the core, pint, rich, the exports package) is imported inside it, so
`levlab --help` loads click and little else (tests/test_architecture.py keeps it so).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import click

from levlab import __version__
from levlab.errors import ExitStatus, LevlabError, UsageError, message_of
from levlab.help_text import HelpGroup, TranslatedUsageError, context_language
from levlab.language import Msg, language
from levlab.options import (
    AGE_OPTION,
    CSV_DIALECT_OPTIONS,
    CSV_LAYOUT_OPTIONS,
    CSV_RUN_OPTIONS,
    FORMAT_OPTION,
    LANG_OPTION,
    RANGES_OPTION,
    SEX_OPTION,
    SHEET_OPTION,
    SMOKER_OPTION,
)
from levlab.options import apply as apply_options


def _write_json(document: Any) -> None:
    import json

    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


class LevlabGroup(HelpGroup):
    """Turns LevlabError into `Error: ...` and its exit status: the one boundary (and the one place
    an error made by the core is put in the reader's language)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:  # a command's options, as click reads them: in Dutch when asked
            lang = context_language(ctx)
            if lang.code == "en":
                raise
            raise TranslatedUsageError(error, lang) from None
        except LevlabError as error:
            if getattr(error, "output_failed", False):
                _drop_stdout()
            lang = context_language(ctx)
            click.echo(lang.gettext("Error: {message}").format(message=lang.text(message_of(error))), err=True)
            ctx.exit(int(error.exit_status))
        except KeyboardInterrupt:
            click.echo(context_language(ctx).gettext("Interrupted."), err=True)
            ctx.exit(int(ExitStatus.INTERRUPTED))
        except BrokenPipeError:  # `levlab csv big.csv | head`: stop quietly, like other tools
            _drop_stdout()
            ctx.exit(int(ExitStatus.BROKEN_PIPE))
        except OSError as error:  # stdout on a full disk (`> /dev/full`), or a file that fails while read
            _drop_stdout()
            where = f"{error.filename}: " if error.filename else ""
            click.echo(f"Error: {where}{error.strerror or error}", err=True)
            ctx.exit(int(ExitStatus.USAGE))


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so the final flush at exit cannot fail again on what it still holds."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@click.group(cls=LevlabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="levlab")
@click.option("--lang", type=click.Choice(["nl", "en"], case_sensitive=False), metavar="nl|en", expose_value=False,
              help="Language of what a person reads, for the command that follows (or its own --lang).")
def main() -> None:
    """Interpret the liver lab panel of patients with (suspected) liver metastases.

    Every unit is converted with pint, every value is compared with a sourced reference
    interval, and the rules documented in the source texts are reported with their sources.
    levlab supports clinical judgement; it does not replace it.
    """


@main.command()
@click.argument("tokens", nargs=-1, required=True, metavar="ANALYTE=VALUE[UNIT]...")
@SEX_OPTION
@AGE_OPTION
@SMOKER_OPTION
@RANGES_OPTION
@click.option(
    "--baseline", "baseline_tokens", multiple=True, metavar="ANALYTE=VALUE[UNIT]",
    help="A baseline value (repeatable), for CTCAE grades: above its ULN, later values are graded against it.",
)
@FORMAT_OPTION
@LANG_OPTION
def interpret(tokens: tuple[str, ...], sex: str | None, age: float | None, smoker: bool | None,
              ranges_file: str | None, baseline_tokens: tuple[str, ...], output_format: str, lang: str) -> None:
    """Interpret one panel typed as tokens.

    \b
    Examples:
      levlab interpret bili=40umol/L alp=250 ldh=480 ast=40 alt=35 --sex F
      levlab interpret bili=2.4mg/dL ALAT=35 "ldh=480 U/L" "ASAT=<5U/L" 2324-2=40U/L

    Quote a token with a space, < or > (the shell reads <5 as a redirection).

    Enzymes without a unit are read in U/L (said in the output), except numbers that may
    be µkat/L (ALT up to 10, GGT 11, AST 15, ALP 35, LDH 115): give their unit. Bilirubin, albumin,
    globulin, haemoglobin and glucose need a unit (or units = "si" in the settings file: see
    `levlab config`). "1,5" is 1.5; "1,234" is refused.
    """
    from levlab import config
    from levlab.interpret import check_assumed_units, interpret_panel
    from levlab.model import Patient
    from levlab.tokens import read_tokens

    settings = config.in_force()
    table = config.interval_table(ranges_file, settings)
    measurements = read_tokens(tokens, settings.unit_per_analyte())
    check_assumed_units(measurements.values())
    try:
        baseline = read_tokens(baseline_tokens, settings.unit_per_analyte())
    except LevlabError as error:
        raise type(error)(Msg("--baseline {error}", error=message_of(error))) from None
    panel = interpret_panel(measurements, Patient(sex, age, smoker), table, baseline=baseline)
    if output_format == "json":
        from levlab.render import panel_json

        _write_json(panel_json(panel))
    elif sys.stdout.isatty():
        from levlab.render import make_console, print_panel

        print_panel(panel, make_console(), language(lang))
    else:
        from levlab.render import panel_text

        click.echo(panel_text(panel, language(lang)), nl=False)


@main.command()
@FORMAT_OPTION
@LANG_OPTION
def rules(output_format: str, lang: str) -> None:
    """List the interpretive rules with their conditions and sources."""
    from levlab.render import rule_json
    from levlab.rules import rules as all_rules

    documents = [rule_json(rule) for rule in all_rules()]
    if output_format == "json":
        _write_json(documents)
        return
    from levlab import DISCLAIMER
    from levlab.render import KIND_WORDS

    reader = language(lang)
    _, text = reader.gettext, reader.text
    for document in documents:
        click.echo(f"{document['id']}  [{_(KIND_WORDS.get(document['kind'], document['kind']))}]")
        click.echo("  " + _("when: {text}").format(text=text(document["condition"])))
        click.echo("  " + _("says: {text}").format(text=text(document["statement"])))
        if document["interpretation"]:
            click.echo("  " + _("note: {note}").format(note=text(document["interpretation"])))
        click.echo("  " + _("source: {source}, section {section}").format(source=document["source"], section=document["section"]))
    click.echo(_(DISCLAIMER))


@main.command()
@SEX_OPTION
@AGE_OPTION
@SMOKER_OPTION
@RANGES_OPTION
@FORMAT_OPTION
@LANG_OPTION
def ranges(sex: str | None, age: float | None, smoker: bool | None, ranges_file: str | None, output_format: str,
           lang: str) -> None:
    """List the reference intervals in force (for a sex and age, if given), with sources."""
    from levlab import config, ranges_view
    from levlab.model import Patient
    from levlab.render import interval_json

    patient = Patient(sex, age, smoker)
    table = config.interval_table(ranges_file, config.in_force())
    intervals = [i for i in table.all() if i.holds_for(patient) is not False]
    documents = [interval_json(i) for i in intervals]
    uncovered = ranges_view.uncovered(table, patient, {i.analyte for i in intervals}, language(lang))
    if output_format == "json":
        _write_json(documents)
        for line in uncovered:
            click.echo(line, err=True)
        return
    reader = language(lang)
    _ = reader.gettext
    for document in documents:
        who = " ".join(
            part
            for part in (_(document["sex"]) if document["sex"] else f"{_('F')}/{_('M')}",
                         ranges_view.age_span(document["age_min"], document["age_max"], reader),
                         "" if document["smoker"] is None else (_("smoker") if document["smoker"] else _("non-smoker")))
            if part
        )
        click.echo(f"{document['analyte']:<12} {reader.numbers(document['text']):<18} {who:<24} {document['source']}")
        if document["note"]:
            click.echo(f"{'':<12} " + _("note: {note}").format(note=document["note"]))
    for line in uncovered:
        click.echo(line)


@main.command(name="units")
@click.argument("analyte", required=False)
@LANG_OPTION
def units_command(analyte: str | None, lang: str) -> None:
    """List each analyte's canonical unit, accepted units and factors (computed by pint)."""
    from levlab.catalog import analytes, get_analyte
    from levlab.units import to_canonical_factor

    reader = language(lang)
    _, number = reader.gettext, reader.number
    chosen = [get_analyte(analyte)] if analyte else list(analytes().values())
    for item in chosen:
        need = _("unit required") if item.unit_required else _("no unit = {unit} (assumed, said)").format(unit=item.canonical_unit)
        click.echo(_("{id} ({name}): canonical {unit}; {need}").format(id=item.id, name=item.name, unit=item.canonical_unit,
                                                                       need=need))
        for unit in item.units:
            click.echo(f"  1 {unit} = {number(to_canonical_factor(item, unit))} {item.canonical_unit}")
        click.echo("  " + _("usual {usual} (outside: a warning with a stated unit); possible {possible}").format(
            usual=f"{number(item.plausible_low)}-{number(item.plausible_high)} {item.canonical_unit}",
            possible=f"{number(item.possible_low)}-{number(item.possible_high)} {item.canonical_unit}")
            + (_("; molar mass {mass} g/mol").format(mass=reader.numbers(str(item.molar_mass))) if item.molar_mass else ""))
        for other, low, high in item.believable:
            click.echo("  " + _("a bare number of {low}-{high} may be {unit}: give the unit").format(
                low=number(low), high=number(high), unit=other))
        if analyte:
            click.echo("  " + _("aliases: {aliases}; LOINC: {loinc}").format(aliases=", ".join(item.aliases),
                                                                            loinc=", ".join(item.loinc) or "-"))


@main.command()
@click.argument("value")
@click.argument("from_unit")
@click.argument("to_unit")
@click.option("--analyte", "-a", required=True, help="Analyte id or alias (bilirubin, ALAT, ...).")
@LANG_OPTION
def convert(value: str, from_unit: str, to_unit: str, analyte: str, lang: str) -> None:
    """Convert VALUE of an analyte from one of its units to another.

    \b
    Example: levlab convert 2.4 mg/dL umol/L --analyte bilirubin
    """
    from levlab.catalog import get_analyte
    from levlab.units import convert as convert_value
    from levlab.units import unit_for_analyte
    from levlab.values import split_value

    item = get_analyte(analyte)
    parsed = split_value(value)
    if parsed.unit_text:
        raise UsageError(Msg("give the unit as FROM_UNIT, not inside VALUE ({value!r})", value=value))
    source, target = unit_for_analyte(item, from_unit), unit_for_analyte(item, to_unit)
    result = convert_value(item, parsed.number, source.key, target.key)
    comparator = parsed.comparator or ""
    number = language(lang).number
    click.echo(f"{comparator}{number(parsed.number)} {source.key} = {comparator}{number(result)} {target.key} ({item.id})")


@main.command(name="csv")
@click.argument("file", default="-", type=click.Path(allow_dash=True), metavar="[FILE|-]")
@apply_options(CSV_DIALECT_OPTIONS)
@SHEET_OPTION
@apply_options(CSV_LAYOUT_OPTIONS)
@RANGES_OPTION
@apply_options(CSV_RUN_OPTIONS)
@LANG_OPTION
def csv_command(file: str, delimiter: str | None, tabs: bool, encoding: str, decimal: str | None, skip_lines: int,
                sheet: str | None, layout: str | None,
                cols: tuple[str, ...], maps: tuple[str, ...], codes_file: str | None, ranges: tuple[str, ...],
                group_by: tuple[str, ...], na: tuple[str, ...], ranges_file: str | None, output_format: str, output: str,
                dry_run: bool, strict: bool, excel_safe: bool, lang: str) -> None:
    """Interpret a laboratory export (CSV, Excel .xlsx or FHIR R4 JSON; wide or long), keeping every row.

    \b
    Examples:
      levlab csv examples/export_nl_long.csv -o interpreted.csv
      cat examples/export_en_wide.csv | levlab csv - --format jsonl | jq -c '[.key, .normal_panel.status]'
      levlab csv extract.csv --map "Total_Bilirubin=bilirubin:mg/dL" --range "ALT (U/L)=<45"
      levlab csv lis.csv --col test=Omschrijving --col value=Uitslag --dry-run
      levlab csv examples/fhir_bundle.json --format fhir
      levlab csv examples/liver_panel.xlsx --sheet 1 --dry-run

    The input format is told by the content (an .xlsx workbook needs: pip install 'levlab[excel]').
    The layout and the meaning of each column are detected from the header and reported on
    stderr before the data; --dry-run stops there. A bad cell never ends the run: its row
    carries the error (levlab_error), and the exit status is 1. Exit 2: usage error.

    In a long export with patient and sample date columns, each panel is compared with the
    patient's previous sample (new-abnormal, levlab_previous_*, levlab_change) and graded for
    CTCAE against the patient's first sample, as trend does; each patient's samples must come
    in time order (a sample that does not is said, and not compared).
    """
    from levlab import export_edge
    from levlab.outfile import open_input

    options = export_edge.csv_options(layout, delimiter, tabs, decimal, na, cols, maps, ranges, group_by, ranges_file, skip_lines,
                                      strict, sheet, codes_file)
    export_edge.check_output(file, output, output_format, dry_run)
    with export_edge.closing_input(open_input(file)) as binary, export_edge.progress(file) as progress, \
            export_edge.export_run(file, binary, options, encoding, progress) as (opened, run):
        follow_up_note = run.follow_up_note()  # csv only: trend orders and links the samples itself
        _say(run.report + ([follow_up_note] if follow_up_note else []), lang)
        if dry_run:
            return
        export_edge.write_output(run, opened, output, output_format, excel_safe=excel_safe, lang=lang)
    _say(run.closing_lines(), lang)
    _exit_if_rows_failed(run)


def _say(lines: list[str], lang: str) -> None:
    """Lines for the person at the terminal (the detection report, the closing lines), on stderr."""
    reader = language(lang)
    for line in lines:
        click.echo(reader.text(line), err=True)


def _exit_if_rows_failed(run: Any) -> None:
    """Exit status 1 when a row of the export carried an error (said on its row and on stderr)."""
    if run.summary.rows_with_errors:
        click.get_current_context().exit(int(ExitStatus.ROW_ERRORS))


@main.command()
@click.argument("file", type=click.Path(allow_dash=True), metavar="FILE|-")
@click.option("--patient", "patients", multiple=True, metavar="ID", help="Only this patient (repeatable).")
@click.option("--one-patient", is_flag=True,
              help="The file has no patient column and is all one patient's samples (else trend refuses it).")
@apply_options(CSV_DIALECT_OPTIONS)
@SHEET_OPTION
@apply_options(CSV_LAYOUT_OPTIONS)
@RANGES_OPTION
@click.option("--baseline-date", metavar="DATE",
              help="CTCAE baseline: each patient's last sample on or before DATE (ISO or day-first), "
                   "e.g. the start of treatment. Default: the earliest sample.")
@FORMAT_OPTION
@click.option("--last", type=click.IntRange(min=1), metavar="N",
              help="Show the newest N samples per patient (default: all that fit the terminal; all when piped).")
@click.option("--hy-window", type=click.IntRange(0, 3650), metavar="DAYS",
              help="Hy's law over time: bilirubin on the same day as, or up to DAYS calendar days after, the "
                   "transaminase rise (default 30, a convention; see README).")
@click.option("-o", "--output", "report_file", type=click.Path(dir_okay=False, allow_dash=False), metavar="FILE",
              help="Write a self-contained HTML report (needs the extra: pip install 'levlab[report]').")
@click.option("--edish", is_flag=True, help="With -o: the cohort report, an eDISH chart with one point per patient.")
@LANG_OPTION
def trend(file: str, patients: tuple[str, ...], one_patient: bool, delimiter: str | None, tabs: bool, encoding: str, decimal: str | None,
          skip_lines: int, sheet: str | None, layout: str | None, cols: tuple[str, ...], maps: tuple[str, ...],
          codes_file: str | None, ranges: tuple[str, ...],
          group_by: tuple[str, ...], na: tuple[str, ...], ranges_file: str | None, baseline_date: str | None,
          output_format: str, last: int | None, hy_window: int | None, report_file: str | None, edish: bool,
          lang: str) -> None:
    """Follow each patient across samples: the cumulative report, Hy's law over time, an HTML report.

    \b
    Examples:
      levlab trend examples/export_nl_long.csv
      levlab trend followup.csv --patient 1234567 --format json
      levlab trend followup.csv --patient 1234567 -o report.html
      levlab trend cohort.csv --edish -o cohort.html

    The export needs a sample date column (date, collection date, afnamedatum...; or --col
    date=HEADER). Samples are ordered by their date-time whatever the row order; each is
    compared with the patient's previous sample (rule new-abnormal) and graded with CTCAE
    against the patient's earliest sample as baseline. The whole export is held in memory.

    Samples are linked by the patient column only: a row with a blank patient id is a sample
    compared with no other, and a file without a patient column is refused unless
    --one-patient says it is all one patient's.
    """
    from levlab import export_edge, exports, serial
    from levlab.outfile import open_input
    from levlab.trend_output import baseline_day, check_report_options, closing_lines, trend_lines, write_trend

    options = export_edge.csv_options(layout, delimiter, tabs, decimal, na, cols, maps, ranges, group_by, ranges_file, skip_lines,
                                      sheet=sheet, codes_file=codes_file)
    baseline_on = baseline_day(baseline_date)
    check_report_options(report_file, edish, output_format, file)
    wanted = {patient.strip() for patient in patients}
    with export_edge.closing_input(open_input(file)) as binary, export_edge.export_run(file, binary, options, encoding, None) as (_, run):
        _say(trend_lines(run.report), lang)
        collected = exports.SampleSink(run.layout, wanted, one_patient)
        run.run(collected)
    if wanted and not collected.samples:
        raise UsageError(f"no samples for patient {', '.join(sorted(wanted))} in {file}")
    groups = [(patient, serial.link(found, baseline_on)) for patient, found in serial.groups(collected.samples)]
    write_trend(groups, baseline_on, output_format, last, hy_window, report_file, edish, file, lang)
    _say(closing_lines(run, collected, groups), lang)
    _exit_if_rows_failed(run)


@main.command()
@SEX_OPTION
@AGE_OPTION
@SMOKER_OPTION
@RANGES_OPTION
@click.option("--baseline", "baseline_tokens", multiple=True, metavar="ANALYTE=VALUE[UNIT]",
              help="A baseline value (repeatable), for CTCAE grades; `baseline` in the session changes it.")
@click.option("--no-history", is_flag=True, help="Keep no history file for this session.")
@LANG_OPTION
def shell(sex: str | None, age: float | None, smoker: bool | None, ranges_file: str | None,
          baseline_tokens: tuple[str, ...], no_history: bool, lang: str) -> None:
    """An interactive session: set the patient once, then type panel after panel.

    \b
    Example:
      levlab shell --sex F --age 62
      levlab> bili=40umol/L alp=250 ldh=480 ast=40 alt=35
      levlab> json

    Type help in the session for its commands. Line editing, Tab completion and history
    (in $XDG_DATA_HOME/levlab/history) come with the extra: pip install "levlab[shell]".
    Lines can also be piped in: levlab shell < panels.txt (exit 2 if a line failed).
    """
    import dataclasses

    from levlab import config
    from levlab.session import Session, Settings
    from levlab.shell import run_shell
    from levlab.tokens import read_tokens

    settings_file = config.in_force()
    units = settings_file.unit_per_analyte()
    try:
        baseline = read_tokens(baseline_tokens, units)
    except LevlabError as error:
        raise type(error)(Msg("--baseline {error}", error=message_of(error))) from None
    settings = Settings(sex, age, smoker, configured_units=units)
    in_force = ranges_file if ranges_file is not None else settings_file.ranges
    if in_force is not None:
        settings = dataclasses.replace(settings, ranges_file=in_force, table=config.interval_table(ranges_file, settings_file))
    if baseline_tokens:
        settings = dataclasses.replace(settings, baseline=baseline_tokens, baseline_measurements=baseline)
    click.get_current_context().exit(run_shell(Session(settings, language(lang)), keep_history=not no_history))


@main.command(name="config")
@FORMAT_OPTION
@LANG_OPTION
def config_command(output_format: str, lang: str) -> None:
    """Show the settings file in force, each setting and where it came from.

    \b
    The file: $XDG_CONFIG_HOME/levlab/config.toml (default ~/.config/levlab/config.toml), or the
    file LEVLAB_CONFIG names (LEVLAB_CONFIG=/dev/null: no settings). Its keys:
      ranges = "lab.toml"   your laboratory's intervals (a --ranges file, relative to this file)
      lang = "nl"           nl or en
      units = "si"          a value without a unit: bilirubin µmol/L, albumin and globulin g/L,
                            haemoglobin and glucose mmol/L (said as "unit from settings")
    A command-line option wins over the file.
    """
    from levlab import config

    settings = config.in_force()
    if output_format == "json":
        _write_json(config.as_json(settings))
        return
    for line in config.describe(settings):
        click.echo(line)


def run() -> None:
    """Console-script entry point."""
    try:
        main()
    except KeyboardInterrupt:  # pragma: no cover - outside click's own handling
        click.echo("Interrupted.", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
