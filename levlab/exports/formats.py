"""Input formats: which reader an export needs, told by its content, not its name.

`open_records` is the one place that picks the `RecordReader` for an input: a zip holding
`xl/workbook.xml` is an Excel workbook (`xlsx_records`), JSON with a `resourceType` is FHIR
(`fhir_records`: a Bundle, a single resource or NDJSON), anything else is delimited text
(`csv_records`, after `decoding`, which names a file that is no text — an old binary .xls, a
zip that is no workbook, a PDF — by its first bytes, with what to do).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

from levlab.errors import UsageError
from levlab.exports.records import RecordReader
from levlab.exports.settings import CsvOptions

ZIP_MAGIC = b"PK\x03\x04"
PEEK = 4096  # bytes looked at to tell the format


@dataclass
class Input:
    """An opened input: its format (`csv`, `xlsx`, `fhir`), its reader, and whether the text had a BOM."""

    format: str
    records: RecordReader
    bom: bool = False


def head_of(binary: IO[bytes]) -> bytes:
    """The first bytes of a stream without taking them (a buffered stream's peek)."""
    peek = getattr(binary, "peek", None)
    if peek is not None:
        return bytes(peek(PEEK)[:PEEK])
    if binary.seekable():
        position = binary.tell()
        head = binary.read(PEEK)
        binary.seek(position)
        return head
    return b""  # pragma: no cover - stdin and files are buffered


def sniff(head: bytes) -> str:
    """`xlsx` for a zip (a workbook if it holds xl/workbook.xml), `fhir` for JSON that names a
    resourceType, else `csv` (whose decoding names a file that is no text by its first bytes)."""
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{") and b'"resourceType"' in head:
        return "fhir"
    return "csv"


def open_records(binary: IO[bytes], options: CsvOptions, encoding: str = "utf-8", progress: Any = None,
                 name: str = "the input") -> Input:
    """The reader for an input stream, chosen by its content (see the module text)."""
    kind = sniff(head_of(binary))
    if kind == "xlsx":
        from levlab.exports.xlsx_records import XlsxRecords, is_workbook

        source: IO[bytes] = binary if binary.seekable() else io.BytesIO(binary.read())
        if is_workbook(source):
            return Input("xlsx", XlsxRecords(source, options, name))
        binary, kind = source, "csv"  # another zip (.ods, an archive): decoding says what it is
    if options.sheet is not None:
        raise UsageError(f"--sheet is for Excel workbooks; {name} is {'FHIR JSON' if kind == 'fhir' else 'text'}")
    if kind == "fhir":
        from levlab.exports.fhir_records import FhirRecords

        return Input("fhir", FhirRecords(binary, options, name))
    from levlab.exports.csv_records import CsvRecords
    from levlab.exports.decoding import DecodedLines

    lines = DecodedLines(binary, encoding, progress)
    records = CsvRecords(lines, options, encoding)
    records.progress = progress
    return Input("csv", records, lines.bom)
