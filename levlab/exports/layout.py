"""Header → layout: what each column of an export means, and the detection report that says so.

`detect_layout` gives every column a meaning from its header (`levlab.exports.header`) and the
options: roles (patient, sex, age, sample, date, test, value, unit, range), analyte columns with
their units and lab ranges (wide), or the test and result columns and the panel key (long).
Anything it cannot decide is a usage error that says what to write (`--map`, `--col`, `--range`).

Layouts:

* *wide*: a row per sample, a column per analyte; each row is a panel.
* *long*: a row per result; a panel is a run of consecutive rows with the same patient and
  sample (or `--group-by` columns).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from levlab.catalog import Analyte, near_miss
from levlab.errors import UsageError, shown
from levlab.exports.dialect import Dialect
from levlab.exports.header import (
    MapOption,
    companion_of,
    cut_option,
    find_header,
    header_unit,
    parse_col,
    parse_map,
    parse_range_option,
    role_of,
    shown_list,
    split_header,
)
from levlab.exports.settings import CsvOptions
from levlab.language import N_, Msg
from levlab.rules import rules


@dataclass
class AnalyteColumn:
    """A wide file's column of one analyte, with where its unit and lab range come from."""

    index: int
    header: str
    analyte: Analyte
    unit: str | None = None  # units.toml key from the header or --map
    unit_source: str = "assumed"  # header, map, unit column, assumed
    unit_index: int | None = None  # a neighbouring unit column
    range_index: int | None = None  # a neighbouring lab-range column
    range_text: str | None = None  # --range
    mapped: bool = False

    @property
    def range_source(self) -> str:
        if self.range_text is not None:
            return f"laboratory's own range (--range {shown(self.header)})"
        if self.range_index is not None:
            return "laboratory's own range (export column)"
        return ""


@dataclass
class Layout:
    """What each column of the header means."""

    kind: str  # "wide" or "long"
    header: list[str]
    roles: dict[str, int] = field(default_factory=dict)
    columns: list[AnalyteColumn] = field(default_factory=list)  # wide only
    group: list[int] = field(default_factory=list)  # long: the columns whose values make the panel key
    key_columns: list[int] = field(default_factory=list)  # what a panel's "key" shows
    lone_without: int | None = None  # long: the patient column whose blank cell makes a row a panel of its own
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.header)


def detect_layout(header: Sequence[str], options: CsvOptions, decimal: str) -> Layout:
    """Give every column a meaning from its header and the options, or a usage error that says why."""
    header = list(header)
    stripped = [cell.strip() for cell in header]
    if len(set(stripped)) != len(stripped):
        seen = Counter(stripped)
        doubles = [name for name, count in seen.items() if count > 1]
        raise UsageError(f"the header repeats {shown_list(doubles)}: every column needs its own name "
                         "(if a title stands above the header, skip it with --skip-lines N)")
    taken, roles, map_at = _columns_named_by_options(header, stripped, options)
    for index, text in enumerate(stripped):
        if index in taken or index in map_at:
            continue
        role = role_of(text)
        if role is not None and role not in roles:
            roles[role] = index
            taken[index] = role
    kind = options.layout
    if kind is None:
        kind = "long" if ("test" in roles or "code" in roles) and "value" in roles and not map_at else "wide"
    layout = Layout(kind, header, roles)
    if kind == "long":
        _detect_long(layout, stripped, taken, options, map_at)
    else:
        _detect_wide(layout, stripped, taken, options, map_at, decimal)
    return layout


def _columns_named_by_options(header: list[str], stripped: list[str], options: CsvOptions
                              ) -> tuple[dict[int, str], dict[str, int], dict[int, MapOption]]:
    """The columns --col and --map name: (index -> role, role -> index, index -> --map). A column
    plays one role and takes one --map; a role is given once: anything else is a usage error."""
    taken: dict[int, str] = {}
    roles: dict[str, int] = {}
    col_text: dict[str, str] = {}  # role -> the --col that gave it
    for text in options.cols:
        role, name = parse_col(text)
        index = find_header(header, name, f"--col {cut_option(text)}")
        if role in roles:
            raise UsageError(f"--col {cut_option(col_text[role])} and --col {cut_option(text)} both give the {role} column: give one")
        if index in taken:
            raise UsageError(f"--col {cut_option(col_text[taken[index]])} and --col {cut_option(text)} give column "
                             f"{shown(stripped[index])} two roles ({taken[index]} and {role}): a column plays one role")
        roles[role] = index
        taken[index] = role
        col_text[role] = text
    map_at: dict[int, MapOption] = {}
    for option in (parse_map(text) for text in options.maps):
        index = find_header(header, option.header, f"--map {cut_option(option.text)}")
        if index in taken:
            raise UsageError(f"--map {cut_option(option.text)}: column {shown(stripped[index])} is already the {taken[index]} column")
        if index in map_at:
            raise UsageError(f"--map {cut_option(map_at[index].text)} and --map {cut_option(option.text)} both map column "
                             f"{shown(stripped[index])}: give one")
        map_at[index] = option
    return taken, roles, map_at


