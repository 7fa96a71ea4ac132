"""Several processes for a large wide export read from a regular file (issue 18).

A wide export's rows are independent panels, so the data lines can be cut into pieces at line
ends and each piece run through the same chunk pipeline (`levlab.exports.wide.WidePanels`) in a
worker process forked from the run, once its header, layout and decimal-mark scan are known.
The parent writes the pieces' output in input order and adds up what the closing lines and the
exit status need (rows, panels, rows with errors, the errors echoed, repeated headers, the units
read from settings), so that stdout, stderr and the exit status are those of one process.

It is on only when that can be told before the run, from the bytes (`plan`):

* the input is a regular file (not stdin or a pipe) of at least `MIN_BYTES`, and the output is
  CSV or JSONL text (not FHIR or a workbook; not the table either: its counts add up, but rules
  counted alike are listed in the order one process first counted them, which depends on where its
  chunks begin); `levlab trend` never uses it, nor does a long export (a panel's rows and a
  patient's follow-up cross any cut);
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
Ctrl-C), at most `SLOTS` pieces ahead of the parent.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import copy
import csv
import gc
import io
import itertools
import os
import re
import signal
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from levlab.errors import LevlabError
from levlab.exports.csv_records import CHUNK_LINES, CsvRecords, RecordTextLines
from levlab.exports.decoding import LINE_LIMIT, check_encoding
from levlab.exports.marks import line_blocks
from levlab.exports.records import RecordChunk
from levlab.exports.reheader import LayoutStop
from levlab.exports.sinks import CsvSink, JsonlSink, Sink

if TYPE_CHECKING:
    from levlab.exports.run import ExportRun
    from levlab.exports.wide import WidePanels

ENVIRONMENT = "LEVLAB_PROCESSES"  # a whole number: at most this many processes (1: never several)
#: the least data (bytes) read by several processes: values that repeat are judged once per worker
#: and cost little after, so the workers' extra start (about 0.2 s of CPU) pays from about 4 MiB;
#: values that do not repeat (more than DISTINCT_SHARE of the analyte cells of the first
#: SAMPLE_BYTES distinct) from about 512 KiB (measured: bench/notes/parallel.md)
MIN_BYTES = 4 * 1024 * 1024
MIN_BYTES_DISTINCT = 512 * 1024
DISTINCT_SHARE, SAMPLE_BYTES = 0.5, 64 * 1024
#: data bytes per piece handed to a worker (cut at a line end): about a quarter of a worker's share,
#: from PIECE_MIN to PIECE_MAX, so that the workers finish together; PIECE_BYTES, when set, instead
PIECE_BYTES: int | None = None
PIECE_MIN, PIECE_MAX, PIECES_PER_WORKER = 64 * 1024, 1024 * 1024, 4
MAX_PROCESSES = 8
SLOTS = 2  # pieces a worker may have made that the parent has not taken yet
COPY_BLOCK = 1024 * 1024  # bytes of a piece's output copied to the output at a time
HEAD_BYTES = 1024 * 1024  # the header must be within the file's first bytes
#: codecs whose line ends, quotes and delimiters are single ASCII bytes, never part of another character
_BYTE_SAFE = ("utf-8", "ascii", "latin-1", "iso8859", "cp125", "mac-roman")
_BLANK_LINE = re.compile(rb"^\r?\n", re.MULTILINE)


def processes_wanted(environ: Mapping[str, str] | None = None) -> int:
    """How many processes may run: LEVLAB_PROCESSES if set (a whole number), else the CPUs this
    process may use, at most MAX_PROCESSES."""
    environ = os.environ if environ is None else environ
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    wanted = min(cpus, MAX_PROCESSES)
    given = environ.get(ENVIRONMENT, "").strip()
    if given:
        try:
            wanted = min(max(int(given), 1), MAX_PROCESSES)
        except ValueError:
            wanted = 1  # not a number: the safe reading
    return wanted


@dataclass(frozen=True)
class Piece:
    """Data bytes [start, start + size) of the file, and the records before them."""

    start: int
    size: int
    before: int


@dataclass
class Plan:
    """How a run is split: the file, its codec and its pieces, and how many workers."""

    path: str
    codec: str
    pieces: list[Piece]
    workers: int


def plan(run: ExportRun, sink: Sink, environ: Mapping[str, str] | None = None, piece_bytes: int | None = None
         ) -> Plan | None:
    """The pieces of a run worth several processes, or None (one process; see the module text)."""
    path = getattr(run, "path", None)
    records = run.records
    if (path is None or run.layout.kind != "wide" or type(sink) not in (CsvSink, JsonlSink)
            or type(records) is not CsvRecords or run.summary.rows):
        return None
    workers = processes_wanted(environ)
    if workers < 2:
        return None
    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    if size < min(MIN_BYTES, MIN_BYTES_DISTINCT):
        return None
    import multiprocessing  # only for a file that may be split

    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    codec = _codec(records)
    delimiter = run.dialect.delimiter
    if codec is None or len(delimiter) != 1 or not delimiter.isascii() or delimiter in '"\r\n':
        return None
    try:
        start = data_start(path, codec, run.options.skip_lines, delimiter, records.header)
        if start is None:
            return None
        least = MIN_BYTES if distinct_share(path, start, run, codec) <= DISTINCT_SHARE else MIN_BYTES_DISTINCT
        if size - start < least:
            return None
        piece_bytes = piece_bytes or PIECE_BYTES or max(PIECE_MIN, min(PIECE_MAX, (size - start) // (workers * PIECES_PER_WORKER)))
        pieces = split(path, start, codec, delimiter.encode(), piece_bytes)
    except (OSError, LevlabError):
        return None
    if pieces is None or len(pieces) < 2:
        return None
    return Plan(path, codec, pieces, min(workers, len(pieces)))


def distinct_share(path: str, start: int, run: ExportRun, codec: str) -> float:
    """The share of distinct texts among the analyte cells of the first SAMPLE_BYTES of data (1.0
    when there are none): how much of the work will be judging cells never seen before."""
    with open(path, "rb") as binary:
        binary.seek(start)
        sample = binary.read(SAMPLE_BYTES)
    lines = sample.decode(codec, "replace").split("\n")[:-1] if b"\n" in sample else []
    delimiter = run.dialect.delimiter
    at = [column.index for column in run.layout.columns]
    cells = [(index, fields[index]) for fields in (line.rstrip("\r").split(delimiter) for line in lines)
             for index in at if index < len(fields)]
    return len(set(cells)) / len(cells) if cells else 1.0


def _codec(records: CsvRecords) -> str | None:
    """The codec the reader decoded with, when its line ends and quotes are plain bytes; else None."""
    name = records.encoding
    if name.endswith(" (BOM)"):
        name = name[: -len(" (BOM)")]
    try:
        codec = check_encoding(name)
    except LevlabError:
        return None
    return codec if codec.startswith(_BYTE_SAFE) else None


def data_start(path: str, codec: str, skip_lines: int, delimiter: str, header: list[str]) -> int | None:
    """The byte offset of the first line after the header record (read as the CSV reader reads
    it: --skip-lines, blank lines, a header whose quotes span lines), or None if that header is not
    the reader's."""
    with open(path, "rb") as binary:
        head = binary.read(HEAD_BYTES)
    lines = head.splitlines(keepends=True)
    offset = sum(map(len, lines[:skip_lines]))
    if lines and head.startswith(codecs.BOM_UTF8) and skip_lines == 0:
        lines[0] = lines[0][len(codecs.BOM_UTF8):]
        offset = len(codecs.BOM_UTF8)
    taken = RecordTextLines(line.decode(codec) for line in lines[skip_lines:])
    try:
        record = next((record for record in csv.reader(taken, delimiter=delimiter) if record), None)
    except (csv.Error, UnicodeDecodeError):
        return None
    used = len(taken.taken)
    if record != header or skip_lines + used >= len(lines):  # not the reader's header, or the head ends in it
        return None
    return offset + sum(map(len, lines[skip_lines:skip_lines + used]))


