"""Output shapes: JSON-ready dicts and the rich terminal view. rich is imported only here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from levlab import DISCLAIMER, __version__
from levlab.catalog import analytes
from levlab.errors import LevlabError
from levlab.grading import criteria
from levlab.interpret import uses_default_interval
from levlab.language import ENGLISH, N_, Language
from levlab.model import FLAG_WORDS, HL7_INTERPRETATION, AnalyteResult, Grade, Interval, PanelResult, Pattern
from levlab.ranges import describe_interval
from levlab.rules import Rule
from levlab.values import split_value

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


def change_text(result: AnalyteResult, previous: AnalyteResult, lang: Language = ENGLISH) -> str:
    """`alt: 35 -> 200 U/L (+165), N -> H` for the footer (numbers in the reader's style)."""

    def shown(m: Any) -> str:
        return "?" if m is None else f"{m.comparator or ''}{lang.number(m.value)}"

    change = (change_json(result, previous) or {}).get("change")
    delta = "" if change is None else f" ({'+' if change >= 0 else '-'}{lang.number(abs(change))})"
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


TABLE_HEADER = (N_("analyte"), N_("as given"), N_("value"), N_("reference interval"), N_("xULN"), N_("CTCAE"), N_("flag"))
#: the columns whose cells are numbers, aligned right
NUMBER_COLUMNS = (2, 4)


def table_header(lang: Language = ENGLISH) -> tuple[str, ...]:
    """The column names of the panel table in the reader's language."""
    return tuple(lang.gettext(name) for name in TABLE_HEADER)


def flag_cell(flag: str, lang: Language = ENGLISH) -> str:
    """`H raised` / `H verhoogd`: the flag letter (the laboratory's, in any language) and its word."""
    return f"{flag} {lang.gettext(FLAG_WORDS[flag])}"


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


def panel_rows(panel: PanelResult, lang: Language = ENGLISH) -> list[tuple[str, ...]]:
    """One row of plain cells per analyte; the last cell is the flag letter. What levlab wrote is
    in the reader's language and number style; the "as given" cell is the input, unchanged."""
    rows = []
    for result in panel.results:
        m = result.measurement
        given = "" if m is None else as_given(m) + (" !" if m.warnings else "")
        value = "" if m is None else f"{m.comparator or ''}{lang.number(m.value)} {analytes()[m.analyte].canonical_unit}"
        interval = lang.numbers(describe_interval(result.interval)) if result.interval else lang.gettext("see below")
        x_uln = "" if result.x_uln is None else lang.number(result.x_uln, ".2f")
        rows.append((result.analyte, given, value, interval, x_uln, grade_cell(panel.grade(result.analyte)), result.flag))
    return rows


#: a line under the panel table: (rich style, text)
Line = tuple[str, str]
BLANK: Line = ("", "")


def panel_footer(panel: PanelResult, lang: Language = ENGLISH) -> list[Line]:
    """The lines under the table as (style, text): reasons, sources, rules, normal-panel, disclaimer,
    in the reader's language."""
    return [*_reading_lines(panel, lang), *_source_lines(panel, lang), *_change_lines(panel, lang), BLANK,
            *_rule_lines(panel, lang), BLANK, *_normal_panel_lines(panel, lang), BLANK, ("italic", lang.gettext(DISCLAIMER))]


def _reading_lines(panel: PanelResult, lang: Language) -> list[Line]:
    """How the values were read: units assumed or from the settings, warnings, and each result's reason."""
    _, text = lang.gettext, lang.text
    lines: list[Line] = []
    assumed = [r.analyte for r in panel.results if r.measurement is not None and r.measurement.unit_assumed]
    if assumed:
        unit = analytes()[assumed[0]].canonical_unit
        lines.append(("dim", _("* no unit given: {unit} assumed ({analytes})").format(unit=unit, analytes=", ".join(assumed))))
    configured = [f"{r.analyte} {r.measurement.unit}" for r in panel.results
                  if r.measurement is not None and r.measurement.unit_from_settings]
    if configured:
        lines.append(("dim", _('(settings) no unit given: unit from settings, units = "si" ({analytes})').format(
            analytes=", ".join(configured))))
    lines.extend(("bold yellow", _("! warning, {line}").format(line=f"{result.analyte}: {text(warning)}"))
                 for result in panel.results for warning in result.warnings)  # as PanelResult.warnings, translated
    for result in panel.results:
        if result.reason:
            lines.append(("yellow" if result.flag == "?" else "dim", f"{result.analyte}: {text(result.reason)}"))
    return lines


def _source_lines(panel: PanelResult, lang: Language) -> list[Line]:
    """Where the intervals and the CTCAE grades come from, the R-ratio pattern and the relation note."""
    _, text = lang.gettext, lang.text
    lines: list[Line] = []
    sources: dict[str, list[str]] = {}
    for result in panel.results:
        if result.interval is not None:
            sources.setdefault(result.interval.source, []).append(result.analyte)
    for source, ids in sources.items():
        default = all(i in panel.default_intervals for i in ids)
        lines.append(("dim", _("interval source ({analytes}): {source}").format(analytes=", ".join(ids), source=source)
                      + (_(DEFAULT_MARK) if default else "")))
    if panel.grades:
        lines.append(("dim", _("CTCAE v{version} grades (a convention, not the iLive texts; BL = graded against the "
                               "baseline): {source}").format(version=criteria().version, source=criteria().source)))
        lines.extend(("yellow", _("{analyte} CTCAE undecided: {reason}").format(analyte=g.analyte, reason=text(g.reason)))
                     for g in panel.grades if g.grade is None)
    if panel.pattern is not None:
        lines.append(("", _("pattern: R ratio {ratio}, {type} (convention: {source})").format(
            ratio=lang.number(panel.pattern.r_ratio, ".2f"), type=_(PATTERN_WORDS.get(panel.pattern.type, panel.pattern.type)),
            source=panel.pattern.source)))
    if panel.relation:
        lines.append(("", _("note: {note}").format(note=text(panel.relation))))
    return lines


def _change_lines(panel: PanelResult, lang: Language) -> list[Line]:
    """The changes since the previous sample (none when the panel has no previous one)."""
    changes = [(r, _previous(panel, r.analyte)) for r in panel.results if _previous(panel, r.analyte) is not None]
    if not changes:
        return []
    return [("bold", lang.gettext("Since the previous sample")),
            *(("", f"  {change_text(result, before, lang)}") for result, before in changes if before is not None)]


def _rule_lines(panel: PanelResult, lang: Language) -> list[Line]:
    """The rules met, each with its source, and the rules that could not be decided."""
    _, text = lang.gettext, lang.text
    if not panel.hits:
        lines: list[Line] = [("bold", _("Rules met: none"))]
    else:
        lines = [("bold", _("Rules met"))]
        for hit in panel.hits:
            lines.append(("", f"  {hit.rule_id} ({_(KIND_WORDS.get(hit.kind, hit.kind))}): {text(hit.message)}"))
            lines.append(("dim", "    " + _("source: {source}, section {section}").format(source=hit.source, section=hit.section)))
    if panel.undecided:
        lines.append(("bold", _("Undecided")))
        lines.extend(("yellow", f"  {text(line)}") for line in panel.undecided)
    return lines


def _normal_panel_lines(panel: PanelResult, lang: Language) -> list[Line]:
    """The normal-panel status and why, its statement when met, and the note when it rests on
    levlab's default intervals."""
    _, text = lang.gettext, lang.text
    status = panel.normal_panel
    style = {"met": "green", "not-met": "red", "incomplete": "yellow"}[status.status]
    lines: list[Line] = [(f"bold {style}", _("normal-panel: {status} - {reason}").format(
        status=_(STATUS_WORDS[status.status]), reason=text(status.reason)))]
    if status.statement:
        lines.append((style, f"  {text(status.statement)} (iLive, Uitzaaiingen naar de lever, Biochemische indicatoren)"))
    if panel.normal_panel_defaults:
        lines.append(("bold yellow", f"  {defaults_sentence(panel.normal_panel_defaults, lang)}"))
    return lines


DEFAULT_MARK = N_(" (levlab default, not your laboratory's)")
#: the words of the normal-panel statuses, of rule kinds and of R-ratio patterns (their JSON values
#: stay as they are; these are what a person reads)
STATUS_WORDS = {"met": N_("met"), "not-met": N_("not-met"), "incomplete": N_("incomplete")}
KIND_WORDS = {"documented": N_("documented"), "convention": N_("convention")}
PATTERN_WORDS = {"hepatocellular": N_("hepatocellular"), "mixed": N_("mixed"), "cholestatic": N_("cholestatic")}


def defaults_sentence(analyte_ids: Sequence[str], lang: Language = ENGLISH) -> str:
    """The line beside normal-panel when its outcome rests on levlab's default intervals."""
    names = ", ".join(a.upper() if len(a) <= 3 else a for a in analyte_ids)
    return lang.gettext("this outcome rests on levlab's default intervals for {names}, not your laboratory's own: "
                        "check them against your laboratory's ranges (--ranges FILE, or a range column)").format(names=names)


def print_panel(panel: PanelResult, console: Any, lang: Language = ENGLISH) -> None:
    """The rich terminal view of one interpreted panel (colour on a terminal), in the reader's language."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=lang.gettext("levlab: liver panel"), title_justify="left")
    rows = panel_rows(panel, lang)
    # On a narrow terminal the interval column wraps: the analyte, numbers, flag and the column names
    # (longer in Dutch) are never cut, and the input as given folds rather than end in "…".
    analyte_width = max((len(row[0]) for row in rows), default=0)
    for number, column in enumerate(table_header(lang)):
        table.add_column(column, justify="right" if number in NUMBER_COLUMNS else "left",
                         no_wrap=number in NUMBER_COLUMNS or number == len(TABLE_HEADER) - 1,
                         min_width=max(*(len(word) for word in column.split()), analyte_width if number == 0 else 0),
                         overflow="fold" if number == 1 else "ellipsis")
    for *cells, flag in rows:
        # Text, not str: a str cell is rich markup, and `35 [iu]/l` would lose its `[iu]`.
        table.add_row(*(Text(cell) for cell in cells), Text(flag_cell(flag, lang), style=FLAG_STYLES[flag]))
    console.print(table)
    for style, line in panel_footer(panel, lang):
        console.print(_hanging(line, console.width if console.is_terminal else None), style=style)


def panel_text(panel: PanelResult, lang: Language = ENGLISH) -> str:
    """The same view as plain aligned text, for pipes and files (no rich import)."""
    header = table_header(lang)
    rows = [header] + [(*cells, flag_cell(flag, lang)) for *cells, flag in panel_rows(panel, lang)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    out = [lang.gettext("levlab: liver panel")]
    for number, row in enumerate(rows):
        out.append("  ".join(cell.rjust(w) if i in NUMBER_COLUMNS else cell.ljust(w)
                             for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if number == 0:
            out.append("  ".join("-" * w for w in widths))
    out.extend(line for _, line in panel_footer(panel, lang))
    return "\n".join(out) + "\n"


def _csv_panel_title(out: Any, lang: Language = ENGLISH) -> str:
    key = ", ".join(f"{name} {value}" for name, value in out.key.items())
    rows = (lang.gettext("row {row}").format(row=out.rows[0]) if len(out.rows) == 1
            else lang.gettext("rows {first}-{last}").format(first=out.rows[0], last=out.rows[-1]))
    return f"{key} ({rows})" if key else rows


def print_csv_panels(outs: list[Any], console: Any, lang: Language = ENGLISH) -> None:
    """`levlab csv --format table` for a small file: each panel (rows, key, errors) in full."""
    from rich.text import Text

    for out in outs:
        if console.is_terminal:
            console.rule(Text(_csv_panel_title(out, lang), style="bold"), align="left")
        else:  # a rule would be as wide as the console
            console.print(Text(f"── {_csv_panel_title(out, lang)}", style="bold"))
        for error in out.errors:
            console.print(Text(lang.gettext("row {row}, {column}: {message}").format(
                row=error.row, column=error.column, message=lang.text(error.message)), style="yellow"))
        for warning in getattr(out, "warnings", ()):  # the panel's own (follow-up), beside its results'
            console.print(Text(lang.gettext("! warning, {line}").format(line=lang.text(warning)), style="bold yellow"))
        print_panel(out.panel, console, lang)


def _hanging(line: str, width: int | None) -> Any:
    """A footer line wrapped to the terminal with a hanging indent (its continuation lines under its
    text, two further in), so a long rule statement reads as one item; unwrapped when piped."""
    from rich.text import Text

    if width is None or len(line) <= width:
        return Text(line, overflow="ignore", no_wrap=width is None)
    import textwrap

    indent = " " * (len(line) - len(line.lstrip(" ")))
    return Text(textwrap.fill(line, width=width, initial_indent="", subsequent_indent=indent + "  ",
                              break_long_words=False, break_on_hyphens=False))
