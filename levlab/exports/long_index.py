"""The index pass of a long file read by its key columns alone, when every line is plain.

`grouping.index_splits` finds the keys whose rows are split over more than one run by reading
the whole file again through the CSV reader and the repeated-header watch. `plain_index` gives
the same index with less work when the file allows it:

* a block of lines is *plain* as `csv_records.split_plain` has it (no quote, no NUL, no CR but in
  CRLF, one record per line), every line with exactly the header's number of fields;
* a line whose value cell holds only digits, `.`, `,`, `<`, `>`, `=`, `≤`, `≥` and spaces (but
  the delimiter) can be no repeated header (`reheader.HeaderWatch` looks further only
  at a value cell holding something else); one regular-expression pass over the block checks
  that for every line and gives each line's text up to its last key column (its *prefix*);
* lines in a row with the same prefix have the same key, so a key is made only where the prefix
  changes (from the prefix's cells, by the same `long_keys` function), and neighbouring prefixes
  with the same key are one run. A row without a patient id is a key of its own, as ever;
* a block whose value cells are not all numbers is split in full (`split_plain`) and looked at by
  the header watch: with no header in it, its keys are the rows' keys.

Anything else — a quote, a blank or short or long line, a repeated header, a line that did not
decode, a reader that is not the CSV reader — and `plain_index` answers `NOT_PLAIN`: the caller
reads the file the long way. So the index is the long way's in every case (a property test holds
the two together on fuzzed files).
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from levlab.exports.csv_records import FIELD_LIMIT, CsvRecords, split_plain
from levlab.exports.long_keys import LONE, KeysOf
from levlab.exports.reheader import HeaderWatch

if TYPE_CHECKING:
    from levlab.exports.run import ExportRun

NOT_PLAIN = object()  # plain_index's answer for a file it cannot index by its key columns alone
BLOCK_LINES = 4_096  # lines looked at together


class RunIndex:
    """Row counts per key over runs given in file order; the keys seen in more than one run."""

    __slots__ = ("counts", "last", "split")

    def __init__(self) -> None:
        self.counts: dict[Any, int] = {}
        self.split: set[Any] = set()
        self.last: Any = object()  # the key of the run before

    def add(self, key: Any, size: int) -> None:
        """A run of `size` rows with `key` (the run before goes on when its key is the same)."""
        counts = self.counts
        if key == self.last:
            counts[key] += size
        elif key in counts:
            self.split.add(key)
            counts[key] += size
        else:
            counts[key] = size
        self.last = key

    def splits(self) -> dict[Any, int]:
        """The keys whose rows are split over more than one run, with their row counts, in the
        order they first appear."""
        return {key: size for key, size in self.counts.items() if key in self.split}


def plain_index(run: ExportRun, reader: Any, keys_of: KeysOf, limit: int) -> dict[Any, int] | object | None:
    """`grouping.index_splits` of a file read again (`reader`), by its key columns alone: the split
    keys with their row counts; None past `limit` keys; NOT_PLAIN when a line is not plain."""
    layout = run.layout
    value_at = layout.roles.get("value")
    if (not isinstance(reader, CsvRecords) or len(reader.header) != layout.width or layout.width < 2
            or not layout.group or value_at is None):
        return NOT_PLAIN
    delimiter = reader.dialect.delimiter
    last_key = max([*layout.group, layout.lone_without if layout.lone_without is not None else 0])
    lines_pattern = _lines_pattern(delimiter, layout.width, last_key, value_at)
    watch = HeaderWatch(layout, run.options, run.dialect.decimal, delimiter)
    index = RunIndex()
    number = 1  # the row number of the block's first line
    lines = reader.record_lines.lines
    while block := list(itertools.islice(lines, BLOCK_LINES)):
        text = "".join(block)
        if not _plain(text, len(block)):
            return NOT_PLAIN
        prefixes = lines_pattern.findall(text)
        if len(prefixes) == len(block):
            _add_prefix_runs(index, prefixes, number, delimiter, keys_of)
        elif not _add_rows(index, block, number, delimiter, layout.width, watch, keys_of):
            return NOT_PLAIN
        number += len(block)
        if len(index.counts) > limit:
            return None
    return index.splits()


def _lines_pattern(delimiter: str, width: int, last_key: int, value_at: int) -> re.Pattern[str]:
    """Lines of exactly `width` fields whose value cell is a plain number's; the group: the
    line's text up to its field `last_key`."""
    cell = f"[^{re.escape(delimiter)}\r\n]*"
    number = "[" + "".join(re.escape(char) for char in "0123456789.,<>=≤≥ " if char != delimiter) + "]*"
    fields = [number if at == value_at else cell for at in range(width)]
    prefix = re.escape(delimiter).join(fields[:last_key + 1])
    rest = "".join(re.escape(delimiter) + field for field in fields[last_key + 1:])
    return re.compile(f"^({prefix}){rest}\r?$", re.MULTILINE)


def _plain(text: str, count: int) -> bool:
    """Whether `count` lines joined in `text` are plain, as `csv_records.split_plain` has it, and
    decoded whole (a line that did not decode is the long way's to report)."""
    return not ('"' in text or "\0" in text or "\ufffd" in text or len(text) > FIELD_LIMIT
                or ("\r" in text and text.count("\r") != text.count("\r\n"))
                or text.count("\n") + (not text.endswith("\n")) != count)


def _add_prefix_runs(index: RunIndex, prefixes: list[str], number: int, delimiter: str, keys_of: KeysOf) -> None:
    """The runs of a block by its lines' prefixes: a key made where the prefix changes."""
    starts = list(itertools.compress(range(len(prefixes)),
                                     map(operator.ne, prefixes, itertools.chain([None], prefixes))))
    keys = keys_of(0, [prefixes[start].split(delimiter) for start in starts])
    add = index.add
    for start, end, key in zip(starts, [*starts[1:], len(prefixes)], keys, strict=True):
        if type(key) is tuple and len(key) == 2 and key[0] is LONE:  # no patient id: each row a key of its own
            for row in range(number + start, number + end):
                add((LONE, row), 1)
        else:
            add(key, end - start)


def _add_rows(index: RunIndex, block: list[str], number: int, delimiter: str, width: int, watch: HeaderWatch,
              keys_of: KeysOf) -> bool:
    """The runs of a block split in full: False (nothing added) for a blank, short or long line
    or a header repeated in it."""
    split = split_plain(block, delimiter)
    if split is None:
        return False
    rows = split[0]
    if any(len(row) != width for row in rows) or watch._headers_in(rows):
        return False
    keys = keys_of(number, rows)
    starts = list(itertools.compress(range(len(keys)), map(operator.ne, keys, itertools.chain([None], keys))))
    for start, end in zip(starts, [*starts[1:], len(keys)], strict=True):
        index.add(keys[start], end - start)
    return True


def indexed(run: ExportRun, keys_function: Callable[[list[str]], KeysOf], limit: int,
            full: Callable[[Iterator[Any], KeysOf], dict[Any, int] | None]) -> dict[Any, int] | None:
    """The split keys of the file `run` reads again (None past `limit` keys): by its key columns
    when every line is plain, else `full` over the file's watched chunks."""
    assert run.reread is not None
    with run.reread() as reader:
        found = plain_index(run, reader, keys_function([]), limit)
    if found is not NOT_PLAIN:
        return found  # type: ignore[return-value]
    with run.reread() as reader:
        return full(run.watched(reader), keys_function([]))
