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
UNDECODABLE_KEPT = 10_000  # undecodable lines remembered until their row is written
_UTF8 = {"utf-8", "utf-8-sig"}
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")  # after a CR that is not part of CRLF: a line break to csv


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
        if self.codec.startswith(("utf-16", "utf-32")):
            raise UsageError(f"{encoding} is not read line by line; convert the file first: "
                             f"iconv -f {encoding} -t UTF-8 FILE > FILE.utf8.csv")
        self.progress = progress
        self.bom = False
        #: (line as read, with U+FFFD for its bad bytes, message): lines past the first
        #: SAMPLE_LINES that did not decode; CsvRun turns each into an error on its row
        self.undecodable: list[tuple[str, str]] = []

    def __iter__(self) -> Iterator[str]:
        return itertools.chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[list[str]]:
        """The lines, a block at a time: decoded in one go unless a line in the block needs care
        (a byte that does not decode, a CR alone)."""
        codec, progress = self.codec, self.progress
        raw_lines = iter(self.binary)
        first = next(raw_lines, None)
        if first is None:
            return
        if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise UsageError("the file is UTF-16 (Excel's 'Unicode text'); convert it to UTF-8 first: "
                             "iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8.csv")
        done = 0  # bytes read
        if first.startswith(codecs.BOM_UTF8):
            self.bom = True
            if codec in _UTF8:
                first = first[len(codecs.BOM_UTF8):]
        block = [first]
        number = 0  # lines before the block
        while block:
            try:
                lines = list(map(bytes.decode, block, itertools.repeat(codec)))
            except UnicodeDecodeError:
                lines = [self._decode(number + offset, raw) for offset, raw in enumerate(block, start=1)]
            text = "".join(lines)
            if "\r" in text and text.count("\r") != text.count("\r\n"):
                # a CR alone ends a line (old Mac files), as for a file opened with newline=''
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


def check_encoding(encoding: str) -> str:
    """The codec's canonical name, or a usage error for an unknown encoding."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(f"unknown encoding {shown(encoding)}; try utf-8, cp1252 or latin-1") from None
