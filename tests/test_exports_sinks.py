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


def test_jsonl_line_is_json_dumps_of_the_whole_document() -> None:
    # JsonlSink puts the text together from parts (an analyte's object once per judged result)
    import io as _io
    import json as _json

    from levlab.exports import CsvOptions, CsvRun
    from levlab.exports.sinks import JsonlSink as _JsonlSink
    from levlab.render import panel_json
    from tests.export_runs import LONG_NL, WIDE

    for text in (WIDE, LONG_NL, WIDE + WIDE.split("\n", 1)[1]):  # the same cells again: texts reused
        run = CsvRun(_io.StringIO(text, newline=""), CsvOptions())
        stream = _io.StringIO()
        sink = _JsonlSink(stream)
        sink.outs = []
        write = sink.panel
        sink.panel = lambda out, sink=sink, write=write: (sink.outs.append(out), write(out))
        run.run(sink)
        expected = []
        for out in sink.outs:
            document = panel_json(out.panel)
            document["rows"], document["key"] = out.rows, out.key
            document["errors"] = [{"row": e.row, "column": e.column, "message": e.message} for e in out.errors]
            expected.append(_json.dumps(document, ensure_ascii=False))
        assert stream.getvalue().splitlines() == expected