def _closed_line(delimiter: bytes) -> re.Pattern[bytes]:
    """A line (without its line end) that the csv module reads as one whole record: every quoted
    field closed on it (doubled quotes inside, any text after the closing quote up to the delimiter)."""
    d = re.escape(delimiter)
    field_ = rb'(?:"(?:[^"]|"")*"(?:[^"' + d + rb'][^' + d + rb']*)?|[^"' + d + rb'][^' + d + rb']*|)'
    return re.compile(field_ + rb"(?:" + d + field_ + rb")*")


def split(path: str, start: int, codec: str, delimiter: bytes, piece_bytes: int) -> list[Piece] | None:
    """The file's data, from byte `start`, as pieces of about `piece_bytes` cut at line ends, with
    the records before each; None when a cut could fall inside a record, or a line would not be
    read as the one-process reader reads it (see the module text)."""
    pieces: list[Piece] = []
    closed = _closed_line(delimiter)
    before = 0
    with open(path, "rb") as binary:
        binary.seek(start)
        at, ended = start, True
        for block in line_blocks(binary, piece_bytes):
            if (len(block) > LINE_LIMIT or b"\0" in block or block.count(b"\r") != block.count(b"\r\n")
                    or not ended):  # a block cut inside a line
                return None
            if not block.isascii():
                try:
                    block.decode(codec)
                except UnicodeDecodeError:
                    return None
            if b'"' in block:
                for line in block.splitlines():
                    if b'"' in line and closed.fullmatch(line) is None:
                        return None
            pieces.append(Piece(at, len(block), before))
            lines = block.count(b"\n") + (not block.endswith(b"\n"))
            blanks = (len(_BLANK_LINE.findall(block)) if block.startswith((b"\n", b"\r\n"))
                      or b"\n\n" in block or b"\n\r\n" in block else 0)
            before += lines - blanks
            at += len(block)
            ended = block.endswith(b"\n")
    return pieces


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
        with open(path, "w", encoding="utf-8", newline="") as out:
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
    for flushed in (stream, sys.stdout, sys.stderr):  # a forked child must not write what the parent holds
        with contextlib.suppress(AttributeError, OSError, ValueError):
            flushed.flush()
    import multiprocessing
    import shutil
    import tempfile

    context = multiprocessing.get_context("fork")
    directory = tempfile.mkdtemp(prefix="levlab-pieces-")
    connections: list[Any] = []
    processes: list[Any] = []
    slots: list[Any] = []
    try:
        gc.freeze()  # the run's objects out of the collector's sight: the children do not copy their pages to scan them
        try:
            worker = _Worker(run, panels, sink, work)
            for index in range(work.workers):
                receive, send = context.Pipe(duplex=False)
                slots.append(context.Semaphore(SLOTS))
                process = context.Process(target=_serve, daemon=True,
                                          args=(worker, send, work.pieces[index::work.workers], slots[-1], directory))
                process.start()
                processes.append(process)
                send.close()
                connections.append(receive)
        except (OSError, ValueError):
            return 0
        finally:
            gc.unfreeze()
        result = _merge(run, stream, work, connections, slots)
        if result is None and run.watch.stop is None:  # every piece taken: the workers are done, leaving
            for process in processes:
                process.join(timeout=1.0)
        return result
    finally:
        _stop(processes)
        shutil.rmtree(directory, ignore_errors=True)


