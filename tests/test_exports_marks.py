"""levlab.exports.marks: a file that writes both decimal marks refuses its thousands-shaped values (issue 19.7)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from export_runs import column, run_csv

from levlab.cli import main
from levlab.exports import CsvOptions, CsvRun, CsvSink
from levlab.exports.marks import line_blocks, other_mark_decimal, scan_file, thousands_shaped


@pytest.mark.parametrize(("text", "decimal", "ambiguous"), [
    ("1,250", ",", True),
    ("7,500", ",", True),
    ("12,500", ",", True),
    ("100,000", ",", True),
    ("<1,250", ",", True),
    ("1,250 U/L", ",", True),
    ("1.250", ".", True),
    ("12,5", ",", False),  # one fraction digit: no thousands group
    ("7,50", ",", False),  # two
    ("1,2500", ",", False),  # four
    ("0,250", ",", False),  # no thousands group starts with 0
    ("1234,567", ",", False),  # a group has at most three digits before the separator
    ("1.250", ",", False),  # the other mark: parse_number refuses it already
    ("1250", ",", False),
    ("05.01.2026", ".", False),  # a date, not one number
])
def test_the_thousands_group_shape_is_what_is_ambiguous(text: str, decimal: str, ambiguous: bool) -> None:
    assert thousands_shaped(text, decimal) is ambiguous


@pytest.mark.parametrize(("text", "evidence"), [
    ("12.5", True), ("7.50", True), ("0.250", True), (".5", True), ("<12.5", True), ("1234.567", True),
    ("1.250", False),  # could itself be a thousands group
    ("12,5", False), ("05.01.2026", False), ("125", False),
])
def test_evidence_of_the_other_mark_in_a_comma_file(text: str, evidence: bool) -> None:
    assert other_mark_decimal(text, ",") is evidence


@pytest.mark.parametrize(("data", "delimiter", "decimal", "found"), [
    (b"a;b\n1;1,250\n2;12.5 mg/dL\n", ";", ",", "'12.5' on line 3"),
    (b"a;b\n1;1,250\n2;<0.5\n", ";", ",", "'<0.5' on line 3"),
    (b"a;b\n1;05.01.2026\n2;12,5\n3;1.250\n", ";", ",", None),  # a date and a possible thousands group are no evidence
    (b'a,b\n1,"12,5"\n', ",", ".", "'12,5' on line 2"),  # a quoted decimal comma in a comma file
    (b"a,b\n1,12.5\n", ",", ".", None),
    (b"a;b\n1;2\n12.5;x\n", ";", ",", "'12.5' on line 3"),  # at the start of its line
    (b'a,b\n1,2\n"12,5",x\n', ",", ".", "'12,5' on line 3"),
    (b'a,b\n1,x"12,5"\n', ",", ".", None),  # a quote inside a cell
    (b"a,b,c\n1,180,22\n", ",", ".", None),  # two cells, not 180,22
    (b'a,b\n1,"x 12,5"\n', ",", ".", None),  # a note, not a number
])
def test_scan_finds_the_first_cell_with_the_other_mark(data: bytes, delimiter: str, decimal: str, found: str | None) -> None:
    assert scan_file(line_blocks(io.BytesIO(data), size=8), delimiter, decimal) == found


SEMICOLON_WIDE = "patient;ALT (U/L);AST (U/L);LDH (U/L)\n1;1,250;20;180\n2;12.5;7,50;1,250\n3;0,250;12,5;200\n"
COMMA_LONG = 'patient,test,result,unit\n1,ALT,1.250,U/L\n1,AST,"12,5",U/L\n2,LD,"1,5",U/L\n2,ALT,7.500,U/L\n'


def _as_file(text: str, **options: object) -> tuple[CsvRun, list[list[str]]]:
    """Run a text as a file: scanned before the run."""
    settings = CsvOptions(**options)  # type: ignore[arg-type]
    data = text.encode()
    run = CsvRun(io.StringIO(text, newline=""), settings, raw=lambda: line_blocks(io.BytesIO(data)))
    out = io.StringIO(newline="")
    run.run(CsvSink(out, run.dialect))
    import csv

    return run, list(csv.reader(io.StringIO(out.getvalue(), newline=""), delimiter=run.dialect.delimiter))


def test_a_semicolon_file_with_both_marks_refuses_its_thousands_shaped_values() -> None:
    run, rows = _as_file(SEMICOLON_WIDE)
    assert column(rows, "levlab_alt_value") == ["", "12,5", "0,25"]  # 1,250 refused; 12.5 and 0,250 read
    assert column(rows, "levlab_ast_value") == ["20", "7,5", "12,5"]  # 7,50 and 12,5 are no thousands
    assert column(rows, "levlab_ldh_value") == ["180", "", "200"]
    errors = column(rows, "levlab_error")
    assert "'1,250' is ambiguous" in errors[0] and "'12.5' on line 3" in errors[0] and "1250" in errors[0]
    assert any("decimal marks: the file writes '.' too ('12.5' on line 3)" in line for line in run.report)


def test_a_comma_file_with_both_marks_refuses_its_thousands_shaped_values_long() -> None:
    run, rows = _as_file(COMMA_LONG)
    assert column(rows, "levlab_value") == ["", "12.5", "1.5", ""]
    assert "'1.250' is ambiguous" in column(rows, "levlab_error")[0]
    assert run.summary.rows_with_errors == 2


def test_a_file_with_one_mark_reads_thousands_shaped_values_with_it() -> None:
    run, rows = _as_file("patient;ALT (U/L);AST (U/L)\n1;1,250;20\n2;12,5;7,50\n")
    assert column(rows, "levlab_alt_value") == ["1,25", "12,5"]
    assert run.summary.rows_with_errors == 0


def test_a_stream_refuses_after_the_evidence_and_names_what_it_read_before() -> None:
    """A stream cannot be scanned first: from the first cell with the other mark on, thousands-shaped
    values are refused, and the closing lines name those read before it."""
    run, rows = run_csv(SEMICOLON_WIDE)
    assert column(rows, "levlab_alt_value")[0] == "1,25"
    assert column(rows, "levlab_ldh_value")[1] == ""  # after '12.5' on the same row
    assert any("values read before that kept the decimal mark ','" in line and "'1,250'" in line
               for line in run.closing_lines())


def test_levlab_csv_scans_a_file_before_the_run(tmp_path: Path) -> None:
    path = tmp_path / "marks.csv"
    path.write_text(SEMICOLON_WIDE, encoding="utf-8")
    result = CliRunner().invoke(main, ["csv", str(path), "--format", "jsonl"])
    assert result.exit_code == 1
    panels = [json.loads(line) for line in result.stdout.splitlines()]
    assert panels[0]["analytes"]["alt"]["value"] is None
    assert "decimal marks: the file writes '.' too" in result.stderr


def test_a_thousands_shaped_limit_of_a_lab_range_is_refused_too() -> None:
    _, rows = _as_file("patient;test;result;unit;range\n1;LD;180;U/L;1,250 - 2,500\n1;ALT;12.5;U/L;< 45\n")
    assert column(rows, "levlab_flag") == ["?", "N"]
    assert "the reference range '1,250 - 2,500' is ambiguous" in column(rows, "levlab_error")[0]
