"""Several processes for a large wide export read from a regular file (issue 18).

A wide export's rows are independent panels, so the data lines can be cut into pieces at line
ends and each piece run through the same chunk pipeline (`levlab.exports.wide.WidePanels`) in a
worker process forked from the run, once its header, layout and decimal-mark scan are known.
The parent writes the pieces' output in input order and adds up what the closing lines and the
exit status need (rows, panels, rows with errors, the errors echoed, repeated headers, the units
read from settings), so that stdout, stderr and the exit status are those of one process.

It is on only when that can be told before the run, from the bytes (`levlab.exports.pieces.plan`):

* the input is a regular file (not stdin or a pipe) of at least `MIN_BYTES`, and the output is
  CSV or JSONL text, or the table summary (not FHIR or a workbook); the table's counts are merged
  by `levlab.exports.table_pieces`, which lists rules counted alike in the order one process
  first counts them (that order depends on where its chunks begin, so the table's pieces are cut
  there); `levlab trend` never uses it, nor does a long export (a panel's rows and a patient's
  follow-up cross any cut);
* the encoding keeps line ends, quotes and the delimiter as single ASCII bytes (UTF-8, Latin-1,
  cp1252...), and every data line decodes; no NUL byte, no CR alone, no line over the line limit;
* every data line holding a quote closes it on that line (then each line is one record, and a
  cut at a line end is a cut between records);
* fork is available and more than one CPU may be used (`LEVLAB_PROCESSES=1` forces one process).

What one row may leave to the next (a header repeated with its columns in another order, a
decimal mark learnt from a cell) is checked after each piece: each piece is run as if it were
the first, and a piece that ends in another state than it started makes the parent read the
file again in this process from the start, writing only the rows not yet written, so that the
output is still exactly one process's (pieces are written only once a chunk's worth of checked
rows follows them: see `_merge`). A worker that fails or dies does the same; nothing is written
twice, and nothing is left half written. A worker writes each piece's output into a file of a
temporary directory as it goes (memory stays flat; the directory is removed at the end, also on
Ctrl-C), at most `SLOTS` pieces ahead of the parent, which hands each file on to the output with
`os.sendfile` where the output's descriptor takes it (a file, a pipe, /dev/null), else copies it.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import copy
import gc
import io
import itertools
import os
import signal
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from levlab.exports.csv_records import CHUNK_LINES, CsvRecords, RecordTextLines
from levlab.exports.pieces import Piece, Plan, plan
from levlab.exports.records import RecordChunk
from levlab.exports.reheader import LayoutStop
from levlab.exports.sinks import CollectSink, Sink

if TYPE_CHECKING:
    from levlab.exports.run import ExportRun
    from levlab.exports.wide import WidePanels

SLOTS = 2  # pieces a worker may have made that the parent has not taken yet
COPY_BLOCK = 1024 * 1024  # bytes of a piece's output copied to the output at a time

@dataclass
class Done:
    """What a worker made of one piece: its output text and what the closing lines need."""

    file: str = ""  # where the worker put the piece's output (UTF-8)
    rows: int = 0
    panels: int = 0
    rows_with_errors: int = 0
    errors_shown: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # headers repeated in the piece (reheader)
    strict: str | None = None  # --strict stopped the piece here: the message
    stopped_at: int | None = None
    layout_stop: str | None = None  # a header with other columns stopped it
    layout_stopped_at: int | None = None
    from_settings: set[str] = field(default_factory=set)
    assumed: set[str] = field(default_factory=set)
    state: tuple[Any, ...] = ()  # what a row leaves to the next, at the end of the piece
    failed: str | None = None  # the piece could not be run: why


def _state(run: ExportRun, watch: Any) -> tuple[Any, ...]:
    """What one row may leave to the next: the column order of a repeated header, the decimal
    marks learnt from cells."""
    order = None if watch is None else watch.order
    return (order, run.judge.mixed_marks)


class _Worker:
    """A forked worker's side: the run and its panels as forked, one piece at a time."""

    def __init__(self, run: ExportRun, panels: WidePanels, sink: Sink, work: Plan) -> None:
        self.run, self.panels, self.plan = run, panels, work
        self.sink = copy.copy(sink)  # its stream a buffer per piece; given to the panels in the child
        self.start_state = _state(run, None)
        self.marks = run.judge.mixed_marks

    def piece(self, piece: Piece, path: str) -> Done:
        """One piece through the panels, its output written to the file `path` as it is made."""
        from levlab.exports.run import StrictStop, Summary

        run, judge = self.run, self.run.judge
        if judge.mixed_marks != self.marks:  # learnt in an earlier piece: that piece tells the parent
            judge.mixed_marks = self.marks
            judge.forget()
        judge.thousands_read = []
        run.summary, run.errors_shown = Summary(), []
        run.records = records = self._records(piece)
        watch = run.watch = run._header_watch()
        self.panels.sink = self.sink
        done = Done(file=path)
        with open(path, "w", encoding="utf-8", newline="", buffering=COPY_BLOCK) as out:
            self.sink.stream = out  # type: ignore[attr-defined]
            try:
                self.panels.write(run._counted(watch.chunks(records)))
            except StrictStop as stop:
                done.strict, done.stopped_at = str(stop), run.summary.stopped_at
        summary = run.summary
        done.rows, done.panels, done.rows_with_errors = summary.rows, summary.panels, summary.rows_with_errors
        done.errors_shown, done.changes = run.errors_shown, watch.changes
        if watch.stop is not None:
            done.layout_stop, done.layout_stopped_at = str(watch.stop), watch.stopped_at
        done.from_settings, done.assumed = set(judge.from_settings), set(judge.assumed)
        done.state = _state(run, watch)
        return done

    def _records(self, piece: Piece) -> CsvRecords:
        """A reader of the piece's lines, numbering its records on from those before it."""
        with open(self.plan.path, "rb") as binary:
            binary.seek(piece.start)
            raw = binary.read(piece.size)
        lines = list(map(bytes.decode, raw.splitlines(keepends=True), itertools.repeat(self.plan.codec)))
        records = copy.copy(self.run.records)
        assert isinstance(records, CsvRecords)
        records.record_lines = RecordTextLines(lines)
        records.count = piece.before
        records.bad_rows = {}
        records.undecodable = []
        return records


