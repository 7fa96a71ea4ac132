"""Bytes → text lines: the encoding, a UTF-8 byte-order mark, and lines that do not decode.

The first stage of an export run. `DecodedLines` turns a byte stream into text lines as a
file opened with `newline=''` would give them (a CR alone ends a line too), decoding a block of
lines in one go. A byte that does not decode in the first `SAMPLE_LINES` lines means the file
is in another encoding: a usage error before any output. Past them it is one bad line: kept
with U+FFFD in `undecodable`, and the CSV reader turns it into an error on that line's row.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Callable, Iterable, Iterator

from levlab.errors import UsageError, shown
from levlab.exports.dialect import SAMPLE_LINES

DECODE_BLOCK = 1_024  # lines decoded together
#: bytes read at most at a time: a line longer than this (a file whose lines end in a CR alone
#: reads as one line to a byte stream) is read in pieces and split at its lone CRs (issue 18)
READ_PIECE = 64 * 1024
#: the longest line read (bytes): a line that goes on past it (a file with no line ends at all, a
#: binary file) ends the run with an error naming the line, instead of being held in memory whole
LINE_LIMIT = 16 * 1024 * 1024
UNDECODABLE_KEPT = 10_000  # undecodable lines remembered until their row is written
_UTF8 = {"utf-8", "utf-8-sig"}
_CONTROL_BYTE = re.compile(rb"[\x00-\x08\x0e-\x1f]")
#: what a file is by its first bytes, when it is not text: (magic bytes, what it is, what to do)
FILE_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or OpenDocument .ods workbook is one)",
     "if it is a workbook, open it and export the sheet as CSV; else unzip it"),
    (b"PK\x05\x06", "an empty ZIP archive", "give the CSV file itself"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls workbook (or another Office document)",
     "open it and save it as .xlsx (Excel workbook) or export the sheet as CSV"),
    (b"%PDF-", "a PDF document", "levlab reads CSV exports; ask the laboratory system for a CSV export"),
    (b"\x1f\x8b", "gzip-compressed", "decompress it first: gunzip -c FILE | levlab csv -"),
    (b"BZh", "bzip2-compressed", "decompress it first: bunzip2 -c FILE | levlab csv -"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first: xz -dc FILE | levlab csv -"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it first: zstd -dc FILE | levlab csv -"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract the CSV file from it first"),
    (b"Rar!\x1a\x07", "a RAR archive", "extract the CSV file from it first"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV (sqlite3 -csv -header)"),
    (b"PAR1", "a Parquet file", "export it as CSV"),
    (b"{\\rtf", "an RTF document", "save the table as CSV"),
    (b"\x89PNG", "a PNG image", "levlab reads CSV exports"),
    (b"\xff\xd8\xff", "a JPEG image", "levlab reads CSV exports"),
    (b"GIF8", "a GIF image", "levlab reads CSV exports"),
    (b"\x7fELF", "an executable program", "levlab reads CSV exports"),
)
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")  # after a CR that is not part of CRLF: a line break to csv
_CR_INSIDE = re.compile(r"\r[^\n]")  # in lines joined by LF: a lone CR inside a line, not at its end
#: after a line end: LF, or a CR that is followed by something else than LF (a CR at the end of
#: the text read so far may be the first half of a CRLF, and waits for what follows)
_TEXT_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?=[^\n])")


def split_lines(binary: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a byte stream, each with its line end (LF, CRLF or a CR alone), as a file
    opened with `newline=''` splits them, in bounded memory: a stream is read at most
    `READ_PIECE` bytes at a time (what a pipe has ready, not more), so that a file whose lines end
    in a CR alone is not read as one huge line. Any other iterable of byte strings (already
    lines) is passed through."""
    read = getattr(binary, "read1", None) or getattr(binary, "read", None)
    if read is None:
        return iter(binary)
    return itertools.chain.from_iterable(_line_lists(read))


