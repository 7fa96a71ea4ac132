"""levlab.tabular driven with text streams: dialect, layouts, caches, per-row errors, writing."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from levlab import tabular
from levlab.catalog import analytes
from levlab.errors import UsageError
from levlab.tabular import CsvOptions, CsvRun, CsvSink, DecodedLines, JsonlSink


def run_csv(text: str, **options: object) -> tuple[CsvRun, list[list[str]]]:
    """Run a CSV text through levlab; the output parsed back with the input's delimiter."""
    run = CsvRun(io.StringIO(text, newline=""), CsvOptions(**options))  # type: ignore[arg-type]
    out = io.StringIO(newline="")
    run.run(CsvSink(out, run.dialect))
    return run, list(csv.reader(io.StringIO(out.getvalue(), newline=""), delimiter=run.dialect.delimiter))


def run_jsonl(text: str, **options: object) -> tuple[CsvRun, list[dict]]:
    run = CsvRun(io.StringIO(text, newline=""), CsvOptions(**options))  # type: ignore[arg-type]
    out = io.StringIO()
    run.run(JsonlSink(out))
    return run, [json.loads(line) for line in out.getvalue().splitlines()]


def column(rows: list[list[str]], name: str) -> list[str]:
    at = rows[0].index(name)
    return [row[at] for row in rows[1:]]


WIDE = (
    "patient,sex,age,Total Bilirubin (mg/dL),ALP (U/L),LDH (U/L),AST (U/L),ALAT (U/L),GGT\n"
    "P1,F,62,0.6,88,180,22,18,25\n"
    "P2,M,70,2.9,410,620,95,120,380\n"
    "P3,V,55,<0.2,NA,175,19,>1000,31\n"
)

LONG_NL = (
    "PatiëntID;Geslacht;Leeftijd;Monsternummer;Bepaling;Uitslag;Eenheid;Referentiewaarde\n"
    "1;V;64;S1;Bilirubine totaal;12;µmol/L;< 17\n"
    "1;V;64;S1;Alkalische fosfatase;98;U/L;40 - 120\n"
    "1;V;64;S1;LD;212;U/L;< 248\n"
    "1;V;64;S1;ASAT;24;U/L;≤31\n"
    "1;V;64;S1;ALAT;19;U/L;< 34\n"
    "1;V;64;S1;Natrium;139;mmol/L;135 - 145\n"
    "2;M;71;S2;Bilirubine totaal;2,5;mg/dL;0,1 - 1,2\n"
    "2;M;71;S2;ALAT;<5;U/L;< 45\n"
)


# --- dialect and encoding ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "delimiter"), [
    ("a,b,c\n1,2,3\n", ","),
    ("a;b;c\n1,5;2;3\n", ";"),
    ("a\tb\tc\n1\t2\t3\n", "\t"),
    ("a|b|c\n1|2|3\n", "|"),
    ('"x;y",b,c\n1,2,3\n', ","),
])
def test_sniffs_the_delimiter(text: str, delimiter: str) -> None:
    assert tabular.sniff_delimiter(text.splitlines(keepends=True)) == delimiter


def test_decimal_mark_follows_the_delimiter_unless_given() -> None:
    assert tabular.open_dialect(["a;b\n"])[0].decimal == ","
    assert tabular.open_dialect(["a,b\n"])[0].decimal == "."
    assert tabular.open_dialect(["a;b\n"], decimal=".")[0].decimal == "."
    assert tabular.open_dialect(["a,b\r\n"])[0].lineterminator == "\r\n"


def test_utf8_bom_is_dropped_and_remembered() -> None:
    lines = DecodedLines(io.BytesIO("\ufeffa;b\n1;2\n".encode()), "utf-8")
    assert list(lines) == ["a;b\n", "1;2\n"]
    assert lines.bom


def test_cp1252_micro_sign() -> None:
    data = "test;result;unit\nbili;12;µmol/L\n".encode("cp1252")
    assert b"\xb5" in data
    assert list(DecodedLines(io.BytesIO(data), "cp1252"))[1] == "bili;12;µmol/L\n"


def test_undecodable_byte_names_the_line_and_the_option() -> None:
    data = "test;result;unit\nALT;35;U/L\nbili;12;µmol/L\n".encode("cp1252")
    with pytest.raises(UsageError, match=r"line 3: byte 0xb5 .*--encoding cp1252"):
        list(DecodedLines(io.BytesIO(data), "utf-8"))


