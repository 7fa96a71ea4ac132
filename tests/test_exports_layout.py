"""levlab.exports.layout: header to layout, and the detection report."""

from __future__ import annotations

import io

import pytest
from export_runs import LONG_NL, WIDE, column, run_csv

from levlab.errors import UsageError
from levlab.exports import (
    CsvOptions,
    CsvRun,
)

# --- layout detection ------------------------------------------------------------------------------


def test_detects_long_dutch_export() -> None:
    run = CsvRun(io.StringIO(LONG_NL), CsvOptions())
    assert run.layout.kind == "long"
    assert run.dialect.delimiter == ";" and run.dialect.decimal == ","
    roles = {role: run.layout.header[i] for role, i in run.layout.roles.items()}
    assert roles["test"] == "Bepaling" and roles["value"] == "Uitslag" and roles["range"] == "Referentiewaarde"
    assert roles["sex"] == "Geslacht" and roles["patient"] == "PatiëntID"


def test_detects_wide_export_and_reports_assumed_unit() -> None:
    run = CsvRun(io.StringIO(WIDE), CsvOptions())
    assert run.layout.kind == "wide"
    assert [c.analyte.id for c in run.layout.columns] == ["bilirubin", "alp", "ldh", "ast", "alt", "ggt"]
    report = "\n".join(run.report)
    assert "'GGT' -> ggt, U/L (assumed" in report
    assert "'Total Bilirubin (mg/dL)' -> bilirubin, mg/dL (from the header)" in report


def test_report_names_missing_normal_panel_analytes() -> None:
    run = CsvRun(io.StringIO("ALT,AST,Total bilirubin (umol/L)\n30,20,10\n"), CsvOptions())
    report = "\n".join(run.report)
    assert "no LDH column: normal-panel can never be met" in report
    assert "no ALP column" in report


def test_two_columns_of_one_analyte_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"'BIL \(umol/L\)', 'TBIL \(umol/L\)' are all bilirubin.*--map"):
        CsvRun(io.StringIO("BIL (umol/L),TBIL (umol/L)\n10,11\n"), CsvOptions())


def test_map_settles_duplicate_columns_and_the_other_is_reported() -> None:
    run, rows = run_csv("BIL (umol/L),TBIL (umol/L)\n10,40\n", maps=("TBIL (umol/L)=bilirubin:umol/L",))
    assert [c.header for c in run.layout.columns] == ["TBIL (umol/L)"]
    assert any("'BIL (umol/L)' not interpreted: --map gives bilirubin to 'TBIL (umol/L)'" in line for line in run.report)
    assert column(rows, "levlab_bilirubin_value") == ["40"]


def test_unitless_bilirubin_column_is_a_usage_error_naming_the_map() -> None:
    with pytest.raises(UsageError, match=r"'Bilirubin' \(bilirubin\).*µmol/L or mg/dL.*--map \"Bilirubin=bilirubin:µmol/L\""):
        CsvRun(io.StringIO("Bilirubin,ALT\n10,20\n"), CsvOptions())


def test_map_gives_unit_to_an_unnamed_column() -> None:
    run, rows = run_csv("Total_Bilirubin,x\n2.4,1\n", maps=("Total_Bilirubin=bilirubin:mg/dL",))
    assert column(rows, "levlab_bilirubin_value") == ["41.05"]
    assert "(from the map)" in "\n".join(run.report)


def test_map_of_missing_header_names_it() -> None:
    with pytest.raises(UsageError, match=r"--map Nope=alt: no column 'Nope'"):
        CsvRun(io.StringIO("ALT,AST\n1,2\n"), CsvOptions(maps=("Nope=alt",)))


def test_col_option_names_columns_of_a_long_file() -> None:
    text = "Pat,Omschr,Res\n1,ALAT,30\n"
    run, rows = run_csv(text, cols=("test=Omschr", "value=Res", "patient=Pat"))
    assert run.layout.kind == "long"
    assert column(rows, "levlab_analyte") == ["alt"]


def test_col_option_with_missing_header_names_it() -> None:
    with pytest.raises(UsageError, match=r"no column 'Uitslag'"):
        CsvRun(io.StringIO("a,b\n1,2\n"), CsvOptions(cols=("value=Uitslag",)))


