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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from levlab import DISCLAIMER
from levlab.errors import ExitStatus, LevlabError, UsageError, shown
from levlab.exports.csv_records import CsvRecords
from levlab.exports.detection_report import detection_report
from levlab.exports.fields import RowError, output_header
from levlab.exports.followup import FollowUp, follows
from levlab.exports.grouping import KEY_LIMIT, WINDOW_ROWS, Reread
from levlab.exports.layout import (
    KEYLESS_PANEL_ROWS,
    MissingUnits,
    detect_layout,
    normal_panel_ids,
    short_name,
)
from levlab.exports.long import LongPanels
from levlab.exports.marks import OTHER, scan_file
from levlab.exports.memo import Judge
from levlab.exports.records import RecordChunk, RecordReader
from levlab.exports.reheader import HeaderWatch
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
    reopened: int = 0  # long: panel keys that came back after their panel was written (a stream)
    split_keys: int = 0  # long: samples whose rows were not together, read as one panel each
    withheld: int = 0  # long, a stream: panels never met because more of their sample might follow
    met_early: int = 0  # long, a stream: panels written as met before the end, once the window was full
    gather_passes: int = 0  # long, a file: passes that read split samples' rows again
    grouping: str = "stream"  # long: how split samples are found ("file": an index pass; see exports.grouping)
    without_liver_test: int = 0  # long: panels with no liver test result (blood gases...)
    seen: set[str] = field(default_factory=set)  # long: analytes met
    implausible_dates: list[str] = field(default_factory=list)  # long: panel dates before 1900 or after today
    stopped_at: int | None = None  # --strict: the row that stopped the run
    #: long, without a sample id or time: panels holding one analyte twice with different results,
    #: and the passed-through columns that told those rows apart (exports.panel_checks.MissingSample)
    doubled_panels: int = 0
    telling_apart: dict[str, int] = field(default_factory=dict)
    missing_sample_line: str = ""
    unused_maps: list[str] = field(default_factory=list)  # long: --map / --codes texts no test name or code matched
    stop_reason: str = "--strict"  # what stopped it
    keyless_rows_apart: bool = False  # long without a key, past layout.KEYLESS_PANEL_ROWS rows: a row per panel

    def line(self) -> str:
        apart = f" ({self.without_liver_test} with no liver test)" if self.without_liver_test else ""
        rest = ("its own panel's rows and all later rows are not" if self.stop_reason == "--strict"
                else "it and all later rows are not")
        stopped = (f"; stopped at row {self.stopped_at} ({self.stop_reason}): the panels finished before it are written, "
                   f"{rest}") if self.stopped_at is not None else ""
        if stopped:
            return (f"levlab csv: {self.rows} rows read, {self.panels} panels{apart}, "
                    f"{self.rows_with_errors} rows with errors{stopped}")
        return Msg("{command}: {rows} rows, {panels} panels{apart}, {errors} rows with errors", command="levlab csv",
                   rows=self.rows, panels=self.panels, errors=self.rows_with_errors,
                   apart=Msg(" ({count} with no liver test)", count=self.without_liver_test) if apart else "")


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

    def __init__(self, records: RecordReader, options: CsvOptions, reread: Reread | None = None,
                 raw: Callable[[], Iterator[bytes]] | None = None) -> None:
        self.options = options
        self.records = records
        #: the same input opened again (a file can be read twice): a long export's samples are then
        #: grouped from all their rows wherever they are (`levlab.exports.grouping`)
        self.reread = reread
        self.dialect = records.dialect
        try:
            self.layout = detect_layout(records.header, options, self.dialect.decimal)
        except MissingUnits as missing:  # say what the first rows' values suggest (never applied)
            raise UsageError(self._with_values(missing)) from None
        self.header = [cell.strip() for cell in self.layout.header]  # as error messages name the columns
        self.report = detection_report(self.layout, self.dialect, records.encoding)
        skipped = records.skipped
        if skipped:
            self.report.insert(1, f"  skipped {skipped} line{'s' if skipped > 1 else ''} above the header (--skip-lines)")
        self.judge = Judge(options.table or default_intervals(), self.dialect.decimal, options.na_markers,
                           configured_units=options.configured_units)
        self.judge.watch_marks = isinstance(records, CsvRecords)  # a workbook's and FHIR's numbers are typed
        if raw is not None and isinstance(records, CsvRecords) and not records.encoding.startswith(("utf-16", "utf-32")):
            # a file: its cells are scanned for the other decimal mark before any is read (issue 19.7)
            self.judge.mixed_marks = scan_file(raw(), self.dialect.delimiter, self.dialect.decimal)
            if self.judge.mixed_marks is not None:
                self.report.append(f"  decimal marks: the file writes {OTHER[self.dialect.decimal]!r} too "
                                   f"({self.judge.mixed_marks}) beside {self.dialect.decimal!r}: a value such as "
                                   f"'1{self.dialect.decimal}250' (1.25 or 1250?) is refused on its row")
        self.summary = Summary()
        self.errors_shown: list[str] = []
        self.follow_up: FollowUp | None = None  # made by run() when the sink and the layout allow it
        self.watch = self._header_watch()  # a header repeated mid-file (levlab.exports.reheader)
        self.path: str | None = None  # the input when it is a regular file (set by the edge): levlab.exports.processes

    def _with_values(self, missing: MissingUnits) -> str:
        """The message of columns without a unit, each with what its first rows' values suggest."""
        from levlab.exports import unit_hint  # only for this usage error (it imports statistics)

        rows: list[list[str]] = []
        for chunk in self.records.chunks():
            rows.extend(chunk.rows[:unit_hint.ROWS_READ - len(rows)])
            if len(rows) >= unit_hint.ROWS_READ:
                break
        table = self.options.table or default_intervals()
        return "; ".join(
            f"{message}. {unit_hint.suggestion(column.analyte, column.header, [row[column.index] for row in rows], self.dialect.decimal, self.options.na_markers, table)}"
            for column, message in missing.columns)

    def follow_up_note(self) -> str | None:
        """The detection report's line on follow-up (`levlab csv` of a long export), or None."""
        if self.layout.kind != "long":
            return None
        if not follows(self.layout):
            missing = " and ".join(role for role in ("patient", "date") if role not in self.layout.roles)
            return (f"  follow-up: none (no {missing} column; name it with --col): panels are not compared with the "
                    "patient's previous sample")
        return ("  follow-up: each panel is compared with its patient's previous sample (new-abnormal, "
                "levlab_previous_*, levlab_change) and graded for CTCAE against the patient's first sample "
                "(levlab_ctcae_baseline); each patient's samples must come in time order")

    def run(self, sink: Sink) -> Summary:
        """Write every row (and/or panel) to the sink; per-row errors are carried, not raised."""
        if sink.follows_patients and follows(self.layout):
            self.follow_up = FollowUp(self.layout, self.judge.new_cache)
        if sink.wants_rows:
            sink.start(output_header(self.layout, self.follow_up is not None))
        with garbage_collected_less_often():
            chunks = self._counted(self.watch.chunks(self.records))
            if self.layout.kind == "wide":  # several processes for a large file (exports.processes), else this one
                from levlab.exports.processes import write_wide

                write_wide(self, sink, WidePanels(self, sink), chunks)
            else:
                LongPanels(self, sink).write(chunks)
        if self.watch.stop is not None:  # a header mid-file with other columns: the rows before it are written
            self.summary.rows_with_errors += 1
            self.summary.stopped_at = self.watch.stopped_at
            self.summary.stop_reason = "a header with other columns"
            raise StrictStop(str(self.watch.stop))
        return self.summary

    def watched(self, records: RecordReader) -> Iterator[RecordChunk]:
        """Another reader's chunks (a file read again) as this run reads its own: a header repeated
        mid-file taken out, the rows after it in the first header's column order."""
        return self._header_watch().chunks(records)

    def _header_watch(self) -> HeaderWatch:
        return HeaderWatch(self.layout, self.options, self.dialect.decimal, self.dialect.delimiter)

    def _counted(self, chunks: Iterable[RecordChunk]) -> Iterator[RecordChunk]:
        """The chunks, each counted in the summary's rows as it is taken."""
        summary = self.summary
        for chunk in chunks:
            summary.rows += len(chunk.rows)
            yield chunk

    def closing_lines(self, *, dates: bool = True) -> list[str]:
        """What stderr says after the data: the first errors, warnings, and the summary line (last).
        `dates`: say the implausible panel dates (`levlab trend` says them by sample itself)."""
        lines = self._error_lines()
        lines += self._grouping_lines()
        lines += self._panel_lines()
        lines += self._value_lines(dates)
        if self.follow_up is not None:
            lines.extend(self.follow_up.closing_lines())
        lines += self._reading_lines()
        lines.append(Msg(DISCLAIMER))  # in the reader's language where it is shown
        lines.append(self.summary.line())
        return lines

    def _error_lines(self) -> list[str]:
        """The first rows with errors, a header that changed mid-file, and how many more rows had errors."""
        lines = list(self.errors_shown)
        lines += self.watch.changes
        hidden = self.summary.rows_with_errors - len(self.errors_shown) - (self.summary.stopped_at is not None)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more rows with errors (see levlab_error / errors)")
        return lines

    def _grouping_lines(self) -> list[str]:
        """Long: samples whose rows were apart, and how they were joined (a file read again, a stream's window)."""
        summary, lines = self.summary, []
        if summary.split_keys and summary.grouping == "file":
            lines.append(f"levlab csv: {summary.split_keys} samples had their rows apart in the file (it is not sorted by "
                         "patient and sample): each was read again and judged as one panel from all its rows; the rows "
                         "are written in the file's order")
        elif summary.grouping.startswith("stream (") and (summary.split_keys or summary.reopened):
            lines.append(f"levlab csv: the file has more panel keys than levlab indexes ({KEY_LIMIT:,}), so it was read as "
                         f"a stream: a sample's rows more than {WINDOW_ROWS:,} rows apart were not joined (sort it first)")
        if summary.split_keys and summary.grouping != "file":
            lines.append(f"levlab csv: {summary.split_keys} times a sample's rows came back within {WINDOW_ROWS:,} rows "
                         "of the stream and were joined to its panel (the input is not sorted by patient and sample)")
        if summary.reopened:
            lines.append(
                f"levlab csv: {summary.reopened} panel keys came back after their panel was written: the input is a "
                "stream, read once, not sorted by patient and sample, so those rows formed separate panels that are "
                "never met (sort the input first, or give it as a file: a file is read again to group them)"
            )
        return lines

    def _panel_lines(self) -> list[str]:
        """Long: a --map that matched no row, panels holding an analyte twice, and the panels of a
        stream written before its end (withheld, or met before a key came back)."""
        summary, lines = self.summary, []
        if summary.unused_maps and summary.stopped_at is None:
            unused = summary.unused_maps
            listed = ", ".join(shown(text, 40) for text in unused[:5]) + (f", ... ({len(unused) - 5} more)" if len(unused) > 5 else "")
            lines.append(f"levlab csv: {len(unused)} --map of a test name or code matched no row (a typing slip?): {listed}")
        if summary.missing_sample_line:
            lines.append(summary.missing_sample_line)
        if summary.withheld:
            lines.append(f"levlab csv: {summary.withheld} panels of the stream were written before its end and said "
                         "incomplete, not met: more of their sample might still follow (give the input as a file)")
        if summary.met_early and summary.reopened:
            lines.append(f"levlab csv: warning: {summary.met_early} panels were written as met before a key came back "
                         f"(more than {WINDOW_ROWS:,} rows later): do not rely on them; give the input as a file")
        return lines

    def _value_lines(self, dates: bool) -> list[str]:
        """Both decimal marks in a stream, rows without any key (each its own panel), and sample
        dates no laboratory could have written (unless `dates` is False)."""
        judge, summary, lines = self.judge, self.summary, []
        if judge.mixed_marks is not None and judge.thousands_read:
            lines.append(f"levlab csv: the input writes both decimal marks, seen first at {judge.mixed_marks}; values "
                         f"read before that kept the decimal mark {self.dialect.decimal!r} although they could be "
                         f"thousands ({', '.join(map(repr, judge.thousands_read))}): check them, or give the input "
                         "as a file, which is scanned first")
        if summary.keyless_rows_apart:
            lines.append(f"levlab csv: no patient or sample column and more than {KEYLESS_PANEL_ROWS:,} rows: no single "
                         "sample, so each row is a panel of its own (name the key with --group-by COL)")
        if dates and summary.implausible_dates:
            found = summary.implausible_dates
            examples = ", ".join(shown(text.strip(), 20) for text in found[:3]) + (", ..." if len(found) > 3 else "")
            lines.append(f"levlab csv: {len(found)} distinct sample dates before 1900 or after today ({examples}): a "
                         "typing or export error? `levlab trend` never orders, compares or uses them as a baseline")
        return lines

    def _reading_lines(self) -> list[str]:
        """The analytes whose values without a unit were read in an assumed unit or the settings'
        unit, and (long) the normal-panel analytes the file never gave."""
        judge, lines = self.judge, []
        if self.layout.kind == "long" and judge.assumed:
            lines.append("levlab csv: results without a unit were read in the canonical unit (assumed; "
                         f"unit_assumed in JSON) for {', '.join(sorted(judge.assumed))}")
        if judge.from_settings:
            lines.append("levlab csv: results without a unit were read in the unit from settings (units = \"si\"; "
                         f"unit_from_settings in JSON) for {', '.join(sorted(judge.from_settings))}")
        if self.layout.kind == "long" and self.summary.rows:
            missing = [short_name(a) for a in normal_panel_ids() if a not in self.summary.seen]
            if missing:
                where = "the file" if self.summary.stopped_at is None else "the rows read"
                lines.append(f"levlab csv: no {', '.join(missing)} result in {where}: normal-panel could never be met")
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

    def __init__(self, lines: Iterable[str], options: CsvOptions, encoding: str = "utf-8",
                 reread: Reread | None = None, raw: Callable[[], Iterator[bytes]] | None = None) -> None:
        super().__init__(CsvRecords(lines, options, encoding), options, reread, raw)
