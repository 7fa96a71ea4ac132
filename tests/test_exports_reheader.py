"""levlab.exports.reheader: a header repeated mid-file ends the layout it follows (issue 19.8)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from export_runs import column, run_csv, run_jsonl

from levlab.cli import main
from levlab.exports import CsvOptions, CsvRun, CsvSink, StrictStop
from levlab.exports.csv_records import CsvRecords

WIDE_SWAPPED = ("patient;ALT (U/L);AST (U/L);Bilirubin (umol/L)\n1;30;20;10\n"
                "patient;AST (U/L);ALT (U/L);Bilirubin (umol/L)\n2;300;20;10\n")
LONG_SWAPPED = ("patient,sample,test,result,unit\n1,S1,ALT,30,U/L\n1,S1,AST,20,U/L\n"
                "unit,result,test,sample,patient\nU/L,300,ALT,S2,2\nU/L,25,AST,S2,2\n")


def test_a_wide_header_in_another_order_is_read_by_its_own_columns() -> None:
    run, rows = run_csv(WIDE_SWAPPED)
    assert column(rows, "levlab_alt_value") == ["30", "", "20"]  # row 3's ALT is under 'ALT (U/L)' of row 2
    assert column(rows, "levlab_ast_value") == ["20", "", "300"]
    assert column(rows, "levlab_ast_flag")[2] == "H" and column(rows, "levlab_alt_flag")[2] == "N"
    assert "repeats the header with its columns in another order" in column(rows, "levlab_error")[1]
    assert rows[2][:4] == ["patient", "AST (U/L)", "ALT (U/L)", "Bilirubin (umol/L)"]  # written back as it is
    assert rows[3][:4] == ["2", "300", "20", "10"]
    assert any("row 2 repeats the header with its columns in another order" in line for line in run.closing_lines())


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_a_long_header_in_another_order_is_read_by_its_own_columns(delimiter: str) -> None:
    _, panels = run_jsonl(LONG_SWAPPED.replace(",", delimiter))
    by_key = {p["key"]["sample"]: p for p in panels if p["key"].get("sample", "").startswith("S")}
    assert by_key["S2"]["analytes"]["alt"]["value"] == 300 and by_key["S2"]["analytes"]["ast"]["value"] == 25
    assert by_key["S2"]["rows"] == [4, 5]


def test_the_same_header_again_is_no_data_and_changes_nothing() -> None:
    text = "patient,ALT (U/L),AST (U/L)\n1,30,20\npatient,ALT (U/L),AST (U/L)\n2,40,25\n"
    run, rows = run_csv(text)
    assert column(rows, "levlab_alt_value") == ["30", "", "40"]
    assert "this row repeats the header; it is not data" in column(rows, "levlab_error")[1]
    assert run.summary.rows_with_errors == 1


@pytest.mark.parametrize("text", [
    "patient;ALT (U/L);AST (U/L)\n1;30;20\n2;NA;opmerking: hemolyse\n3;n.v.t.;ALAT\n",
    "patient,test,result,unit\n1,ALT,30 U/L,\n1,AST,see note,U/L\n",
])
def test_a_row_with_some_text_is_not_taken_for_a_header(text: str) -> None:
    run, _ = run_csv(text)
    assert not run.watch.changes and run.watch.stop is None


def test_a_header_with_other_columns_stops_the_run_after_the_rows_before_it() -> None:
    text = ("patient;ALT (U/L);AST (U/L);Bilirubin (umol/L)\n1;30;20;10\n"
            "patient;AST (U/L);GGT;Bilirubin (mg/dL)\n2;300;20;1\n")
    run = CsvRun(io.StringIO(text, newline=""), CsvOptions())
    out = io.StringIO(newline="")
    with pytest.raises(StrictStop, match=r"row 2 is another header .*\(without alt \(U/L\), bilirubin \(µmol/L\); "
                                         r"with bilirubin \(mg/dL\), ggt"):
        run.run(CsvSink(out, run.dialect))
    assert out.getvalue().splitlines()[1].startswith("1;30;20;10;30")  # the row before it is written
    assert len(out.getvalue().splitlines()) == 2
    assert run.summary.stopped_at == 2 and "a header with other columns" in run.summary.line()


def test_levlab_csv_stops_at_a_header_with_other_columns(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("patient,test,result,unit\n1,ALT,30,U/L\npatient,test,result,sample\n2,AST,20,S9\n",
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["csv", str(path)])
    assert result.exit_code == 1
    assert "Error: row 2 is another header" in result.stderr and "(without role unit; with role sample)" in result.stderr
    assert "stopped at row 2 (a header with other columns)" in result.stderr


def test_a_file_read_again_for_its_split_samples_follows_the_new_header_too() -> None:
    """The grouping's passes over a file (issue 19.1) read it as the run does: S1's rows apart,
    the second part under a header in another order, still one panel with the right values."""
    text = ("patient,sample,test,result,unit\n1,S1,ALT,30,U/L\n2,S2,ALT,40,U/L\n"
            "unit,result,test,sample,patient\nU/L,200,AST,S1,1\n")
    options = CsvOptions()

    @contextlib.contextmanager
    def again() -> Iterator[CsvRecords]:
        yield CsvRecords(io.StringIO(text, newline=""), options)

    run = CsvRun(io.StringIO(text, newline=""), options, reread=again)
    out = io.StringIO()
    from levlab.exports import JsonlSink

    run.run(JsonlSink(out))
    panels = [json.loads(line) for line in out.getvalue().splitlines()]
    s1 = next(p for p in panels if p["key"].get("sample") == "S1")
    assert s1["rows"] == [1, 4] and s1["analytes"]["ast"]["value"] == 200 and s1["analytes"]["alt"]["value"] == 30


def _headers_one_by_one(watch: object, rows: list[list[str]]) -> list[int]:
    """The rows that look like a header, each looked at on its own (what `_headers_in` answers)."""
    from levlab.exports.reheader import _NOT_A_NUMBER, names_a_column

    at = watch.number_at[0]  # type: ignore[attr-defined]
    return [index for index, row in enumerate(rows)
            if _NOT_A_NUMBER.search(row[at]) and sum(map(names_a_column, row)) >= watch.enough]  # type: ignore[attr-defined]


@pytest.mark.parametrize("values", [
    ["30", "20", "1.5", "<5", "≤ 3", " 7 ", ""],  # all numbers: no row is looked at further
    ["30", "result", "20"],  # the header again, between data
    ["30", "2\n5", "see note"],  # a line break inside a cell is no header by itself
    ["result", "result"],
    ["30", "ALT", "x"],
])
def test_headers_are_found_in_one_search_as_row_by_row(values: list[str]) -> None:
    run, _ = run_csv("patient,sample,test,result,unit\n1,S1,ALT,30,U/L\n")
    rows = [["patient", "sample", "test", value, "unit"] if value == "result" else ["1", "S1", "ALT", value, "U/L"]
            for value in values]
    assert run.watch._headers_in(rows) == _headers_one_by_one(run.watch, rows)
    assert (run.watch._headers_in(rows) != []) == ("result" in values)
