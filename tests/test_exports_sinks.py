"""levlab.exports.sinks: text made as csv.writer makes it."""

from __future__ import annotations

import csv
import io

import pytest

from levlab.exports import CsvSink
from levlab.exports.dialect import Dialect


@pytest.mark.parametrize("fields", [
    ["40", "U/L", "H", "1"], [""], ["", ""], ["a;b", "c"], ['say "hi"', "x"], ["two\nlines"], ["cr\r"],
    [" padded ", "µmol/L"], ["=1+1"], ["a", "", "b"],
])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_sink_fragment_quotes_as_csv_writer_does(fields: list[str], delimiter: str) -> None:
    dialect = Dialect(delimiter, ".", "\r\n")
    expected = io.StringIO(newline="")
    csv.writer(expected, delimiter=delimiter, lineterminator="\r\n").writerow(fields)
    assert CsvSink(io.StringIO(), dialect).fragment(fields) == expected.getvalue()[:-2]
