"""`levlab csv` through click's CliRunner: piping, exit codes, encodings, round trip, options."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from levlab.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NL_LONG = EXAMPLES / "export_nl_long.csv"
EN_WIDE = EXAMPLES / "export_en_wide.csv"


def levlab(*args: str, input: bytes | str | None = None) -> Result:
    return CliRunner().invoke(main, ["csv", *args], input=input)


def parsed(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def last_stderr_line(result: Result) -> str:
    return result.stderr.rstrip("\n").splitlines()[-1]


# --- the shipped examples ---------------------------------------------------------------------


@pytest.mark.parametrize(("path", "delimiter"), [(NL_LONG, ";"), (EN_WIDE, ",")])
def test_round_trip_keeps_every_original_field_in_order(path: Path, delimiter: str) -> None:
    result = levlab(str(path))
    assert result.exit_code == 0, result.stderr
    original = parsed(path.read_text(encoding="utf-8-sig"), delimiter)
    out = parsed(result.stdout.removeprefix("\ufeff"), delimiter)
    assert len(out) == len(original)
    for before, after in zip(original, out, strict=True):
        assert after[: len(before)] == before
        assert len(after) == len(out[0])


def test_dutch_example_keeps_its_bom_delimiter_and_decimal_comma() -> None:
    result = levlab(str(NL_LONG))
    assert result.stdout.startswith("\ufeffPatiëntID;")
    rows = parsed(result.stdout.removeprefix("\ufeff"), ";")
    values = [row[rows[0].index("levlab_value")] for row in rows[1:]]
    assert "48,5" in values and "<5" in values
    assert "Natrium" in result.stdout
    assert "'Vlag'" in result.stderr  # an ignored column is named


def test_stdin_to_stdout_piping() -> None:
    result = levlab("-", input=EN_WIDE.read_bytes())
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("patient_id,sample_date")
    assert last_stderr_line(result) == "levlab csv: 6 rows, 6 panels, 0 rows with errors"


def test_detection_report_on_stderr_says_where_units_come_from() -> None:
    result = levlab(str(EN_WIDE))
    assert "levlab csv: wide layout; delimiter ',' (sniffed)" in result.stderr
    assert "'Total Bilirubin (mg/dL)' -> bilirubin, mg/dL (from the header)" in result.stderr
    assert "'GGT' -> ggt, U/L (assumed" in result.stderr
    assert result.stderr.count("assumed") == 1
    assert "'Sodium (mmol/L)'" in result.stderr


def test_dry_run_prints_only_the_report() -> None:
    result = levlab(str(NL_LONG), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "long layout" in result.stderr and "encoding utf-8 (BOM)" in result.stderr


def test_jsonl_one_object_per_panel() -> None:
    result = levlab(str(NL_LONG), "--format", "jsonl")
    panels = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(panels) == 4
    first = panels[0]
    assert first["rows"] == [1, 2, 3, 4, 5, 6]
    assert first["key"] == {"PatiëntID": "1001", "Monsternummer": "L240304-017", "Afnamedatum": "04-03-2024 08:12"}
    assert first["errors"] == []
    assert first["normal_panel"]["status"] == "met"
    assert first["sex"] == "F"
    assert {"analytes", "flags", "undecided", "disclaimer", "levlab_version"} <= set(first)
    assert panels[1]["analytes"]["cea"]["value"] == 48.5


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    result = levlab(str(EN_WIDE), "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8").startswith("patient_id,")


def test_table_format_small_and_summary() -> None:
    result = levlab(str(EN_WIDE), "--format", "table")
    assert result.exit_code == 0
    assert "patient_id P-002" in result.stdout and "normal-panel" in result.stdout
    lines = ["ALT (U/L),AST (U/L)"] + [f"{20 + i},{300 if i % 5 == 0 else 20}" for i in range(40)]
    result = levlab("-", "--format", "table", input="\n".join(lines) + "\n")
    assert "40 panels" in result.stdout and "transaminases-raised" in result.stdout


# --- exit codes and per-row errors -----------------------------------------------------------------


def test_row_errors_exit_1_and_every_row_is_written() -> None:
    text = "ALT (U/L),AST (U/L)\n30,20\nabc,20\n25,x\n"
    result = levlab("-", input=text)
    assert result.exit_code == 1
    rows = parsed(result.stdout, ",")
    assert len(rows) == 4
    assert rows[2][rows[0].index("levlab_error")].startswith("ALT (U/L): 'abc' is not a number")
    assert "row 2, column 'ALT (U/L)'" in result.stderr
    assert last_stderr_line(result) == "levlab csv: 3 rows, 3 panels, 2 rows with errors"


def test_strict_stops_with_exit_1_after_writing_the_rows_before() -> None:
    result = levlab("-", "--strict", input="ALT (U/L)\n30\nabc\n40\n")
    assert result.exit_code == 1
    assert "Error: row 2" in result.stderr and "--strict" in result.stderr
    assert [row[0] for row in parsed(result.stdout, ",")] == ["ALT (U/L)", "30"]
    assert last_stderr_line(result) == ("levlab csv: 2 rows read, 1 panels, 1 rows with errors; stopped at row 2 "
                                        "(--strict): the panels finished before it are written, its own panel's "
                                        "rows and all later rows are not")


def test_strict_on_a_long_export_writes_the_panels_finished_before_and_says_so() -> None:
    """Issue 20.11: the open panel's earlier rows are not written; code, summary and README agree."""
    text = ("patient,date,test,result,unit\n1,2024-01-01,ALT,30,U/L\n1,2024-01-01,AST,20,U/L\n"
            "2,2024-01-01,ALT,30,U/L\n2,2024-01-01,AST,abc,U/L\n3,2024-01-01,ALT,300,U/L\n")
    result = levlab("-", "--strict", input=text)
    assert result.exit_code == 1
    assert [row[0] for row in parsed(result.stdout, ",")] == ["patient", "1", "1"]  # patient 2's panel is not
    assert "in the rows read" in result.stderr and "in the file" not in result.stderr
    assert "more rows with errors" not in result.stderr
    assert last_stderr_line(result).startswith("levlab csv: 4 rows read, 1 panels, 1 rows with errors; stopped at row 4")


