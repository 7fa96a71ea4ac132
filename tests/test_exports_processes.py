"""Several processes for a large wide export (levlab.exports.processes): stdout, stderr and the
exit status are byte for byte those of one process, whatever the pieces; it stays off where it
cannot be exact (stdin, small files, long exports) and falls back cleanly."""

from __future__ import annotations

import io
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from levlab.cli import main
from levlab.exports import pieces, processes
from tests.golden_outputs import GOLDEN, HASHES, output_of

HEADER = "patient,sex,age,Total Bilirubin (mg/dL),ALP (U/L),LDH (U/L),AST (U/L),ALT (U/L)"
#: cells of every kind: plain, decimal, censored, missing, unreadable, implausible (a warning), unit words
CELLS = ["7", "45", "0.6", "1.25", "<5", ">1000", "", "NA", "abc", "99999", "2.4e0", " 12 ", "-3", "1.0"]


def wide_file(path: Path, rows: int, seed: int = 1, *, delimiter: str = ",", decimal: str = ".",
              ending: str = "\n", quoted: bool = False, extras: dict[int, str] | None = None,
              bom: bool = False, above: str = "") -> Path:
    """A wide export of `rows` rows with random cells (errors and warnings among them); `extras`:
    line number (data line, 0-based) -> a line put in before it."""
    rng = random.Random(seed)
    lines = [HEADER.replace(",", delimiter)]
    for number in range(rows):
        if extras and number in extras:
            lines.append(extras[number])
        cells = [rng.choice(CELLS).replace(".", decimal) for _ in range(5)]
        if quoted:
            cells = [f'"{cell}"' if rng.random() < 0.3 else cell for cell in cells]
        cells = [f'"{cell}"' if delimiter in cell and not cell.startswith('"') else cell for cell in cells]
        sex, age = rng.choice(["F", "M", "", "X"]), rng.choice(["45", "70", "", "abc", "17"])
        fields = [f"P{number:05d}", sex, age, *cells]
        if rng.random() < 0.02:
            fields = fields[:4]  # a short row: padded, written back through csv.writer
        if rng.random() < 0.02:
            fields.append("extra")  # a row with more fields than the header
        lines.append(delimiter.join(fields))
    text = above + ending.join(lines) + ending
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def run_csv(path: Path, *args: str, processes_env: str, input: bytes | None = None) -> tuple[bytes, bytes, int]:
    result = CliRunner().invoke(main, ["csv", str(path), *args], env={"LEVLAB_PROCESSES": processes_env, "COLUMNS": "100"},
                                input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.stdout_bytes, result.stderr_bytes, result.exit_code


@pytest.fixture
def split_small(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Several processes from the first byte, in pieces of `pieces.PIECE_BYTES`; the list gets
    what each run's merge returned (None: every piece written by the workers)."""
    monkeypatch.setattr(pieces, "MIN_BYTES", 0)
    monkeypatch.setattr(pieces, "MIN_BYTES_DISTINCT", 0)
    monkeypatch.setattr(pieces, "MIN_BYTES_JSONL", 0)
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2_000)
    merged: list[Any] = []
    merge = processes._merge

    def spy(*args: Any) -> Any:
        merged.append("started")
        result = merge(*args)
        merged[-1] = result
        return result

    monkeypatch.setattr(processes, "_merge", spy)
    return merged


def same_as_one_process(path: Path, *args: str, workers: str = "3") -> tuple[bytes, bytes, int]:
    one = run_csv(path, *args, processes_env="1")
    several = run_csv(path, *args, processes_env=workers)
    assert several[2] == one[2]
    assert several[1].decode() == one[1].decode()
    assert several[0] == one[0]
    return several


SHAPES = {
    "plain": {},
    "decimal comma": {"delimiter": ";", "decimal": ","},
    "quoted cells": {"quoted": True},
    "crlf": {"ending": "\r\n"},
    "bom": {"bom": True},
    "blank lines": {"extras": {7: "", 100: "", 101: "", 350: "\r"[:0]}},
    "tab": {"delimiter": "\t"},
}


@pytest.mark.parametrize("output_format", ["csv", "jsonl"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_several_processes_write_what_one_process_writes(tmp_path: Path, split_small: list[Any], shape: str,
                                                         output_format: str) -> None:
    path = wide_file(tmp_path / "in.csv", 600, **SHAPES[shape])  # type: ignore[arg-type]
    out, err, status = same_as_one_process(path, "--format", output_format)
    assert split_small == [None]  # the workers wrote every piece
    assert status == 1 and b"rows with errors" in err and out


@pytest.mark.parametrize("piece_bytes", [1, 97, 1_000, 5_000, 50_000])
def test_the_output_does_not_depend_on_the_size_of_the_pieces(tmp_path: Path, split_small: list[Any],
                                                              monkeypatch: pytest.MonkeyPatch, piece_bytes: int) -> None:
    """From a piece per line (every row at a piece boundary) to one piece."""
    monkeypatch.setattr(pieces, "PIECE_BYTES", piece_bytes)
    path = wide_file(tmp_path / "in.csv", 300, seed=piece_bytes)
    same_as_one_process(path, "--format", "csv", workers="2")
    same_as_one_process(path, "--format", "jsonl", workers="2")


def test_skip_lines_and_a_header_over_two_lines(tmp_path: Path, split_small: list[Any]) -> None:
    path = wide_file(tmp_path / "in.csv", 200, above="exported by LIS 4.2\nfilter: none\n")
    same_as_one_process(path, "--skip-lines", "2")
    quoted = tmp_path / "quoted.csv"
    lines = path.read_text().splitlines(keepends=True)
    quoted.write_text(lines[2].replace("patient,", '"patient\nid",', 1) + "".join(lines[3:]))
    same_as_one_process(quoted, "--skip-lines", "0")
    assert split_small == [None, None]


def test_strict_stops_at_the_same_row(tmp_path: Path, split_small: list[Any]) -> None:
    rng = random.Random(3)
    rows = [HEADER] + [f"P{n},F,50,{rng.randint(1, 9)},40,200,30,30" for n in range(400)]
    rows[250] = "P249,F,50,abc,40,200,30,30"
    path = tmp_path / "strict.csv"
    path.write_text("\n".join(rows) + "\n")
    _, err, status = same_as_one_process(path, "--strict")
    assert status == 1 and b"stopped: --strict" in err


def test_a_header_repeated_mid_file(tmp_path: Path, split_small: list[Any]) -> None:
    """Same order: said and read on in the workers; another order: the rows after it are read by it,
    which the next piece cannot know, so the parent reads on itself; other columns: the run stops."""
    same = wide_file(tmp_path / "same.csv", 300, extras={150: HEADER})
    same_as_one_process(same)
    columns = HEADER.split(",")
    swapped = ",".join([*columns[:6], columns[7], columns[6]])
    other = wide_file(tmp_path / "other.csv", 3_000, extras={2_500: swapped})
    same_as_one_process(other)
    assert split_small[0] is None and isinstance(split_small[1], int) and split_small[1] > 0  # fell back, mid-file
    stops = wide_file(tmp_path / "stops.csv", 300, extras={150: "patient,sex,age,Albumin (g/dL),ALT (U/L)"})
    _, err, status = same_as_one_process(stops)
    assert status == 1 and b"Error: row 151 is" in err


def test_a_decimal_mark_learnt_from_a_cell_is_carried_to_later_rows(tmp_path: Path, split_small: list[Any]) -> None:
    """'12.5 (2)' in a decimal-comma file is evidence the file scan does not see: from there on a
    thousands-shaped value is refused, so later pieces are read again by the parent."""
    rows = [HEADER.replace(",", ";")] + [f"P{n};F;50;1,250;40;200;30;30" for n in range(300)]
    rows[120] = "P119;F;50;12.5 (2);40;200;30;30"
    path = tmp_path / "marks.csv"
    path.write_text("\n".join(rows) + "\n")
    same_as_one_process(path)
    assert b"ambiguous" in run_csv(path, processes_env="1")[0]
    assert isinstance(split_small[0], int)


def test_a_mark_learnt_changes_earlier_rows_of_its_chunk_which_are_never_written_early(
        tmp_path: Path, split_small: list[Any]) -> None:
    """One process reads rows 2048-3071 as one chunk, column by column: the mark learnt from
    bilirubin on row 2900 refuses ALT's '1,250' on rows 2048-2899 too, which lie in earlier pieces."""
    rows = [HEADER.replace(",", ";")] + [f"P{n};F;50;1;40;200;30;1,250" for n in range(3_000)]
    rows[2_900] = "P2899;F;50;12.5 (2);40;200;30;1,250"
    path = tmp_path / "marks.csv"
    path.write_text("\n".join(rows) + "\n")
    out, _, _ = same_as_one_process(path)
    lines = out.decode().splitlines()
    assert "ambiguous" in lines[2_060] and "ambiguous" not in lines[2_040]
    assert isinstance(split_small[0], int) and 0 < split_small[0] < 2_048


def fail_after_row_2000(worker: type, failure: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker class whose pieces past row 2,000 raise (`raises`) or end the process (`dies`)."""
    piece = worker.piece  # type: ignore[attr-defined]

    def failing(self: Any, part: pieces.Piece, path: str) -> Any:
        if part.before > 2_000:
            if failure == "dies":
                os._exit(3)
            raise MemoryError("no room")
        return piece(self, part, path)

    monkeypatch.setattr(worker, "piece", failing)


@pytest.mark.parametrize("failure", ["raises", "dies"])
def test_a_worker_that_fails_leaves_no_half_output(tmp_path: Path, split_small: list[Any],
                                                   monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    fail_after_row_2000(processes._Worker, failure, monkeypatch)
    path = wide_file(tmp_path / "in.csv", 3_000)
    same_as_one_process(path)
    same_as_one_process(path, "--format", "jsonl")
    assert len(split_small) == 2 and all(isinstance(rows, int) and 0 < rows <= 2_000 for rows in split_small)


@pytest.mark.parametrize("output_format", ["csv", "jsonl"])
def test_golden_outputs_are_kept_in_several_processes(split_small: list[Any], monkeypatch: pytest.MonkeyPatch,
                                                      output_format: str) -> None:
    """The golden hashes (made by main's code before the speed work) hold with every wide file split."""
    expected = json.loads(HASHES.read_text())
    monkeypatch.setenv("LEVLAB_PROCESSES", "2")
    for name in ("wide_repeating.csv", "wide_distinct.csv", "wide_messy.csv"):
        assert output_of(GOLDEN / name, output_format) == expected[f"{name}:{output_format}"]
    assert split_small[:2] == [None, None]  # wide_messy learns a decimal mark from a folded cell: read again


def test_off_for_stdin_long_exports_and_small_files(tmp_path: Path, split_small: list[Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """(The table summary has several processes of its own: tests/test_exports_table_pieces.py.)"""
    path = wide_file(tmp_path / "in.csv", 300)
    one = run_csv(Path("-"), processes_env="1", input=path.read_bytes())
    assert run_csv(Path("-"), processes_env="3", input=path.read_bytes()) == one
    same_as_one_process(GOLDEN / "long_repeating.csv")
    monkeypatch.setattr(pieces, "MIN_BYTES", path.stat().st_size + 1)
    monkeypatch.setattr(pieces, "MIN_BYTES_DISTINCT", path.stat().st_size + 1)
    monkeypatch.setattr(pieces, "MIN_BYTES_JSONL", path.stat().st_size + 1)
    same_as_one_process(path)
    same_as_one_process(path, "--format", "jsonl")
    assert split_small == []  # never split


@pytest.mark.parametrize(("environment", "cpus", "wanted"), [
    ({}, 2, 2), ({}, 1, 1), ({}, 64, pieces.MAX_PROCESSES), ({"LEVLAB_PROCESSES": "1"}, 8, 1),
    ({"LEVLAB_PROCESSES": "3"}, 2, 3), ({"LEVLAB_PROCESSES": "0"}, 4, 1), ({"LEVLAB_PROCESSES": "many"}, 4, 1),
    ({"LEVLAB_PROCESSES": " "}, 4, 4), ({"LEVLAB_PROCESSES": "100"}, 4, pieces.MAX_PROCESSES),
])
def test_processes_wanted(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], cpus: int, wanted: int) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cpus)))
    assert pieces.processes_wanted(environment) == wanted


@pytest.mark.parametrize(("data", "split"), [
    (b"P1,1,2\nP2,3,4\n", True),
    (b'P1,"1,5",2\nP2,"a ""b""",4\n', True),
    (b'P1,x"y,2\nP2,"a"b,4\n', True),  # quotes inside or after a field: literal, the line closed
    (b'P1,"1\n5",2\n', False),  # a quoted field over a line end
    (b'P1,"a""\nP2,3,4\n', False),
    (b'P1,1,2\rP2,3,4\r', False),  # CR alone
    (b"P1,1,2\nP2,\x00,4\n", False),
])
def test_pieces_are_cut_only_between_records(tmp_path: Path, data: bytes, split: bool) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b,c\n" + data)
    cut = pieces.split(str(path), 6, "utf-8", b",", 4)
    assert (cut is not None) is split
    if cut is not None:
        assert [piece.before for piece in cut] == list(range(len(cut)))
        assert sum(piece.size for piece in cut) == len(data)


def slow_distinct_file(path: Path) -> Path:
    """40,000 wide rows of two-decimal values: several processes, and a run that takes seconds."""
    rng = random.Random(5)
    with path.open("w") as handle:
        handle.write(HEADER + "\n")
        for number in range(40_000):
            handle.write(f"P{number},F,50," + ",".join(f"{rng.uniform(1, 300):.2f}" for _ in range(5)) + "\n")
    return path


def test_ctrl_c_ends_the_workers_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """Ctrl-C while the workers run: exit 130, no traceback, -o FILE as it was, no piece left in TMPDIR."""
    import signal
    import subprocess
    import sys
    import time

    path = slow_distinct_file(tmp_path / "big.csv")
    assert path.stat().st_size > pieces.MIN_BYTES_DISTINCT
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    process = subprocess.Popen([sys.executable, "-m", "levlab", "csv", str(path), "-o", str(target)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "LEVLAB_PROCESSES": "2", "TMPDIR": str(temporary)})
    deadline = time.monotonic() + 30
    while not list(temporary.iterdir()) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)  # the workers' directory made: they run
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert b"Traceback" not in err
    assert target.read_text() == "old\n"
    time.sleep(0.5)
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize(("distinct", "rows", "split", "jsonl"), [
    (True, 8_000, False, False), (True, 14_000, True, False), (False, 100_000, False, False),
    (False, 130_000, True, False), (False, 14_000, False, True), (False, 16_000, True, True)])
def test_the_threshold_depends_on_how_much_the_values_repeat(tmp_path: Path, distinct: bool, rows: int,
                                                             split: bool, jsonl: bool) -> None:
    """Two-decimal values pay from 512 KiB, whole numbers that repeat from 4 MiB (bench/notes/parallel.md);
    JSONL output, five times CSV's work per byte, from 512 KiB either way (bench/notes/jsonw.md)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import run as bench  # type: ignore[import-not-found]

    path = tmp_path / "wide.csv"
    bench.make_wide(path, rows, distinct=distinct)
    from levlab import exports
    from levlab.exports.sinks import CsvSink

    with path.open("rb") as binary:
        opened = exports.open_records(binary, exports.CsvOptions(), "utf-8", None, str(path))
        run = exports.ExportRun(opened.records, exports.CsvOptions())
    run.path = str(path)
    share = pieces.distinct_share(str(path), len(path.read_bytes().split(b"\n")[0]) + 1, run, "utf-8")
    assert (share > pieces.DISTINCT_SHARE) is distinct
    from levlab.exports.sinks import JsonlSink

    sink = JsonlSink(io.StringIO()) if jsonl else CsvSink(io.StringIO(), run.dialect)
    work = pieces.plan(run, sink, {"LEVLAB_PROCESSES": "2"})
    assert (work is not None) is split


def _piece_file(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    rng = random.Random(size)
    data = "".join(f'{{"row": {n}, "unit": "µmol/L", "x": {rng.random()}}}\n' for n in range(size)).encode()
    path = tmp_path / f"piece-{size}"
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("refused_after", [None, 0, 1_000])
def test_a_piece_is_relayed_after_what_the_stream_holds_by_the_kernel_or_by_copying(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused_after: int | None) -> None:
    """os.sendfile into the output's descriptor (a file here); where it refuses (first call, or after
    some bytes) the copy goes on from there: nothing lost, nothing twice, the piece file removed."""
    sendfile = os.sendfile
    calls: list[int] = []

    def refusing(out: int, source: int, offset: int, count: int) -> int:
        calls.append(offset)
        if refused_after is not None and offset >= refused_after:
            raise OSError(22, "Invalid argument")
        return sendfile(out, source, offset, min(count, 1_000) if refused_after else count)

    monkeypatch.setattr(os, "sendfile", refusing)
    piece, data = _piece_file(tmp_path, 3_000)
    target = tmp_path / "out.jsonl"
    with open(target, "w", encoding="utf-8", newline="") as stream:
        stream.write("first line, still in the text buffer: µ\n")
        processes._write(stream, str(piece))
        stream.write("after\n")
    assert target.read_bytes() == "first line, still in the text buffer: µ\n".encode() + data + b"after\n"
    assert calls and not piece.exists()


def test_a_piece_is_relayed_into_a_pipe_and_into_streams_without_a_descriptor(tmp_path: Path) -> None:
    import threading

    piece, data = _piece_file(tmp_path, 20_000)  # more than a pipe holds: read while it is written
    read, write = os.pipe()
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(os.fdopen(read, "rb").read()))
    reader.start()
    with os.fdopen(write, "w", encoding="utf-8", newline="") as stream:
        stream.write("head\n")
        processes._write(stream, str(piece))
    reader.join(timeout=30)
    assert received == [b"head\n" + data]
    for stream in (io.StringIO(), io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline=""),
                   io.TextIOWrapper(io.BytesIO(), encoding="latin-1", newline="")):
        piece, data = _piece_file(tmp_path, 500)
        processes._write(stream, str(piece))
        stream.flush()
        written = stream.getvalue() if isinstance(stream, io.StringIO) else stream.buffer.getvalue().decode(stream.encoding)
        assert written == data.decode("utf-8")


SPLIT_RUN = ("import sys; from levlab.exports import pieces; pieces.MIN_BYTES = pieces.MIN_BYTES_DISTINCT = "
             "pieces.MIN_BYTES_JSONL = 0; pieces.PIECE_BYTES = 3000; from levlab.cli import main; "
             "sys.argv = ['levlab', *sys.argv[1:]]; main()")


@pytest.mark.parametrize("into", ["file", "pipe", "-o"])
def test_several_real_processes_write_what_one_writes_into_a_file_a_pipe_or_o(tmp_path: Path, into: str) -> None:
    """Real processes and real descriptors (the pieces handed on by the kernel), as a user runs it."""
    import subprocess
    import sys

    path = wide_file(tmp_path / "in.csv", 1_500, seed=11)
    outputs = []
    for processes_env in ("1", "2"):
        env = {**os.environ, "LEVLAB_PROCESSES": processes_env}
        command = [sys.executable, "-c", SPLIT_RUN, "csv", str(path), "--format", "jsonl"]
        if into == "-o":
            target = tmp_path / f"out{processes_env}.jsonl"
            status = subprocess.run([*command, "-o", str(target)], env=env, capture_output=True).returncode
            outputs.append((status, target.read_bytes()))
        elif into == "file":
            with (tmp_path / f"out{processes_env}.jsonl").open("wb") as out:
                status = subprocess.run(command, env=env, stdout=out, stderr=subprocess.PIPE).returncode
            outputs.append((status, (tmp_path / f"out{processes_env}.jsonl").read_bytes()))
        else:
            done = subprocess.run(command, env=env, capture_output=True)
            outputs.append((done.returncode, done.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 1 and outputs[0][1].count(b"\n") > 1_000


def test_a_piece_is_relayed_into_a_file_opened_to_append(tmp_path: Path) -> None:
    """`levlab ... >> FILE`: the kernel refuses os.sendfile into a descriptor opened to append
    (EINVAL), so the copy does it all: what the file held, then the stream's text, then the piece."""
    piece, data = _piece_file(tmp_path, 3_000)
    target = tmp_path / "kept.jsonl"
    target.write_bytes(b"already there\n")
    with open(target, "a", encoding="utf-8", newline="") as stream:
        stream.write("µ held in the text buffer\n")
        processes._write(stream, str(piece))
        stream.write("after\n")
    assert target.read_bytes() == b"already there\n" + "µ held in the text buffer\n".encode() + data + b"after\n"
    assert not piece.exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_output_while_relaying_is_the_outputs_error_not_a_crash(tmp_path: Path) -> None:
    """A piece relayed into an output that is full (ENOSPC from os.sendfile) meets the same write
    error through levlab.outfile's guard as a copy would: an OutputError naming the output."""
    from levlab.outfile import OutputError, text_output

    piece, _ = _piece_file(tmp_path, 20_000)
    with pytest.raises(OutputError, match="cannot write /dev/full: No space left on device"), \
            text_output("/dev/full", bom=False) as stream:
        stream.write("head\n")
        processes._write(stream, str(piece))


@pytest.mark.parametrize("output_format", ["csv", "jsonl", "table"])
def test_the_progress_bar_moves_as_the_workers_pieces_are_taken(tmp_path: Path, split_small: list[Any],
                                                                monkeypatch: pytest.MonkeyPatch, output_format: str) -> None:
    """With a bar (stderr a terminal), the parent moves it to the end of each piece it takes from a
    worker (it reads none of their lines): forward only, to the end of the file."""
    import contextlib

    from levlab import export_edge
    from levlab.exports import table_pieces

    positions: list[int] = []
    taken: list[int] = []
    advanced = processes.advanced

    @contextlib.contextmanager
    def recorded(file: str) -> Any:
        yield positions.append

    def spied(run: Any, piece: Any) -> None:
        taken.append(piece.start + piece.size)
        advanced(run, piece)

    monkeypatch.setattr(export_edge, "progress", recorded)
    monkeypatch.setattr(table_pieces, "advanced", spied)
    path = wide_file(tmp_path / "in.csv", 3_000 if output_format == "table" else 600)  # (the table cuts at chunks)
    if output_format != "table":
        monkeypatch.setattr(processes, "advanced", spied)
    run_csv(path, "--format", output_format, processes_env="3")
    assert len(taken) >= 2 and set(taken) <= set(positions)  # each piece taken moved the bar
    assert positions == sorted(positions) and positions[-1] == path.stat().st_size
