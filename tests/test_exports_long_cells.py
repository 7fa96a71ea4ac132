"""levlab.exports.long_cells: a long row's cell, with plain-number values of texts read before
taken by the reading lane (`numeric_lane.ReadingLane`), is what the long way makes of it: the
whole output (CSV and JSONL) of long files with and without the lane is the same, byte for byte,
for values on, a hair around and far from every limit, both decimal marks, lab ranges, units
stated in a column or in the test name, missing-value markers, comparators and unusual values."""

from __future__ import annotations

import io
import random

import pytest
from test_exports_numeric_lane import PATIENTS, UNITS, texts_for

from levlab.catalog import analytes
from levlab.exports import CsvOptions, CsvRun, CsvSink, JsonlSink
from levlab.exports.numeric_lane import ReadingLane

ODD = ("<5", ">1000", "", "na", "12 U/L", "-3", "1,250", "1.250", "7")


def _run(text: str, *, lane: bool, jsonl: bool, monkeypatch: pytest.MonkeyPatch, **options: object) -> tuple[str, int]:
    """The output of a long run, and how many values the lane read (`lane=False`: none)."""
    taken = 0
    original = ReadingLane.reading

    def counted(self: ReadingLane, *args: object) -> object:
        nonlocal taken
        found = original(self, *args) if lane else None  # type: ignore[arg-type]
        taken += found is not None
        return found

    with monkeypatch.context() as patch:
        patch.setattr(ReadingLane, "reading", counted)
        run = CsvRun(io.StringIO(text, newline=""), CsvOptions(**options))  # type: ignore[arg-type]
        out = io.StringIO(newline="")
        run.run(JsonlSink(out) if jsonl else CsvSink(out, run.dialect))
    return out.getvalue(), taken


def _long_file(analyte_id: str, unit: str, decimal: str, rng: random.Random) -> str:
    delimiter = "," if decimal == "." else ";"
    texts = texts_for(analyte_id, unit, decimal, seed=len(analyte_id) + 7 * len(unit))
    lines = [delimiter.join(("patient", "sample", "sex", "age", "test", "value", "unit", "range"))]
    name = analytes()[analyte_id].id
    for index, text in enumerate([*texts, *ODD] * 2):
        sex, age = PATIENTS[index % len(PATIENTS)]
        test, unit_cell = (f"{name} ({unit})", "") if rng.random() < 0.2 else (name, unit)
        lines.append(delimiter.join((f"P{index % 7}", f"S{index}", sex, age, test, text, unit_cell, "")))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("analyte_id", "unit"), UNITS[::2])
@pytest.mark.parametrize("decimal", [".", ","])
@pytest.mark.parametrize("jsonl", [True, False], ids=["jsonl", "csv"])
def test_a_long_file_through_the_reading_lane_is_the_long_way(analyte_id: str, unit: str, decimal: str, jsonl: bool,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    text = _long_file(analyte_id, unit, decimal, random.Random(analyte_id + unit))
    delimiter = "," if decimal == "." else ";"
    short, taken = _run(text, lane=True, jsonl=jsonl, monkeypatch=monkeypatch, delimiter=delimiter, decimal=decimal)
    long, none = _run(text, lane=False, jsonl=jsonl, monkeypatch=monkeypatch, delimiter=delimiter, decimal=decimal)
    assert none == 0 and taken > 20
    assert short == long


@pytest.mark.parametrize("jsonl", [True, False], ids=["jsonl", "csv"])
def test_lab_ranges_and_both_decimal_marks_in_one_file(jsonl: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # a lab range per row (some refused), and a value in the other decimal mark half way: from
    # then on thousands-shaped values and ranges are refused, as the long way refuses them
    rng = random.Random(3)
    lines = ["patient,sample,sex,age,test,value,unit,range"]
    for index in range(600):
        value = f"{rng.uniform(5, 400):.{rng.choice((0, 1, 2, 4))}f}"
        lab_range = rng.choice(["< 45", "10 - 40", "", "< 1.2", "nonsense", "0,5 - 40"])
        if index == 300:
            value = "12,5"
        lines.append(f"P{index % 9},S{index // 3},{rng.choice('FM ')},{rng.choice(['50', '', '80'])},ALT,"
                     f"{value},U/L,{lab_range}")
    text = "\n".join(lines) + "\n"
    short, taken = _run(text, lane=True, jsonl=jsonl, monkeypatch=monkeypatch)
    long, _ = _run(text, lane=False, jsonl=jsonl, monkeypatch=monkeypatch)
    assert taken > 100
    assert short == long
