"""Long records → panels: a row per result; a panel is all the rows with the same key.

`LongPanels.write` reads a long export a chunk at a time and wires four parts together:

* `exports.long_keys` — each row's panel key (patient and sample, or the `--group-by` columns);
* `exports.long_cells` — each row's analyte and reading, looked up column by column;
* `exports.grouping` — every run of consecutive rows with one key goes there; it joins a key's
  runs when they are apart (an unsorted file) and has each panel decided from all its rows, or
  never claims `met` for a stream's fragment that comes back too late;
* `exports.long_decision` decides a panel, `exports.long_rows` writes its rows.

The run still open at the end of a chunk goes on into the next. A file without a key is one
panel, up to `KEYLESS_PANEL_ROWS` rows; past that no single sample is that long, and each row is
a panel of its own (memory stays bounded).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from levlab.exports.layout import KEYLESS_PANEL_ROWS
from levlab.exports.long_cells import Cell, LongCells
from levlab.exports.long_decision import LongDecision
from levlab.exports.long_keys import LONE, KeysOf, panel_keys
from levlab.exports.long_rows import LongChunkOutput, LongRows
from levlab.exports.long_usual import UsualPanels
from levlab.exports.records import RecordChunk
from levlab.exports.sinks import Sink

if TYPE_CHECKING:
    from levlab.exports.run import ExportRun


class OpenRun:
    """The rows of the run still open (one key), with their original texts and cells."""

    __slots__ = ("cells", "first", "key", "originals", "rows")

    def __init__(self, key: Any = None, first: int = 0) -> None:
        self.key, self.first = key, first
        self.rows: list[list[str]] = []
        self.originals: list[str | None] = []
        self.cells: list[Cell] = []

    def extend(self, rows: list[list[str]], originals: list[str | None], cells: list[Cell]) -> None:
        self.rows += rows
        self.originals += originals
        self.cells += cells


class LongPanels:
    """Each run of rows with the same key in a long export a panel, into a sink."""

    def __init__(self, run: ExportRun, sink: Sink) -> None:
        self.run, self.sink = run, sink
        self.layout, self.summary = run.layout, run.summary
        self.cells = LongCells(self.layout, run.judge)
        self.decision = LongDecision(run, sink)
        self.rows = LongRows(run, sink, self.decision.book) if sink.wants_rows else None
        self.usual = (UsualPanels(run, sink, self.decision, self.rows)
                      if self.rows is not None and UsualPanels.applies(run, sink, self.decision) else None)

    def keys_function(self, implausible: list[str]) -> KeysOf:
        """(first row number, rows) -> each row's panel key (`exports.long_keys.panel_keys`)."""
        return panel_keys(self.layout, implausible)

    def cells_of(self, rows: list[list[str]]) -> list[Cell]:
        """Each row's (analyte, reading), as `write` looks them up."""
        return self.cells.of(rows)

    def panel(self, rows: list[list[str]], originals: list[str | None], cells: list[Cell],
              numbers: Sequence[int], out: LongChunkOutput, withheld: str | None = None, *, fragment: bool = False) -> None:
        """One panel of a long file whose rows are all here: decided, its rows' output put in `out`
        (a usual one in one go, `exports.long_usual`)."""
        if self.usual is not None and withheld is None and self.usual.write(rows, originals, cells, numbers, out):
            return
        decided = self.decision.decide(rows, cells, numbers, self.run.records.bad_rows, withheld, fragment=fragment)
        if self.rows is not None:
            self.rows.write(rows, originals, cells, numbers, decided, out)

    def write(self, chunks: Iterable[RecordChunk]) -> None:
        """Runs of rows with the same key go to the grouping (`levlab.exports.grouping`), which makes
        them panels. The run still open at the end of a chunk goes on into the next."""
        from levlab.exports.grouping import grouping_for

        keys_of = self.keys_function(self.summary.implausible_dates)
        grouping = grouping_for(self, self.keys_function)
        open_run = OpenRun()
        keyless, apart = not self.layout.group, False  # a file without a key: one panel, up to a limit
        for first, rows, originals in chunks:
            if keyless and len(open_run.rows) + len(rows) > KEYLESS_PANEL_ROWS:  # no single sample: a row is a panel
                keyless = False
                apart = self.summary.keyless_rows_apart = True
                self._each_row_a_panel(open_run, grouping)
                open_run = OpenRun()
            keys = [(LONE, first + index) for index in range(len(rows))] if apart else keys_of(first, rows)
            open_run = self._runs_of_chunk(first, rows, originals, keys, open_run, grouping)
        out = LongChunkOutput()
        try:
            if open_run.rows:
                grouping.run(open_run.key, open_run.rows, open_run.originals, open_run.cells, open_run.first, out)
            grouping.finish(out)
        finally:
            out.give(self.sink)
        given = set(self.run.options.maps)  # --map options (a --codes file is a dictionary: most of it unused)
        self.summary.unused_maps = self.cells.unused_maps(given)

    def _runs_of_chunk(self, first: int, rows: list[list[str]], originals: list[str | None], keys: list[Any],
                       open_run: OpenRun, grouping: Any) -> OpenRun:
        """Each run of a chunk that ends in it to the grouping; the run still open returned."""
        cells = self.cells.of(rows)
        # rows where a new run starts (the first row too when nothing is open)
        starts = list(itertools.compress(range(len(rows)), map(operator.ne, keys, itertools.chain([open_run.key], keys))))
        if not open_run.rows and (not starts or starts[0] != 0):
            starts.insert(0, 0)
        carried = open_run if open_run.rows else None  # a run that goes on from the chunks before
        if carried is not None and not starts:  # no run ends in this chunk
            carried.extend(rows, originals, cells)
            return carried
        out = LongChunkOutput()
        try:
            key, run_first, at = open_run.key, open_run.first, 0
            for start in starts:
                if carried is not None:  # it ends here, with this chunk's rows before `start`
                    carried.extend(rows[:start], originals[:start], cells[:start])
                    grouping.run(carried.key, carried.rows, carried.originals, carried.cells, carried.first, out)
                    carried = None
                elif start > at:  # a run that starts and ends in this chunk
                    grouping.run(key, rows[at:start], originals[at:start], cells[at:start], run_first, out)
                key, run_first, at = keys[start], first + start, start
        finally:  # panels before a --strict stop are still written
            out.give(self.sink)
        open_run = OpenRun(key, run_first)
        open_run.extend(rows[at:], originals[at:], cells[at:])
        return open_run

    def _each_row_a_panel(self, open_run: OpenRun, grouping: Any) -> None:
        """The rows held of a keyless file, past its limit: each a panel of its own."""
        out = LongChunkOutput()
        try:
            for offset, (row, original, cell) in enumerate(zip(open_run.rows, open_run.originals, open_run.cells,
                                                                strict=True)):
                number = open_run.first + offset
                grouping.run((LONE, number), [row], [original], [cell], number, out)
        finally:
            out.give(self.sink)
