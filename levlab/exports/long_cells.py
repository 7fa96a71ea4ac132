"""A long row's result: which analyte its test is, and its reading.

A long row holds one result: a test name (or code), a value, perhaps a unit, a laboratory range
and a specimen. `LongCells` turns each row into a *cell*, `(analyte, reading)`:

* `(Analyte, Reading)` — a result levlab takes (`exports.memo.Reading`: the measurement or its
  error), or `(Analyte, NOT_MEASURED)` for a missing-value marker;
* `(None, Passed)` — a result its specimen keeps out of the panel (`exports.specimens`);
* `(None, None)` — a test levlab does not take (it passes through).

The test name is read by `exports.names` (value maps, then the name-and-unit reader), the value
by `exports.memo.Judge.reading` (a plain-number value of texts read before by the short way,
`exports.numeric_lane.ReadingLane`). A cell is made once per distinct (test, code, value, unit, range,
specimen) texts and looked up again, column by column; the same texts give the same cell object,
which the panel decision may key on.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from levlab.catalog import Analyte
from levlab.errors import shown
from levlab.exports.memo import LONG_CELL, Reading
from levlab.exports.names import UNKNOWN, NamedAnalyte, NameReader, row_unit
from levlab.exports.numeric_lane import ReadingLane
from levlab.exports.records import fields_by_column
from levlab.exports.specimens import place

if TYPE_CHECKING:
    from levlab.exports.layout import Layout
    from levlab.exports.memo import Judge

Cell = tuple[Analyte | None, Any]  # (analyte or None, Reading | NOT_MEASURED | Passed | None)


class LongCells:
    """Each long row's cell, cached per (test, code, value, unit, range, specimen) texts."""

    def __init__(self, layout: Layout, judge: Judge) -> None:
        self.layout, self.judge = layout, judge
        self.cache = judge.new_cache()  # (test, code, value, unit, range, specimen texts) -> cell
        self.names = NameReader(layout.value_maps)  # test names and codes, with --map / --codes value maps
        self.lane = ReadingLane(judge.decimal, judge.na, judge.new_cache)  # plain-number values: exports.numeric_lane
        roles = layout.roles
        range_at = roles.get("range")
        self.range_source = (f"laboratory's own range (column {shown(layout.header[range_at].strip())})"
                             if range_at is not None else "")

    def of(self, rows: list[list[str]]) -> list[Cell]:
        """Each row's cell, looked up column by column; a cell not yet seen is made (`_cell`)."""
        roles = self.layout.roles
        test_at, value_at = roles["test"], roles["value"]
        code_at, unit_at, range_at = roles.get("code"), roles.get("unit"), roles.get("range")
        specimen_at = roles.get("specimen")
        fields = fields_by_column(rows, {i for i in (test_at, code_at, value_at, unit_at, range_at, specimen_at)
                                         if i is not None})
        keys = list(zip(fields[test_at], fields[code_at] if code_at is not None else itertools.repeat(""),
                        fields[value_at], fields[unit_at] if unit_at is not None else itertools.repeat(None),
                        fields[range_at] if range_at is not None else itertools.repeat(None),
                        fields[specimen_at] if specimen_at is not None else itertools.repeat(None), strict=False))
        cache = self.cache
        found = list(map(cache.get, keys))
        if None in found:
            for index, cell in enumerate(found):
                if cell is None:
                    key = keys[index]
                    cell = cache.get(key)
                    if cell is None:
                        cell = self._cell(key)
                        if not any(part is not None and len(part) > LONG_CELL for part in key):
                            cache[key] = cell
                    found[index] = cell
        return found

    def unused_maps(self, given: set[str]) -> list[str]:
        """The `--map` options in `given` that matched no test name or code."""
        return [o.text for o in self.layout.value_maps if o.text in given and o.text not in self.names.used]

    def _cell(self, key: tuple[Any, ...]) -> Cell:
        """One row's cell from its test name or code, value, unit, range and specimen texts."""
        name, code, value, unit, lab_range, specimen = key
        judge = self.judge
        test = self._analyte_of(name, code)
        analyte = test.analyte
        if analyte is not None and specimen is not None:
            analyte, passed = place(analyte, specimen, judge.na)
            if passed is not None:
                return None, passed
        if analyte is None:
            return None, None
        unit, problem = row_unit(test, unit, judge.na)  # a unit in the test name (`ALT (U/L)`) or its map
        if problem is not None and value.strip().casefold() not in judge.na:
            return analyte, Reading(analyte, None, problem)
        if judge.mixed_marks is None:  # (else a lab range's limit may be refused: exports.memo)
            reading = self.lane.reading(analyte, value, unit, lab_range)
            if reading is not None:
                judge.grow()
                return analyte, reading
        reading = judge.reading(analyte, value, unit, lab_range, self.range_source)
        if judge.mixed_marks is None:
            self.lane.learn(analyte, value, unit, lab_range, reading)
        return analyte, reading

    def _analyte_of(self, name: str, code: str) -> NamedAnalyte:
        """A test name or code read (exports.names: value maps, then the name-and-unit reader), cached."""
        names = self.judge.names
        key = (name, code)
        if key in names:
            return names[key]
        self.judge.grow()
        found = self.names.read(name, code) if len(name) <= LONG_CELL else UNKNOWN
        if len(name) + len(code) <= LONG_CELL:
            names[key] = found
        return found
