"""Decimal marks in an export's cells: when a file writes both, a thousands-shaped cell is ambiguous.

The dialect's decimal mark (given, or following the delimiter) reads `1,250` in a `;` file as
1.25. When other cells of the same file write the other mark as a decimal mark (`12.5`), the
file evidently uses both, and `1,250` could be 1.25 or 1250: such a cell is refused, as
`levlab interpret` refuses `1,234` (issue 19.7). The rule, by the shape of the number:

* **ambiguous** (the thousands-group shape): one to three digits, not starting with 0, the
  declared mark, exactly three digits: `1,250`, `7,500`, `12,500`, `100,000`;
* **unambiguous**: a fraction of one, two or four or more digits (`12,5`, `7,50`, `1,2500`), an
  integer part of 0 (`0,250`: no thousands group starts with 0) or of four or more digits
  (`1234,567`: a group has at most three digits before the separator);
* **evidence of the other mark** as a decimal mark: a cell whose number uses it in an
  unambiguous shape (`12.5`, `0.250`, `7.50`).

Evidence comes from a scan of the raw file before the run when the input is a file
(`scan_file`: one regular-expression search over its bytes, which stops at the first hit), and
from the cells read during the run (`Judge.read`), which is all a stream allows: there, a
thousands-shaped cell read before the first evidence keeps the declared mark, and the closing
lines name such cells.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import IO

OTHER = {",": ".", ".": ","}
_COMPARATOR = r"(?:[<>]=?|=|≤|≥)?"
#: the number at the start of a value cell: comparator, integer digits, mark, fraction digits
_NUMBER = re.compile(r"\s*" + _COMPARATOR + r"\s*([0-9]*)([.,])([0-9]+)(?![0-9.,])")


def thousands_shaped(text: str, decimal: str) -> bool:
    """Whether a value cell's number has the thousands-group shape with the declared mark (`1,250`)."""
    found = _NUMBER.match(text)
    if found is None:
        return False
    integer, mark, fraction = found.groups()
    return mark == decimal and 1 <= len(integer) <= 3 and integer[0] != "0" and len(fraction) == 3


def other_mark_decimal(text: str, decimal: str) -> bool:
    """Whether a value cell's number uses the other mark as a decimal mark, unambiguously (`12.5`
    in a file whose declared mark is `,`)."""
    found = _NUMBER.match(text)
    if found is None:
        return False
    integer, mark, fraction = found.groups()
    if mark == decimal:
        return False
    return not integer.lstrip("0") or len(fraction) != 3 or len(integer) >= 4


def _evidence_pattern(delimiter: str, decimal: str) -> re.Pattern[bytes]:
    """A cell of a delimited text (bytes of an ASCII-compatible encoding) whose number uses the
    other mark as a decimal mark, unambiguously; a unit may follow (`12.5 mg/dL`), a date may not."""
    d = re.escape(delimiter.encode())
    o = re.escape(OTHER[decimal].encode())
    comparator = rb"(?:[<>]=?|=|\xe2\x89[\xa4\xa5])?"
    number = rb"(?:0*" + o + rb"[0-9]+|[0-9]+" + o + rb"(?:[0-9]{1,2}|[0-9]{4,})|[0-9]{4,}" + o + rb"[0-9]{3})"
    if OTHER[decimal] == delimiter:  # `"12,5"` in a comma-delimited file: only inside quotes, else two cells
        # starts with a literal quote, which the regular-expression engine finds quickly; the
        # character before it (a delimiter or a line end) is checked by `scan_file`
        return re.compile(rb"\"[ \t]*" + comparator + rb"[ \t]*" + number + rb"(?=[ \t]*[^0-9.,\r\n\"]*\")")
    # starts with the character before the cell (a block is searched with a line end put in front)
    end = rb"(?=[ \t]*[^0-9.,\r\n\"" + d + rb"]*(?:[" + d + rb"\"\r\n]|$))"
    return re.compile(rb"[" + d + rb"\"\n][ \t]*" + comparator + rb"[ \t]*" + number + end)


def line_blocks(binary: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """A byte stream in blocks of about `size` bytes that end at a line end (the last may not)."""
    rest = b""
    while piece := binary.read(size):
        piece = rest + piece
        cut = piece.rfind(b"\n") + 1
        if cut == 0 and len(piece) < 64 * size:  # a long line goes on (a longer one is cut: still found)
            rest = piece
            continue
        cut = cut or len(piece)
        yield piece[:cut]
        rest = piece[cut:]
    if rest:
        yield rest


def scan_file(blocks: Iterable[bytes], delimiter: str, decimal: str) -> str | None:
    """The first cell of a file's raw bytes (read in blocks that end at line ends) that writes the
    other decimal mark, as text with its line number (`'12.5' on line 4`), or None."""
    pattern = _evidence_pattern(delimiter, decimal)
    other = OTHER[decimal].encode()
    quoted = OTHER[decimal] == delimiter
    before = (delimiter.encode(), b"\n")
    lines = 0
    for block in blocks:
        if (b'"' if quoted else other) in block:  # else no cell of the block can write it
            padded = b"\n" + block
            found = pattern.search(padded)
            while quoted and found is not None and padded[found.start() - 1:found.start()] not in before:
                found = pattern.search(padded, found.start() + 1)  # a quote inside a cell
            if found is not None:
                number = lines + padded.count(b"\n", 1, found.start() + (not quoted)) + 1
                cell = found.group().strip(b" \t\"\n" + delimiter.encode()).decode("utf-8", "replace")
                return f"{cell!r} on line {number}"
        lines += block.count(b"\n")
    return None