def _detect_long(layout: Layout, stripped: list[str], taken: dict[int, str], options: CsvOptions,
                 map_at: dict[int, MapOption]) -> None:
    roles = layout.roles
    if map_at:
        raise UsageError("--map names analyte columns of a wide file; in a long file the test column names "
                         "the analyte (use --col test=HEADER, --col unit=HEADER)")
    if options.ranges:
        raise UsageError("--range is for wide files; a long file gives each row's range in its range column "
                         "(--col range=HEADER)")
    if "test" not in roles and "code" in roles:
        roles["test"] = roles.pop("code")
    missing = [role for role in ("test", "value") if role not in roles]
    if missing:
        raise UsageError(
            f"long layout needs a test column and a result column; none found for {' and '.join(missing)} "
            f"(columns: {shown_list(stripped)}); name them with --col test=HEADER --col value=HEADER"
        )
    if options.group_by:
        layout.group = [find_header(layout.header, name, f"--group-by {cut_option(name)}") for name in options.group_by]
        how = "--group-by"
    else:
        layout.group = [roles[role] for role in ("patient", "sample") if role in roles]
        if "sample" not in roles and "date" in roles:
            layout.group.append(roles["date"])
        how = "patient and sample"
    layout.key_columns = list(layout.group) + ([roles["date"]] if "date" in roles and roles["date"] not in layout.group else [])
    if layout.group:
        names = " + ".join(repr(stripped[i]) for i in layout.group)
        layout.notes.append(
            f"panels: consecutive rows with the same {names} ({how}); a key that comes back after its panel "
            "was closed starts a new panel (sort unsorted files first)"
        )
        if "patient" in roles and "sample" not in roles and not options.group_by:
            layout.lone_without = roles["patient"]
            layout.notes.append("a row without a patient id is a panel of its own: no sample column says which "
                                "rows are one sample")
    else:
        layout.notes.append("panels: no patient or sample column, so the whole file is one panel "
                            "(name the key with --group-by COL)")
    if "unit" not in roles:
        layout.notes.append("no unit column: results without a unit in the value are read in the canonical "
                            "unit where it may be assumed (enzymes: U/L, said per result), and are errors for "
                            "bilirubin, albumin, globulin, haemoglobin and glucose")
    layout.ignored = [stripped[i] for i in range(len(stripped)) if i not in taken and i not in roles.values()]


def _detect_wide(layout: Layout, stripped: list[str], taken: dict[int, str], options: CsvOptions,
                 map_at: dict[int, MapOption], decimal: str) -> None:
    roles = layout.roles
    explicit = {parse_col(text)[0] for text in options.cols}
    # In a wide file a bare unit or range column belongs to the analyte column before it, and
    # a column that looked like a test or result column of a long file is just another column.
    for role in ("unit", "range", "test", "value", "code"):
        if role in roles and role not in explicit:
            taken.pop(roles.pop(role))
    columns, companions = _analyte_columns(stripped, taken, map_at)
    _settle_duplicates(columns, layout.notes)
    used = _attach_companions(columns, companions)
    for text in options.ranges:
        name, range_text = parse_range_option(text, decimal)
        index = find_header(layout.header, name, f"--range {cut_option(text)}")
        if index not in columns:
            raise UsageError(f"--range {shown(text)}: column {shown(stripped[index])} is not an analyte column")
        columns[index].range_text = range_text
    if not columns:
        raise UsageError(
            "no column is recognised as an analyte (wide layout) or as a test and result pair (long layout); "
            f"columns: {shown_list(stripped)}. Map them with --map HEADER=ANALYTE[:UNIT] "
            "or --col test=HEADER --col value=HEADER; if a title stands above the header, skip it with --skip-lines N"
        )
    _check_units(columns)
    layout.columns = [columns[index] for index in sorted(columns)]
    layout.key_columns = [roles[role] for role in ("patient", "sample", "date") if role in roles]
    layout.ignored = [stripped[i] for i in range(len(stripped)) if i not in used and i not in taken]
    if options.group_by:
        layout.notes.append("--group-by is ignored in a wide file: each row is a panel")


