"""The table summary (`--format table`) of a large wide export in several processes (issue 18).

The summary's counts add up over pieces of the file, but one process lists rules met equally
often in the order it first counted them, and that order depends on where its chunks begin:
panel by panel while a panel may still be shown (`CollectSink.showing`: the first panels, the
first findings), after that per chunk (`sinks.bulk_counts`: the rules of each distinct Decision in
the order the Decisions first come, then the value-reading rules that fired). So here:

* the pieces of `pieces.plan` are cut again only where one process's chunks begin (`aligned`),
  and each worker reads its piece in those same chunks (`CsvRecords.first_chunk`);
* a worker counts each chunk as one process counts it in bulk, and says for each rule the record
  it was first met on, and which panels the summary may show (`Candidate`: the first findings and
  the first panels of its piece, as their judged results, interpreted only by the parent);
* the parent finds the row from which one process counts in bulk (once the first panels and
  findings are taken), lists the rules first met before it by that record (ties on one panel in
  rules.toml order) and the others in the order the chunks counted them, and adds up the rest.

Everything else is `levlab.exports.processes`: its workers (`_Worker`, `_serve`), what is added up
for the closing lines (`_Tally`), and its fallback: a piece that leaves state to the next or a
worker that fails makes the parent count the whole file itself.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from levlab.exports.csv_records import CHUNK_LINES
from levlab.exports.fields import PanelOut, RowError
from levlab.exports.pieces import Piece, Plan
from levlab.exports.processes import _state, _Tally, _Worker, advanced, forked_workers
from levlab.exports.records import RecordChunk
from levlab.exports.sinks import CollectSink, Sink, bulk_counts

if TYPE_CHECKING:
    from levlab.exports.rulebook import Decision
    from levlab.exports.run import ExportRun
    from levlab.exports.wide import WidePanels
    from levlab.model import AnalyteResult, Patient


@dataclass
class Candidate:
    """A panel the summary may show, as a worker found it: its judged results, not yet interpreted."""

    record: int
    results: list[AnalyteResult]
    patient: Patient
    key: dict[str, str]
    errors: list[RowError]

    def made(self) -> PanelOut:
        """The panel interpreted, as `memo.Judge.evaluate` interprets it."""
        from levlab.interpret import interpret_results

        return PanelOut([self.record], self.key, interpret_results(self.results, self.patient, [], []), self.errors)


@dataclass
class PieceCounts:
    """What a worker counted of one piece."""

    total: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    rule_counts: Counter[str] = field(default_factory=Counter)  # in the order its chunks counted them
    first_met: dict[str, int] = field(default_factory=dict)  # rule id -> the record it was first met on
    with_errors: int = 0
    without_liver: int = 0
    findings: int = 0
    shown: list[Candidate] = field(default_factory=list)  # the piece's first findings
    first: list[Candidate] = field(default_factory=list)  # the piece's first panels


class PieceTable(Sink):
    """A worker's sink: each chunk of its piece counted in bulk (`chunk_counts`), into `counts`."""

    wants_panels = wants_counts = counts_chunks = True

    def __init__(self, keep: int, findings: int) -> None:
        self.keep, self.findings_kept = keep, findings
        self.counts = PieceCounts()

    def chunk_counts(self, panels: WidePanels, first: int, rows: list[list[str]], cells: list[tuple[Any, ...]],
                     entries: list[Any], errors: dict[int, list[RowError]], decisions: list[Decision],
                     fired: dict[int, tuple[str, ...]], done: int) -> None:
        """A chunk's first `done` rows counted; their first findings and panels kept."""
        counts = self.counts
        statuses, rule_counts, without_liver, findings = bulk_counts(decisions, fired, 0, done)
        counts.statuses.update(statuses)
        counts.rule_counts.update(rule_counts)
        counts.without_liver += without_liver
        counts.findings += findings
        counts.with_errors += sum(at < done for at in errors)
        new = [rule_id for rule_id in rule_counts if rule_id not in counts.first_met]
        if new:
            counts.first_met.update(_first_rows(first, decisions[:done], fired, set(new)))
        for row in range(min(done, self.keep - counts.total)):
            counts.first.append(_candidate(panels, first, row, rows, cells, entries, errors))
        row = 0
        while len(counts.shown) < self.findings_kept and row < done:
            decision = decisions[row]
            if decision.keyed or row in fired or decision.status == "not-met":
                counts.shown.append(_candidate(panels, first, row, rows, cells, entries, errors))
            row += 1
        counts.total += done


