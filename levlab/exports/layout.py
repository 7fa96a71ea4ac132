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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

from levlab.catalog import Analyte, normalise_name
from levlab.errors import LevlabError, UsageError, shown
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
from levlab.exports.roles import date_only, sample_time_rank, time_of_day_only
from levlab.exports.settings import CsvOptions
from levlab.rules import rules
from levlab.units import unit_for_analyte

#: a long file without a key column is one panel if it has at most this many data rows; past them
#: it is no single sample, and each row becomes a panel of its own (memory stays bounded; issue 18)
KEYLESS_PANEL_ROWS = 1_000


@dataclass
class AnalyteColumn:
    """A wide file's column of one analyte, with where its unit and lab range come from."""

    index: int
    header: str
    analyte: Analyte
    unit: str | None = None  # units.toml key from the header or --map
    unit_source: str = "assumed"  # header, map, unit column, settings, assumed
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
    grouped_by_option: bool = False  # long: --group-by names the panel key
    value_maps: list[MapOption] = field(default_factory=list)  # long: --map / --codes of test names and codes
    lone_without: int | None = None  # long: the patient column whose blank cell makes a row a panel of its own
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: analyte id -> the unit of a value given without one (the settings file's units = "si")
    configured_units: Mapping[str, str] = field(default_factory=dict)

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
    taken, roles, map_at, value_maps = _columns_named_by_options(header, stripped, options)
    dates: list[int] = []  # the columns whose words say a date or time, in header order
    for index, text in enumerate(stripped):
        if index in taken or index in map_at:
            continue
        role = role_of(text)
        if role == "date":
            dates.append(index)
        elif role is not None and role not in roles:
            roles[role] = index
            taken[index] = role
    _sample_time(stripped, dates, roles, taken)
    kind = options.layout
    if kind is None:
        kind = "long" if ("test" in roles or "code" in roles) and "value" in roles and not map_at else "wide"
    layout = Layout(kind, header, roles, configured_units=options.configured_units)
    _settle_value_maps(layout, stripped, value_maps, map_at, taken)
    if kind == "long":
        _detect_long(layout, stripped, taken, options, map_at)
    else:
        _detect_wide(layout, stripped, taken, options, map_at, decimal)
    return layout


def _sample_time(stripped: list[str], dates: list[int], roles: dict[str, int], taken: dict[int, str]) -> None:
    """The sample time among the date columns: the surest (a collection word beats a plain date,
    which beats the date of another event; then the first), with a time-of-day column beside a
    date column (`Afnamedatum` + `Afnametijd`) as its time."""
    free = [index for index in dates if index not in taken]
    if "date" not in roles and free:
        best = max(free, key=lambda index: (sample_time_rank(stripped[index]), -index))
        if time_of_day_only(stripped[best]):  # a time column: is there a date column to go with it?
            days = [index for index in free if date_only(stripped[index])]
            if days:
                best = max(days, key=lambda index: (sample_time_rank(stripped[index]), -index))
        roles["date"] = best
        taken[best] = "date"
    if "time" not in roles and "date" in roles and date_only(stripped[roles["date"]]):
        times = [index for index in free if index not in taken and time_of_day_only(stripped[index])]
        if times:
            best = max(times, key=lambda index: (sample_time_rank(stripped[index]), -index))
            roles["time"] = best
            taken[best] = "time"


def _settle_value_maps(layout: Layout, stripped: list[str], value_maps: list[tuple[MapOption, UsageError | None]],
                       map_at: dict[int, MapOption], taken: dict[int, str]) -> None:
    """--map options that name no column and --codes lines: in a long file they map the values of the
    test or code column (`--map 50861=alt`); in a wide file a --map that names no column is the usage
    error it always was, and a --codes line maps the column it names (the others are unused)."""
    if layout.kind == "long":
        layout.value_maps = [option for option, _ in value_maps]
        return
    for option, error in value_maps:
        if error is not None:
            raise error
        index = next((i for i, text in enumerate(stripped) if text == option.header or
                      (normalise_name(text) == normalise_name(option.header) and normalise_name(text))), None)
        if index is not None and index not in taken and index not in map_at:
            map_at[index] = option


def _columns_named_by_options(header: list[str], stripped: list[str], options: CsvOptions
                              ) -> tuple[dict[int, str], dict[str, int], dict[int, MapOption],
                                         list[tuple[MapOption, UsageError | None]]]:
    """The columns --col and --map name: (index -> role, role -> index, index -> --map), and the
    --map options that name no column (with the error that would be) and --codes lines (None), for
    the values of a long file's test column. A column plays one role and takes one --map; a role is
    given once: anything else is a usage error."""
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
    value_maps: list[tuple[MapOption, UsageError | None]] = []
    for option in (parse_map(text) for text in options.maps):
        try:
            index = find_header(header, option.header, f"--map {cut_option(option.text)}")
        except UsageError as error:  # no such column: a test name or code of a long file?
            value_maps.append((option, error))
            continue
        if index in taken:
            raise UsageError(f"--map {cut_option(option.text)}: column {shown(stripped[index])} is already the {taken[index]} column")
        if index in map_at:
            raise UsageError(f"--map {cut_option(map_at[index].text)} and --map {cut_option(option.text)} both map column "
                             f"{shown(stripped[index])}: give one")
        map_at[index] = option
    value_maps += [(parse_map(text, "--codes line"), None) for text in options.codes]
    _refuse_two_meanings([option for option, _ in value_maps], len(value_maps) - len(options.codes))
    return taken, roles, map_at, value_maps


def _refuse_two_meanings(value_maps: list[MapOption], from_map: int) -> None:
    """A test name or code that two value maps (`--map`, `--codes` lines; the first `from_map` are
    --map options) give different analytes or units is an error naming both: which one is meant
    cannot be told. The same meaning given twice is fine."""
    seen: dict[str, tuple[int, MapOption]] = {}
    for position, option in enumerate(value_maps):
        meaning = (None if option.analyte is None else option.analyte.id, option.unit)
        for key in {option.header.strip(), normalise_name(option.header)} - {""}:
            earlier = seen.setdefault(key, (position, option))
            first = earlier[1]
            if (None if first.analyte is None else first.analyte.id, first.unit) != meaning:
                given = ["--map" if at < from_map else "--codes line" for at in (earlier[0], position)]
                hint = "give one --map" if given == ["--map", "--map"] else (
                    "keep one line in the --codes file" if "--map" not in given else "drop the --map or edit the --codes file")
                raise UsageError(f"{given[0]} {cut_option(first.text)} and {given[1]} {cut_option(option.text)} give "
                                 f"{shown(option.header.strip())} two meanings: which one is meant cannot be told; {hint}")


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
        layout.grouped_by_option = True
    else:
        layout.group = [roles[role] for role in ("patient", "sample") if role in roles]
        if "sample" not in roles:  # the sample is the patient's sample time (a date and a time column together)
            layout.group.extend(roles[role] for role in ("date", "time") if role in roles)
        how = "patient and sample"
    layout.key_columns = list(layout.group) + [roles[role] for role in ("date", "time")
                                               if role in roles and roles[role] not in layout.group]
    if layout.group:
        names = " + ".join(repr(stripped[i]) for i in layout.group)
        layout.notes.append(
            f"panels: all rows with the same {names} ({how}), wherever they are: a file is read again "
            "for a sample whose rows are apart; from a stream, rows that come back too late are never met"
        )
        if "patient" in roles and "sample" not in roles and not options.group_by:
            layout.lone_without = roles["patient"]
            layout.notes.append("a row without a patient id is a panel of its own: with no sample id column, "
                                "rows without a patient are never joined by their date alone")
    else:
        layout.notes.append("panels: no patient or sample column, so the whole file is one panel "
                            "(name the key with --group-by COL); a file of more than "
                            f"{KEYLESS_PANEL_ROWS:,} rows is no single sample: each row is then a panel of its own")
    if "unit" not in roles and options.configured_units:
        layout.notes.append("no unit column: results without a unit in the value are read in the unit from settings "
                            "(units = \"si\": " + ", ".join(f"{a} {u}" for a, u in options.configured_units.items())
                            + "), enzymes in U/L where it may be assumed (said per result)")
    elif "unit" not in roles:
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
    _check_units(columns, options.configured_units)
    layout.columns = [columns[index] for index in sorted(columns)]
    layout.key_columns = [roles[role] for role in ("patient", "sample", "date", "time") if role in roles]
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
        if role == "unit" and owner.unit_index is None:  # beside a unit in the header too: checked per row
            owner.unit_index = index
        elif role == "range" and owner.range_index is None:
            owner.range_index = index
        else:
            continue
        used.add(index)
    return used


def stated_unit_conflict(column: AnalyteColumn, cell: str | None, unit_header: str, na: frozenset[str] | set[str]
                         ) -> str | None:
    """Why a row's unit cell contradicts the unit its column's header (or --map) states, or None
    when it is blank, a missing-value marker, or the same unit in any spelling (issue 19.6)."""
    if cell is None or not cell.strip() or cell.strip().casefold() in na:
        return None
    try:
        if unit_for_analyte(column.analyte, cell).key == column.unit:
            return None
    except LevlabError:
        pass
    where = "--map" if column.unit_source == "map" else f"the header {shown(column.header)}"
    return (f"{where} says {column.unit} but the unit column {shown(unit_header)} says {shown(cell.strip())} on this "
            "row: the value is not read; correct the cell or the header")


class MissingUnits(UsageError):
    """Columns whose unit is needed and given nowhere: each with its message. The run adds what the
    first rows' values suggest (`levlab.exports.unit_hint`) before saying it."""

    def __init__(self, columns: list[tuple[AnalyteColumn, str]]) -> None:
        super().__init__("; ".join(message for _, message in columns))
        self.columns = columns


def _check_units(columns: dict[int, AnalyteColumn], configured: Mapping[str, str]) -> None:
    """Where each column's unit comes from; a usage error for the columns whose unit is needed and not
    given (`configured`: the settings file's unit per analyte, for values without one)."""
    unitless: list[tuple[AnalyteColumn, str]] = []
    for column in columns.values():
        if column.unit is None and column.unit_index is not None:
            column.unit_source = "unit column"
        elif column.unit is None and column.analyte.id in configured:
            column.unit_source = "settings"
        elif column.unit is None and column.analyte.unit_required:
            first, second = column.analyte.units[:2]
            unitless.append((column,
                f"column {shown(column.header)} ({column.analyte.id}) has no unit in its header, in a unit column "
                f"or in --map, and its values could be {first} or {second}; say which with "
                f"--map \"{column.header}={column.analyte.id}:{first}\" (or :{second})"
            ))
    stated = [c for c in columns.values() if c.unit is not None and c.unit.startswith("µkat")]
    if stated:  # the laboratory reports enzymes in µkat/L: an enzyme column without a unit would be a guess in U/L
        for column in columns.values():
            if column.unit_source == "assumed" and "µkat/L" in column.analyte.units:
                unitless.append((column,
                    f"column {shown(column.header)} ({column.analyte.id}) has no unit while {shown(stated[0].header)} "
                    f"is in µkat/L: U/L would be a guess; say which with --map \"{column.header}={column.analyte.id}:µkat/L\" "
                    "(or :U/L)"))
    if unitless:  # every such column at once, so that one run shows all the --map options to write
        raise MissingUnits(unitless)


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