def test_usage_error_exit_2_before_any_output() -> None:
    result = levlab("-", input="Bilirubin,ALT\n10,20\n")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--map \"Bilirubin=bilirubin:µmol/L\"" in result.stderr
    assert "µmol/L or mg/dL" in result.stderr


def test_duplicate_analyte_columns_are_a_usage_error() -> None:
    result = levlab("-", input="BIL (umol/L),TBIL (umol/L)\n10,11\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert "are all bilirubin" in result.stderr


@pytest.mark.parametrize(("option", "part"), [
    ("Nope=alt", "no column 'Nope'"),
    ("ALT=altt", "unknown analyte 'altt'"),
    ("ALT=alt:mg/dL", "unit 'mg/dL'"),
])
def test_bad_map_is_exit_2_naming_the_part(option: str, part: str) -> None:
    result = levlab("-", "--map", option, input="ALT,AST\n30,20\n")
    assert result.exit_code == 2
    assert part in result.stderr


@pytest.mark.parametrize(("option", "part"), [
    ("tset=ALT", "unknown role 'tset'"),
    ("test=Nope", "no column 'Nope'"),
    ("test", "write ROLE=HEADER"),
])
def test_bad_col_is_exit_2_naming_the_part(option: str, part: str) -> None:
    result = levlab("-", "--col", option, input="ALT,AST\n30,20\n")
    assert result.exit_code == 2
    assert part in result.stderr


def test_missing_normal_panel_analyte_is_reported_on_stderr() -> None:
    result = levlab("-", input="ALT (U/L),AST (U/L),ALP (U/L),Bilirubin (umol/L)\n30,20,80,10\n")
    assert "no LDH column: normal-panel can never be met" in result.stderr
    assert "incomplete" in result.stdout


def test_empty_input_is_a_usage_error() -> None:
    result = levlab("-", input="")
    assert result.exit_code == 2 and "empty" in result.stderr


# --- dialect and encodings ------------------------------------------------------------------------------


def test_cp1252_micro_sign_with_encoding_option() -> None:
    data = "test;result;unit\nbilirubine;12;µmol/L\nALAT;30;U/L\n".encode("cp1252")
    result = levlab("-", "--encoding", "cp1252", input=data)
    assert result.exit_code == 0, result.stderr
    assert "bilirubine;12;µmol/L;bilirubin;12;µmol/L;N" in result.stdout


def test_undecodable_byte_names_the_line_and_suggests_encoding() -> None:
    data = "test;result;unit\nALAT;30;U/L\nbilirubine;12;µmol/L\n".encode("cp1252")
    result = levlab("-", input=data)
    assert result.exit_code == 2
    assert "line 3" in result.stderr and "--encoding cp1252" in result.stderr


def test_latin1_and_mojibake_unit() -> None:
    data = "test,result,unit\nbilirubin,12,Âµmol/L\n".encode()
    result = levlab("-", input=data)
    assert result.exit_code == 0, result.stderr
    assert ",bilirubin,12,µmol/L,N" in result.stdout


@pytest.mark.parametrize(("args", "text", "delimiter"), [
    (["-t"], "test\tresult\tunit\nALT\t30\tU/L\n", "\t"),
    (["-d", "|"], "test|result|unit\nALT|30|U/L\n", "|"),
    ([], "test\tresult\tunit\nALT\t30\tU/L\n", "\t"),
])
def test_delimiters(args: list[str], text: str, delimiter: str) -> None:
    result = levlab("-", *args, input=text)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1] == delimiter.join(["ALT", "30", "U/L", "alt", "30", "U/L", "N"]) + \
        result.stdout.splitlines()[1][len(delimiter.join(["ALT", "30", "U/L", "alt", "30", "U/L", "N"])):]
    assert parsed(result.stdout, delimiter)[1][:3] == ["ALT", "30", "U/L"]