def test_unknown_encoding_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown encoding"):
        DecodedLines(io.BytesIO(b""), "klingon")


# --- headers and options -------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "analyte", "unit"), [
    ("ALAT (U/L)", "alt", "U/L"),
    ("Total Bilirubin (mg/dL)", "bilirubin", "mg/dL"),
    ("bilirubin_umol_L", "bilirubin", "µmol/L"),
    ("ALT [IU/L]", "alt", "U/L"),
    ("Bili mg/dl", "bilirubin", "mg/dL"),
    ("GGT", "ggt", None),
    ("gamma-GT", "ggt", None),
    ("AST (GOT)", "ast", None),
    ("Natrium (mmol/L)", None, None),
    ("Sodium", None, None),
])
def test_split_header(header: str, analyte: str | None, unit: str | None) -> None:
    found, found_unit = tabular.split_header(header)
    assert (found.id if found else None, found_unit) == (analyte, unit)


def test_bracketed_unit_that_is_not_the_analytes_is_an_error() -> None:
    with pytest.raises(UsageError, match=r"'ALT \(mmol/L\)'.*--map"):
        tabular.split_header("ALT (mmol/L)")


@pytest.mark.parametrize(("header", "role", "analyte"), [
    ("ALT ref", "range", "alt"),
    ("ALAT normaalwaarde", "range", "alt"),
    ("ref ALT", "range", "alt"),
    ("ALT unit", "unit", "alt"),
    ("LDH eenheid", "unit", "ldh"),
])
def test_companion_columns(header: str, role: str, analyte: str) -> None:
    found = tabular.companion_of(header)
    assert found is not None and (found[0], found[1].id) == (role, analyte)


def test_map_option() -> None:
    option = tabular.parse_map("Total_Bilirubin=bilirubin:mg/dL")
    assert (option.header, option.analyte.id, option.unit) == ("Total_Bilirubin", "bilirubin", "mg/dL")
    assert tabular.parse_map("TBIL=ignore").analyte is None


@pytest.mark.parametrize(("text", "part"), [
    ("=bilirubin", "header is missing"),
    ("X=", "analyte is missing"),
    ("X=bilirubinn", "unknown analyte 'bilirubinn'"),
    ("X=bilirubin:mmol/dL", "unit 'mmol/dL'"),
    ("X=bilirubin:U/L", "unit 'U/L'"),
])
def test_bad_map_names_the_wrong_part(text: str, part: str) -> None:
    with pytest.raises(UsageError, match=part):
        tabular.parse_map(text)


def test_bad_col_names_the_role() -> None:
    with pytest.raises(UsageError, match="unknown role 'tset'"):
        tabular.parse_col("tset=Bepaling")


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
    with pytest.raises(tabular.StrictStop, match="row 2"):
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
    assert "4 fields" in rows[2][-1]


# --- long -------------------------------------------------------------------------------------------------


def test_long_dutch_round_trip_and_fields() -> None:
    run, rows = run_csv(LONG_NL)
    original = list(csv.reader(io.StringIO(LONG_NL), delimiter=";"))
    for before, after in zip(original, rows, strict=True):
        assert after[: len(before)] == before
    assert rows[0][-7:] == ["levlab_analyte", "levlab_value", "levlab_unit", "levlab_flag", "levlab_ctcae",
                            "levlab_flags", "levlab_normal_panel", "levlab_error"][-7:]
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


def test_long_unsorted_keys_start_new_panels_and_are_counted() -> None:
    text = "patient,test,result\n1,ALT,30\n2,ALT,40\n1,AST,20\n"
    run, _ = run_csv(text)
    assert run.summary.panels == 3 and run.summary.reopened == 1
    assert any("came back" in line for line in run.closing_lines())


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


# --- caches -----------------------------------------------------------------------------------------


def test_caches_are_bounded_and_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["sex,age,ALT (U/L),AST (U/L),LDH (U/L)"]
    lines += [f"{'FM'[i % 2]},{30 + i % 50},{10 + i % 97},{12 + i % 89},{150 + i % 300}" for i in range(600)]
    text = "\n".join(lines) + "\n"
    _, expected = run_csv(text)
    monkeypatch.setattr(tabular, "CACHE_LIMIT", 7)
    monkeypatch.setattr(tabular, "PANEL_CACHE_LIMIT", 5)
    run, rows = run_csv(text)
    assert rows == expected
    assert run.judge.clears > 10
    assert len(run.judge.panels) <= 5


