"""levlab.exports.unit_hint: a column without a unit is still a usage error, and says what its
first rows' values suggest (issue 10.5)."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from levlab.catalog import get_analyte
from levlab.cli import main
from levlab.errors import UsageError
from levlab.exports import CsvOptions, CsvRun
from levlab.exports.settings import NA_MARKERS
from levlab.exports.unit_hint import ROWS_READ, fitting_units, numbers_of
from levlab.ranges import default_intervals


def _error(text: str, command: str = "csv") -> str:
    result = CliRunner().invoke(main, [command, "-"], input=text)
    assert result.exit_code == 2 and result.stdout == ""  # never applied: no row is written
    assert result.stderr.count("Error:") == 1
    return result.stderr


def test_a_bilirubin_column_in_micromoles_says_which_units_fit_and_the_maps() -> None:
    """The shape of the issue: values 1.8-254, median 7.3. mg/dL cannot be (254 mg/dL is 4344
    µmol/L); µmol/L and mg/L (a factor 1.7 apart) both can, so levlab names both and picks none."""
    error = _error("patient,Bilirubin,ALT (U/L)\nP1,1.8,30\nP2,254,40\nP3,7.3,20\nP4,NA,20\nP5,<3,10\n")
    assert "column 'Bilirubin' (bilirubin) has no unit" in error
    assert "In its first 5 data rows: values 1.8-254, median 7.3 (3 numbers)" in error
    assert "both µmol/L and mg/L fit, so the values cannot tell" in error
    assert '--map "Bilirubin=bilirubin:µmol/L" or --map "Bilirubin=bilirubin:mg/L"' in error


@pytest.mark.parametrize(("text", "expected"), [
    ("patient,Bilirubin\nP1,0.4\nP2,1.2\nP3,0.7\n", 'only mg/dL fits; if that is the unit, write --map "Bilirubin=bilirubin:mg/dL"'),
    ("Patiëntnummer;Albumine;ALAT (U/L)\n1;3,8;30\n2;4,1;25\n", 'only g/dL fits; if that is the unit, write --map "Albumine=albumin:g/dL"'),
    ("Patiëntnummer;Albumine;ALAT (U/L)\n1;38;30\n2;41;25\n", 'only g/L fits; if that is the unit, write --map "Albumine=albumin:g/L"'),
    ("patient,Glucose\nP1,95\nP2,120\n", 'only mg/dL fits'),
    ("patient,ALAT (ukat/L),AST\nP1,0.5,0.4\nP2,1.2,0.9\n", 'only µkat/L fits; if that is the unit, write --map "AST=ast:µkat/L"'),
    ("patient,Bilirubin\nP1,5000\nP2,9000\n", "no unit of bilirubin fits them all; check the column"),
    ("patient,Bilirubin\nP1,NA\nP2,<5\n", "In its first 2 data rows no plain number suggests a unit"),
    ("patient,Bilirubin\n", "The file has no data rows whose values could suggest a unit"),
], ids=["mg/dL", "albumin g/dL nl", "albumin g/L nl", "glucose", "enzyme beside µkat", "none fits", "no number", "no rows"])
def test_the_values_suggest_a_unit_in_english_and_dutch_exports(text: str, expected: str) -> None:
    assert expected in _error(text)


def test_only_the_first_rows_are_read_and_said() -> None:
    """Values after the first ROWS_READ data rows are not looked at (the file may be large); the
    message says how many rows were."""
    rows = "".join(f"P{n},{10 + n % 7}\n" for n in range(ROWS_READ)) + "P-late,3000\n" * 50
    error = _error("patient,Bilirubin\n" + rows)
    assert f"In its first {ROWS_READ} data rows: values 10-16, median 13 ({ROWS_READ} numbers)" in error


def test_trend_says_the_same() -> None:
    text = "patient,date,Bilirubin\nP1,2024-01-01,0.3\nP1,2024-02-01,0.6\n"
    assert "only mg/dL fits" in _error(text, "trend")


def test_the_run_raises_a_usage_error_before_any_output() -> None:
    with pytest.raises(UsageError, match="only mg/dL fits"):
        CsvRun(io.StringIO("patient,Bilirubin\nP1,0.3\nP2,0.6\n", newline=""), CsvOptions())


def test_numbers_are_the_plain_values_only() -> None:
    texts = ["1,5", "NA", "<5", "20 umol/L", "abc", "", " 7 "]
    assert numbers_of(texts, ",", NA_MARKERS) == [1.5, 7.0]


@pytest.mark.parametrize(("numbers", "units"), [
    ([0.3, 0.5, 1.1], ["mg/dL"]),  # a median of 0.5 µmol/L is no cohort's bilirubin
    ([6.0, 12.0, 40.0], ["µmol/L", "mg/L"]),
    ([2.0, 12.0, 700.0], ["µmol/L"]),  # 700 mg/L = 1197 µmol/L: beyond the usual span
])
def test_fitting_units_read_every_value_and_the_median(numbers: list[float], units: list[str]) -> None:
    assert fitting_units(get_analyte("bilirubin"), numbers, default_intervals()) == units
