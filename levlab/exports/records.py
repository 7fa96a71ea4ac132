"""Records → panels: the reader interface every input format implements.

An export run (`levlab.exports.run.ExportRun`) asks a reader for these and nothing else:

* `header`: the header record's cells, as the file gives them (not stripped);
* `dialect`: a `levlab.exports.dialect.Dialect` — the decimal mark of the values, and the
  delimiter and line ending the CSV output is written with;
* `encoding`, `skipped`: for the detection report (`utf-8 (BOM)`; lines dropped above the header);
* `chunks()`: the data records, a `RecordChunk` at a time, in file order; and `bad_rows`,
  filled while reading: record number -> why that record's text is not what the file holds
  (an undecodable byte), which the run puts on the record's row as an error.

A `RecordChunk` is `(first, rows, originals)`:

* `first`: the 1-based number of its first record among the data records;
* `rows`: each record's cells as `list[str]`, padded with "" to the header's width (a longer
  record is kept whole: the run reports it); blank records are left out;
* `originals`: each record's original text without its line ending, written back byte for
  byte by the CSV sink, or None where there is none (a padded record, a quote left open at
  the end of the file): the sink then writes the cells through csv.writer.

Chunks may have any size (the output does not depend on it); a reader should start small
so that a slow pipe's first rows are not held back. The CSV reader is
`levlab.exports.csv_records.CsvRecords`.

The other readers (issue 12), picked by content in `levlab.exports.formats.open_records`:

* Excel (.xlsx), `levlab.exports.xlsx_records.XlsxRecords`: no original text — every
  `originals` entry is None, so the CSV sink writes the cells through csv.writer. Its cells
  are typed; it turns them into the text the rest expects (numbers in their shortest shown
  text with `.`, dates as ISO text, text as it stands, empty cells as ""), and each row is a
  `SheetRow` that keeps the typed values for the workbook sink. Its Dialect carries the
  delimiter and line ending of the CSV written (`,`, `\n`); `encoding` says which sheet was
  read and where its header is; `bad_rows` stays empty.
* FHIR R4 (Bundle or NDJSON), `levlab.exports.fhir_records.FhirRecords`: a long layout with a
  header the reader makes itself (resource, patient, sample, date, code, test, display, value,
  unit, reference range, sex, age), one record per Observation, `originals` None; an
  Observation it cannot read is a record without a value and an entry in `bad_rows` naming it.

Layout detection, the memo, the panels and the sinks stay as they are.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

from levlab.exports.dialect import Dialect


class RecordChunk(NamedTuple):
    """Consecutive data records: the number of the first, their cells, their original texts."""

    first: int
    rows: list[list[str]]
    originals: list[str | None]


class RecordReader(Protocol):
    """An input format: a header, a dialect and the data records (see the module text)."""

    header: list[str]
    dialect: Dialect
    encoding: str
    skipped: int
    bad_rows: dict[int, str]

    def chunks(self) -> Iterator[RecordChunk]:
        """The data records, a chunk at a time."""
        ...


def fields_by_column(rows: list[list[str]], needed: set[int]) -> list[Any]:
    """The rows' fields column by column, where column i is needed (the others may be None): all
    in one zip when most are needed, else only those."""
    if 2 * len(needed) >= len(rows[0]):
        return list(zip(*rows, strict=False))
    columns: list[Any] = [None] * (max(needed) + 1)
    for index in needed:
        columns[index] = tuple(map(operator.itemgetter(index), rows))
    return columns
