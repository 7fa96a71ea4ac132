"""levlab.exports.sinks: text made as csv.writer makes it."""

from __future__ import annotations

import csv
import io
from typing import Any

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


def _bulk_counts_row_by_row(decisions: list[Any], fired: dict[int, tuple[str, ...]], start: int, done: int) -> tuple[Any, ...]:
    """The table's bulk counts as main counted them (deb1fcb): the rows that fired one by one."""
    from collections import Counter

    statuses: Counter[str] = Counter()
    rule_counts: Counter[str] = Counter()
    without_liver = findings = 0
    for decision, times in Counter(decisions[start:done]).items():
        if decision.liver:
            statuses[decision.status] += times
        else:
            without_liver += times
        for rule_id in decision.keyed:
            rule_counts[rule_id] += times
        if decision.keyed or decision.status == "not-met":
            findings += times
    for at, free_ids in fired.items():
        if start <= at < done:
            rule_counts.update(free_ids)
            decision = decisions[at]
            findings += not (decision.keyed or decision.status == "not-met")
    return statuses, rule_counts, without_liver, findings


@pytest.mark.parametrize("seed", range(40))
def test_bulk_counts_count_and_order_the_rules_as_row_by_row(seed: int) -> None:
    """Rules fired counted per distinct tuple: the same counts, and each rule first where the rows met it."""
    import random

    from levlab.exports.rulebook import Decision
    from levlab.exports.sinks import bulk_counts

    rng = random.Random(seed)
    kinds = [Decision(tuple(rng.sample(["a", "b", "c", "d"], rng.randint(0, 2))), rng.choice(["met", "not-met", "incomplete"]),
                      "", False, rng.random() < 0.9) for _ in range(rng.randint(1, 6))]
    decisions = [rng.choice(kinds) for _ in range(rng.randint(1, 300))]
    fired: dict[int, tuple[str, ...]] = {}
    for free in ("x", "y", "z"):  # as RuleBook.panel_texts makes it: per rule, its rows in order
        for row in sorted(rng.sample(range(len(decisions)), rng.randint(0, len(decisions) // 3))):
            fired[row] = (*fired.get(row, ()), free)
    start = rng.choice([0, rng.randrange(len(decisions))])
    done = rng.choice([len(decisions), rng.randint(start, len(decisions))])
    expected = _bulk_counts_row_by_row(decisions, fired, start, done)
    got = bulk_counts(decisions, fired, start, done)
    assert got == expected
    assert list(got[1]) == list(expected[1])  # the order ties are listed in
