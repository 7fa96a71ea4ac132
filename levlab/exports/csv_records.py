"""The CSV reader: records of a delimited text file, each with its original text for write-back.

`CsvRecords` implements `levlab.exports.records.RecordReader` over text lines (from
`levlab.exports.decoding.DecodedLines`, or any iterable of lines): it skips `--skip-lines`,
sniffs the dialect, reads the header, then yields the data records a chunk of up to
`CHUNK_LINES` lines at a time. A chunk is split at the delimiter when no line holds a quote
(`split_plain`), else parsed by one csv.reader call when each line is one record, else record
by record (`RecordTextLines` keeps the lines of each record, so that its text can be written
back byte for byte, quoting included). Chunks grow from one line, so a slow pipe's first rows
are not held back.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterable, Iterator

from levlab.errors import UsageError
from levlab.exports.dialect import open_dialect
from levlab.exports.records import RecordChunk
from levlab.exports.settings import CsvOptions

CHUNK_LINES = 1_024  # lines read, parsed and interpreted together
#: largest field read (the csv module's default is 128 KiB): a 5 MB cell is kept and passed through
#: (its reading is refused, briefly); a larger one ends the run as a usage error, not a traceback
FIELD_LIMIT = 64 * 1024 * 1024

csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))


class CsvRecords:
    """A CSV export's header, dialect and data records (a `RecordReader`)."""

    #: the progress callback of the lines read (bytes of the input so far), when there is a bar:
    #: several processes move it as their pieces are taken (`levlab.exports.processes`)
    progress: Callable[[int], None] | None = None

    def __init__(self, lines: Iterable[str], options: CsvOptions, encoding: str = "utf-8") -> None:
        source = iter(lines)
        skipped = sum(1 for _ in itertools.islice(source, options.skip_lines))
        if skipped < options.skip_lines:
            raise UsageError(f"--skip-lines {options.skip_lines}: the input has only {skipped} lines")
        self.skipped = skipped
        try:  # a header field over FIELD_LIMIT (70 MB of NUL bytes, say) stops the sniffer or the reader
            self.dialect, body = open_dialect(source, options.delimiter, options.decimal)
            self.record_lines = RecordTextLines(body)
            reader = csv.reader(self.record_lines, delimiter=self.dialect.delimiter)
            header = next(reader, None)
            while header == []:
                header = next(reader, None)
        except csv.Error as error:
            raise UsageError(f"the header row: {error}; no header cell is that long: is this a CSV file?") from None
        if header is None:
            raise UsageError("the input has no header row")
        self.record_lines.taken.clear()
        self.header: list[str] = header
        self.encoding = getattr(lines, "read_as", None) or encoding + (" (BOM)" if getattr(lines, "bom", False) else "")
        self.undecodable: list[tuple[str, str]] = getattr(lines, "undecodable", [])
        self.bad_rows: dict[int, str] = {}  # data row -> why its text is not what the file holds
        self.count = 0  # data records read
        self.first_chunk = 1  # lines of the first chunk (a piece read on from a later chunk: exports.table_pieces)

    def chunks(self) -> Iterator[RecordChunk]:
        """Data rows, a chunk of up to CHUNK_LINES lines at a time (see `records.RecordChunk`). Blank lines are skipped. A short row is padded to the
        header's width and then has no original text to write back (None); nor has a record
        whose quote stays open to the end of the file."""
        lines_left, delimiter = self.record_lines.lines, self.dialect.delimiter
        width = len(self.header)
        size = self.first_chunk  # chunks grow from one line: a slow pipe's first rows are not held back for long
        while lines := list(itertools.islice(lines_left, size)):
            size = min(2 * size, CHUNK_LINES)
            split = split_plain(lines, delimiter)
            spans: list[int] | None = None  # lines each record took, when one may span lines
            if split is not None:  # no quote anywhere, the most common case
                rows, originals = split
            else:
                try:  # a record per line: parsed in one go
                    rows = list(csv.reader(lines, delimiter=delimiter))
                    # every record took exactly one line (and the last is not cut off inside quotes)
                    one_per_line = len(rows) == len(lines) and not (rows[-1] and rows[-1][-1].endswith(("\n", "\r")))
                except csv.Error:
                    one_per_line = False
                if one_per_line:
                    originals = list(map(str.rstrip, lines, itertools.repeat("\r\n")))
                else:
                    rows, originals, spans = self._records_of(lines, lines_left)
            if [] in rows:
                kept = [index for index, row in enumerate(rows) if row]
                rows, originals = [rows[i] for i in kept], [originals[i] for i in kept]
                spans = None if spans is None else [spans[i] for i in kept]
                if not rows:
                    continue
            first = self.count + 1
            self.count += len(rows)
            if spans is not None:
                self._swallowing_quotes(first, rows, spans, delimiter)
            if self.undecodable:
                for number, text in enumerate(originals, start=first):
                    if text is not None and "\ufffd" in text:
                        self._undecodable_row(number, text)
            if min(map(len, rows)) < width:
                for index, row in enumerate(rows):
                    if len(row) < width:
                        row.extend([""] * (width - len(row)))
                        originals[index] = None
            if max(map(len, rows)) > width:
                self._fold_extra_fields(first, rows, originals, width)
            last = originals[-1]
            if last is not None and '"' in last and len(list(csv.reader([last + "\n", "x\n"], delimiter=delimiter))) == 1:
                # a quote left open up to the end of the file (only the last record can be cut
                # off so): written back as fields, so that levlab's columns do not end up inside it
                originals[-1] = None
            yield RecordChunk(first, rows, originals)

    def _fold_extra_fields(self, first: int, rows: list[list[str]], originals: list[str | None], width: int) -> None:
        """A record with more fields than the header: its last field and the extra ones are kept
        together in the last column (joined by the delimiter), so that levlab's columns stay under
        their headers; the row gets an error that says so (issue 16.4)."""
        delimiter = self.dialect.delimiter
        for index, row in enumerate(rows):
            if len(row) > width:
                count = len(row)
                row[width - 1:] = [delimiter.join(row[width - 1:])]
                originals[index] = None
                self.bad_rows[first + index] = (
                    f"row has {count} fields, the header {width}: its last {count - width + 1} fields are kept "
                    f"together in the last column, so that levlab's columns stay under their headers")

    def _swallowing_quotes(self, first: int, rows: list[list[str]], spans: list[int], delimiter: str) -> None:
        """A quoted field that runs over line ends AND holds the delimiter is almost always a quote
        left open, which took the following lines (other rows) into one field: an error on its row
        that says how many lines it took, so that no row disappears silently (issue 16.3). A note
        with line breaks but no delimiter is a legitimate multi-line field. `spans`: the lines each
        record took in the file (a closing quote alone on a line is one of them)."""
        for index, (row, lines) in enumerate(zip(rows, spans, strict=True)):
            for field in row:
                if ("\n" in field or "\r" in field) and delimiter in field:
                    self.bad_rows[first + index] = (
                        f"a quoted field runs over {lines} lines and holds the delimiter {delimiter!r}: probably a quote "
                        f"left open, which took the next {lines - 1} line(s) of the file into this row; check the quotes")
                    break

    def _records_of(self, lines: list[str], lines_left: Iterator[str]
                    ) -> tuple[list[list[str]], list[str | None], list[int]]:
        """The records that start in `lines`, each with its original text and the number of lines
        it took; the last may take more lines from `lines_left` (a quoted field with line breaks)."""
        tap = RecordTextLines(itertools.chain(lines, lines_left))
        reader = csv.reader(tap, delimiter=self.dialect.delimiter)
        rows: list[list[str]] = []
        originals: list[str | None] = []
        spans: list[int] = []
        left = len(lines)
        while left > 0:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:  # a field over FIELD_LIMIT
                number = self.count + sum(1 for row in rows if row) + 1
                raise UsageError(f"data row {number}: {error}") from None
            left -= len(tap.taken)
            spans.append(len(tap.taken))
            rows.append(row)
            originals.append(tap.record())
        return rows, originals, spans

    def _undecodable_row(self, number: int, text: str) -> None:
        """Match a record holding U+FFFD to an undecodable line, and keep that line's error for its row."""
        for index, (line, message) in enumerate(self.undecodable):
            if text in line or line.rstrip("\r\n") in text:
                del self.undecodable[index]
                self.bad_rows[number] = message
                return


