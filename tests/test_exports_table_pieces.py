"""The table summary of a large wide export in several processes (levlab.exports.table_pieces):
stdout, stderr and the exit status are byte for byte those of one process whatever the pieces,
rules met equally often listed in one process's order, and every fallback of the CSV pieces kept."""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from levlab.exports import pieces, table_pieces
from levlab.exports.csv_records import CHUNK_LINES
from tests.golden_outputs import GOLDEN, HASHES, output_of
from tests.test_exports_processes import HEADER, SHAPES, fail_after_row_2000, run_csv, slow_distinct_file, wide_file

#: rows that meet rules alone or together (bilirubin mg/dL, ALP, LDH, AST, ALT): with each as
#: often as the others, the rules tie in pairs (bilirubin-over-2 2n, alp-or-ldh-raised 2n,
#: transaminases-raised 2n; ldh-dominant n, hys-law n)
PATTERNS = {
    "bilirubin": "3.1,80,150,20,20", "alp": "0.5,400,150,20,20", "ast": "0.5,80,150,200,20",
    "ldh": "0.5,80,2000,20,20", "hys": "3.5,80,150,20,300",
}
NORMAL = "0.5,80,150,20,20"


def tie_file(path: Path, rows: int, seed: int, *, each: int, errors: int = 0) -> Path:
    """`rows` rows in range but `each` of every pattern at random places (and `errors` unreadable cells)."""
    rng = random.Random(seed)
    cells = [NORMAL] * rows
    places = rng.sample(range(rows), each * len(PATTERNS) + errors)
    for index, place in enumerate(places):
        cells[place] = list(PATTERNS.values())[index % len(PATTERNS)] if index < each * len(PATTERNS) else "abc,80,150,20,20"
    lines = [HEADER] + [f"P{number:05d},{rng.choice('FM')},{rng.choice(['45', '70'])},{cell}"
                        for number, cell in enumerate(cells)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def split_table(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Several processes from the first byte, in pieces of `pieces.PIECE_BYTES`; the list gets how
    many pieces each table run merged (one process's reading when none)."""
    monkeypatch.setattr(pieces, "MIN_BYTES", 0)
    monkeypatch.setattr(pieces, "MIN_BYTES_DISTINCT", 0)
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2_000)
    merged: list[Any] = []
    merge = table_pieces.merge

    def spy(sink: Any, parts: list[Any], order: dict[str, int]) -> None:
        merged.append(len(parts))
        merge(sink, parts, order)

    monkeypatch.setattr(table_pieces, "merge", spy)
    return merged


def same_table(path: Path, *args: str, workers: str = "3") -> tuple[bytes, bytes, int]:
    one = run_csv(path, "--format", "table", *args, processes_env="1")
    several = run_csv(path, "--format", "table", *args, processes_env=workers)
    assert several[1].decode() == one[1].decode()
    assert several[0].decode() == one[0].decode()
    assert several[2] == one[2]
    return several


def rules_listed(out: bytes) -> list[tuple[str, int]]:
    """The 'rules met' table's rows: (rule id, panels)."""
    text = out.decode()
    table = text[text.index("rules met"):text.index("panels with findings") if "panels with findings" in text else None]
    cells = [[cell.strip() for cell in line.split("│")] for line in table.splitlines()]
    return [(row[1], int(row[2])) for row in cells if len(row) == 4 and row[2].isdigit()]


@pytest.mark.parametrize("piece_bytes", [1, 97, 1_000, 5_000, 50_000])
@pytest.mark.parametrize(("rows", "each"), [(300, 3), (3_000, 2), (3_000, 9), (6_000, 40)])
def test_rules_met_equally_often_are_listed_as_one_process_lists_them(
        tmp_path: Path, split_table: list[Any], monkeypatch: pytest.MonkeyPatch, piece_bytes: int, rows: int,
        each: int) -> None:
    """Few findings (counted panel by panel to the end) or many (counted in bulk after the first
    20), the rules first met in any chunk and any piece: the order of ties is one process's."""
    monkeypatch.setattr(pieces, "PIECE_BYTES", piece_bytes)
    path = tie_file(tmp_path / "ties.csv", rows, seed=piece_bytes + rows + each, each=each)
    out, _, _ = same_table(path, workers="2")
    counts = [count for _, count in rules_listed(out)]
    assert len(counts) == 5 and len(set(counts)) < len(counts)  # ties among them
    if piece_bytes < 50_000:
        assert split_table and split_table[-1] >= 2


@pytest.mark.parametrize("piece_bytes", [1, 700, 5_000, 30_000])
@pytest.mark.parametrize(("ldh_at", "hys_at", "listed"), [
    (2_100, 2_110, ["hys-law", "ldh-dominant"]),  # one chunk (lines 2047-3070): its keyed rules before those that fired
    (2_100, 3_100, ["ldh-dominant", "hys-law"]),  # in two chunks: the chunk first
    (10, 12, ["ldh-dominant", "hys-law"]),  # among the first findings: panel by panel
])
def test_a_value_reading_rule_and_a_keyed_rule_tied_after_the_first_findings(
        tmp_path: Path, split_table: list[Any], monkeypatch: pytest.MonkeyPatch, piece_bytes: int, ldh_at: int,
        hys_at: int, listed: list[str]) -> None:
    """One process counts in bulk once the first 20 findings are taken, a chunk at a time: the
    rules the Decisions decide (hys-law) before those read from values row by row (ldh-dominant),
    whatever their rows; the pieces keep that order."""
    monkeypatch.setattr(pieces, "PIECE_BYTES", piece_bytes)
    cells = [NORMAL] * 4_000
    for index in range(30, 90):
        cells[index * 2] = [PATTERNS["bilirubin"], PATTERNS["alp"], PATTERNS["ast"]][index % 3]
    for index in range(5):
        cells[ldh_at + 200 * index], cells[hys_at + 200 * index] = PATTERNS["ldh"], PATTERNS["hys"]
    path = tmp_path / "late.csv"
    path.write_text("\n".join([HEADER] + [f"P{n},F,50,{cell}" for n, cell in enumerate(cells)]) + "\n")
    out, _, _ = same_table(path)
    assert [rule for rule, count in rules_listed(out) if count == 5] == listed
    assert split_table and split_table[-1] >= 2


@pytest.mark.parametrize("seed", range(6))
def test_random_files_with_errors_and_ties(tmp_path: Path, split_table: list[Any], monkeypatch: pytest.MonkeyPatch,
                                           seed: int) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(pieces, "PIECE_BYTES", rng.choice([300, 3_000, 20_000]))
    path = tie_file(tmp_path / "ties.csv", rng.randint(500, 5_000), seed, each=rng.randint(1, 30), errors=rng.randint(0, 30))
    same_table(path, workers=rng.choice(["2", "3"]))
    assert split_table


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_shape_of_file(tmp_path: Path, split_table: list[Any], shape: str) -> None:
    path = wide_file(tmp_path / "in.csv", 3_000, **SHAPES[shape])  # type: ignore[arg-type]
    _, err, status = same_table(path)
    assert split_table[-1] >= 2 and status == 1 and b"rows with errors" in err


def test_a_file_of_a_few_panels_shows_each_in_full(tmp_path: Path, split_table: list[Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pieces, "PIECE_BYTES", 1)
    path = wide_file(tmp_path / "few.csv", 8)
    out, _, _ = same_table(path)
    assert split_table == [4] and out.count("── patient".encode()) == 8  # pieces of 1, 2, 4 lines, and the last


def test_strict_stops_as_one_process(tmp_path: Path, split_table: list[Any]) -> None:
    path = tie_file(tmp_path / "strict.csv", 3_000, 4, each=5, errors=1)
    _, err, status = same_table(path, "--strict")
    assert status == 1 and b"stopped: --strict" in err and split_table


def test_a_header_repeated_mid_file(tmp_path: Path, split_table: list[Any]) -> None:
    """Same columns: read on in the workers; another order or other columns: as one process."""
    same_table(wide_file(tmp_path / "same.csv", 3_000, extras={1_500: HEADER}))
    columns = HEADER.split(",")
    swapped = ",".join([*columns[:6], columns[7], columns[6]])
    same_table(wide_file(tmp_path / "other.csv", 3_000, extras={2_500: swapped}))
    _, err, status = same_table(wide_file(tmp_path / "stops.csv", 3_000,
                                          extras={1_500: "patient,sex,age,Albumin (g/dL),ALT (U/L)"}))
    assert status == 1 and b"Error: row 1501 is" in err
    assert split_table[0] >= 2 and len(split_table) == 2  # the swapped header: counted by the parent itself


def test_a_decimal_mark_learnt_from_a_cell(tmp_path: Path, split_table: list[Any]) -> None:
    rows = [HEADER.replace(",", ";")] + [f"P{n};F;50;1;40;200;30;1,250" for n in range(3_000)]
    rows[2_900] = "P2899;F;50;12.5 (2);40;200;30;1,250"
    path = tmp_path / "marks.csv"
    path.write_text("\n".join(rows) + "\n")
    same_table(path)
    assert split_table == []  # a piece left a mark learnt to the next: the parent counted the file itself


@pytest.mark.parametrize("failure", ["raises", "dies"])
def test_a_worker_that_fails(tmp_path: Path, split_table: list[Any], monkeypatch: pytest.MonkeyPatch,
                             failure: str) -> None:
    fail_after_row_2000(table_pieces._TableWorker, failure, monkeypatch)
    same_table(tie_file(tmp_path / "in.csv", 3_000, 1, each=6))
    assert split_table == []


def test_golden_tables_are_kept_in_several_processes(split_table: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The golden hashes (made by main's code before the speed work) hold with every wide file split."""
    expected = json.loads(HASHES.read_text())
    monkeypatch.setenv("LEVLAB_PROCESSES", "2")
    for name in ("wide_repeating.csv", "wide_distinct.csv", "wide_messy.csv"):
        assert output_of(GOLDEN / name, "table") == expected[f"{name}:table"]
    assert split_table[:2] == [6, 6]  # wide_messy learns a decimal mark from a folded cell: counted again


def chunk_starts(lines: int) -> list[int]:
    """The data lines where one process begins a chunk (`CsvRecords.chunks`)."""
    starts, at, size = [], 0, 1
    while at < lines:
        starts.append(at)
        at, size = at + size, min(2 * size, CHUNK_LINES)
    return starts


@pytest.mark.parametrize("piece_bytes", [1, 50, 700, 4_000, 10**6])
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_pieces_are_cut_again_where_one_process_begins_a_chunk(tmp_path: Path, piece_bytes: int, ending: str) -> None:
    data = "".join(f"P{n},{n % 7}{ending}" + (ending if n % 97 == 5 else "") for n in range(5_000))
    path = tmp_path / "data.csv"
    path.write_bytes(b"patient,ALT\n" + data.encode())
    cut = pieces.split(str(path), 12, "utf-8", b",", piece_bytes)
    assert cut is not None
    again, sizes = table_pieces.aligned(str(path), cut)
    blob = path.read_bytes()
    assert again[0].start == 12 and again[-1].start + again[-1].size == len(blob)
    assert all(a.start + a.size == b.start for a, b in itertools.pairwise(again))
    starts = chunk_starts(blob[12:].count(b"\n"))
    for piece in again:
        before = blob[12:piece.start]
        line = before.count(b"\n")
        assert line in starts and sizes[piece.start] == (min(2 ** starts.index(line), CHUNK_LINES))
        assert piece.before == line - before.count(b"\n\n") - before.count(b"\n\r\n") - before.startswith(b"\n")
    assert len(again) <= len(cut) and (len(again) > 1) is (piece_bytes < 50_000)


def test_pickled_panels_stay_what_they_were(tmp_path: Path) -> None:
    """A worker sends judged results, the parent interprets the panels shown: texts in the reader's
    language (Msg, Joined, Localized) come back whole."""
    import pickle

    from levlab.language import Joined, Localized, Msg

    for text in (Msg("{a} or {b}", a="x", b=2.5), Joined(" or ", ["a", "b"]), Localized("raised", {"nl": "verhoogd"})):
        again = pickle.loads(pickle.dumps(text))
        assert type(again) is type(text) and again == text and vars(again) == vars(text)


def test_ctrl_c_ends_the_workers_and_leaves_nothing_behind(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    path = slow_distinct_file(tmp_path / "big.csv")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "levlab", "csv", str(path), "--format", "table"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "LEVLAB_PROCESSES": "2", "TMPDIR": str(temporary)})
    deadline = time.monotonic() + 30
    def pieces_begun() -> int:
        try:
            return max((len(list(made.iterdir())) for made in temporary.glob("levlab-pieces-*")), default=0)
        except OSError:  # gone while looked at
            return 0

    while time.monotonic() < deadline and process.poll() is None and pieces_begun() < 2:
        time.sleep(0.02)  # both workers have begun a piece: they run
    time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert b"Traceback" not in err and b"rules met" not in out
    time.sleep(0.5)
    assert list(temporary.iterdir()) == []


def test_the_merge_is_off_where_the_csv_pieces_are(tmp_path: Path, split_table: list[Any],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Stdin, a long export and a small file: one process, as before."""
    path = wide_file(tmp_path / "in.csv", 300)
    one = run_csv(Path("-"), "--format", "table", processes_env="1", input=path.read_bytes())
    assert run_csv(Path("-"), "--format", "table", processes_env="3", input=path.read_bytes()) == one
    same_table(GOLDEN / "long_repeating.csv")
    monkeypatch.setattr(pieces, "MIN_BYTES", path.stat().st_size + 1)
    monkeypatch.setattr(pieces, "MIN_BYTES_DISTINCT", path.stat().st_size + 1)
    same_table(path)
    assert split_table == []
