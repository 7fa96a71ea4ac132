"""levlab.exports.long: a row per result, runs of rows with one key as panels."""

from __future__ import annotations

import csv
import io

import pytest
from export_runs import LONG_NL, column, run_csv, run_jsonl

# --- long -------------------------------------------------------------------------------------------------


def test_long_dutch_round_trip_and_fields() -> None:
    run, rows = run_csv(LONG_NL)
    original = list(csv.reader(io.StringIO(LONG_NL), delimiter=";"))
    for before, after in zip(original, rows, strict=True):
        assert after[: len(before)] == before
    assert rows[0][len(original[0]):] == ["levlab_analyte", "levlab_value", "levlab_unit", "levlab_flag", "levlab_ctcae",
                                          "levlab_flags", "levlab_normal_panel", "levlab_error", "levlab_warnings"]
    assert column(rows, "levlab_analyte")[:6] == ["bilirubin", "alp", "ldh", "ast", "alt", ""]
    assert column(rows, "levlab_normal_panel")[:6] == ["met"] * 6  # Natrium passes through
    # panel 2: 2,5 mg/dL with the lab's 0,1 - 1,2 mg/dL, decimal comma kept on output
    assert column(rows, "levlab_value")[6] == "42,76"
    assert column(rows, "levlab_flag")[6:] == ["H", "N"]
    assert run.summary.panels == 2 and run.summary.rows == 8


def test_long_jsonl_panels() -> None:
    _, panels = run_jsonl(LONG_NL)
    assert [p["rows"] for p in panels] == [[1, 2, 3, 4, 5, 6], [7, 8]]
    assert panels[0]["key"] == {"PatiëntID": "1", "Monsternummer": "S1"}
    assert panels[0]["sex"] == "F" and panels[1]["sex"] == "M"
    assert panels[0]["analytes"]["ast"]["interval"] == "<= 31 U/L"
    assert panels[0]["analytes"]["ast"]["range_source"].startswith("laboratory's own range")
    assert panels[1]["analytes"]["alt"]["comparator"] == "<"


@pytest.mark.parametrize(("lab_range", "value", "flag"), [
    ("< 45", "45", "H"),
    ("<45", "44", "N"),
    ("≤45", "45", "N"),
    ("<= 45", "46", "H"),
    ("35 - 50", "34", "L"),
    ("35–50", "50", "N"),
    ("35-50", "51", "H"),
    ("> 3", "3", "L"),
    ("10,5 - 40,5", "40,6", "H"),
    ('"[35;50]"', "40", "N"),  # quoted: ';' is the delimiter
])
def test_lab_range_formats(lab_range: str, value: str, flag: str) -> None:
    text = f"test;result;unit;reference range\nALT;{value};U/L;{lab_range}\n"
    _, rows = run_csv(text)
    assert column(rows, "levlab_flag") == [flag], column(rows, "levlab_error")


@pytest.mark.parametrize(("value", "lab_range", "flag"), [
    ("<5", "< 45", "N"),
    ("<50", "< 45", "?"),
    (">1000", "< 45", "H"),
    ("> 30", "< 45", "?"),
    ("≥45", "< 45", "H"),
])
def test_censored_values(value: str, lab_range: str, flag: str) -> None:
    _, rows = run_csv(f"test,result,unit,range\nALT,{value},U/L,{lab_range}\n")
    assert column(rows, "levlab_flag") == [flag]


def test_long_unsorted_keys_are_joined_and_counted() -> None:
    """Issue 19.1: a key that comes back joins its panel (here within a stream's window; see
    tests/test_exports_grouping.py for files and for keys past the window)."""
    text = "patient,test,result\n1,ALT,30\n2,ALT,40\n1,AST,20\n"
    run, _ = run_csv(text)
    assert run.summary.panels == 2 and run.summary.split_keys == 1 and run.summary.reopened == 0
    assert any("came back within" in line for line in run.closing_lines())


def test_long_group_by_overrides_the_key() -> None:
    text = "patient,visit,test,result\n1,a,ALT,30\n1,b,ALT,40\n"
    run, _ = run_csv(text)
    assert run.summary.panels == 1  # the same ALT twice, different: an error
    assert run.summary.rows_with_errors == 1
    run, _ = run_csv(text, group_by=("patient", "visit"))
    assert run.summary.panels == 2 and run.summary.rows_with_errors == 0


def test_long_without_key_columns_is_one_panel() -> None:
    run, _ = run_csv("test,result\nALT,30\nAST,20\n")
    assert run.summary.panels == 1
    assert any("whole file is one panel" in line for line in run.report)


