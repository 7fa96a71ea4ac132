"""Sinks: where an export run's results go — CSV written back byte-faithful, JSONL, the panels
collected for `--format table`, samples for `levlab trend`.

A sink says what it wants: `rows` (output rows: the input's fields and levlab's, CSV) and/or
`panels` (interpreted panels: JSONL, table, trend). The run gives it only that.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from levlab.errors import UsageError, shown
from levlab.exports.dialect import Dialect
from levlab.exports.fields import CountedPanel, PanelOut, RowError, excel_safe_row
from levlab.exports.layout import Layout, has_liver_test

if TYPE_CHECKING:
    from levlab.exports.rulebook import Decision
    from levlab.model import AnalyteResult, Patient
    from levlab.serial import Sample

TABLE_PANELS = 10  # --format table shows each panel up to this many, a summary beyond


class Sink:
    """Where results go: `rows` gets output rows (CSV), `panel` gets panels (JSONL, table)."""

    wants_rows = False
    wants_panels = False
    follows_patients = True  # long exports: link each panel to its patient's previous sample (exports.followup)
    #: panels come as `CountedPanel`s to `counted` (rule ids and status without the full panel)
    wants_counts = False
    #: a chunk's panels come to `chunk_counts` whole (a piece of the table summary: exports.table_pieces)
    counts_chunks = False

    def start(self, header: list[str]) -> None:  # pragma: no cover - interface
        pass

    def rows(self, rows: Iterable[tuple[list[str], str | None, str]]) -> None:  # pragma: no cover - interface
        """Write (fields, original record text or None when the fields were padded, appended text)."""

    def chunk(self, rows: list[list[str]], originals: list[str | None], appended: list[list[str]]) -> None:  # pragma: no cover - interface
        """Rows with levlab's fields appended (CSV sinks)."""

    def fragment(self, fields: list[str]) -> str:  # pragma: no cover - interface
        """Fields as output text, without a leading delimiter or line ending."""
        return ""

    def panel(self, out: PanelOut) -> None:  # pragma: no cover - interface
        pass

    def counted(self, panel: CountedPanel) -> None:  # pragma: no cover - interface
        """A panel, for a sink that `wants_counts`."""

    #: whether a panel without follow-up may come as its judged results (`judged_panel`)
    from_results = False

    def judged_panel(self, results: Sequence[AnalyteResult], patient: Patient, rows: list[int], key: dict[str, str],
                     errors: list[RowError], warnings: Sequence[str] = (), follow_up: Any = None) -> bool:
        """A panel of these judged results (no previous sample, no baseline, nothing added to its
        interpretation) written, for a sink that takes them `from_results`; False: give it whole to
        `panel`. A result may come as the numeric-lane cell that makes it (`LaneJudged`, whose
        `result` is made when first asked for)."""
        return False