def _serve(worker: _Worker, connection: Any, pieces: list[Piece], slots: Any, directory: str) -> None:
    """A worker process: its pieces in order, each one's output put in a file of `directory` (no
    pipe to wait on) and its result sent; at most SLOTS pieces ahead of what the parent has taken.
    Ctrl-C is the parent's to handle (it ends the workers); a worker whose parent is gone stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    for piece in pieces:
        while not slots.acquire(timeout=1.0):
            if os.getppid() != parent:
                os._exit(1)
        try:
            done = worker.piece(piece, os.path.join(directory, f"{piece.start}"))
        except BaseException as error:  # said to the parent, which reads the file itself
            done = Done(failed=f"{type(error).__name__}: {error}")
        try:
            connection.send(done)
        except OSError:  # the parent has stopped reading
            os._exit(1)
        if done.failed or done.strict or done.layout_stop:
            break
    connection.close()


class _Skipping(Sink):
    """A sink that drops its first `skip` rows (or panels): those already written."""

    def __init__(self, sink: Sink, skip: int) -> None:
        self.sink, self.skip = sink, skip
        self.wants_rows, self.wants_panels, self.wants_counts = sink.wants_rows, sink.wants_panels, sink.wants_counts

    def fragment(self, fields: list[str]) -> str:
        return self.sink.fragment(fields)

    def chunk(self, rows: list[list[str]], originals: list[str | None], appended: list[list[str]]) -> None:
        if self.skip:
            dropped = min(self.skip, len(rows))
            self.skip -= dropped
            rows, originals, appended = rows[dropped:], originals[dropped:], [part[dropped:] for part in appended]
            if not rows:
                return
        self.sink.chunk(rows, originals, appended)

    def panel(self, out: Any) -> None:
        if self.skip:
            self.skip -= 1
            return
        self.sink.panel(out)


def write_wide(run: ExportRun, sink: Sink, panels: WidePanels, chunks: Iterable[RecordChunk]) -> None:
    """Write a wide export's rows: in several processes when `plan` allows it, else `panels.write(chunks)`."""
    work = plan(run, sink)
    if work is None:
        panels.write(chunks)
        return
    if type(sink) is CollectSink:  # the table summary: counts, not output (exports.table_pieces)
        from levlab.exports.table_pieces import write_table

        write_table(run, sink, panels, chunks, work)
        return
    written = _several(run, sink, panels, work)
    if written is not None:  # a piece could not be vouched for: read on here, writing only the rows not written
        panels.sink = _Skipping(sink, written)
        try:
            panels.write(chunks)
        finally:
            panels.sink = sink