def test_long_missing_normal_panel_analyte_is_reported_at_the_end() -> None:
    run, _ = run_csv("test,result\nALT,30\nAST,20\n")
    assert any("no bilirubin, ALP, LDH result" in line for line in run.closing_lines())


def test_long_unknown_test_passes_through() -> None:
    _, rows = run_csv("test,result,unit\nNatrium,140,mmol/L\nALT,30,U/L\n")
    assert column(rows, "levlab_analyte") == ["", "alt"]
    assert column(rows, "levlab_error") == ["", ""]


def test_long_bilirubin_without_unit_is_a_row_error() -> None:
    run, rows = run_csv("test,result\nbilirubin,12\nALT,30\n")
    assert "bilirubin needs a unit" in column(rows, "levlab_error")[0]
    assert run.summary.rows_with_errors == 1
    assert any("no unit column" in line for line in run.report)


def test_long_loinc_code_column_is_used() -> None:
    _, rows = run_csv("test code,result,unit\n1742-6,30,U/L\n")
    assert column(rows, "levlab_analyte") == ["alt"]


def test_long_same_result_twice_is_no_conflict() -> None:
    _, rows = run_csv("sample,test,result,unit\n1,ALT,30,U/L\n1,ALAT,30,U/L\n1,ALT,31,U/L\n")
    errors = column(rows, "levlab_error")
    assert errors[:2] == ["", ""]
    assert "given twice" in errors[2]
    assert column(rows, "levlab_flag") == ["?", "?", "?"]


def test_long_assumed_units_are_said_once_at_the_end() -> None:
    run, _ = run_csv("test,result,unit\nALT,30,\nAST,20,\nALT,31,U/L\n", group_by=("test",))
    closing = run.closing_lines()
    assert sum("assumed" in line for line in closing) == 1
    assert any("for alt, ast" in line for line in closing)


def test_equal_results_in_other_words_or_units_are_one_result() -> None:
    """Issue 16.9: `ALT 30`, `ALAT 30.0` and `ALT 0.5 µkat/L` in one sample are the same result."""
    import json

    from click.testing import CliRunner

    from levlab.cli import main

    text = ("patient,date,test,result,unit\n1,2024-01-01,ALT,30,U/L\n1,2024-01-01,ALAT,30.0,U/L\n"
            "1,2024-01-01,ALT,0.5,ukat/L\n1,2024-01-01,AST,20,U/L\n1,2024-01-01,ASAT,25,U/L\n")
    result = CliRunner().invoke(main, ["csv", "-", "--format", "jsonl"], input=text)
    (panel,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert panel["analytes"]["alt"]["flag"] == "N" and panel["analytes"]["alt"]["value"] == 30
    assert [error["row"] for error in panel["errors"]] == [5]  # only AST 20 against 25 is a conflict
    assert "ast is given twice" in panel["errors"][0]["message"]


def test_a_unit_in_the_value_against_the_unit_column_is_a_row_error_naming_both() -> None:
    """The long layout's rule that wide header units now follow too (issue 19.6)."""
    _, rows = run_csv("test;result;unit\nBilirubine totaal;1,2 mg/dL;µmol/L\n")
    assert column(rows, "levlab_flag") == ["?"]
    assert "mg/dL" in column(rows, "levlab_error")[0] and "µmol/L" in column(rows, "levlab_error")[0]

def test_long_without_key_past_the_row_limit_is_a_panel_per_row(monkeypatch) -> None:
    # memory stays bounded (issue 18): a keyless file longer than KEYLESS_PANEL_ROWS is no single
    # sample, so every row -- the first ones too -- is a panel of its own, in file order
    from levlab.exports import layout, long

    monkeypatch.setattr(long, "KEYLESS_PANEL_ROWS", 5)
    text = "test,result\n" + "ALT,30\nAST,20\nALP,300\nLDH,200\n" * 3
    run, rows = run_csv(text)
    assert run.summary.panels == 12 and run.summary.keyless_rows_apart
    assert column(rows, "levlab_analyte") == ["alt", "ast", "alp", "ldh"] * 3
    assert column(rows, "levlab_flags") == ["", "", "alp-or-ldh-raised", ""] * 3  # no rule across rows
    assert any("each row is a panel of its own" in line for line in run.closing_lines())
    assert layout.KEYLESS_PANEL_ROWS == 1_000
    # at or under the limit: one panel, as before
    run, rows = run_csv("test,result\n" + "ALT,30\nAST,20\nALP,300\nLDH,200\nALT,30\n")
    assert run.summary.panels == 1 and not run.summary.keyless_rows_apart
    assert set(column(rows, "levlab_flags")) == {"alp-or-ldh-raised"}