class RecordTextLines:
    """The lines the csv reader takes, kept until the record they make is written.

    A row whose fields need no padding is written back as its original text, byte for byte
    (quoting included), instead of being serialised again.
    """

    __slots__ = ("lines", "taken")

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = iter(lines)
        self.taken: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.taken.append(line)
        return line

    def record(self) -> str:
        """The text of the record just read, without its line ending; forgets it."""
        text = self.taken[0] if len(self.taken) == 1 else "".join(self.taken)
        self.taken.clear()
        return text.rstrip("\r\n")


def split_plain(lines: list[str], delimiter: str) -> tuple[list[list[str]], list[str | None]] | None:
    """(rows, original texts) of lines that hold no quote, no NUL and no line break but their
    ending, split at the delimiter: what csv.reader makes of them (tested), at a fraction of the
    cost; None for any other lines."""
    text = "".join(lines)
    if '"' in text or "\0" in text or len(text) > FIELD_LIMIT or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return None
    originals: list[str | None] = list(map(str.rstrip, lines, itertools.repeat("\r\n")))
    if text.count("\n") + (not text.endswith("\n")) != len(lines):
        return None  # a line break inside a line (lines not from a file)
    rows = list(map(str.split, originals, itertools.repeat(delimiter)))  # type: ignore[arg-type]
    if "" in originals:  # a blank line is an empty record, as csv.reader has it
        rows = [row if row != [""] or original else [] for row, original in zip(rows, originals, strict=True)]
    return rows, originals
