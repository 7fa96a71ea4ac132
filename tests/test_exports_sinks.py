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
        sink.from_results = False  # every panel whole: the analyte texts kept per result (panel_json has its own test)
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


@pytest.mark.parametrize("name", ["wide_messy.csv", "long_messy.csv", "wide_distinct.csv", "long_repeating.csv"])
def test_table_summary_counted_from_the_rulebook_equals_the_full_interpretation(name: str) -> None:
    # CollectSink.counted takes rule ids and status from the RuleBook and makes a panel only to show it
    from pathlib import Path

    from levlab.exports import CollectSink, CsvOptions, CsvRun

    path = Path(__file__).parent / "data" / "golden" / name

    class Interpreted(CollectSink):
        wants_counts = False  # every panel interpreted in full, as before

    summaries = []
    for sink in (CollectSink(keep=3, findings=4), Interpreted(keep=3, findings=4)):
        with path.open(newline="", encoding="utf-8") as lines:
            CsvRun(lines, CsvOptions()).run(sink)
        summaries.append((sink.total, sink.statuses, sink.rule_counts, sink.with_errors, sink.without_liver_test,
                          sink.more_findings, [out.rows for out in sink.panels], [out.rows for out in sink.findings]))
    assert summaries[0] == summaries[1]
    assert summaries[0][0] > 100 and summaries[0][2]
