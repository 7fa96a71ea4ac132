"""levlab.exports.xlsx_records and formats: an Excel sheet read as records, on the CSV engine."""

from __future__ import annotations

import builtins
import datetime as dt
import io
import json
import zipfile

import pytest
from click.testing import CliRunner
from workbooks import workbook

from levlab.cli import main
from levlab.errors import UsageError
from levlab.exports import CsvOptions, CsvSink, ExportRun, JsonlSink, open_records
from levlab.exports.formats import sniff
from levlab.exports.xlsx_records import XlsxRecords, cell_text, number_text

PANEL = ["Patient", "Datum", "Bilirubine (umol/L)", "ALAT (U/L)", "ASAT (U/L)", "AF (U/L)", "LD (U/L)"]


def read(data: bytes, **options: object) -> tuple[ExportRun, list[list[str]]]:
    """The workbook through levlab to CSV, parsed back."""
    import csv

    records = open_records(io.BytesIO(data), CsvOptions(**options)).records  # type: ignore[arg-type]
    run = ExportRun(records, CsvOptions(**options))  # type: ignore[arg-type]
    out = io.StringIO(newline="")
    run.run(CsvSink(out, run.dialect))
    return run, list(csv.reader(io.StringIO(out.getvalue(), newline="")))


def panels(data: bytes, **options: object) -> list[dict]:
    records = open_records(io.BytesIO(data), CsvOptions(**options)).records  # type: ignore[arg-type]
    run = ExportRun(records, CsvOptions(**options))  # type: ignore[arg-type]
    out = io.StringIO()
    run.run(JsonlSink(out))
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.1 + 0.2, "0.3"),  # what Excel shows, never 0.30000000000000004
        (0.30000000000000004, "0.3"),
        (35.0, "35"),
        (35, "35"),
        (12.5, "12.5"),
        (-2.5, "-2.5"),
        (1e-05, "0.00001"),
        (1234567.891, "1234567.891"),
        (2.675, "2.675"),
        (1 / 3, "0.333333333333333"),  # 15 significant digits, as Excel shows
    ],
)
def test_numbers_are_their_shortest_text_at_excels_precision(number: float, text: str) -> None:
    assert number_text(number) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("<5", "<5"),
        ("4,5", "4,5"),
        ("#N/A", "#N/A"),
        (True, "TRUE"),
        (dt.datetime(2024, 3, 1), "2024-03-01"),
        (dt.datetime(2024, 3, 1, 8, 30), "2024-03-01 08:30"),
        (dt.datetime(2024, 3, 1, 8, 30, 15), "2024-03-01 08:30:15"),
        (dt.date(2024, 3, 1), "2024-03-01"),
    ],
)
def test_typed_cells_become_the_text_the_run_reads(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_a_workbook_is_read_on_the_same_engine_with_typed_cells() -> None:
    data = workbook(("Lab", [
        PANEL,
        ["P1", dt.datetime(2024, 3, 1, 8, 30), 0.1 + 0.2 + 11.7, 35, 30, 90, 200],
        ["P2", 45352, "4,5", "<5", 30, None, 480],  # a serial number in the date column, text cells
    ]))
    run, rows = read(data)
    assert rows[0][:7] == PANEL
    assert rows[1][:7] == ["P1", "2024-03-01 08:30", "12", "35", "30", "90", "200"]
    assert rows[2][:7] == ["P2", "2024-03-01", "4,5", "<5", "30", "", "480"]
    at = rows[0].index
    assert rows[1][at("levlab_normal_panel")] == "met"
    assert rows[2][at("levlab_bilirubin_value")] == "4.5"  # decimal comma stored as text
    assert rows[2][at("levlab_alt_value")] == "<5"
    assert rows[2][at("levlab_alp_flag")] == ""  # empty cell: not measured
    assert rows[2][at("levlab_normal_panel")] == "not-met"
    assert run.layout.kind == "wide"


def test_a_serial_number_outside_a_date_column_stays_a_number() -> None:
    data = workbook(("Lab", [["Patient", "ALAT (U/L)", "Code"], ["P1", 45352, 45352]]))
    _, rows = read(data)
    assert rows[1][:3] == ["P1", "45352", "45352"]


def test_title_rows_above_the_header_are_found_and_reported() -> None:
    data = workbook(("Lab", [["Liver panel export, 2024"], [], PANEL, ["P1", "2024-03-01", 12, 35, 30, 90, 200]]))
    run, rows = read(data)
    assert rows[0][:7] == PANEL
    assert "header on row 3, 2 title rows above it skipped" in run.report[0]


def test_skip_lines_names_the_header_row() -> None:
    data = workbook(("Lab", [["Export"], ["Patient", "ALAT (U/L)"], ["P1", 35]]))
    records = XlsxRecords(io.BytesIO(data), CsvOptions(skip_lines=1))
    assert records.header == ["Patient", "ALAT (U/L)"]
    with pytest.raises(UsageError, match="has only 3 rows"):
        XlsxRecords(io.BytesIO(data), CsvOptions(skip_lines=5))


def test_the_first_sheet_with_a_header_is_read_unless_sheet_says() -> None:
    data = workbook(("Notes", [["read me first"], ["nothing here"]]),
                    ("Lab", [["Patient", "ALAT (U/L)"], ["P1", 35]]),
                    ("Lab 2", [["Patient", "ASAT (U/L)"], ["P2", 40]]))
    assert XlsxRecords(io.BytesIO(data), CsvOptions()).header == ["Patient", "ALAT (U/L)"]
    assert XlsxRecords(io.BytesIO(data), CsvOptions(sheet="Lab 2")).header == ["Patient", "ASAT (U/L)"]
    assert XlsxRecords(io.BytesIO(data), CsvOptions(sheet="3")).header == ["Patient", "ASAT (U/L)"]
    with pytest.raises(UsageError, match=r"no such sheet; the workbook has 1 'Notes', 2 'Lab', 3 'Lab 2'"):
        XlsxRecords(io.BytesIO(data), CsvOptions(sheet="Bloed"))


def test_merged_header_and_data_cells() -> None:
    # "Patient" merged down over the title row and the header row; each patient id merged over its panel's rows
    rows = [
        ["Patient", "Results"],
        [None, "Bepaling", "Uitslag", "Eenheid"],
        ["P1", None, "ALAT", 35, "U/L"],
        [None, None, "ASAT", 30, "U/L"],
        ["P2", None, "ALAT", 90, "U/L"],
    ]
    data = workbook(("Lab", [row[:1] + row[2:] if len(row) == 5 else row for row in rows]),
                    merges=[("Lab", "A1:A2"), ("Lab", "A3:A4")])
    records = XlsxRecords(io.BytesIO(data), CsvOptions())  # the row with the most recognised cells is the header
    assert records.header == ["Patient", "Bepaling", "Uitslag", "Eenheid"]
    found = panels(data)
    assert [panel["key"] for panel in found] == [{"Patient": "P1"}, {"Patient": "P2"}]
    assert [sorted(panel["analytes"]) for panel in found] == [["alt", "ast"], ["alt"]]


def test_a_formula_is_never_evaluated() -> None:
    data = workbook(("Lab", [["Patient", "ALAT (U/L)", "ASAT (U/L)"], ["P1", 35, "=B2*2"]]))
    run, rows = read(data)
    at = rows[0].index
    assert rows[1][at("ASAT (U/L)")] == "=B2*2"
    assert rows[1][at("levlab_ast_flag")] == "?"
    assert "not a number" in rows[1][at("levlab_error")]
    assert run.summary.rows_with_errors == 1


@pytest.mark.parametrize(
    ("head", "kind"),
    [(b"PK\x03\x04rest", "xlsx"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "csv"), (b'{"resourceType": "Bundle"}', "fhir"),
     (b'\xef\xbb\xbf\n {"resourceType":"Observation"}', "fhir"), (b"patient,ALT\n", "csv"), (b'{"a": 1}', "csv")],
)
def test_the_format_is_told_by_content(head: bytes, kind: str) -> None:
    assert sniff(head) == kind


def test_a_zip_without_a_workbook_and_an_old_xls_are_usage_errors() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("data.csv", "a,b\n")
    with pytest.raises(UsageError, match="this is a ZIP archive"):
        open_records(io.BytesIO(archive.getvalue()), CsvOptions())
    with pytest.raises(UsageError, match=r"old Excel .xls workbook .*save it as .xlsx"):
        open_records(io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100)), CsvOptions())


def test_sheet_is_refused_for_text(tmp_path) -> None:
    with pytest.raises(UsageError, match="--sheet is for Excel workbooks"):
        open_records(io.BytesIO(b"patient,ALT (U/L)\nP1,30\n"), CsvOptions(sheet="1"))


def test_without_openpyxl_the_error_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_openpyxl(name: str, *args: object, **kwargs: object) -> object:
        if name == "openpyxl" or name.startswith("openpyxl."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_openpyxl)
    with pytest.raises(UsageError, match=r"pip install 'levlab\[excel\]'"):
        XlsxRecords(io.BytesIO(b"PK"), CsvOptions())


def test_levlab_csv_reads_a_workbook_by_content_whatever_its_name(tmp_path) -> None:
    path = tmp_path / "export.dat"
    path.write_bytes(workbook(("Lab", [PANEL, ["P1", "2024-03-01", 12, 35, 30, 90, 200]])))
    result = CliRunner().invoke(main, ["csv", str(path), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.splitlines()[0])
    assert line["normal_panel"]["status"] == "met"
    assert "encoding utf-8 (xlsx workbook: sheet 'Lab', header on row 1)" in result.stderr
    assert "output is UTF-8" not in result.stderr