def test_no_analyte_column_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no column is recognised"):
        CsvRun(io.StringIO("name,city\nA,B\n"), CsvOptions())


# --- headers that nearly match (issue 15): said with the --map to write, never mapped ----------------

ILPD_HEADER = ("Age,Gender,Total_Bilirubin,Direct_Bilirubin,Alkaline_Phosphotase,Alamine_Aminotransferase,"
               "Aspartate_Aminotransferase,Total_Protiens,Albumin,Albumin_and_Globulin_Ratio,Dataset\n")


def test_the_report_names_near_misses_and_their_map_but_takes_none() -> None:
    from click.testing import CliRunner

    from levlab.cli import main

    text = ILPD_HEADER + "65,Female,0.7,0.1,187,16,18,6.8,3.3,0.9,1\n"
    result = CliRunner().invoke(main, ["csv", "-", "--dry-run", "--map", "Total_Bilirubin=bilirubin:mg/dL",
                                       "--map", "Albumin=albumin:g/dL"], input=text)
    assert result.exit_code == 0, result.stderr
    report = result.stderr
    assert '--map "Alkaline_Phosphotase=alp"' in report and '--map "Alamine_Aminotransferase=alt"' in report
    assert "'Direct_Bilirubin' contains bilirubin, but it is a fraction" in report
    assert "'Albumin_and_Globulin_Ratio' contains albumin and globulin, but it is a ratio" in report
    assert "'Alkaline_Phosphotase' -> alp" not in report  # said, never mapped
    assert "no ALP column: normal-panel can never be met" in report


# --- a --map without a unit keeps the header's unit; a bare enzyme beside µkat/L is asked (issues 19.5, 15.0) --


def _csv(*args: str, text: str):
    from click.testing import CliRunner

    from levlab.cli import main

    return CliRunner().invoke(main, ["csv", "-", *args], input=text)


def test_a_map_without_a_unit_keeps_the_header_unit() -> None:
    """`--map "ALAT (ukat/L)=alt"` once dropped the µkat/L: 5 µkat/L (300 U/L) became 5 U/L, N."""
    result = _csv("--map", "ALAT (ukat/L)=alt", text="patient,ALAT (ukat/L)\n1,5\n")
    assert result.exit_code == 0, result.stderr
    assert "'ALAT (ukat/L)' -> alt, µkat/L (from the header)" in result.stderr
    header, row = result.stdout.splitlines()
    fields = dict(zip(header.split(","), row.split(","), strict=True))
    assert (fields["levlab_alt_value"], fields["levlab_alt_flag"]) == ("300", "H")


def test_a_map_with_a_unit_overrides_the_header() -> None:
    result = _csv("--map", "ALAT (ukat/L)=alt:U/L", text="patient,ALAT (ukat/L)\n1,30\n")
    assert "'ALAT (ukat/L)' -> alt, U/L (from the map)" in result.stderr


def test_a_bare_enzyme_column_beside_one_in_µkat_is_asked() -> None:
    result = _csv(text="patient,ALAT (ukat/L),ASAT,AF\n1,0.5,20,80\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert '--map "ASAT=ast:µkat/L"' in result.stderr and '--map "AF=alp:µkat/L"' in result.stderr
    settled = _csv("--map", "ASAT=ast:U/L", "--map", "AF=alp:U/L", text="patient,ALAT (ukat/L),ASAT,AF\n1,0.5,20,80\n")
    assert settled.exit_code == 0, settled.stderr


def test_a_non_utf8_input_is_said_to_come_back_as_utf8() -> None:
    """Issue 16.12: read with -e cp1252, the µ byte (0xB5) comes back as UTF-8 (C2 B5); said, not silent."""
    from click.testing import CliRunner

    from levlab.cli import main

    data = "patient;ALAT (µkat/L)\n1;0,5\n".encode("cp1252")
    result = CliRunner().invoke(main, ["csv", "-", "-e", "cp1252"], input=data)
    assert result.exit_code == 0, result.stderr
    assert "output is UTF-8: the input's characters come back, not its 'cp1252' bytes" in result.stderr
    assert result.stdout_bytes.splitlines()[0].startswith("patient;ALAT (µkat/L)".encode())
    utf8 = CliRunner().invoke(main, ["csv", "-"], input=data.decode("cp1252").encode())
    assert "output is UTF-8" not in utf8.stderr
