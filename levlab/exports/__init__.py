"""Laboratory exports: records in, every row kept, levlab's interpretation appended.

No click and no rich here: every stage takes text streams (iterables of lines) or records and
writes to text streams, so the tests drive it with `io.StringIO`. The interpretation itself is
the core's; this package decides what a cell means, groups rows into panels, caches the core's
answers and writes them. Data flows one way, a module per stage:

    bytes ──formats (by content)──▶ a records.RecordReader:
          CSV:  ──decoding──▶ text lines ──dialect──▶ delimiter, decimal mark ──csv_records──▶
          xlsx: ──xlsx_records (openpyxl, read-only)──▶   FHIR: ──fhir_records (json)──▶
          header + record chunks
    header ──roles (header words), header, layout──▶ Layout (roles, analyte columns, units, ranges)
           + detection report
    chunks ──wide | long──▶ panels, judged through memo (Judge) and rulebook (RuleBook); long rows
           keyed by long_keys, read by long_cells (test names and codes by names, specimens by
           specimens), grouped by grouping, decided by long_decision (sex and age by long_patient,
           ages from birth dates by ages, rows checked by panel_checks), written by long_rows
    panels ──sinks──▶ CSV written back byte-faithful · JSONL · table collection · trend samples
    run: the loop that wires them (ExportRun; CsvRun for CSV text)

`settings.CsvOptions` is what the command line says; `fields` the columns levlab appends.
"""

from levlab.exports.decoding import DecodedLines
from levlab.exports.formats import Input, open_records
from levlab.exports.run import CsvRun, ExportRun, StrictStop, Summary
from levlab.exports.settings import CsvOptions
from levlab.exports.sinks import CollectSink, CsvSink, JsonlSink, SampleSink, Sink

__all__ = ["CollectSink", "CsvOptions", "CsvRun", "CsvSink", "DecodedLines", "ExportRun", "Input", "JsonlSink",
           "SampleSink", "Sink", "StrictStop", "Summary", "open_records"]
