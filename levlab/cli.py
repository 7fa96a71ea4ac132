"""The command line: parse options, call the core, hand the result to a writer.

Only `main` turns a LevlabError into an `Error: ...` line and an exit status. Heavy modules
(pint, rich) are imported inside the commands, so `levlab --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from levlab import __version__
from levlab.errors import ExitStatus, LevlabError, UsageError

FORMAT_OPTION = click.option(
    "--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True,
    help="table for people, json for programs.",
)


def _sex(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from levlab.ranges import parse_sex

    try:
        return parse_sex(value)
    except LevlabError as error:
        raise click.BadParameter(str(error)) from None


def _smoker(ctx: click.Context, param: click.Parameter, value: str | None) -> bool | None:
    if value is None:
        return None
    folded = value.strip().casefold()
    if folded in {"yes", "y", "ja", "j", "true", "1"}:
        return True
    if folded in {"no", "n", "nee", "false", "0"}:
        return False
    raise click.BadParameter("use yes or no")


SEX_OPTION = click.option("--sex", callback=_sex, metavar="F|M", help="F or M (Dutch V or M). Unknown if omitted.")
AGE_OPTION = click.option("--age", type=click.FloatRange(0, 130), help="Age in years. Unknown if omitted.")
SMOKER_OPTION = click.option("--smoker", callback=_smoker, metavar="yes|no", help="Smoking status (CEA interval).")
RANGES_OPTION = click.option(
    "--ranges", "ranges_file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
    help="TOML file of [[interval]] entries (the format of `levlab ranges`); its analytes replace the defaults.",
)


def _interval_table(ranges_file: str | None) -> Any:
    from levlab.ranges import default_intervals, load_interval_file

    if ranges_file is None:
        return default_intervals()
    try:
        with open(ranges_file, encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read --ranges {ranges_file}: {error}") from None
    return load_interval_file(text, ranges_file)


def _write_json(document: Any) -> None:
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


class LevlabGroup(click.Group):
    """Turns LevlabError into `Error: ...` and its exit status: the one boundary."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LevlabError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(int(error.exit_status))
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(int(ExitStatus.INTERRUPTED))


@click.group(cls=LevlabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="levlab")
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
@FORMAT_OPTION
def interpret(tokens: tuple[str, ...], sex: str | None, age: float | None, smoker: bool | None,
              ranges_file: str | None, output_format: str) -> None:
    """Interpret one panel typed as tokens.

    \b
    Examples:
      levlab interpret bili=40umol/L alp=250 ldh=480 ast=40 alt=35 --sex F
      levlab interpret bili=2.4mg/dL ALAT=35 "ldh=480 U/L" alt=<5 1742-6=35U/L

    Enzymes without a unit are read in U/L (said in the output); bilirubin, albumin,
    globulin, haemoglobin and glucose need a unit. "1,5" is 1.5; "1,234" is refused.
    """
    from levlab.interpret import interpret_panel
    from levlab.model import Patient
    from levlab.tokens import read_tokens

    table = _interval_table(ranges_file)
    measurements = read_tokens(tokens)
    panel = interpret_panel(measurements, Patient(sex, age, smoker), table)
    if output_format == "json":
        from levlab.render import panel_json

        _write_json(panel_json(panel))
    elif sys.stdout.isatty():
        from levlab.render import make_console, print_panel

        print_panel(panel, make_console())
    else:
        from levlab.render import panel_text

        click.echo(panel_text(panel), nl=False)


@main.command()
@FORMAT_OPTION
def rules(output_format: str) -> None:
    """List the interpretive rules with their conditions and sources."""
    from levlab.render import rule_json
    from levlab.rules import rules as all_rules

    documents = [rule_json(rule) for rule in all_rules()]
    if output_format == "json":
        _write_json(documents)
        return
    from levlab import DISCLAIMER

    for document in documents:
        click.echo(f"{document['id']}  [{document['kind']}]")
        click.echo(f"  when: {document['condition']}")
        click.echo(f"  says: {document['statement']}")
        if document["interpretation"]:
            click.echo(f"  note: {document['interpretation']}")
        click.echo(f"  source: {document['source']}, section {document['section']}")
    click.echo(DISCLAIMER)


