"""`levlab csv` under bad input: garbled, truncated, hostile or huge files keep one output row per
input data row and exit 0, 1 or 2; generated cells are spreadsheet-safe; pipes, output files and
Ctrl-C behave."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from levlab.cli import main

WIDE_HEADER = "patient_id,sex,age,Total Bilirubin (mg/dL),ALP (U/L),LDH (U/L),AST (U/L),ALAT (U/L),GGT"
LONG_HEADER = "PatiëntID;Geslacht;Leeftijd;Monsternummer;Bepaling;Uitslag;Eenheid;Referentiewaarde"
WIDE_ROW = "P1,F,60,0.6,88,180,22,18,25"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HARD_LIMIT_S = 2.0  # generous: timing targets live in bench/
GARBLED = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def _records(text: str, delimiter: str) -> list[list[str]]:
    """The CSV records of a text as the csv module reads a file opened with newline='' (blank ones dropped)."""
    return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if row]


def _run(args: list[str], data: bytes) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["csv", "-", *args], input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def _levlab() -> list[str]:
    return [sys.executable, "-m", "levlab"]


# Cells as exports garble them: values, units, blanks, markers, quotes, NUL, lone CR, non-ASCII
# digits, formula starts, bytes that are not UTF-8 (a cp1252 µ, a cut sequence) and, now and then,
# a field larger than the csv module's default limit (131072).
_cell = st.one_of(
    st.sampled_from(
        [
            "35",
            "0,6",
            "1.4",
            "<5",
            "> 1000",
            "",
            "NA",
            "-",
            "-5",
            "nan",
            "1e999",
            "9**9**9",
            "٣٥",
            "35 U/L",
            "2.4 mg/dL",
            "F",
            "M",
            "V",
            "62",
            "=1+1",
            "@SUM(A1)",
            "+31",
            "-cmd",
            "\x00",
            "3\x005",
            '"',
            '"35"',
            'x"y',
            "\r",
            "a\rb",
            "\ufeff",
            "\ufdfa",
            "µmol/L",
            "ALT",
            "ASAT",
            "Bilirubine totaal",
            "< 45",
        ]
    ),
    st.text(max_size=12),
)
_raw_cell = st.one_of(
    _cell.map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"\xb5mol/L", b"\xff", b"3\xe95", b"\xc3"]),
    st.just(b"9" * 140_000),
)


@st.composite
def garbled_export(draw: st.DrawFn, *, rows_before: int = 0) -> tuple[bytes, str]:
    header, delimiter = draw(st.sampled_from([(WIDE_HEADER, ","), (LONG_HEADER, ";")]))
    width = header.count(delimiter) + 1
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    good = (WIDE_ROW if delimiter == "," else "1;V;64;L1;ALAT;35;U/L;< 45").encode() + ending
    rows = draw(st.lists(st.lists(_raw_cell, max_size=width + 3), max_size=10))
    body = good * rows_before + b"".join(delimiter.encode().join(row) + ending for row in rows)
    if draw(st.booleans()):  # truncated anywhere
        body = body[: draw(st.integers(len(good) * rows_before, len(body)))]
    return header.encode() + ending + body, delimiter


def _check_rows(data: bytes, delimiter: str, code: int, out: str, err: str, output_format: str) -> None:
    expected = len(_records(data.decode("utf-8", "replace"), delimiter)) - 1
    assert err.rstrip("\n").splitlines()[-1].startswith(f"levlab csv: {expected} rows,"), err[-500:]
    if output_format == "csv":
        written = _records(out, delimiter)
        assert len(written) - 1 == expected
        assert all(len(row) >= len(written[0]) for row in written[1:]), "levlab's columns were swallowed"
        added = len(written[0]) - next(i for i, name in enumerate(written[0]) if name.startswith("levlab_"))
        error_at = written[0].index("levlab_error") - len(written[0])  # from the end: levlab_warnings follows
        assert (code == 1) == any(row[error_at] for row in written[1:])
        for row in written[1:]:  # levlab's cells: the last `added` of each row, however long it is
            assert not any(cell.startswith(FORMULA_START) for cell in row[-added:]), row[-added:]
    else:
        numbers = sorted(n for line in out.splitlines() for n in json.loads(line)["rows"])
        assert numbers == list(range(1, expected + 1))


@GARBLED
@given(export=garbled_export(), output_format=st.sampled_from(["csv", "jsonl"]))
@example(export=((WIDE_HEADER + "\n" + WIDE_ROW + "\n").encode(), ","), output_format="csv")
@example(export=((WIDE_HEADER + "\nP1,F,60,0.6\r,88\nP2,F,6\r0,1,2\n").encode(), ","), output_format="csv")
@example(export=((WIDE_HEADER + '\nP1,F,60,"0.6\n\nP2,F,60,1,2\n').encode(), ","), output_format="csv")
@example(export=((WIDE_HEADER + '\nP1,F,60,0.6,88,180,22,18,"25\nP2,F\n').encode(), ","), output_format="csv")
def test_garbled_csv_gives_one_output_row_per_input_row(export: tuple[bytes, str], output_format: str) -> None:
    data, delimiter = export
    start = time.perf_counter()
    code, out, err = _run(["-d", delimiter, "--format", output_format], data)
    assert time.perf_counter() - start < HARD_LIMIT_S * 5
    event(f"exit {code}")
    assert code in (0, 1, 2), err
    assert "Traceback" not in err
    if code == 2:  # a usage error: said on stderr before any row is written
        assert err.count("Error: ") == 1 and out == ""
        return
    _check_rows(data, delimiter, code, out, err, output_format)


@GARBLED
@given(export=garbled_export(rows_before=55))
def test_garbled_rows_after_the_sniffed_lines_are_each_kept(export: tuple[bytes, str]) -> None:
    # past the lines read to sniff the dialect, nothing can be a usage error: every row is kept
    data, delimiter = export
    code, out, err = _run([], data)
    assert code in (0, 1), err
    _check_rows(data, delimiter, code, out, err, "csv")


def test_invalid_utf8_after_the_first_lines_is_an_error_on_its_row_only() -> None:
    data = (WIDE_HEADER + "\n" + (WIDE_ROW + "\n") * 60).encode() + b"P2,F,60,0.6,88,180,22,18\xb5,25\n"
    code, out, err = _run([], data)
    assert code == 1 and "row 61" in err
    rows = _records(out, ",")
    assert len(rows) == 62
    error_at = rows[0].index("levlab_error")
    assert "byte 0xb5" in rows[-1][error_at] and "--encoding cp1252" in rows[-1][error_at]
    assert not any(row[error_at] for row in rows[1:-1])


def test_invalid_utf8_in_a_long_export_is_an_error_on_its_row_only() -> None:
    good = "".join(f"{n};V;64;L{n};ALAT;35;U/L;< 45\n" for n in range(60))
    data = (LONG_HEADER + "\n" + good).encode("utf-8") + b"99;V;64;L99;ALAT;35;\xb5mol/L;< 45\n"
    code, out, err = _run([], data)
    assert code == 1 and "row 61" in err
    rows = _records(out, ";")
    assert len(rows) == 62
    error_at = rows[0].index("levlab_error")
    assert "byte 0xb5" in rows[-1][error_at]
    assert not any(row[error_at] for row in rows[1:-1])


def test_invalid_utf8_in_the_first_lines_is_a_usage_error_before_any_output() -> None:
    code, out, err = _run([], (WIDE_HEADER + "\n").encode() + b"P2,F,60,0.6,88,180,22,18\xb5,25\n")
    assert code == 2 and out == ""
    assert "Error: line 2: byte 0xb5 cannot be read as utf-8" in err and "--encoding cp1252" in err


def test_a_5_mb_cell_is_kept_and_answered_quickly() -> None:
    huge = "9" * 5_000_000
    data = f"{WIDE_HEADER}\n{WIDE_ROW}\nP2,F,60,0.6,{huge},180,22,18,25\nP3,M,70,{huge},88,180,22,18,25\n".encode()
    start = time.perf_counter()
    code, out, err = _run([], data)
    assert time.perf_counter() - start < HARD_LIMIT_S
    assert code == 1
    rows = _records(out, ",")
    assert len(rows) == 4 and rows[2][4] == huge and rows[3][3] == huge
    error = rows[2][rows[0].index("levlab_error")]
    assert len(error) < 300 and "characters long" in error
    assert len(err) < 5000


def test_ten_thousand_columns_are_answered_quickly() -> None:
    header = ",".join(["patient_id", "ALT (U/L)", *(f"c{i}" for i in range(10_000))])
    row = ",".join(["P1", "35", *("1" for _ in range(10_000))])
    start = time.perf_counter()
    code, out, _ = _run([], f"{header}\n{row}\n{row}\n".encode())
    assert time.perf_counter() - start < HARD_LIMIT_S
    assert code == 0
    assert len(_records(out, ",")) == 3


# --- spreadsheet safety -----------------------------------------------------------------------

_hostile_text = st.sampled_from(["=1+1", "+cmd", "-cmd", "@SUM(A1)", '=HYPERLINK("x")', "\t=1", "-5", "+31", "="])


@settings(max_examples=40, deadline=None)
@given(prefix=_hostile_text, cells=st.lists(st.one_of(_hostile_text, _cell), min_size=8, max_size=8))
def test_no_cell_levlab_generates_starts_with_a_formula_character(prefix: str, cells: list[str]) -> None:
    header = f"patient_id,sex,age,{prefix}Total Bilirubin (mg/dL),{prefix}ALP (U/L),LDH (U/L),{prefix}AST,ALT,GGT"
    lines = [header, ",".join(cell.replace(",", "").replace('"', "").replace("\r", "") for cell in cells)]
    code, out, err = _run(["-d", ","], ("\n".join(lines) + "\n").encode())
    assert code in (0, 1, 2), err
    if code == 2:
        return
    written = _records(out, ",")
    added = len(written[0]) - next(i for i, name in enumerate(written[0]) if name.startswith("levlab_"))
    for row in written[1:]:
        assert not [cell for cell in row[-added:] if cell.startswith(FORMULA_START)]


def test_excel_safe_neutralises_formula_cells_that_are_not_numbers() -> None:
    data = b"patient_id,sex,age,=cmd|' /C calc'!A0,ALT (U/L),note\n=1+1,F,60,@SUM(A1),-5,+cmd\nP2,F,60,-,35,-3.5\n"
    code, out, _ = _run(["--excel-safe"], data)
    rows = _records(out, ",")
    assert rows[0][:6] == ["patient_id", "sex", "age", "'=cmd|' /C calc'!A0", "ALT (U/L)", "note"]
    assert rows[1][:6] == ["'=1+1", "F", "60", "'@SUM(A1)", "-5", "'+cmd"]
    assert rows[2][:6] == ["P2", "F", "60", "-", "35", "-3.5"]
    assert code == 1  # -5 U/L is still read, and refused, as the number it is


def test_excel_safe_is_off_by_default_so_data_stays_unchanged() -> None:
    text = "patient_id,sex,age,ALT (U/L),note\n=1+1,F,60,35,@SUM(A1)\n"
    code, out, _ = _run([], text.encode())
    assert code == 0
    assert out.splitlines()[1].startswith("=1+1,F,60,35,@SUM(A1),")


# --- pipes, output files, Ctrl-C --------------------------------------------------------------


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.csv"
    rows = (f"P{i},F,60,0.6,{80 + i % 50},180,22,18,25\n" for i in range(60_000))
    path.write_text(WIDE_HEADER + "\n" + "".join(rows))
    return path


def test_piping_into_head_exits_quietly(big_csv: Path) -> None:
    process = subprocess.Popen([*_levlab(), "csv", str(big_csv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # what `head -1` does once it has its line
    err = process.stderr.read().decode()
    code = process.wait(timeout=60)
    assert first.startswith(b"patient_id,")
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err
    assert code == 141  # 128 + SIGPIPE, as `seq 1e9 | head` reports


def test_piping_into_head_in_a_shell_pipeline(big_csv: Path) -> None:
    command = f"{' '.join(_levlab())} csv {big_csv} | head -3"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 3
    assert "Traceback" not in done.stderr and "Error" not in done.stderr


def test_output_file_is_complete_and_no_temporary_file_is_left(tmp_path: Path, big_csv: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    done = subprocess.run([*_levlab(), "csv", str(big_csv), "-o", str(target)], capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout == b""
    piped = subprocess.run([*_levlab(), "csv", str(big_csv)], capture_output=True, timeout=60).stdout
    assert target.read_bytes() == piped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def _slow_stdin_run(extra: list[str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [*_levlab(), "csv", "-", *extra], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdin is not None and process.stderr is not None
    process.stdin.write((WIDE_HEADER + "\n" + (WIDE_ROW + "\n") * 100).encode())
    process.stdin.flush()
    # wait until the detection report says the header was read, then interrupt mid-stream
    deadline = time.monotonic() + 30
    seen = b""
    while b"-> " not in seen and time.monotonic() < deadline:
        seen += process.stderr.readline()
    return process


def test_ctrl_c_exits_130_without_a_traceback() -> None:
    process = _slow_stdin_run([])
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Traceback" not in err.decode() and "Interrupted." in err.decode()


def test_ctrl_c_leaves_the_output_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    process = _slow_stdin_run(["-o", str(target)])
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert process.returncode == 130
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("how", ["same path", "another spelling", "hard link", "symbolic link"])
def test_output_refuses_to_overwrite_its_own_input(tmp_path: Path, how: str) -> None:
    source = tmp_path / "in.csv"
    text = f"{WIDE_HEADER}\n{WIDE_ROW}\n"
    source.write_text(text)
    if how == "same path":
        target = str(source)
    elif how == "another spelling":
        target = str(tmp_path / "." / "in.csv")
    elif how == "hard link":
        os.link(source, tmp_path / "link.csv")
        target = str(tmp_path / "link.csv")
    else:
        (tmp_path / "symlink.csv").symlink_to(source)
        target = str(tmp_path / "symlink.csv")
    result = CliRunner().invoke(main, ["csv", str(source), "-o", target])
    assert result.exit_code == 2
    assert "is the input file" in result.stderr
    assert source.read_text() == text


def test_huge_cells_are_refused_on_their_row_but_never_kept_in_a_cache() -> None:
    from levlab import exports
    from levlab.exports import memo

    rows = [f"P{i},{'F' * 3000}{i},60,{'9' * 3000}{i},88,180,22,18,25\n" for i in range(20)]
    run = exports.CsvRun([WIDE_HEADER + "\n", *rows], exports.CsvOptions())
    out = io.StringIO()
    summary = run.run(exports.CsvSink(out, run.dialect))
    assert summary.rows == 20 and summary.rows_with_errors == 20

    def strings(key: object) -> list[str]:
        if isinstance(key, str):
            return [key]
        return [text for part in key for text in strings(part)] if isinstance(key, tuple) else []

    kept = [text for cache in run.judge._caches for key in cache for text in strings(key)]
    assert kept and max(len(text) for text in kept) <= memo.LONG_CELL


@given(opened=st.sets(st.integers(min_value=1, max_value=12), min_size=1, max_size=3),
       closing=st.sampled_from(["", '"']))
@GARBLED
def test_every_input_line_is_a_row_or_counted_as_swallowed(opened: set[int], closing: str) -> None:
    """Issue 16.3: a quote left open (at the start of a row) takes the next lines into one field.
    The lines are accounted for: the output rows plus the lines each error says were taken add up
    to the input's data lines, so no patient disappears silently."""
    import re

    rows = [f"P{n},F,60,0.6,88,180,22,{20 + n},25" for n in range(1, 13)]
    lines = [('"' + row) if n in opened else row for n, row in enumerate(rows, start=1)]
    text = WIDE_HEADER + "\n" + "\n".join(lines) + "\n" + closing
    code, out, err = _run([], text.encode())
    assert code == 1, err
    header, *written = list(csv.reader(io.StringIO(out, newline="")))
    error_at = header.index("levlab_error") - len(header)  # from the end: levlab_warnings follows
    taken = [int(found.group(1)) for row in written
             if (found := re.search(r"took the next (\d+) line", row[error_at])) is not None]
    assert taken, out
    assert len(written) + sum(taken) == len(rows) + (closing != "")


def test_ctrl_c_inside_generated_code_still_exits_130_under_python_m(tmp_path: Path) -> None:
    """A Ctrl-C that lands in code made from a string (a dataclass's methods, made while a module
    is first imported) sets CPython's flag that ends `python -m` by SIGINT after levlab caught it;
    `python -m levlab` exits 130 all the same (a flake under load before)."""
    (tmp_path / "sitecustomize.py").write_text(
        "import levlab.cli\n"
        "_invoke = levlab.cli.LevlabGroup.invoke\n"
        "def invoke(self, ctx):\n"
        "    ctx.invoke = lambda *a, **k: exec('raise KeyboardInterrupt')\n"
        "    return _invoke(self, ctx)\n"
        "levlab.cli.LevlabGroup.invoke = invoke\n")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([*_levlab(), "interpret", "alt=30"], capture_output=True, env=environment, timeout=60)
    assert done.returncode == 130, done.stderr
    assert b"Interrupted." in done.stderr and b"Traceback" not in done.stderr