def test_assessment_is_shared_between_patients_of_one_context() -> None:
    text = "sex,age,ALT (U/L)\nF,40,30\nF,41,30\nF,42,30\n"
    run, _ = run_csv(text)
    (reading,) = run.judge.readings.values()
    assert len(reading.judged) == 1  # three adult women: one judgement


def test_every_analyte_id_makes_a_column_name() -> None:
    for analyte_id in analytes():
        assert analyte_id.isidentifier()


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


@pytest.mark.parametrize(
    ("last_line", "written_back"),
    [
        ('P2,3"0,40', True),  # a literal quote inside an unquoted field: one closed record
        ('P2,"30",40', True),
        ('P2,3"0,"40', False),  # an even count of quotes, yet the last field is left open
        ('P2,30,"40', False),
    ],
)
def test_only_a_record_left_open_at_the_end_of_the_file_is_rewritten(last_line: str, written_back: bool) -> None:
    _, rows = run_csv(f"id,ALT (U/L),AST (U/L)\nP1,30,40\n{last_line}")
    assert all(len(row) == len(rows[0]) for row in rows), "levlab's columns ended up inside a quoted field"
    out = io.StringIO(newline="")
    run = CsvRun(io.StringIO(f"id,ALT (U/L),AST (U/L)\nP1,30,40\n{last_line}", newline=""), CsvOptions())
    run.run(CsvSink(out, run.dialect))
    assert out.getvalue().split("\n")[2].startswith(last_line + ",") is written_back


# --- chunks: the output does not depend on how many rows are read, judged and written together ---


def _messy_wide(rows: int, seed: int) -> str:
    """A wide export with what exports hold: censored, missing, unreadable and repeated values,
    bad sex and age cells, blank lines, short and long rows, quoted notes over two lines."""
    import random

    rng = random.Random(seed)
    lines = ["id,sex,age,ALT (U/L),AST (U/L),ALP (U/L),LDH (U/L),Bilirubin (umol/L),GGT (U/L),note"]
    values = ["", "NA", "<5", ">1000", "n.b.", "12", "40", "41", "250", "35,5", *(str(rng.randint(5, 900)) for _ in range(30))]
    for number in range(rows):
        roll = rng.random()
        if roll < 0.02:
            lines.append("")
            continue
        cells = [f"P{number}", rng.choice(["F", "M", "", "X", "v"]), rng.choice(["60", "", "17", "abc", "45"]),
                 *(rng.choice(values) for _ in range(6)), rng.choice(["", "ok", '"two\nlines"', '"a, b"'])]
        if roll < 0.04:
            cells = cells[: rng.randint(1, 6)]
        elif roll < 0.05:
            cells.append("extra")
        lines.append(",".join('"' + cell + '"' if "," in cell and not cell.startswith('"') else cell for cell in cells))
    return "\n".join(lines) + "\n"


def _messy_long(rows: int, seed: int) -> str:
    """A long export: panels of any length (longer than a chunk too), unknown tests, a result
    given twice, sex changing within a panel, a key coming back after its panel closed."""
    import random

    rng = random.Random(seed)
    tests = [("ALAT", "U/L", "< 45"), ("ASAT", "U/L", "< 35"), ("AF", "U/L", "35 - 105"), ("LD", "U/L", "< 250"),
             ("Bilirubine totaal", "umol/L", "< 17"), ("Natrium", "mmol/L", "135 - 145"), ("GGT", "U/L", "")]
    lines = ["patient;geslacht;leeftijd;monster;bepaling;uitslag;eenheid;referentiewaarde"]
    sample = 0
    while len(lines) <= rows:
        sample += 1
        key = rng.choice([f"S{sample}", f"S{max(1, sample - 3)}"])  # now and then a key that comes back
        size = rng.choice([1, 3, 6, 7, 40]) if rng.random() < 0.99 else 1500
        sex = rng.choice(["M", "V", ""])
        for _ in range(size):
            name, unit, reference = rng.choice(tests)
            value = rng.choice(["12", "40", "300", "<5", "", "n.b.", "35,5", str(rng.randint(3, 700))])
            lines.append(";".join([f"P{sample // 4}", sex if rng.random() < 0.97 else "M", "60", key, name, value, unit, reference]))
    return "\n".join(lines) + "\n"