def _first_rows(first: int, decisions: list[Decision], fired: dict[int, tuple[str, ...]], wanted: set[str]
                ) -> dict[str, int]:
    """The record each of the `wanted` rules is first met on in a chunk."""
    done = len(decisions)
    found: dict[str, int] = {}
    for decision, row in dict(zip(reversed(decisions), range(done - 1, -1, -1), strict=True)).items():  # each one's first row
        for rule_id in wanted.intersection(decision.keyed):
            found[rule_id] = min(row, found.get(rule_id, done))
    for row, ids in fired.items():
        if row < done:
            for rule_id in wanted.intersection(ids):
                found[rule_id] = min(row, found.get(rule_id, done))
    return {rule_id: first + row for rule_id, row in found.items()}


def _candidate(panels: WidePanels, first: int, row: int, rows: list[list[str]], cells: list[tuple[Any, ...]],
               entries: list[Any], errors: dict[int, list[RowError]]) -> Candidate:
    """One row as `WidePanels._panel_out` makes it, but for its interpretation."""
    key = tuple(column[row] for column in cells if column[row] is not panels.absent)
    shown_key = {panels.header[i]: rows[row][i] for i in panels.layout.key_columns}
    return Candidate(first + row, [judged.result for judged in key], entries[row].patient, shown_key,
                     errors.get(row, []))


def merge(sink: CollectSink, parts: list[PieceCounts], order: dict[str, int]) -> None:
    """The pieces' counts into the sink, as one process would have counted them (see the module text)."""
    shown = [candidate for part in parts for candidate in part.shown][: sink.findings_kept]
    total = sum(part.total for part in parts)
    # one process counts panel by panel up to the record where the first panels and findings are all taken
    bulk_from = (max(sink.keep + 1, shown[-1].record + 1) if len(shown) == sink.findings_kept and shown
                 else math.inf)
    totals: Counter[str] = Counter()
    first_met: dict[str, int] = {}
    for part in parts:
        totals.update(part.rule_counts)
        for rule_id, record in part.first_met.items():
            first_met.setdefault(rule_id, record)
    early = sorted((rule_id for rule_id, record in first_met.items() if record < bulk_from),
                   key=lambda rule_id: (first_met[rule_id], order.get(rule_id, math.inf)))
    late = dict.fromkeys(rule_id for part in parts for rule_id in part.rule_counts if first_met[rule_id] >= bulk_from)
    sink.total += total
    sink.rule_counts.update({rule_id: totals[rule_id] for rule_id in [*early, *late]})
    for part in parts:
        sink.statuses.update(part.statuses)
        sink.with_errors += part.with_errors
        sink.without_liver_test += part.without_liver
    sink.findings = [candidate.made() for candidate in shown]
    sink.more_findings = sum(part.findings for part in parts) - len(shown)
    sink.panels = [candidate.made() for part in parts for candidate in part.first] if total <= sink.keep else []


