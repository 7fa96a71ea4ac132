"""Long exports whose samples are split over the input: a panel from all its rows, or never `met`.

A long panel is all the rows of one key (patient and sample, or the `--group-by` columns). A file
sorted by key holds each key in one run of consecutive rows; an unsorted one does not, and a
panel made of a key's first run could claim `met` (the 98% statement) while the rest of its
sample — a raised value — comes later in the file (issue 19.1). `LongPanels` hands every run of
rows to a grouping, which makes the panels:

* **A file** (it can be read again: `ExportRun.reread`), `FileGroups`. A first pass
  (`index_splits`) reads only each row's key and finds the keys whose rows are split over more
  than one run. The output pass then writes the rows in the file's order; at the first run of a
  split key, `Gatherer` reads all of that key's rows again from the file (one further pass
  collects the rows of the next split keys, in the order they first appear, up to `GATHER_ROWS`
  rows at a time), the panel is decided from all of them, and its later runs are written with
  that decision. Memory bound: the index (per distinct key its row count, at most `KEY_LIMIT`
  keys — beyond that the file is read as a stream, below), at most `GATHER_ROWS` gathered rows
  (or one key's rows, if more), and one decided panel per split key between its first and last
  run. Nothing is written to disk. A sorted file costs one extra pass that reads keys only.
* **A stream** (stdin, a pipe), `StreamGroups`: runs are held, in order, in a window of up to
  `WINDOW_ROWS` rows before they are written. A key that comes back while its rows are held joins
  its panel. A run is written when the window is full or the input ends, and its panel is decided
  then, from all its held rows. A key that comes back after its panel was written makes a panel
  of its own that is never `met` (`incomplete`, with the reason, an error on its first row). Once
  the stream has shown a key coming back, a panel written because the window was full is never
  `met` either (its rest may still come). The limit, said in the README: a stream that looks
  sorted for more than `WINDOW_ROWS` rows and then brings a key back finds that key's first
  panel already written; stderr then names how many such panels were written as `met`.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from levlab.exports import memo
from levlab.exports.long_index import RunIndex, indexed
from levlab.exports.long_keys import KeysOf  # (first row number, rows) -> each row's key
from levlab.exports.records import RecordChunk, RecordReader

if TYPE_CHECKING:
    from levlab.exports.long import LongPanels
    from levlab.exports.long_decision import Decided
    from levlab.exports.long_rows import LongChunkOutput
    from levlab.exports.run import ExportRun

KEY_LIMIT = 100_000  # distinct keys the index of a file holds; beyond, the file is read as a stream
GATHER_ROWS = 20_000  # rows of split samples gathered from a file at a time (about 1 KB each)
WINDOW_ROWS = 10_000  # rows of a stream held before they are written (about 1.6 KB each)

CHANGED = ("the file changed while it was read: these rows are only part of a sample, incomplete; "
           "read it again when it is complete")
Reread = Callable[[], contextlib.AbstractContextManager[RecordReader]]


def grouping_for(panels: LongPanels, keys_function: Callable[[list[str]], KeysOf]) -> FileGroups | StreamGroups:
    """The grouping for this run: by the file's index when it can be read again and has at most
    KEY_LIMIT keys, else the stream window."""
    run = panels.run
    if run.reread is not None and not getattr(run.records, "grouped", False):
        split = indexed(run, keys_function, KEY_LIMIT, index_splits)  # by the key columns alone when plain
        if split is not None:
            run.summary.grouping = "file"
            return FileGroups(panels, split, Gatherer(run, split, keys_function))
        run.summary.grouping = f"stream (more than {KEY_LIMIT:,} panel keys)"
    return StreamGroups(panels)


def index_splits(chunks: Iterable[RecordChunk], keys_of: KeysOf) -> dict[Any, int] | None:
    """The keys whose rows are split over more than one run, with their row counts, in the order
    they first appear; None when the file has more than KEY_LIMIT distinct keys."""
    index = RunIndex()
    for first, rows, _ in chunks:
        keys = keys_of(first, rows)
        if not keys:
            continue
        # where a run starts in this chunk (the first run may go on from the chunk before: `RunIndex.add`)
        starts = list(itertools.compress(range(len(keys)), map(operator.ne, keys, itertools.chain([None], keys))))
        add = index.add
        for start, end in zip(starts, [*starts[1:], len(keys)], strict=True):
            add(keys[start], end - start)
        if len(index.counts) > KEY_LIMIT:
            return None
    return index.splits()


@dataclass(slots=True)
class Gathered:
    """All the rows of one split key, read again from the file."""

    rows: list[list[str]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    bad_rows: dict[int, str] = field(default_factory=dict)  # as the reader's: row number -> why


class Gatherer:
    """The rows of split keys, read again from the file, a batch of keys per pass."""

    def __init__(self, run: ExportRun, split: dict[Any, int], keys_function: Callable[[list[str]], KeysOf],
                 budget: int | None = None) -> None:
        self.run, self.split, self.keys_function = run, split, keys_function
        self.budget = GATHER_ROWS if budget is None else budget
        self.order = list(split)
        self.position = {key: index for index, key in enumerate(self.order)}
        self.loaded: dict[Any, Gathered] = {}
        self.passes = 0

    def rows_of(self, key: Any) -> Gathered | None:
        """All the rows of `key` (None if the file no longer holds them); forgotten once given."""
        if key not in self.loaded:
            self._load(self.position.get(key))
        return self.loaded.pop(key, None)

    def _load(self, start: int | None) -> None:
        """One pass over the file: the rows of the split keys from `start` on, up to the budget."""
        self.loaded = {}
        if start is None:
            return
        batch: dict[Any, Gathered] = {}
        total = 0
        for key in self.order[start:]:
            if batch and total + self.split[key] > self.budget:
                break
            batch[key] = Gathered()
            total += self.split[key]
        keys_of = self.keys_function([])
        assert self.run.reread is not None
        with self.run.reread() as reader:
            for first, rows, _ in self.run.watched(reader):
                for offset, key in enumerate(keys_of(first, rows)):
                    gathered = batch.get(key)
                    if gathered is not None:
                        gathered.rows.append(rows[offset])
                        gathered.numbers.append(first + offset)
            bad_rows = reader.bad_rows
            if bad_rows:
                for gathered in batch.values():
                    gathered.bad_rows = {number: bad_rows[number] for number in gathered.numbers if number in bad_rows}
        self.passes += 1
        self.loaded = batch


class FileGroups:
    """A file's runs into panels: a split key's panel from all its rows, wherever they are."""

    def __init__(self, panels: LongPanels, split: dict[Any, int], gatherer: Gatherer) -> None:
        self.panels, self.split, self.gatherer = panels, split, gatherer
        self.decided: dict[Any, Decided] = {}  # split keys between their first and last run
        self.left: dict[Any, int] = {}  # their rows not yet written
        self.written: set[Any] = set()  # the other keys, once their panel is written
        panels.summary.split_keys = len(split)

    def run(self, key: Any, rows: list[list[str]], originals: list[str | None], cells: list[Any], first: int,
            out: LongChunkOutput) -> None:
        panels = self.panels
        numbers = range(first, first + len(rows))
        if key not in self.split:
            if key in self.written:  # not split when indexed: the file changed between the passes
                panels.summary.reopened += 1
                panels.panel(rows, originals, cells, numbers, out, withheld=CHANGED, fragment=True)
                return
            if len(self.written) < KEY_LIMIT:
                self.written.add(key)
            panels.panel(rows, originals, cells, numbers, out)
            return
        decided = self.decided.get(key)
        if decided is None:
            gathered = self.gatherer.rows_of(key)
            if gathered is None or not set(numbers) <= set(gathered.numbers):  # the file changed under us
                panels.panel(rows, originals, cells, numbers, out, withheld=CHANGED, fragment=True)
                return
            decided = self.decided[key] = panels.decision.decide(gathered.rows, panels.cells_of(gathered.rows),
                                                                 gathered.numbers, gathered.bad_rows)
            self.left[key] = len(gathered.rows)
            panels.summary.gather_passes = self.gatherer.passes
        bad_rows = panels.run.records.bad_rows  # this pass's: the gathering pass has said them
        if bad_rows:
            for number in numbers:
                bad_rows.pop(number, None)
        if panels.rows is not None:
            panels.rows.write(rows, originals, cells, numbers, decided, out)
        left = self.left[key] - len(rows)
        if left > 0:
            self.left[key] = left
        else:
            del self.left[key], self.decided[key]

    def finish(self, out: LongChunkOutput) -> None:
        """Nothing is held back from a file."""


class _Group:
    """The rows of one key held in a stream's window, until its panel is decided."""

    __slots__ = ("cells", "decided", "key", "numbers", "returning", "rows")

    def __init__(self, key: Any, returning: int | None) -> None:
        self.key = key
        self.rows: list[list[str]] = []
        self.cells: list[Any] = []
        self.numbers: list[int] = []
        self.decided: Decided | None = None
        self.returning = returning  # the first row of this key's panel already written, if any