class SampleSink(Sink):
    """Each panel as a serial.Sample of its patient and sample date (for `levlab trend`).

    A panel whose patient id is blank becomes a sample without a patient (never linked to
    another); without a patient column at all, `one_patient` says the file is one patient, else
    it is a usage error: samples of unknown people are never compared. A panel with no analyte
    of levlab's (only vital signs, lipids...) is counted, not made a sample."""

    wants_panels = True
    follows_patients = False  # trend orders and links the samples itself (serial.link)

    def __init__(self, layout: Layout, patients: frozenset[str] | set[str] = frozenset(),
                 one_patient: bool = False) -> None:
        roles, header = layout.roles, [cell.strip() for cell in layout.header]
        if "date" not in roles:
            raise UsageError("levlab trend needs each sample's date, and no date column was found (a header such as "
                             "'date', 'collection date' or 'afnamedatum'); name it with --col date=HEADER")
        if "patient" in roles and one_patient:
            raise UsageError(f"--one-patient: the file has a patient column {shown(header[roles['patient']])}; "
                             "--one-patient is for a file of one patient without one")
        if "patient" not in roles and not one_patient:
            others = [shown(name) for name in layout.ignored[:12]]
            raise UsageError("levlab trend compares a patient's samples, and no patient column was found (a header "
                             "such as 'patient', 'patient id' or 'mrn'): name it with --col patient=HEADER"
                             + (f" (unrecognised columns: {', '.join(others)})" if others else "")
                             + ", or pass --one-patient if the whole file is one patient")
        if patients and "patient" not in roles:
            raise UsageError("--patient: the file has no patient column (--one-patient takes the whole file)")
        self.patient_name = header[roles["patient"]] if "patient" in roles else None
        self.date_name = header[roles["date"]]
        self.time_name = header[roles["time"]] if "time" in roles else None  # a time column beside the date
        self.wanted = patients
        self.samples: list[Sample] = []
        self.rows_without_patient = 0  # data rows whose patient id is blank
        self.implausible_dates = 0  # samples dated before 1900 or after today
        self.without_analytes = 0  # panels with no analyte of levlab's (vital signs, lipids): not samples
        from levlab.serial import Sample, parse_datetime  # trend only

        self.make_sample, self.parse_datetime = Sample, parse_datetime

    def panel(self, out: PanelOut) -> None:
        key = {name.strip(): value for name, value in out.key.items()}
        patient: str | None = key.get(self.patient_name, "").strip() if self.patient_name else ""
        if self.patient_name and not patient:
            patient = None  # a blank id: nobody's sample but its own
            self.rows_without_patient += len(out.rows)
        if self.wanted and patient not in self.wanted:
            return
        if not out.panel.results and not out.errors:
            self.without_analytes += 1  # nothing of levlab's to follow: no empty column in the view
            return
        date_text = key.get(self.date_name, "").strip()
        if self.time_name:
            date_text = self._with_time(date_text, key.get(self.time_name, "").strip())
        label = date_text if len(date_text) <= 40 else f"{date_text[:40]}... ({len(date_text)} characters)"
        when = self.parse_datetime(date_text)
        if when is not None and not plausible_sample_date(when):
            self.implausible_dates += 1  # shown, but never ordered, compared or a baseline
            label, when = f"{label} (implausible date)", None
        self.samples.append(self.make_sample(patient, label or "(no date)", when, out.panel, tuple(out.rows)))


    def _with_time(self, date_text: str, time_text: str) -> str:
        """The sample time of a date column and a time column (`02-01-2024` + `8:15` -> `02-01-2024 08:15`);
        the date alone when the time is blank or the two do not read as one date-time."""
        if not date_text or not time_text:
            return date_text
        hours, sep, rest = time_text.partition(":")
        padded = f"{hours.zfill(2)}:{rest}" if sep and hours.isdigit() and len(hours) == 1 else time_text
        joined = f"{date_text} {padded}"
        return joined if self.parse_datetime(joined) is not None or self.parse_datetime(date_text) is None else date_text


def plausible_sample_date(when: datetime) -> bool:
    """A sample date levlab will order and compare: from 1900 up to today (year 1, or a date in the
    future, is a typing or export error and must never become a CTCAE baseline)."""
    return datetime(1900, 1, 1) <= when <= datetime.now() + timedelta(days=1)


class CsvSink(Sink):
    """Every input row, fields unchanged and in order, followed by levlab's columns.

    Every field goes through csv.writer. The appended fields are the same on every row with
    the same panel result, so they are formatted once per distinct panel (`tail`) and reused
    as text after the row's own fields.
    """

    wants_rows = True

    def __init__(self, stream: IO[str], dialect: Dialect, *, excel_safe: bool = False) -> None:
        self.stream = stream
        self.excel_safe = excel_safe  # input cells a spreadsheet would run get a leading `'`
        self.delimiter = dialect.delimiter
        self.ending = dialect.lineterminator
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=dialect.delimiter, lineterminator=dialect.lineterminator)
        self._quoted = ('"', "\r", "\n")  # a field holding one of these, or the delimiter, is quoted

    def _text(self, fields: list[str]) -> str:
        """Fields as one CSV record, without its line ending."""
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(fields)
        return self._buffer.getvalue()[: -len(self.ending)]

    def start(self, header: list[str]) -> None:
        self.stream.write(self._text(excel_safe_row(header) if self.excel_safe else header) + self.ending)

    def fragment(self, fields: list[str]) -> str:
        text = self.delimiter.join(fields)
        if (len(fields) == 1 and not text) or text.count(self.delimiter) >= len(fields) or any(
                special in text for special in self._quoted):
            return self._text(fields)  # a field to quote (or a lone empty one): csv.writer decides how
        return text

    def rows(self, rows: Iterable[tuple[list[str], str | None, str]]) -> None:
        text, ending = self._text, self.ending
        if self.excel_safe:  # a changed row is written from its fields, not its original text
            rows = [(row, original, tail) if (safe := excel_safe_row(row)) is row else (safe, None, tail)
                    for row, original, tail in rows]
        self.stream.write("".join([(text(row) if original is None else original) + tail + ending
                                   for row, original, tail in rows]))

    def chunk(self, rows: list[list[str]], originals: list[str | None], appended: list[list[str]]) -> None:
        """Rows with levlab's fields appended, those given column by column as CSV text."""
        if self.excel_safe or None in originals:
            delimiter = self.delimiter
            self.rows([(row, original, delimiter + delimiter.join(parts))
                       for row, original, parts in zip(rows, originals, zip(*appended, strict=True), strict=True)])
        elif not any(appended[-1]):  # the last field (errors) empty on every row: it ends each line
            ending = self.delimiter + self.ending
            self.stream.write(ending.join(map(self.delimiter.join, zip(originals, *appended[:-1], strict=True))) + ending)
        else:  # each original text and its appended fields joined by the delimiter, in one go
            self.stream.write(self.ending.join(map(self.delimiter.join, zip(originals, *appended, strict=True))) + self.ending)


