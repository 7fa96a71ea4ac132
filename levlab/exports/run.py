"""The run loop: a reader's records → layout → panels → a sink, with the report before and after.

`ExportRun` wires the stages for any `levlab.exports.records.RecordReader`: it detects the
layout from the reader's header (`levlab.exports.layout`), puts the cached core in front of
`interpret` (`levlab.exports.memo.Judge`), hands the reader's chunks to the wide or long panels
(`levlab.exports.wide`, `levlab.exports.long`) and those to a sink (`levlab.exports.sinks`).
Per-row errors are carried on their rows, counted, and the first few echoed; `--strict` stops
at the first. `CsvRun` is the run over a CSV export's text lines.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from levlab import DISCLAIMER
from levlab.errors import ExitStatus, LevlabError, shown
from levlab.exports.csv_records import CsvRecords
from levlab.exports.fields import RowError, output_header
from levlab.exports.layout import detect_layout, detection_report, normal_panel_ids, short_name
from levlab.exports.long import LongPanels
from levlab.exports.memo import Judge
from levlab.exports.records import RecordChunk, RecordReader
from levlab.exports.settings import CsvOptions
from levlab.exports.sinks import Sink
from levlab.exports.wide import WidePanels
from levlab.language import Msg
from levlab.ranges import default_intervals

GC_THRESHOLD = 100_000  # allocations between cyclic garbage collections during a run (Python's default: 700)
ERRORS_SHOWN = 10  # row errors echoed on stderr; the rest are only in the output


@dataclass
class Summary:
    """Counts for the closing line, and what the run has to say at the end."""

    rows: int = 0
    panels: int = 0
    rows_with_errors: int = 0
    reopened: int = 0  # long: panel keys that came back after their panel was closed
    without_liver_test: int = 0  # long: panels with no liver test result (blood gases...)
    seen: set[str] = field(default_factory=set)  # long: analytes met
    implausible_dates: list[str] = field(default_factory=list)  # long: panel dates before 1900 or after today
    stopped_at: int | None = None  # --strict: the row that stopped the run

    def line(self) -> str:
        apart = f" ({self.without_liver_test} with no liver test)" if self.without_liver_test else ""
        stopped = (f"; stopped at row {self.stopped_at} (--strict): the panels finished before it are written, "
                   "its own panel's rows and all later rows are not") if self.stopped_at is not None else ""
        return (f"levlab csv: {self.rows} rows read, {self.panels} panels{apart}, "
                f"{self.rows_with_errors} rows with errors{stopped}" if stopped else
                f"levlab csv: {self.rows} rows, {self.panels} panels{apart}, {self.rows_with_errors} rows with errors")


class StrictStop(LevlabError):
    """--strict: the first row with an error ends the run."""

    exit_status = ExitStatus.ROW_ERRORS


@contextlib.contextmanager
def garbage_collected_less_often() -> Iterator[None]:
    """Run the cyclic garbage collector less often. A chunk holds thousands of rows (lists and
    tuples the collector tracks) while it is read and interpreted: at the default threshold a
    collection starts every 700 of them and scans every chunk many times over, though the run
    makes few if any reference cycles. Memory is still freed by reference counting as usual."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], GC_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