class StreamGroups:
    """A stream's runs into panels through a window of held rows (see the module text)."""

    def __init__(self, panels: LongPanels, window: int | None = None) -> None:
        self.panels, self.window = panels, WINDOW_ROWS if window is None else window
        self.summary = panels.summary
        self.queue: deque[tuple[_Group, list[list[str]], list[str | None], list[Any], Sequence[int]]] = deque()
        self.held = 0  # rows in the queue
        self.open: dict[Any, _Group] = {}  # key -> its group, while undecided
        self.written: dict[Any, int] = {}  # key -> the first row of its panel, once decided (bounded)

    def run(self, key: Any, rows: list[list[str]], originals: list[str | None], cells: list[Any], first: int,
            out: LongChunkOutput) -> None:
        group = self.open.get(key)
        if group is None:
            group = self.open[key] = _Group(key, self.written.get(key))
            if group.returning is not None:
                self.summary.reopened += 1
        else:  # came back while its rows are held: one panel
            self.summary.split_keys += 1
        numbers = range(first, first + len(rows))
        group.rows += rows
        group.cells += cells
        group.numbers += numbers
        self.queue.append((group, rows, originals, cells, numbers))
        self.held += len(rows)
        while self.held > self.window:
            self._release(out, early=True)

    def finish(self, out: LongChunkOutput) -> None:
        """The end of the input: every held run is written."""
        while self.queue:
            self._release(out, early=False)

    def _release(self, out: LongChunkOutput, *, early: bool) -> None:
        """Write the oldest held run, deciding its panel first from all its held rows."""
        group, rows, originals, cells, numbers = self.queue.popleft()
        self.held -= len(rows)
        panels = self.panels
        if group.decided is None:
            key = group.key
            withheld = None
            if group.returning is not None:
                withheld = (f"rows of this sample came back after its panel (from row {group.returning}) was written: "
                            "these rows are only part of a sample, incomplete; sort the input by patient and sample, "
                            "or give it as a file rather than a stream")
            elif early and (self.summary.reopened or self.summary.split_keys):
                withheld = (f"the input is a stream whose samples are not together, and this panel was written after "
                            f"{self.window} rows: more of its sample may follow, so it is never met; sort the input "
                            "by patient and sample, or give it as a file rather than a stream")
                self.summary.withheld += 1
            group.decided = panels.decision.decide(group.rows, group.cells, group.numbers, panels.run.records.bad_rows,
                                                   withheld, fragment=group.returning is not None)
            if early and withheld is None and panels.decision.normal_status(group.decided) == "met":
                self.summary.met_early += 1
            del self.open[key]
            if key not in self.written and len(self.written) < memo.CACHE_LIMIT:
                self.written[key] = group.numbers[0]
            group.rows, group.cells = [], []
        if panels.rows is not None:
            panels.rows.write(rows, originals, cells, numbers, group.decided, out)
