"""Shared click options: the CSV dialect, layout and mapping options of `levlab csv`.

Only click here: the texts are checked by levlab.exports.layout against the file's header.
"""

from __future__ import annotations

import codecs
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from levlab.errors import LevlabError, message_of

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _one_char(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    if value in ("\\t", "tab", "TAB"):
        return "\t"
    if len(value) != 1:
        raise click.BadParameter("give one character, e.g. ';' or '\\t'")
    return value


#: text codecs that are not how a file's characters are written: they read escapes (`\\x41` as A),
#: domain names or nothing at all, so a file read with them would be silently misread
NOT_FILE_ENCODINGS = frozenset({"punycode", "idna", "undefined", "unicode-escape", "raw-unicode-escape", "utf-7"})


def text_encoding_problem(name: str) -> str | None:
    """Why `name` cannot be the encoding of a text file (unknown, or a bytes codec), or None."""
    try:
        codec = codecs.lookup(name)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return "unknown encoding; try utf-8, cp1252 or latin-1"
    if not getattr(codec, "_is_text_encoding", True) or codec.name in NOT_FILE_ENCODINGS:
        return f"{codec.name} is not a text encoding of a file; use utf-8, cp1252, latin-1..."
    return None


def _encoding(ctx: click.Context, param: click.Parameter, value: str) -> str:
    problem = text_encoding_problem(value)
    if problem is not None:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise click.BadParameter(f"{shown!r}: {problem}")
    return value


CSV_DIALECT_OPTIONS: list[Decorator] = [
    click.option("-d", "--delimiter", callback=_one_char, metavar="CHAR",
                 help="Field delimiter (default: sniffed among , ; tab |)."),
    click.option("-t", "--tabs", is_flag=True, help="The file is tab-delimited (same as -d '\\t')."),
    click.option("-e", "--encoding", default="utf-8", show_default=True, callback=_encoding,
                 help="Input encoding: utf-8 (with or without BOM), cp1252, latin-1..."),
    click.option("--decimal", type=click.Choice([",", "."]),
                 help="Decimal mark of the values (default: ',' for ';'-delimited files, else '.')."),
    click.option("--skip-lines", type=click.IntRange(0, sys.maxsize), default=0, metavar="N",
                 help="Lines above the header to skip, such as an export's title (they are not copied)."),
]

SHEET_OPTION = click.option(
    "--sheet", metavar="NAME|N",
    help="Excel workbook: the sheet to read, by name or number (default: the first with a recognisable header).")

CSV_LAYOUT_OPTIONS: list[Decorator] = [
    click.option("--layout", type=click.Choice(["wide", "long"]),
                 help="wide: a row per sample, a column per analyte; long: a row per result (default: from the header)."),
    click.option("--col", "cols", multiple=True, metavar="ROLE=HEADER",
                 help="Which column plays a role: patient, sex, age, birth, sample, date, time, test, value, unit, "
                      "range, specimen. Repeatable."),
    click.option("--map", "maps", multiple=True, metavar="HEADER=ANALYTE[:UNIT]",
                 help="Wide: the analyte (and unit) of a column, e.g. \"Total_Bilirubin=bilirubin:mg/dL\"; "
                      "HEADER=ignore drops a column from interpretation. Long: a test name or code of the test "
                      "column, e.g. 50861=alt. Repeatable."),
    click.option("--codes", "codes_file", metavar="FILE", default=None,
                 help="A file of local test codes and names, one `code = analyte[:unit]` a line (TOML or plain): "
                      "as --map for each."),
    click.option("--range", "ranges", multiple=True, metavar="HEADER=RANGE",
                 help="Wide: the lab's own range of a column, in its unit, e.g. \"ALT (U/L)=<45\". Repeatable."),
    click.option("--group-by", "group_by", multiple=True, metavar="COL",
                 help="Long: the columns whose values make a panel (default: patient and sample). Repeatable."),
    click.option("--na", multiple=True, metavar="TEXT",
                 help="Another text meaning 'not measured' (blank, NA, N/A, -, ., nan are already). Repeatable."),
]

CSV_RUN_OPTIONS: list[Decorator] = [
    click.option("--format", "output_format", type=click.Choice(["csv", "jsonl", "table", "fhir"]), default="csv",
                 show_default=True, help="csv: every row with levlab's columns appended (a workbook with -o FILE.xlsx); "
                                         "jsonl: one object per panel; table: for the terminal; fhir: a FHIR R4 "
                                         "Bundle of interpreted Observations and a DiagnosticReport per panel."),
    click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
                 help="Output file (default: stdout); FILE.xlsx writes an Excel workbook (levlab[excel])."),
    click.option("--dry-run", is_flag=True, help="Print the detection report and stop."),
    click.option("--strict", is_flag=True, help="Stop at the first row with an error (exit 1)."),
    click.option("--excel-safe", is_flag=True,
                 help="Put ' before input cells a spreadsheet would run as a formula (starting with = + - @, "
                      "not plain numbers). Off by default: the data stays unchanged."),
]


