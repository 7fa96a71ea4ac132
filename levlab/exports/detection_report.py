"""The detection report: the short account, on stderr before the data, of what levlab made of an
export's header (layout, dialect, encoding, each column's role or analyte and unit, maps,
specimens, what was passed through and what a near miss would need), in the reader's language."""

from __future__ import annotations

from collections.abc import Sequence

from levlab.catalog import near_miss
from levlab.errors import shown
from levlab.exports.dialect import Dialect
from levlab.exports.header import shown_list
from levlab.exports.layout import AnalyteColumn, Layout, normal_panel_ids, short_name
from levlab.exports.roles import date_like
from levlab.language import N_, Msg


def detection_report(layout: Layout, dialect: Dialect, encoding: str) -> list[str]:
    """The short account, before the data, of what levlab made of the file."""
    lines: list[str] = [Msg("{command}: {kind} layout; {dialect}; encoding {encoding}", command="levlab csv",
                            kind=layout.kind, dialect=dialect.describe(), encoding=encoding)]
    if not encoding.casefold().replace("_", "-").startswith(("utf-8", "utf8")):
        lines.append(Msg("  output is UTF-8: the input's characters come back, not its {encoding} bytes",
                         encoding=shown(encoding)))
    for role, index in sorted(layout.roles.items(), key=lambda item: item[1]):  # in column order
        lines.append(f"  {shown(layout.header[index].strip())} -> {role}{_role_detail(layout, role)}")
    lines.extend(_column_line(layout, column) for column in layout.columns)
    lines += _mapping_lines(layout)
    lines += _ignored_lines(layout)
    lines += _panel_lines(layout)
    return lines


def _column_line(layout: Layout, column: AnalyteColumn) -> str:
    """An analyte column: its analyte, where its unit comes from, and the lab's range if one replaces the defaults."""
    if column.unit_source == "assumed":
        unit = Msg("{unit} (assumed: no unit in the header, a unit column or --map)", unit=column.analyte.canonical_unit)
    elif column.unit_source == "settings":
        unit = f"{layout.configured_units[column.analyte.id]} (unit from settings: units = \"si\")"
    elif column.unit_source == "unit column":
        unit = Msg("unit from column {column}", column=shown(layout.header[column.unit_index].strip()))  # type: ignore[index]
    else:
        unit = Msg("{unit} (from the {source})", unit=column.unit,
                   source=Msg({"header": N_("header"), "map": N_("map")}.get(column.unit_source, column.unit_source)))
        if column.unit_index is not None:
            unit = Msg("{unit}; a row whose unit column {column} says another is an error", unit=unit,
                       column=shown(layout.header[column.unit_index].strip()))
    lab = ""
    if column.range_text is not None:
        lab = Msg("; lab range {range} (--range) replaces the defaults", range=shown(column.range_text))
    elif column.range_index is not None:
        lab = Msg("; lab range from column {column} replaces the defaults",
                  column=shown(layout.header[column.range_index].strip()))
    return Msg("  {header} -> {analyte}, {unit}{lab}", header=shown(column.header), analyte=column.analyte.id,
               unit=unit, lab=lab)


def _mapping_lines(layout: Layout) -> list[str]:
    """The test names and codes mapped, the specimen column, and (long) the lab's range column."""
    lines: list[str] = []
    if layout.value_maps:
        shown_maps = ", ".join(f"{shown(o.header)} -> {o.analyte.id if o.analyte else 'ignore'}{':' + o.unit if o.unit else ''}"
                               for o in layout.value_maps[:10])
        more = f", ... ({len(layout.value_maps) - 10} more)" if len(layout.value_maps) > 10 else ""
        lines.append(f"  test names and codes mapped (--map, --codes): {shown_maps}{more}")
    if "specimen" in layout.roles:
        lines.append(f"  specimens from {shown(layout.header[layout.roles['specimen']].strip())}: " + (
            "serum or plasma results make the panel; ascitic LDH is ascites_ldh; other specimens pass through, said on "
            "their rows" if layout.kind == "long" else
            "rows of serum or plasma (or blank) are interpreted; rows of other specimens pass through, said on the row"))
    if layout.kind == "long" and "range" in layout.roles:
        lines.append(Msg("  lab ranges from {column} replace the defaults where given",
                         column=shown(layout.header[layout.roles["range"]].strip())))
    return lines


def _ignored_lines(layout: Layout) -> list[str]:
    """The columns passed through, the analytes they nearly name, and a hint for a date-like one."""
    if not layout.ignored:
        return []
    lines: list[str] = [Msg("  ignored (passed through): {headers}", headers=shown_list(layout.ignored))]
    lines.extend(_near_misses(layout.ignored))
    datey = [name for name in layout.ignored[:200] if date_like(name)]
    if datey and "date" not in layout.roles:
        lines.append(f"  note: {shown_list(datey, 5)} speak{'s' if len(datey) == 1 else ''} of a date or time, with "
                     f"words levlab does not take as a sample time; if one is, write --col date=\"{datey[0]}\"")
    return lines


def _panel_lines(layout: Layout) -> list[str]:
    """What makes a panel suspect or never met: (long) the dates its rows must agree in, the
    layout's notes, and (wide) the normal-panel analytes without a column."""
    lines: list[str] = []
    if layout.kind == "long":  # as exports.panel_checks.DateSpread chooses them
        checked = [layout.header[layout.roles[role]].strip() for role in ("date", "time")
                   if role in layout.roles and layout.roles[role] not in layout.group]
        checked += [name for name in layout.ignored[:200] if date_like(name)]
        if checked:
            lines.append(f"  the rows of a panel must agree in {shown_list(checked, 5)} (as days): rows that differ make "
                         "it suspect, never met")
    lines.extend(f"  {note}" for note in layout.notes)
    if layout.kind == "wide":
        present = {column.analyte.id for column in layout.columns}
        lines.extend(Msg("  no {analyte} column: normal-panel can never be met", analyte=short_name(a))
                     for a in normal_panel_ids() if a not in present)
    return lines


def _role_detail(layout: Layout, role: str) -> str:
    """What the report adds after a role: how the sample time and the age are made."""
    roles = layout.roles

    def name(of: str) -> str:
        return shown(layout.header[roles[of]].strip())

    if role == "date":
        return " (the sample time" + (f", with the time from {name('time')})" if "time" in roles else ")")
    if role == "time":
        return f" (the time of day of the sample, with the date from {name('date')})" if "date" in roles else ""
    if role == "birth":
        if "age" in roles:
            return (f" (the age column {name('age')} is used; where the two differ by more than a year, the "
                    "sample's age is unknown and its row says so)")
        if "date" not in roles:
            return " (no sample date column, so no age is derived from it)"
        return (f": the age at the sample, in completed years, from it and {name('date')}; "
                "a birth date after the sample date is a row error")
    return ""


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
