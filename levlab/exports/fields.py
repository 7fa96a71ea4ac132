"""Output fields: the columns levlab appends, a panel as it leaves the run, row errors, and
text made inert for spreadsheets."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from levlab.catalog import analytes
from levlab.exports.layout import Layout
from levlab.grading import grade_value
from levlab.model import AnalyteResult, PanelResult
from levlab.values import format_number

if TYPE_CHECKING:
    from levlab.exports.memo import Judged
    from levlab.exports.sinks import Sink

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read a cell as a formula
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")


def spreadsheet_safe(text: str) -> str:
    """A cell levlab writes, made inert for spreadsheets: `'` before a leading = + - @ tab CR."""
    return "'" + text if text.startswith(FORMULA_START) else text


def excel_safe_row(row: list[str]) -> list[str]:
    """--excel-safe: the row with `'` before each cell a spreadsheet would run as a formula, other
    than plain numbers (-5, +3.5) and a lone "-"; the same list when nothing needs it."""
    if not any(cell.startswith(FORMULA_START) for cell in row):
        return row
    return ["'" + cell if cell.startswith(FORMULA_START) and cell != "-" and not _PLAIN_NUMBER.fullmatch(cell)
            else cell for cell in row]


def _value_field(result: AnalyteResult, decimal: str) -> str:
    m = result.measurement
    return "" if m is None else (m.comparator or "") + format_number(m.value, decimal)


def _unit_field(result: AnalyteResult, decimal: str) -> str:
    return "" if result.measurement is None else analytes()[result.analyte].canonical_unit


def _flag_field(result: AnalyteResult, decimal: str) -> str:
    return result.flag


AnalyteField = Callable[[AnalyteResult, str], str]

def _ctcae_field(result: AnalyteResult, decimal: str) -> str:
    # CTCAE v5.0 grade 0-4 against ULN (a streamed panel has no baseline), "?" undecided, "" no term
    has_term, value = grade_value(result)
    return "" if not has_term else "?" if value is None else str(value)


#: columns appended per analyte: wide files get `levlab_<id>_<name>` per analyte column,
#: long files `levlab_<name>` on each row. Add a column by appending (name, function).
ANALYTE_FIELDS: list[tuple[str, AnalyteField]] = [
    ("value", _value_field), ("unit", _unit_field), ("flag", _flag_field), ("ctcae", _ctcae_field),
]
#: columns appended per panel, on each of its rows: the rule ids met (space-separated, in
#: rules.toml order) and the normal-panel status, as RuleBook.panel_text decides them
PANEL_COLUMNS = ("flags", "normal_panel")
#: columns appended after levlab_error when `levlab csv` follows patients (exports.followup): the
#: previous sample's date (per panel), this row's analyte on it (value, flag) and the change since,
#: and the date of the sample the CTCAE column was graded against (per panel)
FOLLOW_UP_FIELDS = ("previous_date", "previous_value", "previous_flag", "change", "ctcae_baseline")


def output_header(layout: Layout, follow_up: bool = False) -> list[str]:
    """The header row written: the input's, then levlab's columns (`follow_up`: with FOLLOW_UP_FIELDS)."""
    added = []
    if layout.kind == "wide":
        for column in layout.columns:
            added.extend(f"levlab_{column.analyte.id}_{name}" for name, _ in ANALYTE_FIELDS)
    else:
        added.append("levlab_analyte")
        added.extend(f"levlab_{name}" for name, _ in ANALYTE_FIELDS)
    added.extend(f"levlab_{name}" for name in PANEL_COLUMNS)
    added.append("levlab_error")
    if follow_up:
        added.extend(f"levlab_{name}" for name in FOLLOW_UP_FIELDS)
    added.append("levlab_warnings")
    return layout.header + added


@dataclass(frozen=True, slots=True)
class RowError:
    """A cell that could not be used: 1-based data row, its column header, what was wrong."""

    row: int
    column: str
    message: str


@dataclass
class PanelOut:
    """One interpreted panel with where it came from."""

    rows: list[int]
    key: dict[str, str]
    panel: PanelResult
    errors: list[RowError]
    warnings: list[str] = field(default_factory=list)  # the panel's warnings beside its results' (follow-up)
    follow_up: dict[str, str | None] | None = None  # long exports followed by `levlab csv`: see exports.followup


#: between the messages of one levlab_error or levlab_warnings cell. No message levlab writes
#: contains it (tested); where a message quotes file text holding it, that text's ` | ` is written
#: ` ¦ `, so a script can always split the cell at SEPARATOR.
SEPARATOR = " | "


def joined(messages: Iterable[str]) -> str:
    """Messages as one cell: joined by SEPARATOR, which none of them then contains."""
    # starts with a column header or a message: never with what makes a spreadsheet run a formula
    return spreadsheet_safe(SEPARATOR.join(message.replace(SEPARATOR, " ¦ ") for message in messages))


class CountedPanel:
    """A panel as the table summary counts it (`Sink.counted`): the rule ids met and the
    normal-panel status as `RuleBook` decides them (the decisions of `interpret_results`, tested),
    whether it holds a liver test, and how to make the whole PanelOut when it is to be shown."""

    __slots__ = ("errors", "liver", "make", "rule_ids", "status")

    def __init__(self, rule_ids: Sequence[str], status: str, liver: bool, errors: Sequence[RowError],
                 make: Callable[[], PanelOut]) -> None:
        self.rule_ids, self.status, self.liver, self.errors, self.make = rule_ids, status, liver, errors, make


def error_text(errors: Sequence[RowError]) -> str:
    """A row's errors as its levlab_error text."""
    return joined(f"{e.column}: {e.message}" if e.column else e.message for e in errors)


def fragment_of(judged: Judged, sink: Sink, decimal: str) -> str:
    """A judged cell's ANALYTE_FIELDS as the sink's text, made once and kept on the cell."""
    judged.fragment = sink.fragment([function(judged.result, decimal) for _, function in ANALYTE_FIELDS])
    return judged.fragment