def apply(options: list[Decorator]) -> Decorator:
    """Apply a list of click options in the order they are listed (top to bottom in --help)."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


# --- the patient and output options of interpret, ranges, shell ---------------------------------

FORMAT_OPTION = click.option(
    "--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True,
    help="table for people, json for programs.",
)


def _reader(ctx: click.Context) -> Any:
    """The language of a message from an option's check (the command's --lang, as typed, or the environment)."""
    from levlab.help_text import context_language

    return context_language(ctx)


def _sex(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from levlab.ranges import parse_sex

    try:
        return parse_sex(value)
    except LevlabError as error:
        raise click.BadParameter(_reader(ctx).text(message_of(error))) from None


def _smoker(ctx: click.Context, param: click.Parameter, value: str | None) -> bool | None:
    if value is None:
        return None
    from levlab.ranges import parse_smoker

    try:
        return parse_smoker(value)
    except LevlabError:
        raise click.BadParameter(_reader(ctx).gettext("use yes or no")) from None


MAX_AGE = 130


def _age(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """Years, read as a value is: `70.5` and `70,5` alike; `1,234`, `nan`, `-1` and `３５` refused."""
    if value is None:
        return None
    from levlab.values import parse_number

    try:
        age = parse_number(value)
    except LevlabError as error:
        raise click.BadParameter(f"{error}; give the age in years, e.g. 64 or 70.5") from None
    if age > MAX_AGE:
        raise click.BadParameter(f"{value.strip()} is not an age in years (0-{MAX_AGE})")
    return age


SEX_OPTION = click.option("--sex", callback=_sex, metavar="F|M", help="F or M (Dutch V or M). Unknown if omitted.")
AGE_OPTION = click.option("--age", callback=_age, metavar="YEARS",
                          help="Age in years (70.5 or 70,5). Unknown if omitted.")
SMOKER_OPTION = click.option("--smoker", callback=_smoker, metavar="yes|no", help="Smoking status (CEA interval).")
RANGES_OPTION = click.option(
    "--ranges", "ranges_file", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
    help="TOML file of [[interval]] entries (the format of `levlab ranges`); its analytes replace the defaults.",
)


def _lang(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """The language code: --lang as given, else one typed before the command (`levlab --lang nl
    interpret`), else the settings file's `lang` (levlab.config), else the environment
    (language.resolve_language, the one place that decides)."""
    from levlab.help_text import META_KEY
    from levlab.language import resolve_language

    chosen = value or ctx.meta.get(META_KEY)
    if not chosen:
        from levlab import config

        chosen = config.load(os.environ, os.path.expanduser("~")).lang
    return resolve_language(chosen, os.environ)


LANG_OPTION = click.option(
    "--lang", type=click.Choice(["nl", "en"], case_sensitive=False), callback=_lang, metavar="nl|en",
    help="Language of what a person reads (default: from LC_ALL, LC_MESSAGES or LANG; nl_* is Dutch). "
         "JSON, CSV, JSONL and FHIR output stay the same.",
)