def _several(run: ExportRun, sink: Sink, panels: WidePanels, work: Plan) -> int | None:
    """Run the pieces in worker processes and write their output in order; None when all went
    well, else the number of rows written before the piece that could not be vouched for."""
    stream = sink.stream  # type: ignore[attr-defined]
    with forked_workers(_Worker(run, panels, sink, work), work, (stream, sys.stdout, sys.stderr), SLOTS) as workers:
        if workers is None:
            return 0
        result = _merge(run, stream, work, workers.connections, workers.slots)
        if result is None and run.watch.stop is None:  # every piece taken: the workers are done, leaving
            for process in workers.processes:
                process.join(timeout=1.0)
        return result


@dataclass
class Workers:
    """The worker processes of a run: each one's process, the pipe its results come by and its slots."""

    directory: str  # where they put their pieces' output
    processes: list[Any] = field(default_factory=list)
    connections: list[Any] = field(default_factory=list)
    slots: list[Any] = field(default_factory=list)


@contextlib.contextmanager
def forked_workers(worker: Any, work: Plan, held: Iterable[Any], slots: int) -> Iterator[Workers | None]:
    """`work.workers` processes forked to `_serve` every `work.workers`-th piece with `worker`, at
    most `slots` pieces ahead of the parent; None when they cannot be started. The streams `held`
    are flushed first (a child must not write what the parent holds); at the end the workers are
    ended and their directory removed, also on an error or Ctrl-C."""
    for flushed in held:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            flushed.flush()
    import multiprocessing
    import shutil
    import tempfile

    context = multiprocessing.get_context("fork")
    workers = Workers(tempfile.mkdtemp(prefix="levlab-pieces-"))
    try:
        gc.freeze()  # the run's objects out of the collector's sight: the children do not copy their pages to scan them
        try:
            for index in range(work.workers):
                receive, send = context.Pipe(duplex=False)
                workers.slots.append(context.Semaphore(slots))
                process = context.Process(target=_serve, daemon=True, args=(
                    worker, send, work.pieces[index::work.workers], workers.slots[-1], workers.directory))
                process.start()
                workers.processes.append(process)
                send.close()
                workers.connections.append(receive)
            started = True
        except (OSError, ValueError):
            started = False
        finally:
            gc.unfreeze()
        yield workers if started else None
    finally:
        _stop(workers.processes)
        shutil.rmtree(workers.directory, ignore_errors=True)


def advanced(run: ExportRun, piece: Piece) -> None:
    """The progress bar, when there is one, moved to the end of a piece taken from a worker (the
    parent reads no line of it)."""
    progress = getattr(run.records, "progress", None)
    if progress is not None:
        progress(piece.start + piece.size)


class _Tally:
    """What the closing lines and the exit status need, added up over the pieces in order."""

    def __init__(self) -> None:
        self.rows = self.panels = self.with_errors = 0
        self.shown: list[str] = []
        self.changes: list[str] = []
        self.from_settings: set[str] = set()
        self.assumed: set[str] = set()
        self.strict: Done | None = None
        self.layout_stop: Done | None = None

    def add(self, done: Done) -> bool:
        """Add one piece's result; False when the run stops at it (--strict, a header with other columns)."""
        from levlab.exports.run import ERRORS_SHOWN

        self.panels += done.panels
        self.with_errors += done.rows_with_errors
        self.shown.extend(done.errors_shown[: max(0, ERRORS_SHOWN - len(self.shown))])
        self.changes += done.changes
        self.from_settings |= done.from_settings
        self.assumed |= done.assumed
        if done.strict is not None:
            self.rows, self.strict = done.rows, done  # the row --strict stopped at (as one process counts it)
            return False
        self.rows += done.rows
        if done.layout_stop is not None:
            self.layout_stop = done
            return False
        return True

    def apply(self, run: ExportRun) -> None:
        """Give the run the totals one process would have: its summary, errors shown, stops."""
        summary = run.summary
        summary.rows, summary.panels, summary.rows_with_errors = self.rows, self.panels, self.with_errors
        run.errors_shown = self.shown
        run.watch.changes.extend(self.changes)
        run.judge.from_settings |= self.from_settings
        run.judge.assumed |= self.assumed
        if self.layout_stop is not None:
            run.watch.stop = LayoutStop(self.layout_stop.layout_stop)
            run.watch.stopped_at = self.layout_stop.layout_stopped_at
        if self.strict is not None:
            from levlab.exports.run import StrictStop

            summary.stopped_at = self.strict.stopped_at
            raise StrictStop(self.strict.strict)


