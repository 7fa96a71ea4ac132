"""The Excel reader: the records of one sheet of a workbook (.xlsx), streamed (a `RecordReader`).

`XlsxRecords` opens the workbook with openpyxl in read-only mode (rows are parsed as they are
taken, so memory stays flat however long the sheet is) and turns each typed cell into the text
the rest of the run reads (`cell_text`): numbers as the shortest text that reads back to the
value Excel shows (15 significant digits: `0.3`, never `0.30000000000000004`), dates as ISO
text, a serial number in a date column as its date, booleans as TRUE/FALSE, text (`<5`,
`4,5`, `#N/A`, a formula's text) as it stands. Formulas are never evaluated: a formula cell is
read as its formula text, which is no number (an error on its row, not a guess).

The sheet is `--sheet NAME|N` or the first whose first rows hold a recognisable header; the
header is the first row with a recognisable column (title rows above it are skipped and
reported), or the row after `--skip-lines N`. Merged cells: a header cell merged down from a
title row takes its text, and a data cell merged down over rows (a patient id over its panel's
rows) gives its value to each of them.

Each data row is a `SheetRow`: its cells as text, with the typed values kept (`values`) for
the workbook sink, which writes the input cells back unchanged. openpyxl is an optional extra
(`pip install 'levlab[excel]'`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

from levlab.errors import UsageError, shown
from levlab.exports.dialect import Dialect
from levlab.exports.header import role_of, split_header
from levlab.exports.records import RecordChunk
from levlab.exports.settings import CsvOptions

CHUNK_ROWS = 1_024  # rows handed on together
HEADER_SEARCH = 30  # rows looked at for a header
EXTRA_HINT = "reading .xlsx needs the Excel extra: pip install 'levlab[excel]' (or export the sheet as CSV)"
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_SCAN_BLOCK = 1 << 16


def require_openpyxl() -> Any:
    """The openpyxl module, or a usage error that says how to install it."""
    try:
        import openpyxl
    except ImportError:
        raise UsageError(EXTRA_HINT) from None
    return openpyxl


class SheetRow(list):  # type: ignore[type-arg]
    """A data row's cells as text, with the sheet's typed values (`values`) for write-back."""

    __slots__ = ("values",)

    def __init__(self, texts: list[str], values: tuple[Any, ...]) -> None:
        super().__init__(texts)
        self.values = values


def number_text(number: float | int) -> str:
    """A stored number as Excel shows it at most (15 significant digits), in its shortest text,
    without an exponent: 0.1 + 0.2 -> `0.3`, 35.0 -> `35`, 1e-05 -> `0.00001`."""
    if isinstance(number, int):
        return str(number)
    if number != number or number in (float("inf"), float("-inf")):
        return str(number)
    shown_value = float(f"{number:.15g}")
    if shown_value.is_integer() and abs(shown_value) < 1e15:
        return str(int(shown_value))
    text = repr(shown_value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def date_text(moment: dt.datetime | dt.date | dt.time) -> str:
    """A date cell as ISO text: `2024-03-01`, `2024-03-01 08:30`, seconds only when given."""
    if isinstance(moment, dt.datetime):
        if moment.time() == dt.time(0, 0):
            return moment.date().isoformat()
        return moment.isoformat(sep=" ", timespec="seconds" if moment.second or moment.microsecond else "minutes")
    if isinstance(moment, dt.date):
        return moment.isoformat()
    return moment.isoformat(timespec="seconds" if moment.second else "minutes")


def serial_date(serial: float, epoch: dt.datetime) -> dt.datetime | None:
    """An Excel serial number (days since the workbook's epoch) as a date-time; None outside 1900-9999."""
    if not 1 <= serial < 2_958_466:
        return None
    from openpyxl.utils.datetime import from_excel

    moment = from_excel(serial, epoch)
    return moment if isinstance(moment, dt.datetime) else None


def cell_text(value: Any) -> str:
    """A typed cell as the text the run reads (see the module text); a serial in a date column is
    turned into its date by the reader, not here."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return number_text(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return date_text(value)
    return str(value)


def is_workbook(stream: IO[bytes]) -> bool:
    """Whether a seekable binary stream is a zip holding an Excel workbook (xl/workbook.xml)."""
    import zipfile

    position = stream.tell()
    try:
        with zipfile.ZipFile(stream) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False
    finally:
        stream.seek(position)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def merged_ranges(archive: Any, path: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a sheet, (first row, first column, last row, last column), 1-based,
    found by a scan of the sheet's XML (they come after the data, so they are read first)."""
    found: list[tuple[int, int, int, int]] = []
    tail = b""
    with archive.open(path) as source:
        while block := source.read(_SCAN_BLOCK):
            text = tail + block
            for match in _MERGE.finditer(text):
                first_col, first_row, last_col, last_row = match.groups()
                if last_col is None:
                    continue
                found.append((int(first_row), _column_number(first_col), int(last_row), _column_number(last_col)))
            tail = text[-200:]  # a tag cut by the block's end is matched whole in the next (a repeat is dropped)
    return sorted(set(found))


def sheet_rows(book: Any, sheet: Any) -> Iterator[tuple[Any, ...]]:
    """The sheet's rows as tuples of values from row 1 (a missing row as ()), parsed as a stream
    that drops each row from the XML tree once read: memory stays flat however long the sheet.

    openpyxl's own read-only rows keep an emptied element per row (about 90 bytes a row); this
    uses its cell parser (`WorkSheetParser.parse_row`: shared strings, dates by number format,
    formulas as their text) and falls back to its rows if that is not there."""
    try:
        from openpyxl.worksheet._reader import DATA_TAG, ROW_TAG, WorkSheetParser

        archive, path = book._archive, sheet._worksheet_path
        parser = WorkSheetParser(None, sheet._shared_strings, data_only=False, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        parser.parse_row  # noqa: B018 - the one method used: missing in another openpyxl, fall back
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - openpyxl internals moved
        yield from sheet.iter_rows(values_only=True)
        return
    from xml.etree.ElementTree import iterparse

    expected = 1
    data = None
    with archive.open(path) as source:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if element.tag == DATA_TAG:
                    data = element
                continue
            if element.tag == DATA_TAG:
                return
            if element.tag != ROW_TAG:
                continue
            number, cells = parser.parse_row(element)
            parser.row_dimensions.clear()
            if data is not None:
                data.clear()  # the row just read leaves the tree
            for _ in range(expected, number):
                yield ()
            expected = number + 1
            values: list[Any] = [None] * max((cell["column"] for cell in cells), default=0)
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield tuple(values)


def _recognised(cell: str) -> bool:
    """Whether a header cell names a role or an analyte."""
    text = cell.strip()
    if not text:
        return False
    if role_of(text) is not None:
        return True
    try:
        return split_header(text)[0] is not None
    except Exception:  # a bracketed text that is no unit: still names an analyte
        return True


def header_row(rows: list[list[str]]) -> int | None:
    """Index of the row that reads as a header: of the rows with two or more cells, the first with
    the most cells that name a role or an analyte (a title row may name one too); None if none names any."""
    best, best_count = None, 0
    for index, row in enumerate(rows):
        cells = [cell for cell in row if cell.strip()]
        if len(cells) >= 2:
            count = sum(map(_recognised, cells))
            if count > best_count:
                best, best_count = index, count
    return best


class XlsxRecords:
    """One sheet's header, dialect and data records (a `RecordReader`); `source` is a path or a
    seekable binary stream."""

    def __init__(self, source: Any, options: CsvOptions, name: str = "workbook") -> None:
        openpyxl = require_openpyxl()
        try:
            self.book = openpyxl.load_workbook(source, read_only=True, data_only=False, keep_links=False)
        except Exception as error:  # a damaged workbook: a usage error, not a traceback
            raise UsageError(f"{name} cannot be read as an Excel workbook: {error}") from None
        self.epoch = self.book.epoch
        self.sheet = self._pick_sheet(options.sheet)
        self.merged = self._merged()
        self._rows = sheet_rows(self.book, self.sheet)  # every row there is, whatever size the sheet states
        self.row_number = 0  # sheet rows taken
        head: list[tuple[Any, ...]] = []
        if options.skip_lines:
            head = list(itertools.islice(self._rows, options.skip_lines + 1))
            if len(head) <= options.skip_lines:
                raise UsageError(f"--skip-lines {options.skip_lines}: sheet {shown(self.sheet.title)} has only "
                                 f"{len(head)} rows")
            at = options.skip_lines
        else:
            head = list(itertools.islice(self._rows, HEADER_SEARCH))
            found = header_row([[cell_text(v) for v in row] for row in head])
            if found is None:
                found = next((i for i, row in enumerate(head) if any(v is not None for v in row)), None)
            if found is None:
                raise UsageError(f"sheet {shown(self.sheet.title)} is empty: no header row")
            at = found
        self.header_number = at + 1  # the header's row number in the sheet
        self.skipped = options.skip_lines
        self.titles = 0 if options.skip_lines else at  # title rows found above the header
        self.header = self._header(head[at])
        self._pending = iter(head[at + 1:])
        self.row_number = at + 1
        self.dialect = Dialect(",", ".", "\n", "CSV output", "numbers as Excel stores them")
        title_note = f", {self.titles} title row{'s' if self.titles > 1 else ''} above it skipped" if self.titles else ""
        self.encoding = f"utf-8 (xlsx workbook: sheet {shown(self.sheet.title)}, header on row {self.header_number}{title_note})"
        self.bad_rows: dict[int, str] = {}
        roles = [role_of(cell) for cell in self.header]
        self.date_columns = {index for index, role in enumerate(roles) if role == "date"}
        self.count = 0

    def _pick_sheet(self, wanted: str | None) -> Any:
        sheets = [sheet for sheet in self.book.worksheets]
        names = [sheet.title for sheet in sheets]
        if wanted is not None:
            if wanted in names:
                return sheets[names.index(wanted)]
            if wanted.strip().isdigit() and 1 <= int(wanted) <= len(sheets):
                return sheets[int(wanted) - 1]
            raise UsageError(f"--sheet {shown(wanted)}: no such sheet; the workbook has "
                             + ", ".join(f"{n} {shown(name)}" for n, name in enumerate(names, start=1)))
        for sheet in sheets:
            rows = sheet.iter_rows(max_row=HEADER_SEARCH, values_only=True)
            if header_row([[cell_text(v) for v in row] for row in rows]) is not None:
                return sheet
        if not sheets:
            raise UsageError("the workbook has no sheets")
        return sheets[0]

    def _merged(self) -> list[tuple[int, int, int, int]]:
        archive, path = getattr(self.book, "_archive", None), getattr(self.sheet, "_worksheet_path", None)
        if archive is None or path is None:  # pragma: no cover - openpyxl internals moved
            return []
        return merged_ranges(archive, path)

    def _header(self, values: tuple[Any, ...]) -> list[str]:
        """The header's cells as text; a cell merged down from a row above takes that row's text
        (read again, the rows above are few); an empty cell is named after its column."""
        from openpyxl.utils import get_column_letter

        header = [cell_text(value) for value in values]
        row = self.header_number
        for first_row, first_col, last_row, last_col in self.merged:
            if first_row < row <= last_row:
                text = next(iter(self.sheet.iter_rows(min_row=first_row, max_row=first_row, min_col=first_col,
                                                      max_col=first_col, values_only=True)), (None,))[0]
                for column in range(first_col, last_col + 1):
                    if column <= len(header) and not header[column - 1].strip() and first_col == last_col:
                        header[column - 1] = cell_text(text)
        while header and not header[-1].strip():
            header.pop()
        return [cell if cell.strip() else f"column {get_column_letter(index + 1)}" for index, cell in enumerate(header)]

    def chunks(self) -> Iterator[RecordChunk]:
        """The data rows, a chunk at a time (see `records.RecordChunk`); every original is None."""
        rows = itertools.chain(self._pending, self._rows)
        width = len(self.header)
        fill: dict[int, list[tuple[int, int]]] = {}  # first row -> (column, last row) of each vertical merge
        for r1, c1, r2, c2 in self.merged:
            if c1 == c2 and r2 > r1 and r1 > self.header_number:
                fill.setdefault(r1, []).append((c1, r2))
        filled: dict[int, tuple[int, Any]] = {}  # column -> (last row, value) of a vertical merge in progress
        dates, epoch = self.date_columns, self.epoch
        size = 1
        while True:
            taken = list(itertools.islice(rows, size))
            if not taken:
                return
            size = min(2 * size, CHUNK_ROWS)
            out: list[list[str]] = []
            for values in taken:
                self.row_number += 1
                number = self.row_number
                original = values
                if fill:
                    values = self._fill_merged(values, number, fill, filled)
                if not any(value is not None and value != "" for value in values):
                    continue
                texts = [cell_text(value) for value in values]
                if dates:
                    for index in dates:
                        if index < len(values) and isinstance(values[index], (int, float)) and not isinstance(values[index], bool):
                            moment = serial_date(values[index], epoch)
                            if moment is not None:
                                texts[index] = date_text(moment)
                if len(texts) < width:
                    texts.extend([""] * (width - len(texts)))
                elif len(texts) > width and not any(texts[width:]):
                    del texts[width:]
                out.append(SheetRow(texts, original))
            if not out:
                continue
            first = self.count + 1
            self.count += len(out)
            yield RecordChunk(first, out, [None] * len(out))

    @staticmethod
    def _fill_merged(values: tuple[Any, ...], number: int, fill: dict[int, list[tuple[int, int]]],
                     filled: dict[int, tuple[int, Any]]) -> tuple[Any, ...]:
        """The row with the value of a vertical merge above it copied into its empty cell."""
        cells = list(values)
        for column, last_row in fill.get(number, ()):
            if column <= len(cells):
                filled[column] = (last_row, cells[column - 1])
        if not filled:
            return values
        for column, (last_row, value) in list(filled.items()):
            if number > last_row:
                del filled[column]
                continue
            if column > len(cells):
                cells.extend([None] * (column - len(cells)))
            if cells[column - 1] is None:
                cells[column - 1] = value
        return tuple(cells)

    def close(self) -> None:
        """Close the workbook's file."""
        self.book.close()