def _csv_output(text: str, monkeypatch: pytest.MonkeyPatch, chunk: int, cache_limit: int | None = None,
                **options: object) -> tuple[str, str]:
    monkeypatch.setattr(tabular, "CHUNK_LINES", chunk)
    monkeypatch.setattr(tabular, "DECODE_BLOCK", chunk)
    run = CsvRun(DecodedLines(io.BytesIO(text.encode())), CsvOptions(**options))  # type: ignore[arg-type]
    if cache_limit is not None:
        run.judge.limit = cache_limit
    out = io.StringIO(newline="")
    try:
        run.run(CsvSink(out, run.dialect))
    except tabular.StrictStop as stop:
        return out.getvalue(), f"stopped: {stop}; {run.summary.line()}"
    return out.getvalue(), "\n".join(run.closing_lines())


@pytest.mark.parametrize("make", [_messy_wide, _messy_long])
@pytest.mark.parametrize("seed", [1, 2])
def test_output_is_the_same_whatever_the_chunk_size(make: Callable[[int, int], str], seed: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    text = make(3000, seed)
    one_by_one = _csv_output(text, monkeypatch, 1)
    assert one_by_one[0].count("\n") > 2500
    for chunk in (7, 1024):
        assert _csv_output(text, monkeypatch, chunk) == one_by_one, f"chunks of {chunk}"
    # caches cleared every few entries, in the middle of chunks
    assert _csv_output(text, monkeypatch, 1024, cache_limit=5) == one_by_one


@pytest.mark.parametrize("make", [_messy_wide, _messy_long])
def test_strict_stops_at_the_same_row_whatever_the_chunk_size(make: Callable[[int, int], str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    text = make(3000, 3)
    one_by_one = _csv_output(text, monkeypatch, 1, strict=True)
    assert one_by_one[1].startswith("stopped: row ")
    assert _csv_output(text, monkeypatch, 1024, strict=True) == one_by_one


@pytest.mark.parametrize("fields", [
    ["40", "U/L", "H", "1"], [""], ["", ""], ["a;b", "c"], ['say "hi"', "x"], ["two\nlines"], ["cr\r"],
    [" padded ", "µmol/L"], ["=1+1"], ["a", "", "b"],
])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_sink_fragment_quotes_as_csv_writer_does(fields: list[str], delimiter: str) -> None:
    dialect = tabular.Dialect(delimiter, ".", "\r\n")
    expected = io.StringIO(newline="")
    csv.writer(expected, delimiter=delimiter, lineterminator="\r\n").writerow(fields)
    assert CsvSink(io.StringIO(), dialect).fragment(fields) == expected.getvalue()[:-2]


@given(
    cells=st.lists(st.lists(st.text(alphabet="ab ;,\t|µ.-<5é", max_size=6), max_size=5), min_size=1, max_size=20),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    ending=st.sampled_from(["\n", "\r\n"]),
    last_ending=st.booleans(),
)
def test_lines_without_quotes_are_split_as_csv_reader_reads_them(cells: list[list[str]], delimiter: str, ending: str,
                                                                 last_ending: bool) -> None:
    lines = [delimiter.join(row) + ending for row in cells]
    if not last_ending:
        lines[-1] = lines[-1].rstrip("\r\n") or lines[-1]
    split = tabular._split_plain(lines, delimiter)
    assert split is not None
    rows, originals = split
    assert rows == list(csv.reader(lines, delimiter=delimiter))
    assert originals == [line.rstrip("\r\n") for line in lines]


@pytest.mark.parametrize("lines", [['a,"b"\n'], ["a,b\r"], ["a\x00,b\n"], ["a\nb,c\n"]])
def test_lines_that_need_the_csv_reader_are_left_to_it(lines: list[str]) -> None:
    assert tabular._split_plain(lines, ",") is None


def test_a_run_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    before = gc.get_threshold()
    run_csv("id,ALT (U/L)\nP1,30\nP2,60\n")
    assert gc.get_threshold() == before