def _line_lists(read: Callable[[int], bytes]) -> Iterator[list[bytes]]:
    """The lines of what `read` gives, a list per piece read; a line that goes on past a piece (or
    ends in a CR that may be the first half of a CRLF) waits for the next piece."""
    parts: list[bytes] = []  # the unfinished line
    pending = 0  # its length
    number = 0  # lines yielded
    while piece := read(READ_PIECE):
        if parts and b"\n" not in piece and b"\r" not in piece:  # a long line goes on
            parts.append(piece)
            pending += len(piece)
            if pending > LINE_LIMIT:
                raise UsageError(too_long(number + 1))
            continue
        if parts:
            parts.append(piece)
            piece = b"".join(parts)
        lines = piece.splitlines(keepends=True)  # bytes split at LF, CRLF and CR only
        parts = [] if lines[-1][-1:] == b"\n" else [lines.pop()]
        pending = len(parts[0]) if parts else 0
        if len(piece) > LINE_LIMIT and max(map(len, lines), default=0) > LINE_LIMIT:  # no line is longer than its piece
            raise UsageError(too_long(number + 1 + next(i for i, line in enumerate(lines) if len(line) > LINE_LIMIT)))
        number += len(lines)
        if lines:
            yield lines
    if parts:
        yield [b"".join(parts)]


def too_long(number: int) -> str:
    """The error for line `number` running past LINE_LIMIT."""
    return (f"line {number} runs past {LINE_LIMIT // (1024 * 1024)} MiB without a line end (LF, CRLF or CR): "
            "this is not a line-by-line text export (or it was cut off or corrupted); levlab stops reading here")


class DecodedLines:
    """The lines of a byte stream as text; an undecodable byte is one error naming its line.

    UTF-8 (the default) is read with or without a byte-order mark; `bom` tells, once the first
    line is read, whether there was one (the CSV output keeps it). `progress`, if given, is
    called now and then with the number of bytes read so far.
    """

    def __init__(self, binary: Iterable[bytes], encoding: str = "utf-8",
                 progress: Callable[[int], None] | None = None) -> None:
        self.binary = binary
        self.encoding = encoding
        self.codec = check_encoding(encoding)
        self.progress = progress
        self.bom = False
        #: how the encoding is described in the report when it is not simply `encoding`: a UTF-16 or
        #: UTF-32 file (by its byte-order mark or --encoding), transcoded to UTF-8 as it is read
        self.read_as: str | None = None
        #: (line as read, with U+FFFD for its bad bytes, message): lines past the first
        #: SAMPLE_LINES that did not decode; CsvRun turns each into an error on its row
        self.undecodable: list[tuple[str, str]] = []

    def __iter__(self) -> Iterator[str]:
        return itertools.chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[list[str]]:
        """The lines, a block at a time: decoded in one go unless a line in the block needs care
        (a byte that does not decode, a CR alone)."""
        codec, progress = self.codec, self.progress
        raw_lines = split_lines(self.binary)
        first = next(raw_lines, None)
        if first is None:
            return
        what = binary_kind(first)
        if what is not None:
            if first.startswith(b"PK") and len(first) < 4096:  # which archive: look a little further
                what = binary_kind(first + b"".join(itertools.islice(raw_lines, 64))) or what
            raise UsageError(what)
        wide = _wide_encoding(first, codec)
        if wide is not None:  # UTF-16/32: decoded here, and read on as UTF-8
            marked = first.startswith(tuple(bom for bom, _ in _BOMS))
            self.read_as = f"{wide} ({'byte-order mark' if marked else '--encoding'}); output in UTF-8"
            raw_lines = _as_utf8(itertools.chain([first], raw_lines), wide)
            codec = "utf-8"
            first = next(raw_lines, b"")
        elif not codec.startswith(("utf-16", "utf-32")) and (interleaved := nul_interleaved(first)) is not None:
            raise UsageError(f"the file is {interleaved.upper()} without a byte-order mark (its text is interleaved "
                             f"with NUL bytes): pass --encoding {interleaved}")
        done = 0  # bytes read
        if first.startswith(codecs.BOM_UTF8):  # stripped whatever the encoding: read as cp1252 it is 'ï»¿'
            self.bom = True  # and would hide the first column's name (issue 19.10)
            first = first[len(codecs.BOM_UTF8):]
        block = [first]
        number = 0  # lines before the block
        while block:
            try:
                lines = list(map(bytes.decode, block, itertools.repeat(codec)))
            except UnicodeDecodeError:
                lines = [self._decode(number + offset, raw) for offset, raw in enumerate(block, start=1)]
            text = "".join(lines)
            if "\r" in text and text.count("\r") != text.count("\r\n") and _CR_INSIDE.search("\n".join(lines)):
                # a CR alone ends a line (old Mac files), as for a file opened with newline='';
                # `split_lines` has split a stream's long lines at them already
                lines = [piece for line in lines for piece in _LONE_CR.split(line) if piece]
            yield lines
            number += len(block)
            if progress is not None:
                done += sum(map(len, block))
                progress(done)
            # blocks grow from one line: a slow pipe's first lines are not held back for long
            block = list(itertools.islice(raw_lines, min(number, DECODE_BLOCK)))

    def _decode(self, number: int, raw: bytes) -> str:
        """One line that may not decode: an error before any output, else kept with U+FFFD."""
        try:
            return raw.decode(self.codec)
        except UnicodeDecodeError as error:
            if number <= SAMPLE_LINES:  # before any output: the file is in another encoding
                raise UsageError(self._explain(number, raw, error)) from None
            line = raw.decode(self.codec, "replace")
            if len(self.undecodable) < UNDECODABLE_KEPT:
                self.undecodable.append((line, self._explain(number, raw, error)))
            return line

    def _explain(self, number: int, raw: bytes, error: UnicodeDecodeError) -> str:
        byte = raw[error.start:error.start + 1].hex()
        hint = "cp1252" if self.codec in _UTF8 else "utf-8"
        return (f"line {number}: byte 0x{byte} cannot be read as {self.encoding}; the file is in another "
                f"encoding: try --encoding {hint} (or latin-1)")