#: analyte objects kept as JSON text by JsonlSink; past this many the cache starts again
ANALYTE_TEXTS_KEPT = 8_192


class JsonlSink(Sink):
    """One JSON object per panel: `interpret --format json`'s fields plus rows, key and errors.

    The text is `json.dumps` of `render.panel_json` plus those fields, put together from parts.
    A panel without follow-up comes as its judged results and is never interpreted whole
    (`exports.panel_json`); the others are, and then each analyte's object is serialised once per
    judged result (the run shares one result object among all the panels that hold it), the rest
    per panel. Tests check both against `json.dumps` of the whole document."""

    wants_panels = True
    from_results = True

    def __init__(self, stream: IO[str]) -> None:
        import json

        from levlab.exports.panel_json import PanelJson
        from levlab.render import analyte_json, panel_json_head, panel_json_tail

        self.stream = stream
        self.head, self.tail, self.analyte_json = panel_json_head, panel_json_tail, analyte_json
        self.dumps = json.dumps
        self.analyte_texts: dict[int, tuple[AnalyteResult, str]] = {}  # id(result) -> (result, its "id": {...} text)
        self.parts = PanelJson()
        self.bound: Any = None  # the stream `binary` was found for
        self.binary: Any = None  # its UTF-8 byte stream, when lines may go there as bytes (`_binary`)
        self.text_written = False  # text written to the stream since it was last flushed

    def panel(self, out: PanelOut) -> None:
        self.stream.write(self.text(out) + "\n")
        self.text_written = True

    def judged_panel(self, results: Sequence[AnalyteResult], patient: Patient, rows: list[int], key: dict[str, str],
                     errors: list[RowError], warnings: Sequence[str] = (), follow_up: Any = None) -> bool:
        errors_json = [{"row": e.row, "column": e.column, "message": e.message} for e in errors] if errors else []
        binary = self.binary if self.stream is self.bound else self._binary()
        if binary is not None:
            data = self.parts.line_bytes(results, patient, rows, key, errors_json, warnings, follow_up)
            if data is None:
                return False
            if self.text_written:  # what was written as text goes first
                self.stream.flush()
                self.text_written = False
            binary.write(data)
            return True
        line = self.parts.line(results, patient, rows, key, errors_json, warnings, follow_up)
        if line is None:
            return False
        self.stream.write(line + "\n")
        return True

    def _binary(self) -> Any:
        """The byte stream under the text stream, when it is UTF-8 text without newline translation
        (lines are then written as UTF-8 bytes made from parts encoded once), else None."""
        import codecs
        import os

        stream = self.bound = self.stream
        binary = getattr(stream, "buffer", None)
        encoding = getattr(stream, "encoding", None)
        self.binary = None
        if binary is not None and encoding and codecs.lookup(encoding).name == "utf-8" and os.linesep == "\n":
            self.binary = binary
            self.text_written = True  # (whatever the stream holds: flushed before the first line)
        return self.binary

    def text(self, out: PanelOut) -> str:
        """The panel's JSON line, without its line end."""
        panel, dumps = out.panel, self.dumps
        texts = self.analyte_texts
        parts = []
        followed = bool(panel.previous or panel.baseline)  # the grade or change depends on the panel: never kept
        for result in panel.results:
            if followed:
                parts.append(dumps(result.analyte) + ": " + dumps(self.analyte_json(
                    result, panel.grade(result.analyte), next((p for p in panel.previous if p.analyte == result.analyte), None)),
                    ensure_ascii=False))
                continue
            kept = texts.get(id(result))
            if kept is None or kept[0] is not result:
                if len(texts) >= ANALYTE_TEXTS_KEPT:
                    texts.clear()
                kept = texts[id(result)] = (result, dumps(result.analyte) + ": " + dumps(
                    self.analyte_json(result, panel.grade(result.analyte)), ensure_ascii=False))
            parts.append(kept[1])
        tail = self.tail(panel)
        tail["rows"] = out.rows
        tail["key"] = out.key
        tail["errors"] = [{"row": e.row, "column": e.column, "message": e.message} for e in out.errors]
        if out.warnings:
            tail["warnings"] = [*tail["warnings"], *out.warnings]
        if out.follow_up is not None:
            tail["follow_up"] = out.follow_up
        return (dumps(self.head(panel), ensure_ascii=False)[:-1] + ', "analytes": {' + ", ".join(parts) + "}, "
                + dumps(tail, ensure_ascii=False)[1:])


