"""levlab.exports.wide: a row per sample, each row a panel."""

from __future__ import annotations

import csv
import io

import pytest
from export_runs import WIDE, column, run_csv, run_jsonl

from levlab.errors import UsageError
from levlab.exports import (
    CsvOptions,
    CsvRun,
    StrictStop,
)

# --- wide ---------------------------------------------------------------------------------------------


def test_wide_round_trip_keeps_every_original_field() -> None:
    _, rows = run_csv(WIDE)
    original = list(csv.reader(io.StringIO(WIDE)))
    assert len(rows) == len(original)
    for before, after in zip(original, rows, strict=True):
        assert after[: len(before)] == before


def test_wide_values_flags_and_rules() -> None:
    _, rows = run_csv(WIDE)
    assert column(rows, "levlab_bilirubin_value") == ["10.26", "49.6", "<3.421"]
    assert column(rows, "levlab_bilirubin_unit") == ["µmol/L", "µmol/L", "µmol/L"]
    assert column(rows, "levlab_alt_value")[2] == ">1000"
    assert column(rows, "levlab_alt_flag") == ["N", "H", "H"]
    assert column(rows, "levlab_alp_flag")[2] == ""  # NA: not measured
    assert column(rows, "levlab_normal_panel") == ["met", "not-met", "not-met"]
    assert "bilirubin-over-2" in column(rows, "levlab_flags")[1].split()
    assert column(rows, "levlab_error") == ["", "", ""]


def test_wide_jsonl_has_rows_key_errors_and_unit_assumed() -> None:
    _, panels = run_jsonl(WIDE)
    assert [p["rows"] for p in panels] == [[1], [2], [3]]
    assert panels[0]["key"] == {"patient": "P1"}
    assert panels[0]["sex"] == "F" and panels[2]["sex"] == "F"  # V is vrouw
    assert panels[0]["analytes"]["ggt"]["unit_assumed"] is True
    assert panels[0]["analytes"]["alt"]["unit_assumed"] is False
    assert panels[0]["errors"] == []


def test_wide_bad_cell_is_a_row_error_and_the_rest_is_interpreted() -> None:
    text = "id,ALT (U/L),AST (U/L),Total bilirubin (umol/L)\n1,abc,30,10\n2,20,30,10\n3,25,30,5000\n"
    run, rows = run_csv(text)
    errors = column(rows, "levlab_error")
    assert errors[0].startswith("ALT (U/L): 'abc' is not a number")
    assert errors[1] == ""
    assert "implausible" in errors[2]
    assert column(rows, "levlab_alt_flag")[0] == "?"
    assert column(rows, "levlab_ast_flag")[0] == "N"
    assert run.summary.rows_with_errors == 2 and run.summary.rows == 3
    _, panels = run_jsonl(text)
    assert panels[0]["errors"] == [{"row": 1, "column": "ALT (U/L)", "message": "'abc' is not a number"}]


def test_wide_bad_sex_is_a_row_error() -> None:
    _, rows = run_csv("sex,ALT (U/L)\nX,30\n")
    assert column(rows, "levlab_error")[0].startswith("sex: sex 'X' is not understood")


def test_strict_stops_at_the_first_bad_row() -> None:
    with pytest.raises(StrictStop, match="row 2"):
        run_csv("ALT (U/L)\n30\nabc\n40\n", strict=True)


def test_na_markers_and_extra_na() -> None:
    text = "ALT (U/L),AST (U/L)\nn/a,-\n.,nan\nnb,30\n"
    _, rows = run_csv(text, na=("nb",))
    assert column(rows, "levlab_alt_flag") == ["", "", ""]
    assert column(rows, "levlab_error") == ["", "", ""]
    _, rows = run_csv(text)
    assert column(rows, "levlab_error")[2].startswith("ALT (U/L): 'nb'")


