"""The workbook sink: `-o out.xlsx` — every input row with levlab's columns, flags coloured, and a
report sheet (detection report, closing lines, sources, disclaimer).

`XlsxSink` writes with openpyxl in write-only mode (rows go to a temporary file as they come,
so memory stays flat). The input's cells are written unchanged: a workbook's typed values
(`xlsx_records.SheetRow.values`: numbers, dates, text), a CSV's text as text. No cell is ever
written as a formula: a text that starts with `=` (a formula read from the input, or any text)
is written as a text cell. levlab's value columns are numbers where they are plain numbers.
Flag cells are filled: raised (H) red, low (L) blue, indeterminate (?) amber; the
normal-panel cell green when met, red when not met. Columns are as wide as their header (within
bounds), the header row is frozen and has filter buttons.

Characters XML cannot hold (control characters) are written as U+FFFD, and counted in the report.
"""

from __future__ import annotations

import re
from typing import IO, Any

from levlab.exports.fields import PanelOut
from levlab.exports.provenance import DISCLAIMER, interval_sources, rule_sources
from levlab.exports.sinks import Sink
from levlab.exports.xlsx_records import require_openpyxl

SEPARATOR = "\x1f"  # between the fields of one fragment (the unit separator: no cell holds it)
FILLS = {"H": "F4B6B6", "L": "B6CCF4", "?": "F9E2A2", "met": "C6E8C6", "not-met": "F4B6B6"}
#: column widths (characters): the header's length within these bounds; levlab's long columns wider
MIN_WIDTH, MAX_WIDTH = 10, 60
LEVLAB_WIDTHS = {"levlab_flags": 30, "levlab_error": 60, "levlab_warnings": 50, "levlab_analyte": 14}
_PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class XlsxSink(Sink):
    """Rows into the first sheet of a write-only workbook; `finish` adds the report sheet and saves."""

    wants_rows = True

    def __init__(self, input_width: int, sheet_name: str = "levlab") -> None:
        openpyxl = require_openpyxl()
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font, PatternFill

        self.book = openpyxl.Workbook(write_only=True)
        self.sheet = self.book.create_sheet(sheet_name[:31] or "levlab")
        self.make_cell = WriteOnlyCell
        self.bold = Font(bold=True)
        self.fills = {flag: PatternFill("solid", start_color=colour, end_color=colour) for flag, colour in FILLS.items()}
        self.input_width = input_width
        self.coloured: set[int] = set()  # output columns whose cells are filled by their text
        self.numeric: set[int] = set()  # levlab's value columns
        self.replaced = 0  # characters XML cannot hold, written as U+FFFD

    def start(self, header: list[str]) -> None:
        for index, name in enumerate(header):
            if index < self.input_width:
                continue
            if name.endswith("_flag") or name == "levlab_normal_panel":
                self.coloured.add(index)
            elif name.endswith("_value"):
                self.numeric.add(index)
        self._set_layout(header)
        cells = []
        for name in header:
            cell = self.make_cell(self.sheet, value=_ILLEGAL.sub("\ufffd", name))
            if name.startswith("="):
                cell.data_type = "s"
            cell.font = self.bold
            cells.append(cell)
        self.sheet.append(cells)

    def _set_layout(self, header: list[str]) -> None:
        """Column widths from the header (a write-only sheet is laid out before its rows), the
        header row frozen and filterable: what a reader of the workbook sees first."""
        from openpyxl.utils import get_column_letter

        for index, name in enumerate(header, start=1):
            wanted = LEVLAB_WIDTHS.get(name, len(name) + 3)
            self.sheet.column_dimensions[get_column_letter(index)].width = max(MIN_WIDTH, min(wanted, MAX_WIDTH))
        self.sheet.freeze_panes = "A2"
        if header:
            self.sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}1"

    def fragment(self, fields: list[str]) -> str:
        return SEPARATOR.join(field.replace(SEPARATOR, " ") for field in fields)

    def chunk(self, rows: list[list[str]], originals: list[str | None], appended: list[list[str]]) -> None:
        columns = list(zip(*appended, strict=True)) if appended else [()] * len(rows)
        width = self.input_width
        for row, parts in zip(rows, columns, strict=True):
            values = getattr(row, "values", None)
            given = list(values[:max(width, len(row))]) if values is not None else list(row)
            if len(given) < width:
                given.extend([None] * (width - len(given)))
            cells = [self._cell(value, index) for index, value in enumerate(given)]
            added = [field for part in parts for field in part.split(SEPARATOR)]
            for offset, text in enumerate(added, start=len(cells)):
                cells.append(self._levlab_cell(text, offset))
            self.sheet.append(cells)

    def rows(self, rows: Any) -> None:  # pragma: no cover - the run writes through chunk()
        raise NotImplementedError

    def _cell(self, value: Any, index: int) -> Any:
        """An input cell as it was: never a formula, text made XML-safe. A plain value goes as it
        is (a cell object only where one is needed: write-only cells are costly)."""
        if isinstance(value, str) and value and (value[0] == "=" or _ILLEGAL.search(value)):
            if _ILLEGAL.search(value):
                self.replaced += len(_ILLEGAL.findall(value))
                value = _ILLEGAL.sub("\ufffd", value)
            cell = self.make_cell(self.sheet, value=value)
            if value.startswith("="):
                cell.data_type = "s"  # the formula's text, never a formula of levlab's
            return cell
        return value

    def _levlab_cell(self, text: str, index: int) -> Any:
        if index in self.numeric and _PLAIN_NUMBER.fullmatch(text):
            return float(text) if "." in text else int(text)
        if index in self.coloured:
            fill = self.fills.get(text)
            if fill is not None:
                cell = self.make_cell(self.sheet, value=text)
                cell.fill = fill
                return cell
        return self._cell(text, index)

    def panel(self, out: PanelOut) -> None:  # pragma: no cover - rows only
        pass

    def finish(self, report: list[str], closing: list[str], table: Any, stream: IO[bytes]) -> None:
        """The report sheet (detection report, closing lines, rules and interval sources, the
        disclaimer), then the workbook saved to `stream`."""
        sheet = self.book.create_sheet("levlab report")
        sheet.column_dimensions["A"].width = 24
        sheet.column_dimensions["B"].width = 90
        sheet.column_dimensions["C"].width = 50
        heading = self.bold

        def title(text: str) -> None:
            cell = self.make_cell(sheet, value=text)
            cell.font = heading
            sheet.append([])
            sheet.append([cell])

        sheet.append([self._plain(sheet, DISCLAIMER)])
        title("Detection report")
        for line in report:
            sheet.append([self._plain(sheet, line)])
        title("Summary")
        for line in closing:
            sheet.append([self._plain(sheet, line)])
        if self.replaced:
            sheet.append([self._plain(sheet, f"{self.replaced} characters a workbook cannot hold (control "
                                              "characters) were written as U+FFFD")])
        title("Rules (rules.toml) and their sources")
        for rule_id, statement, source in rule_sources():
            sheet.append([self._plain(sheet, rule_id), self._plain(sheet, statement), self._plain(sheet, source)])
        title("Reference intervals: sources of the defaults (a lab's own range replaces them where given)")
        for analyte, source in interval_sources(table):
            sheet.append([self._plain(sheet, analyte), self._plain(sheet, source)])
        title("Colours")
        for flag, meaning in (("H", "raised"), ("L", "low"), ("?", "indeterminate"), ("met", "normal-panel met"),
                              ("not-met", "normal-panel not met")):
            cell = self._plain(sheet, flag)
            cell.fill = self.fills[flag]
            sheet.append([cell, self._plain(sheet, meaning)])
        self.book.save(stream)

    def _plain(self, sheet: Any, text: str) -> Any:
        cell = self.make_cell(sheet, value=_ILLEGAL.sub("\ufffd", text))
        if text.startswith("="):
            cell.data_type = "s"
        return cell