class ExportRun:
    """One pass over an export from any reader: header, layout, then panels into a sink."""

    def __init__(self, records: RecordReader, options: CsvOptions) -> None:
        self.options = options
        self.records = records
        self.dialect = records.dialect
        self.layout = detect_layout(records.header, options, self.dialect.decimal)
        self.header = [cell.strip() for cell in self.layout.header]  # as error messages name the columns
        self.report = detection_report(self.layout, self.dialect, records.encoding)
        skipped = records.skipped
        if skipped:
            self.report.insert(1, f"  skipped {skipped} line{'s' if skipped > 1 else ''} above the header (--skip-lines)")
        self.judge = Judge(options.table or default_intervals(), self.dialect.decimal, options.na_markers)
        self.summary = Summary()
        self.errors_shown: list[str] = []

    def run(self, sink: Sink) -> Summary:
        """Write every row (and/or panel) to the sink; per-row errors are carried, not raised."""
        if sink.wants_rows:
            sink.start(output_header(self.layout))
        with garbage_collected_less_often():
            panels = WidePanels(self, sink) if self.layout.kind == "wide" else LongPanels(self, sink)
            panels.write(self._counted(self.records.chunks()))
        return self.summary

    def _counted(self, chunks: Iterable[RecordChunk]) -> Iterator[RecordChunk]:
        """The chunks, each counted in the summary's rows as it is taken."""
        summary = self.summary
        for chunk in chunks:
            summary.rows += len(chunk.rows)
            yield chunk

    def closing_lines(self, *, dates: bool = True) -> list[str]:
        """What stderr says after the data: the first errors, warnings, and the summary line (last).
        `dates`: say the implausible panel dates (`levlab trend` says them by sample itself)."""
        lines = list(self.errors_shown)
        hidden = self.summary.rows_with_errors - len(self.errors_shown) - (self.summary.stopped_at is not None)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more rows with errors (see levlab_error / errors)")
        if self.summary.reopened:
            lines.append(
                f"levlab csv: {self.summary.reopened} panel keys came back after their panel was closed: the file "
                "is not grouped by patient and sample, so those rows formed separate panels (sort the file first)"
            )
        if dates and self.summary.implausible_dates:
            found = self.summary.implausible_dates
            examples = ", ".join(shown(text.strip(), 20) for text in found[:3]) + (", ..." if len(found) > 3 else "")
            lines.append(f"levlab csv: {len(found)} distinct sample dates before 1900 or after today ({examples}): a "
                         "typing or export error? `levlab trend` never orders, compares or uses them as a baseline")
        if self.layout.kind == "long" and self.judge.assumed:
            lines.append("levlab csv: results without a unit were read in the canonical unit (assumed; "
                         f"unit_assumed in JSON) for {', '.join(sorted(self.judge.assumed))}")
        if self.layout.kind == "long" and self.summary.rows:
            missing = [short_name(a) for a in normal_panel_ids() if a not in self.summary.seen]
            if missing:
                where = "the file" if self.summary.stopped_at is None else "the rows read"
                lines.append(f"levlab csv: no {', '.join(missing)} result in {where}: normal-panel could never be met")
        lines.append(Msg(DISCLAIMER))  # in the reader's language where it is shown
        lines.append(self.summary.line())
        return lines

    def row_errors(self, number: int, errors: list[RowError]) -> None:
        """Count a row with errors and echo its first error (the first ERRORS_SHOWN rows); --strict: stop."""
        self.summary.rows_with_errors += 1
        if self.options.strict:
            first = errors[0]
            self.summary.rows = number
            self.summary.stopped_at = number
            raise StrictStop(f"row {number}, column {shown(first.column)}: {first.message} (stopped: --strict)")
        if len(self.errors_shown) < ERRORS_SHOWN:
            self.errors_shown.extend(f"  row {e.row}, column {shown(e.column)}: {e.message}" for e in errors[:1])

    def record_errors(self, first: int, rows: list[list[str]], errors: dict[int, list[RowError]]) -> None:
        """Add the errors of the records themselves: more fields than the header, bytes that did not decode."""
        width = self.layout.width
        if max(map(len, rows)) > width:
            for row, fields in enumerate(rows):
                if len(fields) > width:
                    errors.setdefault(row, []).append(RowError(first + row, "", f"row has {len(fields)} fields, the header {width}"))
        if self.records.bad_rows:
            for row in range(len(rows)):
                if first + row in self.records.bad_rows:
                    errors.setdefault(row, []).append(RowError(first + row, "", self.records.bad_rows.pop(first + row)))


class CsvRun(ExportRun):
    """One pass over a CSV export, given as text lines (`levlab.exports.decoding.DecodedLines`
    or any iterable of lines)."""

    def __init__(self, lines: Iterable[str], options: CsvOptions, encoding: str = "utf-8") -> None:
        super().__init__(CsvRecords(lines, options, encoding), options)