def test_wide_unit_and_range_companion_columns() -> None:
    text = "ALT,ALT unit,ALT ref,LDH,eenheid\n1,ukat/L,< 0.6,300,U/L\n"
    run, rows = run_csv(text)
    alt = run.layout.columns[0]
    assert alt.unit_source == "unit column" and alt.range_index == 2
    assert run.layout.columns[1].unit_index == 4
    assert column(rows, "levlab_alt_value") == ["60"]
    assert column(rows, "levlab_alt_flag") == ["H"]  # 1 µkat/L against the lab's < 0.6 µkat/L


def test_range_option_replaces_the_default() -> None:
    _, panels = run_jsonl("ALT (U/L)\n50\n", ranges=("ALT (U/L)=<60",))
    alt = panels[0]["analytes"]["alt"]
    assert alt["flag"] == "N" and alt["high"] == 60
    assert "--range" in alt["range_source"]


def test_bad_range_option_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"--range 'ALT \(U/L\)=abc'"):
        CsvRun(io.StringIO("ALT (U/L)\n50\n"), CsvOptions(ranges=("ALT (U/L)=abc",)))


def test_short_rows_are_padded_and_long_rows_are_errors() -> None:
    _, rows = run_csv("a,ALT (U/L),b\n1,30\n2,30,x,extra\n")
    assert rows[1][:2] == ["1", "30"]
    assert column(rows, "levlab_alt_flag")[0] != ""
    assert "4 fields" in column(rows, "levlab_error")[1]


def test_a_bad_range_cell_is_reported_under_the_range_column() -> None:
    """Issue 20.15: a bad range cell was reported under the value column's name."""
    from click.testing import CliRunner

    from levlab.cli import main

    result = CliRunner().invoke(main, ["csv", "-"], input="patient,ALT (U/L),ALT ref\n1,30,abc\n")
    assert "row 1, column 'ALT ref': reference range 'abc' is not understood" in result.stderr


# --- issue 19.6: a unit in the header against a unit column ------------------------------------------------

@pytest.mark.parametrize(("text", "delimiter"), [
    ("patient;Bilirubin (umol/L);unit;ALT (U/L)\n1;12;µmol/L;30\n2;1,2;mg/dL;30\n3;15;;30\n4;14;umol/l;30\n", ";"),
    ("patient,Bilirubin (umol/L),unit,ALT (U/L)\n1,12,µmol/L,30\n2,1.2,mg/dL,30\n3,15,,30\n4,14,umol/l,30\n", ","),
])
def test_a_header_unit_against_a_unit_column_is_a_row_error_naming_both(text: str, delimiter: str) -> None:
    """1.2 mg/dL under a µmol/L header is never read as 1.2 µmol/L: the row's bilirubin is not read,
    its error names both units; the same unit in another spelling, or a blank cell, is no conflict."""
    run, rows = run_csv(text)
    assert run.dialect.delimiter == delimiter
    assert column(rows, "levlab_bilirubin_value") == ["12", "", "15", "14"]
    assert column(rows, "levlab_bilirubin_flag") == ["N", "?", "N", "N"]
    error = column(rows, "levlab_error")[1]
    assert "µmol/L" in error and "'mg/dL'" in error and "'Bilirubin (umol/L)'" in error
    assert column(rows, "levlab_error")[::2] == ["", ""] and column(rows, "levlab_error")[3] == ""
    assert run.summary.rows_with_errors == 1
    assert any("says another is an error" in line for line in run.report)


def test_a_map_unit_against_a_unit_column_is_a_row_error_naming_the_map() -> None:
    text = "patient,TBIL,unit\n1,1.2,mg/dL\n2,20,µmol/L\n"
    _, rows = run_csv(text, maps=("TBIL=bilirubin:µmol/L",))
    assert column(rows, "levlab_bilirubin_value") == ["", "20"]
    assert column(rows, "levlab_error")[0].startswith("TBIL: --map says µmol/L but the unit column 'unit' says 'mg/dL'")
