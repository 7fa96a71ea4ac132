"""levlab.exports.xlsx_sink: `-o out.xlsx` — input cells unchanged, levlab's columns, colours, a report sheet."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from fhir_bundles import bundle, panel_observations, patient
from workbooks import openpyxl, workbook

from levlab.cli import main
from levlab.exports.xlsx_sink import FILLS

PANEL = ["Patient", "Datum", "Bilirubine (umol/L)", "ALAT (U/L)", "ASAT (U/L)", "AF (U/L)", "LD (U/L)"]


def run_to_workbook(tmp_path: Path, name: str, data: bytes, *args: str) -> tuple[object, Path]:
    source = tmp_path / name
    source.write_bytes(data)
    target = tmp_path / "out.xlsx"
    result = CliRunner().invoke(main, ["csv", str(source), "-o", str(target), *args])
    assert target.exists(), result.output
    return result, target


def test_input_cells_unchanged_levlab_columns_added_flags_coloured(tmp_path: Path) -> None:
    data = workbook(("Lab", [
        PANEL,
        ["P1", dt.datetime(2024, 3, 1, 8, 30), 12, 35, 30, 90, 200],
        ["P2", dt.datetime(2024, 3, 2), "4,5", "<5", 95, None, 480],
        ["P3", dt.datetime(2024, 3, 3), 12, "=D3*2", 30, 90, 200],
    ]))
    result, target = run_to_workbook(tmp_path, "book.xlsx", data)
    assert result.exit_code == 1  # the formula row carries an error
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["Lab", "levlab report"]
    rows = list(book["Lab"].iter_rows())
    header = [cell.value for cell in rows[0]]
    assert header[:7] == PANEL and "levlab_alt_flag" in header and header[-2:] == ["levlab_error", "levlab_warnings"]
    assert all(cell.font.bold for cell in rows[0])
    assert [cell.value for cell in rows[1][:7]] == ["P1", dt.datetime(2024, 3, 1, 8, 30), 12, 35, 30, 90, 200]
    assert [cell.value for cell in rows[2][:7]] == ["P2", dt.datetime(2024, 3, 2), "4,5", "<5", 95, None, 480]
    formula = rows[3][3]
    assert (formula.value, formula.data_type) == ("=D3*2", "s")  # its text, not a formula
    at = header.index

    def fill(row: int, name: str) -> str | None:
        cell = rows[row][at(name)]
        return cell.fill.fgColor.rgb[-6:] if cell.fill.fill_type else None

    assert (rows[2][at("levlab_alt_flag")].value, fill(2, "levlab_alt_flag")) == ("L", FILLS["L"])
    assert (rows[2][at("levlab_ldh_flag")].value, fill(2, "levlab_ldh_flag")) == ("H", FILLS["H"])
    assert (rows[3][at("levlab_alt_flag")].value, fill(3, "levlab_alt_flag")) == ("?", FILLS["?"])
    assert fill(1, "levlab_alt_flag") is None  # N: no colour
    assert (rows[1][at("levlab_normal_panel")].value, fill(1, "levlab_normal_panel")) == ("met", FILLS["met"])
    assert rows[1][at("levlab_alt_value")].value == 35  # levlab's plain numbers are numbers
    assert rows[2][at("levlab_alt_value")].value == "<5"


def test_no_cell_is_ever_written_as_a_formula(tmp_path: Path) -> None:
    text = "patient,ALT (U/L),note\n=1+1,35,=HYPERLINK(\"http://x\")\n"
    _, target = run_to_workbook(tmp_path, "in.csv", text.encode())
    with zipfile.ZipFile(target) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)
    values = [cell.value for cell in next(openpyxl.load_workbook(target).worksheets[0].iter_rows(min_row=2))]
    assert values[:3] == ["=1+1", "35", '=HYPERLINK("http://x")']  # a CSV's cells stay text


def test_the_report_sheet_has_the_detection_report_sources_and_disclaimer(tmp_path: Path) -> None:
    data = workbook(("Lab", [PANEL, ["P1", "2024-03-01", 50, 120, 95, 410, 620]]))
    _, target = run_to_workbook(tmp_path, "book.xlsx", data)
    lines = [" | ".join(str(v) for v in row if v is not None)
             for row in openpyxl.load_workbook(target)["levlab report"].values]
    text = "\n".join(lines)
    assert lines[0].startswith("levlab supports clinical judgement")
    assert "'ALAT (U/L)' -> alt" in text
    assert "levlab csv: 1 rows, 1 panels, 0 rows with errors" in text
    assert "alp-or-ldh-raised | " in text and "iLive, Uitzaaiingen naar de lever" in text
    assert "NORIP" in text


def test_a_long_export_from_fhir_becomes_a_workbook(tmp_path: Path) -> None:
    document = bundle(patient(), *panel_observations({"bilirubin": 12, "alp": 90, "ldh": 200, "ast": 30, "alt": 35}))
    _, target = run_to_workbook(tmp_path, "b.json", json.dumps(document).encode())
    sheet = openpyxl.load_workbook(target).worksheets[0]
    rows = list(sheet.values)
    at = rows[0].index
    assert len(rows) == 6
    assert {row[at("levlab_analyte")] for row in rows[1:]} == {"bilirubin", "alp", "ldh", "ast", "alt"}
    assert {row[at("levlab_normal_panel")] for row in rows[1:]} == {"met"}


@pytest.mark.parametrize("output_format", ["jsonl", "table", "fhir"])
def test_a_workbook_holds_rows_so_other_formats_refuse_an_xlsx_name(tmp_path: Path, output_format: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text("patient,ALT (U/L)\nP1,35\n")
    result = CliRunner().invoke(main, ["csv", str(source), "--format", output_format, "-o", str(tmp_path / "o.xlsx")])
    assert result.exit_code == 2
    assert "writes an Excel workbook" in result.stderr
    assert not (tmp_path / "o.xlsx").exists()


def test_the_sheet_opens_readable_columns_as_wide_as_their_header_and_the_header_frozen(tmp_path: Path) -> None:
    """Looked at in LibreOffice: without widths every header was cut at 8 characters."""
    data = b"patient_id,sample_date,Total Bilirubin (mg/dL),ALT (U/L)\nP1,2024-02-01,0.6,18\n"
    _, target = run_to_workbook(tmp_path, "in.csv", data)
    sheet = openpyxl.load_workbook(target).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    widths = {name: sheet.column_dimensions[cell.column_letter].width for name, cell in zip(header, sheet[1], strict=True)}
    assert all(widths[name] >= min(len(name), 60) for name in header), widths
    assert widths["levlab_error"] == 60 and widths["patient_id"] < 20
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet[1][-1].column_letter}1"