def binary_kind(start: bytes) -> str | None:
    """What a file that starts with these bytes is, when its signature says it is not text (an
    Excel workbook, a PDF, a compressed file...), with what to do; None for anything else."""
    for magic, what, advice in FILE_SIGNATURES:
        if start.startswith(magic):
            if magic.isascii() and magic.isalnum() and not _CONTROL_BYTE.search(start[:64]):
                continue  # a text header may begin with BZh, PAR1 or GIF8; those files hold control bytes at once
            if magic == b"PK\x03\x04" and (b"xl/" in start[:4096] or b"[Content_Types].xml" in start[:64]):
                what, advice = "an Excel workbook (.xlsx)", "open it and export the sheet as CSV"
            elif magic == b"PK\x03\x04" and b"opendocument.spreadsheet" in start[:128]:
                what, advice = "an OpenDocument spreadsheet (.ods)", "open it and export the sheet as CSV"
            return f"this is {what}, not a CSV text file: {advice} (levlab reads CSV, .xlsx workbooks and FHIR JSON)"
    return None


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))  # UTF-32's first: they begin alike


def _wide_encoding(first: bytes, codec: str) -> str | None:
    """The UTF-16/32 codec to read the file with: from its byte-order mark (which wins), or the
    one given; None for any other encoding."""
    for bom, name in _BOMS:
        if first.startswith(bom):
            return name
    return codec if codec.startswith(("utf-16", "utf-32")) else None


def _as_utf8(raw_lines: Iterator[bytes], codec: str) -> Iterator[bytes]:
    """Lines of a UTF-16/32 byte stream (split at byte 0x0A, so not at its line ends) as UTF-8
    lines; a leading byte-order mark is dropped, bytes that do not decode become U+FFFD."""
    decoder = codecs.getincrementaldecoder(codec)("replace")
    pending = ""
    for chunk in raw_lines:
        pieces = _TEXT_LINE_END.split(pending + decoder.decode(chunk))
        pending = pieces.pop()
        for piece in pieces:
            yield piece.removeprefix("\ufeff").encode("utf-8", "surrogatepass")
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending.removeprefix("\ufeff").encode("utf-8", "surrogatepass")


_INTERLEAVED = (("utf-32-le", 4, {1, 2, 3}), ("utf-32-be", 4, {0, 1, 2}), ("utf-16-le", 2, {1}), ("utf-16-be", 2, {0}))


def nul_interleaved(start: bytes) -> str | None:
    """The UTF-16/32 encoding whose NUL bytes the start of a file shows (`a\\0b\\0` is utf-16-le),
    when it has no byte-order mark; None if the NUL bytes (if any) follow no such pattern."""
    sample = start[:4096]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    for name, width, nul_at in _INTERLEAVED:
        for phase in range(width):
            column = sample[phase::width]
            zeros = column.count(0) / len(column)
            if (zeros < 0.9) if phase in nul_at else (zeros > 0.1):
                break
        else:
            return name
    return None


def check_encoding(encoding: str) -> str:
    """The codec's canonical name, or a usage error for an unknown encoding."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(f"unknown encoding {shown(encoding)}; try utf-8, cp1252 or latin-1") from None