def _analyte_columns(stripped: list[str], taken: dict[int, str], map_at: dict[int, MapOption],
                     ) -> tuple[dict[int, AnalyteColumn], list[tuple[int, str, Analyte | None]]]:
    """The analyte columns of a wide header (by --map or by their header), and the unit and range
    columns that may belong to one: (index, "unit" | "range", the analyte they name or None)."""
    columns: dict[int, AnalyteColumn] = {}
    companions: list[tuple[int, str, Analyte | None]] = []
    for index, text in enumerate(stripped):
        if index in taken:
            continue
        option = map_at.get(index)
        if option is not None:
            if option.analyte is not None:
                unit = option.unit or header_unit(text, option.analyte)  # a --map without a unit keeps the header's
                source = "map" if option.unit else ("header" if unit else "assumed")
                columns[index] = AnalyteColumn(index, text, option.analyte, unit, source, mapped=True)
            continue
        analyte, unit = split_header(text)
        if analyte is not None:
            columns[index] = AnalyteColumn(index, text, analyte, unit, "header" if unit else "assumed")
            continue
        companion = companion_of(text)
        generic = role_of(text)
        if companion is not None:
            companions.append((index, companion[0], companion[1]))
        elif generic in ("unit", "range"):
            companions.append((index, generic, None))
    return columns, companions


def _attach_companions(columns: dict[int, AnalyteColumn], companions: list[tuple[int, str, Analyte | None]]) -> set[int]:
    """Give each analyte column its unit and range columns; the indexes of the columns used."""
    used: set[int] = set(columns)
    for index, role, analyte in companions:
        owner = _companion_owner(columns, index, analyte)
        if owner is None:
            continue
        if role == "unit" and owner.unit_index is None and owner.unit is None:
            owner.unit_index = index
        elif role == "range" and owner.range_index is None:
            owner.range_index = index
        else:
            continue
        used.add(index)
    return used


def _check_units(columns: dict[int, AnalyteColumn]) -> None:
    """Where each column's unit comes from; a usage error for the columns whose unit is needed and not given."""
    unitless = []
    for column in columns.values():
        if column.unit is None and column.unit_index is not None:
            column.unit_source = "unit column"
        elif column.unit is None and column.analyte.unit_required:
            first, second = column.analyte.units[:2]
            unitless.append(
                f"column {shown(column.header)} ({column.analyte.id}) has no unit in its header, in a unit column "
                f"or in --map, and its values could be {first} or {second}; say which with "
                f"--map \"{column.header}={column.analyte.id}:{first}\" (or :{second})"
            )
    stated = [c for c in columns.values() if c.unit is not None and c.unit.startswith("µkat")]
    if stated:  # the laboratory reports enzymes in µkat/L: an enzyme column without a unit would be a guess in U/L
        for column in columns.values():
            if column.unit_source == "assumed" and "µkat/L" in column.analyte.units:
                unitless.append(
                    f"column {shown(column.header)} ({column.analyte.id}) has no unit while {shown(stated[0].header)} "
                    f"is in µkat/L: U/L would be a guess; say which with --map \"{column.header}={column.analyte.id}:µkat/L\" "
                    "(or :U/L)")
    if unitless:  # every such column at once, so that one run shows all the --map options to write
        raise UsageError("; ".join(unitless))


def _settle_duplicates(columns: dict[int, AnalyteColumn], notes: list[str]) -> None:
    """Two columns of one analyte: a --map decides which counts, otherwise it is a usage error."""
    by_analyte: dict[str, list[AnalyteColumn]] = {}
    for column in columns.values():
        by_analyte.setdefault(column.analyte.id, []).append(column)
    for analyte_id, group in by_analyte.items():
        if len(group) == 1:
            continue
        mapped = [column for column in group if column.mapped]
        if len(mapped) == 1:
            for column in group:
                if column is not mapped[0]:
                    del columns[column.index]
                    notes.append(f"{shown(column.header)} not interpreted: --map gives {analyte_id} to {shown(mapped[0].header)}")
            continue
        names = ", ".join(repr(column.header) for column in group)
        first = group[0]
        raise UsageError(
            f"columns {names} are all {analyte_id}: say which one counts, e.g. "
            f"--map \"{first.header}={analyte_id}\" (the others are then ignored, and reported so)"
        )


