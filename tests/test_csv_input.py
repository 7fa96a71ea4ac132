"""What `levlab csv` and `levlab trend` make of the file they are given, before reading rows:
files that are not CSV text, text encodings, a huge first line, pathological headers, and the
length of what the report and errors echo. Driven through the command line."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest
from click.testing import CliRunner

from levlab.cli import main

CSV_TEXT = "patient,date,ALT (U/L)\nP1,2024-01-10,30\n"


def run(command: str, data: bytes, *args: str):
    return CliRunner().invoke(main, [command, "-", *args], input=data)


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, CSV_TEXT)
    return buffer.getvalue()


# --- files that are not CSV text (issue 16, item 10) -------------------------------------------

BINARY_FILES = {
    "xlsx": (_zip("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"), "an Excel workbook (.xlsx)"),
    "zip": (_zip("export.csv"), "a ZIP archive"),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "an old Excel .xls workbook"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "a PDF document"),
    "gzip": (gzip.compress(CSV_TEXT.encode()), "gzip-compressed"),
    "bzip2": (b"BZh91AY&SY\x9b\x00\x12\x07\x00\x00", "bzip2-compressed"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    "sqlite": (b"SQLite format 3\x00\x10\x00\x01\x01", "an SQLite database"),
}


@pytest.mark.parametrize("command", ["csv", "trend"])
@pytest.mark.parametrize("kind", sorted(BINARY_FILES))
def test_a_file_that_is_not_csv_text_is_named_by_its_first_bytes(command: str, kind: str) -> None:
    data, what = BINARY_FILES[kind]
    result = run(command, data)
    assert result.exit_code == 2
    assert result.stdout == ""
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert f"this is {what}" in error
    assert "cp1252" not in result.stderr and "--encoding" not in result.stderr
    assert len(error) < 300


def test_an_excel_workbook_is_told_to_be_exported_as_csv() -> None:
    result = run("csv", BINARY_FILES["xlsx"][0])
    assert "export the sheet as CSV" in result.stderr


@pytest.mark.parametrize("header", ["BZh,PAR1,GIF8,ALT (U/L)", "PAR1,ALT (U/L)", "GIF8,ALT (U/L)"])
def test_a_text_header_that_begins_like_a_signature_is_still_read(header: str) -> None:
    result = run("csv", f"{header}\n" + ",".join(["x"] * (header.count(",")) + ["30"]) + "\n")
    assert result.exit_code == 0, result.stderr
