"""Where a large wide export is cut for several processes, and whether it is worth it (issue 18).

`plan` looks at the bytes before any worker starts: a regular file of at least `MIN_BYTES` (less
when most values are distinct, `distinct_share`, or the output is JSONL), written as CSV, JSONL or
the table summary, whose header ends where the reader's does (`data_start`), and whose data lines can be cut at line ends with every line one
whole record (`split`: no quoted field over a line end, no lone CR, no NUL, every byte decodes).
`processes_wanted` says how many processes may run (`LEVLAB_PROCESSES`, else the CPUs). Running
the pieces and writing their output in order is `levlab.exports.processes`.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from levlab.errors import LevlabError
from levlab.exports.csv_records import CsvRecords, RecordTextLines
from levlab.exports.decoding import LINE_LIMIT, check_encoding
from levlab.exports.marks import line_blocks
from levlab.exports.sinks import CollectSink, CsvSink, JsonlSink, Sink

if TYPE_CHECKING:
    from levlab.exports.run import ExportRun

ENVIRONMENT = "LEVLAB_PROCESSES"  # a whole number: at most this many processes (1: never several)
#: the least data (bytes) read by several processes: values that repeat are judged once per worker
#: and cost little after, so the workers' extra start (about 0.2 s of CPU) pays from about 4 MiB;
#: values that do not repeat (more than DISTINCT_SHARE of the analyte cells of the first
#: SAMPLE_BYTES distinct) from about 512 KiB (measured: bench/notes/parallel.md)
MIN_BYTES = 4 * 1024 * 1024
MIN_BYTES_DISTINCT = 512 * 1024
#: JSONL output costs about five times CSV's per input byte (a line of several KB per panel), so
#: it pays from MIN_BYTES_JSONL whether values repeat or not (measured: bench/notes/jsonw.md)
MIN_BYTES_JSONL = 512 * 1024
DISTINCT_SHARE, SAMPLE_BYTES = 0.5, 64 * 1024
#: data bytes per piece handed to a worker (cut at a line end): about a quarter of a worker's share,
#: from PIECE_MIN to PIECE_MAX, so that the workers finish together; PIECE_BYTES, when set, instead
PIECE_BYTES: int | None = None
PIECE_MIN, PIECE_MAX, PIECES_PER_WORKER = 64 * 1024, 1024 * 1024, 4
MAX_PROCESSES = 8
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
    if (path is None or run.layout.kind != "wide" or type(sink) not in (CsvSink, JsonlSink, CollectSink)
            or type(records) is not CsvRecords or run.summary.rows):
        return None
    workers = processes_wanted(environ)
    if workers < 2:
        return None
    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    jsonl = type(sink) is JsonlSink
    if size < min(MIN_BYTES, MIN_BYTES_DISTINCT, *([MIN_BYTES_JSONL] if jsonl else [])):
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
        if jsonl:
            least = min(least, MIN_BYTES_JSONL)
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