@main.command()
@SEX_OPTION
@AGE_OPTION
@SMOKER_OPTION
@RANGES_OPTION
@FORMAT_OPTION
def ranges(sex: str | None, age: float | None, smoker: bool | None, ranges_file: str | None, output_format: str) -> None:
    """List the reference intervals in force (for a sex and age, if given), with sources."""
    from levlab.model import Patient
    from levlab.render import interval_json

    patient = Patient(sex, age, smoker)
    intervals = [i for i in _interval_table(ranges_file).all() if i.holds_for(patient) is not False]
    documents = [interval_json(i) for i in intervals]
    if output_format == "json":
        _write_json(documents)
        return
    for document in documents:
        who = " ".join(
            part
            for part in (document["sex"] or "F/M", _age_span(document["age_min"], document["age_max"]),
                         "" if document["smoker"] is None else ("smoker" if document["smoker"] else "non-smoker"))
            if part
        )
        click.echo(f"{document['analyte']:<12} {document['text']:<18} {who:<24} {document['source']}")
        if document["note"]:
            click.echo(f"{'':<12} note: {document['note']}")


def _age_span(age_min: int | None, age_max: int | None) -> str:
    if age_min is None and age_max is None:
        return "any age"
    if age_max is None:
        return f"age {age_min}+"
    return f"age {age_min or 0}-{age_max}"


@main.command(name="units")
@click.argument("analyte", required=False)
def units_command(analyte: str | None) -> None:
    """List each analyte's canonical unit, accepted units and factors (computed by pint)."""
    from levlab.catalog import analytes, get_analyte
    from levlab.units import to_canonical_factor
    from levlab.values import format_number

    chosen = [get_analyte(analyte)] if analyte else list(analytes().values())
    for item in chosen:
        need = "unit required" if item.unit_required else f"no unit = {item.canonical_unit} (assumed, said)"
        click.echo(f"{item.id} ({item.name}): canonical {item.canonical_unit}; {need}")
        for unit in item.units:
            click.echo(f"  1 {unit} = {format_number(to_canonical_factor(item, unit))} {item.canonical_unit}")
        click.echo(
            f"  plausible {format_number(item.plausible_low)}-{format_number(item.plausible_high)} {item.canonical_unit}"
            + (f"; molar mass {item.molar_mass} g/mol" if item.molar_mass else "")
        )
        if analyte:
            click.echo(f"  aliases: {', '.join(item.aliases)}; LOINC: {', '.join(item.loinc) or '-'}")


@main.command()
@click.argument("value")
@click.argument("from_unit")
@click.argument("to_unit")
@click.option("--analyte", "-a", required=True, help="Analyte id or alias (bilirubin, ALAT, ...).")
def convert(value: str, from_unit: str, to_unit: str, analyte: str) -> None:
    """Convert VALUE of an analyte from one of its units to another.

    \b
    Example: levlab convert 2.4 mg/dL umol/L --analyte bilirubin
    """
    from levlab.catalog import get_analyte
    from levlab.units import convert as convert_value
    from levlab.units import unit_for_analyte
    from levlab.values import format_number, split_value

    item = get_analyte(analyte)
    parsed = split_value(value)
    if parsed.unit_text:
        raise UsageError(f"give the unit as FROM_UNIT, not inside VALUE ({value!r})")
    source, target = unit_for_analyte(item, from_unit), unit_for_analyte(item, to_unit)
    result = convert_value(item, parsed.number, source.key, target.key)
    comparator = parsed.comparator or ""
    click.echo(f"{comparator}{format_number(parsed.number)} {source.key} = {comparator}{format_number(result)} {target.key} ({item.id})")


def run() -> None:
    """Console-script entry point."""
    try:
        main()
    except KeyboardInterrupt:  # pragma: no cover - outside click's own handling
        click.echo("Interrupted.", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
