"""exports/names.py: test names with a unit, value maps of --map and --codes (issues 19.9, 17.4)."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from export_runs import column, run_csv, run_jsonl

from levlab.catalog import analytes
from levlab.cli import main
from levlab.errors import UsageError
from levlab.exports.names import NamedAnalyte, NameReader, read_codes, row_unit
from levlab.exports.settings import NA_MARKERS


@pytest.mark.parametrize(
    ("name", "analyte", "unit"),
    [("ALT (U/L)", "alt", "U/L"), ("ALAT (ukat/L)", "alt", "µkat/L"), ("Bilirubine totaal (umol/L)", "bilirubin", "µmol/L"),
     ("bilirubin_umol_L", "bilirubin", "µmol/L"), ("ALT", "alt", None), ("Lactate Dehydrogenase (LD)", "ldh", None),
     ("Alanine Aminotransferase (ALT)", "alt", None), ("Bilirubin (direct)", None, None), ("ALT (g/L)", None, None),
     ("Natrium", None, None)],
)
def test_a_test_name_is_read_as_a_header_is(name, analyte, unit):
    found = NameReader().read(name, "")
    assert (found.analyte.id if found.analyte else None, found.unit) == (analyte, unit)


@pytest.mark.parametrize(
    ("unit_column", "used", "conflict"),
    [("", "U/L", False), ("NA", "U/L", False), (None, "U/L", False), ("U/L", "U/L", False), ("IU/L", "IU/L", False),
     ("ukat/L", None, True)],
)
def test_a_unit_in_the_name_against_the_unit_column(unit_column, used, conflict):
    test = NamedAnalyte(analytes()["alt"], "U/L", "the test name 'ALT (U/L)'")
    unit, problem = row_unit(test, unit_column, NA_MARKERS)
    assert unit == used
    assert (problem is not None) is conflict


LONG_WITH_UNIT_NAMES = ("patient;sample;test;result;unit\n"
                        "1;S1;ALT (U/L);300;\n"
                        "1;S1;Bilirubine (umol/L);1,2;mg/dL\n"
                        "1;S1;AST (U/L);30;U/L\n")


LONG_WITH_UNIT_NAMES_EN = ("patient,sample id,test name,result,units\n"
                           "1,S1,ALT (U/L),300,\n"
                           "1,S1,Total Bilirubin (umol/L),1.2,mg/dL\n"
                           "1,S1,AST (U/L),30,U/L\n")


@pytest.mark.parametrize("text", [LONG_WITH_UNIT_NAMES, LONG_WITH_UNIT_NAMES_EN], ids=["nl-semicolon", "en-comma"])
def test_long_test_names_with_a_unit_are_read_and_a_conflicting_unit_column_is_a_row_error(text):
    """Issue 19.9: `ALT (U/L)` in the test column passed through unread with exit 0."""
    run, (panel,) = run_jsonl(text)
    assert panel["analytes"]["alt"]["value"] == 300 and panel["analytes"]["alt"]["flag"] == "H"
    assert panel["analytes"]["alt"]["unit_assumed"] is False
    assert panel["analytes"]["bilirubin"]["flag"] == "?"
    (error,) = panel["errors"]
    assert error["row"] == 2 and "'mg/dL'" in error["message"] and "µmol/L" in error["message"]
    assert run.summary.rows_with_errors == 1


LONG_CODES = ("patient_id,sample_id,code,test,value,unit\n"
              "1,S1,50861,Alanine Aminotransferase (ALT),40,U/L\n"
              "1,S1,50878,Asparate Aminotransferase,30,U/L\n"
              "1,S1,50954,Lactate Dehydrogenase (LD),180,U/L\n"
              "1,S1,50863,Alkaline Phosphatase,80,U/L\n"
              "1,S1,50885,Bilirubin Total,0.5,mg/dL\n")


def test_names_with_their_abbreviation_in_brackets_are_recognised():
    """Issue 17.4: "Alanine Aminotransferase (ALT)" and "Lactate Dehydrogenase (LD)" were unknown."""
    _, (panel,) = run_jsonl(LONG_CODES)
    assert {"alt", "ldh", "alp", "bilirubin"} <= set(panel["analytes"])


def test_map_maps_the_values_of_a_long_test_or_code_column():
    """Issue 17.4: `--map 50878=ast` on a long export said "no column '50878'"."""
    _, (panel,) = run_jsonl(LONG_CODES)
    assert "ast" not in panel["analytes"]  # a misspelt name: not taken by itself
    run, (panel,) = run_jsonl(LONG_CODES, maps=("50878=ast",))
    assert panel["analytes"]["ast"]["value"] == 30
    assert panel["normal_panel"]["status"] == "met"
    assert any("'50878' -> ast" in line for line in run.report)
    _, rows = run_csv(LONG_CODES, maps=("Asparate Aminotransferase=ast",))
    assert column(rows, "levlab_analyte")[1] == "ast"


def test_a_value_map_with_a_unit_gives_the_rows_unit_and_ignore_passes_through():
    text = "patient;sample;code;result;unit\n1;S1;X1;0,5;\n1;S1;X2;12;U/L\n"
    _, (panel,) = run_jsonl(text, maps=("X1=alt:ukat/L",))
    assert panel["analytes"]["alt"]["value"] == 30 and panel["analytes"]["alt"]["unit_assumed"] is False
    _, (panel,) = run_jsonl("patient;sample;test;result;unit\n1;S1;ALT;12;U/L\n", maps=("ALT=ignore",))
    assert panel["analytes"] == {}


def test_a_map_naming_no_column_is_still_an_error_in_a_wide_file():
    with pytest.raises(UsageError, match="no column '50861'"):
        run_csv("patient,ALT (U/L)\n1,30\n", maps=("50861=alt",))


@pytest.mark.parametrize(
    "text",
    ['# local codes\n50861 = alt\n50954 = "ldh:U/L"\n', '50861 = "alt"\n50954 = "ldh:U/L"\n',
     '50861=alt   # ALAT\n\n50954 = ldh:U/L\n'],
    ids=["plain-with-quotes", "toml", "plain"],
)
def test_read_codes_takes_toml_or_plain_lines(tmp_path, text):
    path = tmp_path / "codes.txt"
    path.write_text(text)
    assert read_codes(str(path)) == ("50861=alt", "50954=ldh:U/L")


def test_a_bad_codes_line_is_one_usage_error_naming_the_line(tmp_path):
    path = tmp_path / "codes.txt"
    path.write_text("50861 = alt\nthis is no mapping\n")
    with pytest.raises(UsageError, match="line 2"):
        read_codes(str(path))


def test_codes_file_maps_a_long_exports_local_codes(tmp_path):
    codes = tmp_path / "codes.toml"
    codes.write_text('50878 = "ast"\n50863 = "alp:U/L"\n99999 = "ggt"\n')
    export = tmp_path / "labevents.csv"
    export.write_text(LONG_CODES.replace("Asparate Aminotransferase", "").replace("Alkaline Phosphatase", ""))
    result = CliRunner().invoke(main, ["csv", str(export), "--codes", str(codes), "--format", "jsonl"])
    assert result.exit_code == 0, result.stderr
    assert '"ast"' in result.stdout and '"alp"' in result.stdout
    assert "test names and codes mapped (--map, --codes)" in result.stderr
    bad = CliRunner().invoke(main, ["csv", str(export), "--codes", str(tmp_path / "missing.toml")])
    assert bad.exit_code == 2 and "--codes" in bad.stderr


LAB_EVENTS = ("labevent_id,subject_id,hadm_id,specimen_id,itemid,charttime,storetime,value,valuenum,valueuom,flag\n"
              "1,10000032,,2595209,50861,2180-03-23 11:51:00,2180-03-23 15:56:00,52,52,IU/L,abnormal\n"
              "2,10000032,,2595209,50878,2180-03-23 11:51:00,2180-03-23 15:56:00,42,42,IU/L,abnormal\n"
              "3,10000032,,2595209,50912,2180-03-23 11:51:00,2180-03-23 15:56:00,0.9,0.9,mg/dL,\n")


def test_map_on_a_lab_events_export_whose_test_column_is_an_item_code():
    """Issue 17.4: `--map 50861=alt` on a long hospital lab-events export said "no column '50861'"."""
    run, (panel,) = run_jsonl(LAB_EVENTS, maps=("50861=alt", "50878=ast"))
    assert {key: value["value"] for key, value in panel["analytes"].items()} == {"alt": 52, "ast": 42}
    assert "  'itemid' -> test" in run.report and "  'charttime' -> date (the sample time)" in run.report


def test_a_value_map_without_a_unit_keeps_the_names_unit_and_an_unused_map_is_said():
    text = "patient;sample;test;result;unit\n1;S1;ALAT (ukat/L);0,5;\n"
    run, (panel,) = run_jsonl(text, maps=("ALAT (ukat/L)=alt", "5O861=ast"))
    assert panel["analytes"]["alt"]["value"] == 30  # 0.5 µkat/L, not 0.5 U/L
    (line,) = [line for line in run.closing_lines() if "matched no row" in line]
    assert "'5O861=ast'" in line and "ALAT" not in line


@pytest.mark.parametrize(
    ("codes", "maps", "message"),
    [('50861 = "alt"\n50861 = "ast"\n', [], "--codes line 50861=alt and --codes line 50861=ast"),
     ("50861 = alt\n50861 = ast\n", [], "keep one line in the --codes file"),
     ("50861 = alt\n", ["50861=ggt"], "--map 50861=ggt and --codes line 50861=alt"),
     (None, ["50861=alt", "50861=ast"], "give one --map"),
     (None, ["50861=alt", "50861=alt:U/L"], "two meanings"),  # a stated unit beside none: not the same
     (None, ["ALAT=alt", "alat=ast"], "two meanings"),  # the same name once normalised
     (None, ["50861=alt", "50861=ignore"], "two meanings")],
)
def test_a_code_given_two_meanings_is_a_usage_error_never_the_first_one(tmp_path, codes, maps, message):
    """A value map that could mean two things is never resolved by order (issue 17.4 review)."""
    export = tmp_path / "export.csv"
    export.write_text("patient,test,value,unit\nP1,50861,30,U/L\nP1,ALAT,40,U/L\n")
    arguments = ["csv", str(export), *[part for text in maps for part in ("--map", text)]]
    if codes is not None:
        (tmp_path / "codes.txt").write_text(codes)
        arguments += ["--codes", str(tmp_path / "codes.txt")]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 2 and message in result.stderr and "which one is meant cannot be told" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("maps", [["50861=alt", "50861=alt"], ["50861=alt:U/L", " 50861 =alt:U/L"]])
def test_the_same_meaning_given_twice_is_fine(tmp_path, maps):
    export = tmp_path / "export.csv"
    export.write_text("patient,test,value,unit\nP1,50861,30,U/L\n")
    result = CliRunner().invoke(main, ["csv", str(export), *[part for text in maps for part in ("--map", text)]])
    assert result.exit_code == 0, result.stderr
    assert column(list(csv.reader(io.StringIO(result.stdout))), "levlab_analyte") == ["alt"]


def test_a_bad_codes_line_says_codes_not_map(tmp_path):
    (tmp_path / "codes.txt").write_text('x = "alt:mg"\n')
    export = tmp_path / "export.csv"
    export.write_text("patient,test,value,unit\nP1,50861,30,U/L\n")
    result = CliRunner().invoke(main, ["csv", str(export), "--codes", str(tmp_path / "codes.txt")])
    assert result.exit_code == 2 and "--codes line 'x=alt:mg'" in result.stderr and "--map" not in result.stderr