class CollectSink(Sink):
    """For --format table: every panel while the file is small, then a summary in constant memory."""

    wants_panels = True

    def __init__(self, keep: int = TABLE_PANELS, findings: int = 20) -> None:
        self.keep = keep
        self.findings_kept = findings
        self.panels: list[PanelOut] = []
        self.total = 0
        self.statuses: Counter[str] = Counter()
        self.rule_counts: Counter[str] = Counter()
        self.findings: list[PanelOut] = []  # panels with a rule met or not-met, first ones
        self.more_findings = 0
        self.with_errors = 0
        self.without_liver_test = 0  # panels with no liver test result: not in `statuses`
        #: called once while other processes count the panels (exports.table_pieces): the caller's
        #: own preparation (loading what shows the summary) then costs no time
        self.while_waiting: Callable[[], None] | None = None

    @property
    def small(self) -> bool:
        return self.total <= self.keep

    wants_counts = True

    @property
    def showing(self) -> bool:
        """Whether a panel may still be shown (among the first, or a finding while there is room)."""
        return self.total < self.keep or len(self.findings) < self.findings_kept

    def tally(self, panels: int, statuses: Counter[str], rule_counts: Counter[str], with_errors: int,
              without_liver_test: int, findings: int) -> None:
        """Count panels in bulk, once no panel is to be shown any more (`showing` is False)."""
        self.total += panels
        self.statuses.update(statuses)
        self.rule_counts.update(rule_counts)
        self.with_errors += with_errors
        self.without_liver_test += without_liver_test
        self.more_findings += findings
        self.panels.clear()

    def counted(self, panel: CountedPanel) -> None:
        """Count a panel from its rule ids and status; the whole panel is made only when it is kept."""
        finding = bool(panel.rule_ids) or panel.status == "not-met"
        if self.total < self.keep or (finding and len(self.findings) < self.findings_kept):
            self.panel(panel.make())
            return
        self.total += 1
        if not panel.liver:
            self.without_liver_test += 1
        else:
            self.statuses[panel.status] += 1
        self.rule_counts.update(panel.rule_ids)
        self.with_errors += bool(panel.errors)
        if finding:
            self.more_findings += 1
        self.panels.clear()

    def panel(self, out: PanelOut) -> None:
        self.total += 1
        if not has_liver_test(result.analyte for result in out.panel.results):
            self.without_liver_test += 1
        else:
            self.statuses[out.panel.normal_panel.status] += 1
        self.rule_counts.update(hit.rule_id for hit in out.panel.hits)
        self.with_errors += bool(out.errors)
        if self.total <= self.keep:
            self.panels.append(out)
        if out.panel.hits or out.panel.normal_panel.status == "not-met":
            if len(self.findings) < self.findings_kept:
                self.findings.append(out)
            else:
                self.more_findings += 1
        if self.total > self.keep:
            self.panels.clear()



def bulk_counts(decisions: Sequence[Decision], fired: dict[int, tuple[str, ...]], start: int, done: int
                ) -> tuple[Counter[str], Counter[str], int, int]:
    """The table summary's counts of a chunk's rows `start` to `done`, per distinct Decision: the
    statuses, the rules met (counted in the order one panel at a time would first meet them: the
    Decisions' keyed rules in the order the Decisions first come, then the value-reading rules that
    fired, row by row in `fired`'s order), the panels without a liver test and those with findings."""
    statuses: Counter[str] = Counter()
    rule_counts: Counter[str] = Counter()
    without_liver = findings = 0
    for decision, times in Counter(decisions[start:done] if start or done < len(decisions) else decisions).items():
        if decision.liver:
            statuses[decision.status] += times
        else:
            without_liver += times
        for rule_id in decision.keyed:
            rule_counts[rule_id] += times
        if decision.keyed or decision.status == "not-met":
            findings += times
    if fired:  # rows where a value-reading rule fired too: per distinct tuple of rules, first ones first
        rows = fired if start == 0 and done >= len(decisions) else {at: ids for at, ids in fired.items() if start <= at < done}
        for ids, times in Counter(rows.values()).items():
            for rule_id in ids:
                rule_counts[rule_id] += times
        findings += sum(not (decision.keyed or decision.status == "not-met") for decision in map(decisions.__getitem__, rows))
    return statuses, rule_counts, without_liver, findings