def _companion_owner(columns: dict[int, AnalyteColumn], index: int, analyte: Analyte | None) -> AnalyteColumn | None:
    if analyte is not None:
        return next((column for column in columns.values() if column.analyte.id == analyte.id), None)
    # a bare `unit` / `ref` column belongs to the nearest analyte column on its left (at most two steps)
    for step in (1, 2):
        column = columns.get(index - step)
        if column is not None:
            return column
    return None


def detection_report(layout: Layout, dialect: Dialect, encoding: str) -> list[str]:
    """The short account, before the data, of what levlab made of the file."""
    lines: list[str] = [Msg("{command}: {kind} layout; {dialect}; encoding {encoding}", command="levlab csv",
                            kind=layout.kind, dialect=dialect.describe(), encoding=encoding)]
    if not encoding.casefold().replace("_", "-").startswith(("utf-8", "utf8")):
        lines.append(Msg("  output is UTF-8: the input's characters come back, not its {encoding} bytes",
                         encoding=shown(encoding)))
    for role, index in layout.roles.items():
        lines.append(f"  {shown(layout.header[index].strip())} -> {role}")
    for column in layout.columns:
        if column.unit_source == "assumed":
            unit = Msg("{unit} (assumed: no unit in the header, a unit column or --map)", unit=column.analyte.canonical_unit)
        elif column.unit_source == "unit column":
            unit = Msg("unit from column {column}", column=shown(layout.header[column.unit_index].strip()))  # type: ignore[index]
        else:
            unit = Msg("{unit} (from the {source})", unit=column.unit,
                       source=Msg({"header": N_("header"), "map": N_("map")}.get(column.unit_source, column.unit_source)))
        lab = ""
        if column.range_text is not None:
            lab = Msg("; lab range {range} (--range) replaces the defaults", range=shown(column.range_text))
        elif column.range_index is not None:
            lab = Msg("; lab range from column {column} replaces the defaults",
                      column=shown(layout.header[column.range_index].strip()))
        lines.append(Msg("  {header} -> {analyte}, {unit}{lab}", header=shown(column.header), analyte=column.analyte.id,
                         unit=unit, lab=lab))
    if layout.kind == "long" and "range" in layout.roles:
        lines.append(Msg("  lab ranges from {column} replace the defaults where given",
                         column=shown(layout.header[layout.roles["range"]].strip())))
    if layout.ignored:
        lines.append(Msg("  ignored (passed through): {headers}", headers=shown_list(layout.ignored)))
        lines.extend(_near_misses(layout.ignored))
    lines.extend(f"  {note}" for note in layout.notes)
    if layout.kind == "wide":
        present = {column.analyte.id for column in layout.columns}
        lines.extend(Msg("  no {analyte} column: normal-panel can never be met", analyte=short_name(a))
                     for a in normal_panel_ids() if a not in present)
    return lines


def _near_misses(ignored: Sequence[str], limit: int = 20) -> list[str]:
    """Report lines for passed-through headers that nearly name an analyte (a typing slip: the --map
    to write) or name one with a qualifier that makes it another quantity (why it was not taken).
    Never a mapping: the user decides."""
    lines = []
    for header in ignored[:200]:
        found = near_miss(header)
        if found is not None and len(lines) < limit:
            advice = f"; if it is, write {found.map_option}" if found.map_option else ""
            lines.append(f"  note: {found.reason}{advice}")
    return lines


def normal_panel_ids() -> tuple[str, ...]:
    """The analytes the normal-panel statement needs (rules.toml, its panel_in_range rule)."""
    for rule in rules():
        if rule.when["type"] == "panel_in_range":
            return tuple(rule.when["analytes"])
    return ()


#: liver tests besides the five of the normal-panel statement: a panel with none of these (a blood
#: gas, a blood count) is counted apart in the summaries
OTHER_LIVER_TESTS = ("ggt", "albumin")


@cache
def _liver_tests() -> frozenset[str]:
    return frozenset(normal_panel_ids()) | frozenset(OTHER_LIVER_TESTS)


def has_liver_test(analyte_ids: Iterable[str]) -> bool:
    """Whether a panel's results include a liver test (the normal-panel five, GGT or albumin)."""
    return not _liver_tests().isdisjoint(analyte_ids)


def short_name(analyte_id: str) -> str:
    """`ALT` for alt, `bilirubin` for bilirubin: how the closing lines name an analyte."""
    return analyte_id.upper() if len(analyte_id) <= 3 else analyte_id