def test_decimal_option_overrides_the_dialect() -> None:
    text = "test,result,unit\nbilirubin,\"2,4\",mg/dL\n"
    result = levlab("-", "--decimal", ",", input=text)
    assert result.exit_code == 0, result.stderr
    assert parsed(result.stdout, ",")[1][4] == "41,05"


def test_crlf_line_endings_are_kept() -> None:
    result = CliRunner().invoke(main, ["csv", "-"], input=b"ALT (U/L)\r\n30\r\n")
    assert result.stdout_bytes.endswith(b"\r\n") and b"\r\r" not in result.stdout_bytes


def test_quoted_fields_survive() -> None:
    text = 'note,ALT (U/L)\n"has, comma",30\n"two\nlines",40\n'
    result = levlab("-", input=text)
    rows = parsed(result.stdout, ",")
    assert [row[0] for row in rows[1:]] == ["has, comma", "two\nlines"]
    assert [row[1] for row in rows[1:]] == ["30", "40"]


def test_na_option() -> None:
    result = levlab("-", "--na", "niet bepaald", input="ALT (U/L),AST (U/L)\nniet bepaald,30\n")
    assert result.exit_code == 0
    assert "'niet bepaald'" not in result.stdout


def test_no_progress_bar_when_not_a_terminal() -> None:
    result = levlab(str(EN_WIDE))
    assert "levlab csv" not in result.stdout
    assert "%" not in result.stderr


def test_output_onto_the_input_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("ALT (U/L)\n30\n", encoding="utf-8")
    result = levlab(str(source), "-o", str(source))
    assert result.exit_code == 2 and "is the input file" in result.stderr
    assert source.read_text(encoding="utf-8") == "ALT (U/L)\n30\n"