def _merge(run: ExportRun, stream: Any, work: Plan, connections: list[Any], slots: list[Any]) -> int | None:
    """The pieces' results, in order, written and added up; None when all went well, else the
    rows written so far (the summary and the rest untouched: the caller reads on itself).

    A piece is written once the pieces after it, checked, hold `CHUNK_LINES` rows: one process
    reads the rows a chunk of up to that many lines at a time, and a cell that changes how later
    cells are read (a decimal mark learnt) changes the rest of its chunk, which may begin in the
    piece before; such a piece is never written, and the parent reads on from before that chunk."""
    start = _state(run, None)
    tally = _Tally()
    written = 0
    pending: collections.deque[tuple[Done, int]] = collections.deque()  # checked, not yet written: (result, its rows)
    after = 0  # rows of the pending pieces after the first
    for index in range(len(work.pieces)):
        try:
            done = connections[index % len(connections)].recv()
        except (EOFError, OSError):
            return written
        slots[index % len(slots)].release()
        if done.failed is not None or done.state != start:  # failed, or left something to the next piece
            return written
        following = work.pieces[index + 1].before if index + 1 < len(work.pieces) else tally.rows + done.rows
        count = following - work.pieces[index].before
        advanced(run, work.pieces[index])
        pending.append((done, count))
        after += count if len(pending) > 1 else 0
        while len(pending) > 1 and after >= CHUNK_LINES:
            first, first_rows = pending.popleft()
            after -= pending[0][1]
            _write(stream, first.file)
            written += first_rows
        if not tally.add(done):
            break
    for done, _ in pending:
        _write(stream, done.file)
    tally.apply(run)
    return None


def _write(stream: Any, path: str) -> None:
    """A piece's output (a UTF-8 file, removed) after what the stream holds: handed from file to
    file by the kernel where the stream is UTF-8 over a descriptor that takes it (`_sent`), else
    (or from where that stopped) copied a block at a time."""
    import shutil

    binary = getattr(stream, "buffer", None)
    utf8 = codecs.lookup(getattr(stream, "encoding", "") or "ascii").name == "utf-8"
    with open(path, "rb") as piece:
        if binary is not None and utf8:
            stream.flush()
            _sent(piece, binary)
            shutil.copyfileobj(piece, binary, COPY_BLOCK)  # what was not sent (nothing when all was)
        else:
            with io.TextIOWrapper(piece, encoding="utf-8", newline="") as text:
                shutil.copyfileobj(text, stream, COPY_BLOCK)
    os.unlink(path)


def _sent(piece: Any, binary: Any) -> None:
    """Send the piece file from its position into the descriptor under `binary` (flushed) with
    `os.sendfile`, no copy through this process; the piece file is left where sending stopped: at
    its end, or where the descriptor refused (a terminal, a file opened to append, a full disk,
    a closed pipe), for the copy to go on from there and meet the same error as any write."""
    sendfile = getattr(os, "sendfile", None)
    target = None
    layer = binary  # (the output's guard, levlab.outfile, passes its writes to `raw`)
    try:
        binary.flush()
        while target is None and layer is not None:
            try:
                target = layer.fileno()
            except (AttributeError, OSError):  # (io.UnsupportedOperation is an OSError)
                layer = getattr(layer, "raw", None)
    except (OSError, ValueError):
        return
    if sendfile is None or target is None:
        return
    source = piece.fileno()
    offset = piece.tell()
    size = os.fstat(source).st_size
    try:
        while offset < size:
            sent = sendfile(target, source, offset, min(size - offset, 1 << 30))
            if sent == 0:
                break
            offset += sent
    except OSError:
        pass
    finally:
        piece.seek(offset)


def _stop(processes: list[Any]) -> None:
    """End the workers this run started (each by its own handle) and wait for them."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join()