def aligned(path: str, pieces: list[Piece]) -> tuple[list[Piece], dict[int, int]]:
    """The same data cut again at the line ends nearest after each of `pieces`' cuts where one
    process begins a chunk (`CsvRecords.chunks`: 1, 2, 4... lines, then CHUNK_LINES), with the
    records before each; and the lines of the first chunk of each piece, by its start."""
    starts = {piece.start + piece.size for piece in pieces[:-1]}  # where `pieces` cut
    out: list[Piece] = []
    sizes: dict[int, int] = {}
    chunk_at, size = 0, 1  # the next chunk's first line and its lines
    line = records = 0  # lines and records before `at`
    at, cut, cut_records, cut_size, due = pieces[0].start, pieces[0].start, 0, 1, False
    with open(path, "rb") as binary:
        binary.seek(at)
        for piece in pieces:
            lines = binary.read(piece.size).split(b"\n")
            if lines[-1] == b"":
                lines.pop()
            index = 0  # lines of this block before `at`
            while chunk_at < line + len(lines):
                segment = lines[index: chunk_at - line]
                at += sum(map(len, segment)) + len(segment)
                records += len(segment) - segment.count(b"") - segment.count(b"\r")
                index = chunk_at - line
                if due and chunk_at > 0:
                    out.append(Piece(cut, at - cut, cut_records))
                    sizes[cut] = cut_size
                    cut, cut_records, cut_size, due = at, records, size, False
                chunk_at, size = chunk_at + size, min(2 * size, CHUNK_LINES)
            at += sum(map(len, lines[index:])) + len(lines) - index
            records += len(lines) - index - lines[index:].count(b"") - lines[index:].count(b"\r")
            line += len(lines)
            due = due or piece.start + piece.size in starts
    at = pieces[-1].start + pieces[-1].size
    out.append(Piece(cut, at - cut, cut_records))
    sizes[cut] = cut_size
    return out, sizes


class _TableWorker(_Worker):
    """A worker of the table summary: each piece read in one process's chunks and counted."""

    def __init__(self, run: ExportRun, panels: WidePanels, sink: PieceTable, work: Plan, sizes: dict[int, int]) -> None:
        super().__init__(run, panels, sink, work)
        self.sizes = sizes

    def piece(self, piece: Piece, path: str) -> Any:
        self.sink.counts = PieceCounts()  # type: ignore[attr-defined]
        done = super().piece(piece, path)
        done.table = self.sink.counts  # type: ignore[attr-defined]
        return done

    def _records(self, piece: Piece) -> Any:
        records = super()._records(piece)
        records.first_chunk = self.sizes[piece.start]
        return records


def write_table(run: ExportRun, sink: CollectSink, panels: WidePanels, chunks: Iterable[RecordChunk], work: Plan) -> None:
    """Count a wide export for the table summary in the worker processes of `work`, else (one
    piece, or a piece that cannot be vouched for) `panels.write(chunks)` here."""
    pieces, sizes = aligned(work.path, work.pieces)
    if len(pieces) < 2 or not _several(run, sink, panels, Plan(work.path, work.codec, pieces, min(work.workers, len(pieces))),
                                       sizes):
        panels.write(chunks)


def _several(run: ExportRun, sink: CollectSink, panels: WidePanels, work: Plan, sizes: dict[int, int]) -> bool:
    """Run the pieces in worker processes and merge their counts into the sink; False (nothing
    changed) when a piece cannot be vouched for."""
    worker = _TableWorker(run, panels, PieceTable(sink.keep, sink.findings_kept), work, sizes)
    # (nothing to write: no need to hold a worker back, so as many slots as pieces)
    with forked_workers(worker, work, (sys.stdout, sys.stderr), len(work.pieces)) as workers:
        if workers is None:
            return False
        if sink.while_waiting is not None:
            sink.while_waiting()
        return _merge(run, sink, panels, work, workers.connections)


def _merge(run: ExportRun, sink: CollectSink, panels: WidePanels, work: Plan, connections: list[Any]) -> bool:
    """The pieces' results in order, into the sink and the run's summary; False (nothing changed)
    when a piece failed or left something to the next."""
    start = _state(run, None)
    tally = _Tally()
    parts: list[PieceCounts] = []
    for index in range(len(work.pieces)):
        try:
            done = connections[index % len(connections)].recv()
        except (EOFError, OSError):
            return False
        if done.failed is not None or done.state != start:
            return False
        advanced(run, work.pieces[index])
        parts.append(done.table)
        if not tally.add(done):
            break
    merge(sink, parts, panels.book.order)
    tally.apply(run)  # a --strict stop raised here, as one process raises it
    return True