def test_utf16_with_a_byte_order_mark_is_decoded() -> None:
    result = levlab("-", input="ALT (U/L)\n30\n".encode("utf-16"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("30,30,U/L,N,")


def test_header_unit_wins_over_a_unit_column_beside_it() -> None:
    result = levlab("-", input="ALT (U/L),unit\n30,U/L\n")
    assert result.exit_code == 0
    assert "'unit'" in result.stderr  # not used: reported as passed through


def test_stderr_carries_the_disclaimer_before_the_summary_line() -> None:
    from levlab import DISCLAIMER

    result = levlab("-", input="ALT (U/L),AST (U/L)\n30,20\n")
    lines = result.stderr.strip().splitlines()
    assert lines[-2] == DISCLAIMER
    assert lines[-1].startswith("levlab csv: 1 rows, 1 panels")


def _random_wide_export(rows: int, seed: int) -> str:
    """Panels of every kind: censored, missing, unreadable, sex/age unknown, two units."""
    import random

    rng = random.Random(seed)
    header = ["sex", "age", "ALT (U/L)", "AST (U/L)", "ALP (U/L)", "GGT (U/L)", "LDH (U/L)",
              "Bilirubin (mg/dL)", "CEA (ug/L)", "Glucose (mmol/L)", "Ascites LDH (U/L)", "Albumin (g/L)"]
    spans = [(5, 400), (5, 300), (20, 600), (5, 500), (80, 1500), (0.1, 12.0), (0.5, 400), (2.0, 9.0),
             (50, 3000), (15, 55)]

    def cell(low: float, high: float) -> str:
        roll = rng.random()
        if roll < 0.08:
            return ""
        if roll < 0.12:
            return f"<{rng.choice([5, 10, 50])}"
        if roll < 0.15:
            return f">{rng.choice([100, 1000])}"
        if roll < 0.16:
            return "n.b."  # unreadable
        value = rng.uniform(low, high)
        return f"{value:.1f}" if high < 20 else str(round(value))

    lines = [",".join(header)]
    for _ in range(rows):
        sex = rng.choice(["F", "M", ""])
        age = rng.choice(["", "45", "75", "17"])
        lines.append(",".join([sex, age, *(cell(*span) for span in spans)]))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_csv_rule_columns_equal_the_full_interpretation(seed: int) -> None:
    """The CSV columns (decided per row by the RuleBook) say what `interpret` says of each panel."""
    text = _random_wide_export(400, seed)
    as_csv = levlab("-", input=text)
    as_jsonl = levlab("-", "--format", "jsonl", input=text)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    panels = [json.loads(line) for line in as_jsonl.stdout.splitlines()]
    assert len(rows) == len(panels) == 400
    for row, panel in zip(rows, panels, strict=True):
        assert row["levlab_flags"].split() == [flag["id"] for flag in panel["flags"]]
        assert row["levlab_normal_panel"] == panel["normal_panel"]["status"]
        for analyte_id, result in panel["analytes"].items():
            assert row[f"levlab_{analyte_id}_flag"] == result["flag"]


def test_original_record_text_is_written_back_byte_for_byte() -> None:
    """Quoting the input chose (even where none is needed) and embedded newlines survive."""
    text = 'id,note,ALT (U/L)\n"P1","two\nlines",30\nP2,"a ""quoted"" word",200\n'
    result = levlab("-", input=text)
    lines = result.stdout.split("\n")
    assert lines[1] + "\n" + lines[2].split(",30,")[0] == '"P1","two\nlines"'
    assert lines[3].startswith('P2,"a ""quoted"" word",200,')


def test_short_rows_are_padded_and_then_written_field_by_field() -> None:
    result = levlab("-", input="id,ALT (U/L),AST (U/L)\nP1,30\n")
    row = parsed(result.stdout, ",")[1]
    assert row[:3] == ["P1", "30", ""]


def test_every_unitless_column_that_needs_a_unit_is_named_at_once() -> None:
    result = levlab("-", input="ALB,BIL,ALT\n38.5,7.5,20\n")
    assert result.exit_code == 2
    assert "--map \"ALB=albumin:g/L\"" in result.stderr
    assert "--map \"BIL=bilirubin:µmol/L\"" in result.stderr
    assert result.stdout == ""


def test_skip_lines_drops_a_title_above_the_header_and_says_so() -> None:
    text = "Uitslagen export LIS 2024-03-01;;\n\nALAT;ASAT\n30;20\n"
    result = levlab("-", "--skip-lines", "2", input=text)
    assert result.exit_code == 0
    rows = parsed(result.stdout, ";")
    assert rows[0][:2] == ["ALAT", "ASAT"] and rows[1][:2] == ["30", "20"]
    assert "skipped 2 lines above the header" in result.stderr


def test_a_title_line_without_skip_lines_is_a_usage_error_suggesting_it() -> None:
    result = levlab("-", input="Uitslagen export LIS 2024-03-01;;\nALAT;ASAT\n30;20\n")
    assert result.exit_code == 2
    assert "--skip-lines" in result.stderr


def test_skip_lines_beyond_the_input_is_a_usage_error() -> None:
    result = levlab("-", "--skip-lines", "5", input="ALAT\n30\n")
    assert result.exit_code == 2
    assert "only 2 lines" in result.stderr


@pytest.mark.parametrize(("header", "analyte"), [("ALT (%)", "alt"), ("CEA (%)", "cea"), ("ALT(%)", "alt")])
def test_a_percent_column_is_refused_as_an_unknown_unit(header, analyte):
    result = levlab("-", input=f"patient,{header}\n1,50\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert f"'%' is not a unit of {analyte}" in result.stderr
    assert f'--map "{header}=ignore"' in result.stderr  # never a suggestion to read it as the analyte


def test_a_percent_column_is_not_read_as_an_enzyme():
    result = levlab("-", input="patient,ALT %,AST (U/L)\n1,50,20\n")
    assert "'ALT %' -> alt" not in result.stderr
    assert "levlab_alt_value" not in result.stdout