def _merge(run: ExportRun, stream: Any, work: Plan, connections: list[Any], slots: list[Any]) -> int | None:
    """The pieces' results, in order, written and added up; None when all went well, else the
    rows written so far (the summary and the rest untouched: the caller reads on itself).

    A piece is written once the pieces after it, checked, hold `CHUNK_LINES` rows: one process
    reads the rows a chunk of up to that many lines at a time, and a cell that changes how later
    cells are read (a decimal mark learnt) changes the rest of its chunk, which may begin in the
    piece before; such a piece is never written, and the parent reads on from before that chunk."""
    from levlab.exports.run import ERRORS_SHOWN

    start = _state(run, None)
    rows = panels = with_errors = written = 0
    shown: list[str] = []
    changes: list[str] = []
    from_settings: set[str] = set()
    assumed: set[str] = set()
    strict: Done | None = None
    layout_stop: Done | None = None
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
        count = (work.pieces[index + 1].before if index + 1 < len(work.pieces) else rows + done.rows) - work.pieces[index].before
        pending.append((done, count))
        after += count if len(pending) > 1 else 0
        while len(pending) > 1 and after >= CHUNK_LINES:
            first, first_rows = pending.popleft()
            after -= pending[0][1]
            _write(stream, first.file)
            written += first_rows
        panels += done.panels
        with_errors += done.rows_with_errors
        shown.extend(done.errors_shown[: max(0, ERRORS_SHOWN - len(shown))])
        changes += done.changes
        from_settings |= done.from_settings
        assumed |= done.assumed
        if done.strict is not None:
            rows, strict = done.rows, done  # the row --strict stopped at (as one process counts it)
            break
        rows += done.rows
        if done.layout_stop is not None:
            layout_stop = done
            break
    for done, _ in pending:
        _write(stream, done.file)
    summary = run.summary
    summary.rows, summary.panels, summary.rows_with_errors = rows, panels, with_errors
    run.errors_shown = shown
    run.watch.changes.extend(changes)
    run.judge.from_settings |= from_settings
    run.judge.assumed |= assumed
    if layout_stop is not None:
        run.watch.stop = LayoutStop(layout_stop.layout_stop)
        run.watch.stopped_at = layout_stop.layout_stopped_at
    if strict is not None:
        from levlab.exports.run import StrictStop

        summary.stopped_at = strict.stopped_at
        raise StrictStop(strict.strict)
    return None


def _write(stream: Any, path: str) -> None:
    """A piece's output (a UTF-8 file, removed) after what the stream holds, a block at a time."""
    import shutil

    binary = getattr(stream, "buffer", None)
    utf8 = codecs.lookup(getattr(stream, "encoding", "") or "ascii").name == "utf-8"
    with open(path, "rb") as piece:
        if binary is not None and utf8:
            stream.flush()
            shutil.copyfileobj(piece, binary, COPY_BLOCK)
        else:
            with io.TextIOWrapper(piece, encoding="utf-8", newline="") as text:
                shutil.copyfileobj(text, stream, COPY_BLOCK)
    os.unlink(path)


def _stop(processes: list[Any]) -> None:
    """End the workers this run started (each by its own handle) and wait for them."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join()
