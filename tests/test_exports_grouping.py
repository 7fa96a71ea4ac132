"""levlab.exports.grouping: a long panel from all its rows wherever they are, or never `met` (issue 19.1)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from export_runs import column
from hypothesis import given, settings
from hypothesis import strategies as st

from levlab.cli import main
from levlab.exports import CsvOptions, CsvRun, CsvSink, JsonlSink, grouping
from levlab.exports.csv_records import CsvRecords

HEADER = "patient;sex;age;sample;test;result;unit\n"
#: sample S1 of patient 1: five results in range (a panel that alone is `met`) ...
FIRST_FRAGMENT = ["1;F;60;S1;Bilirubine totaal;12;µmol/L", "1;F;60;S1;AF;80;U/L", "1;F;60;S1;LD;180;U/L",
                  "1;F;60;S1;ASAT;20;U/L", "1;F;60;S1;ALAT;19;U/L"]
#: ... and the rest of the same sample, further down: ALT again, raised (the laboratory's repeat)
REST = ["1;F;60;S1;ALAT;190;U/L"]
OTHER = ["2;M;50;S2;ALAT;30;U/L", "2;M;50;S2;ASAT;25;U/L"]
SPLIT_FILE = HEADER + "\n".join(FIRST_FRAGMENT + OTHER + REST) + "\n"


def _reread(text: str, options: CsvOptions) -> grouping.Reread:
    @contextlib.contextmanager
    def again() -> Iterator[CsvRecords]:
        yield CsvRecords(io.StringIO(text, newline=""), options)

    return again


def _run(text: str, *, as_file: bool, jsonl: bool = False, **options: object) -> tuple[CsvRun, list]:
    """Run a long text as a file (read again for grouping) or as a stream; the CSV rows or JSONL panels."""
    settings_ = CsvOptions(**options)  # type: ignore[arg-type]
    run = CsvRun(io.StringIO(text, newline=""), settings_, reread=_reread(text, settings_) if as_file else None)
    out = io.StringIO(newline="")
    if jsonl:
        run.run(JsonlSink(out))
        return run, [json.loads(line) for line in out.getvalue().splitlines()]
    run.run(CsvSink(out, run.dialect))
    return run, list(csv.reader(io.StringIO(out.getvalue(), newline=""), delimiter=run.dialect.delimiter))


@pytest.mark.parametrize("as_file", [True, False], ids=["file", "stream"])
def test_a_sample_split_over_the_file_is_one_panel_never_met_on_its_first_rows(as_file: bool) -> None:
    run, rows = _run(SPLIT_FILE, as_file=as_file)
    statuses = column(rows, "levlab_normal_panel")
    # the first fragment alone would be `met`; with its rest (ALT 19 and 190) the panel is incomplete
    assert statuses[:5] == ["incomplete"] * 5 and statuses[7] == "incomplete"
    assert column(rows, "patient") == ["1"] * 5 + ["2", "2", "1"]  # the file's row order is kept
    assert "given twice" in column(rows, "levlab_error")[7]
    assert run.summary.panels == 2 and run.summary.split_keys == 1 and run.summary.reopened == 0
    assert not any("never met" in line for line in run.closing_lines())


@pytest.mark.parametrize("as_file", [True, False], ids=["file", "stream"])
def test_the_jsonl_panel_of_a_split_sample_lists_all_its_rows(as_file: bool) -> None:
    _, panels = _run(SPLIT_FILE, as_file=as_file, jsonl=True)
    assert [p["rows"] for p in panels] == [[1, 2, 3, 4, 5, 8], [6, 7]]
    assert panels[0]["normal_panel"]["status"] == "incomplete"
    assert panels[0]["normal_panel"]["statement"] is None


def test_a_file_says_it_grouped_the_split_samples() -> None:
    run, _ = _run(SPLIT_FILE, as_file=True)
    assert run.summary.grouping == "file"
    assert any("read again and judged as one panel from all its rows" in line for line in run.closing_lines())


def test_a_sorted_file_is_read_as_before() -> None:
    text = HEADER + "\n".join(FIRST_FRAGMENT + OTHER) + "\n"
    run, rows = _run(text, as_file=True)
    assert column(rows, "levlab_normal_panel")[:5] == ["met"] * 5
    assert run.summary.split_keys == 0 and run.summary.panels == 2


def test_the_gathering_reads_split_samples_a_batch_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A budget of one row: each split sample is gathered in a pass of its own, with the same result."""
    monkeypatch.setattr(grouping, "GATHER_ROWS", 1)
    lines = []
    for patient in range(1, 5):  # four samples, each split in two, interleaved
        lines += [f"{patient};F;60;S{patient};ALAT;19;U/L", f"{patient};F;60;S{patient};ASAT;20;U/L"]
    for patient in range(1, 5):
        lines += [f"{patient};F;60;S{patient};Bilirubine totaal;12;µmol/L", f"{patient};F;60;S{patient};AF;80;U/L",
                  f"{patient};F;60;S{patient};LD;{180 if patient % 2 else 400};U/L"]
    run, panels = _run(HEADER + "\n".join(lines) + "\n", as_file=True, jsonl=True)
    assert [p["normal_panel"]["status"] for p in panels] == ["met", "not-met", "met", "not-met"]
    assert [len(p["rows"]) for p in panels] == [5] * 4
    assert run.summary.gather_passes == 4


def test_more_keys_than_the_index_holds_reads_the_file_as_a_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grouping, "KEY_LIMIT", 1)
    run, rows = _run(SPLIT_FILE, as_file=True)
    assert run.summary.grouping.startswith("stream")
    assert column(rows, "levlab_normal_panel")[:5] == ["incomplete"] * 5  # the window still joins them
    assert any("more panel keys than levlab indexes" in line for line in run.closing_lines())


def test_a_key_coming_back_after_its_panel_left_the_window_is_never_met(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the window the stream cannot join a sample: the fragment that comes back is its own panel,
    incomplete with the reason; once the stream has shown that, a panel leaving the full window is never met."""
    monkeypatch.setattr(grouping, "WINDOW_ROWS", 2)
    second = [line.replace("1;F;60;S1", "3;F;60;S3") for line in FIRST_FRAGMENT]
    back = [line.replace("1;F;60;S1", "3;F;60;S3") for line in FIRST_FRAGMENT]  # S3 complete and normal again
    text = HEADER + "\n".join(FIRST_FRAGMENT + OTHER + REST + second + OTHER[:1] + back[:1]) + "\n"
    run, panels = _run(text, as_file=False, jsonl=True)
    by_rows = {tuple(p["rows"]): p for p in panels}
    returning = by_rows[(8,)]  # S1's ALT 190, after S1's panel was written
    assert returning["normal_panel"]["status"] == "incomplete"  # a fragment, not a panel: whatever it holds
    assert any("came back after its panel (from row 1) was written" in e["message"] for e in returning["errors"])
    s3 = by_rows[(9, 10, 11, 12, 13)]
    assert s3["normal_panel"]["status"] == "incomplete"  # would be met alone: withheld, its rest may follow
    assert "more of its sample may follow" in s3["normal_panel"]["reason"]
    assert run.summary.reopened >= 1 and run.summary.withheld >= 1
    lines = run.closing_lines()
    assert any("came back after their panel was written" in line for line in lines)
    # the documented limit: S1 left the window as met before anything came back; stderr says so
    assert by_rows[(1, 2, 3, 4, 5)]["normal_panel"]["status"] == "met"
    assert any("1 panels were written as met before a key came back" in line for line in lines)
    _, rows = _run(text, as_file=False)
    assert column(rows, "levlab_normal_panel")[7] == "incomplete"  # the CSV columns say the same


def test_a_returning_fragment_that_alone_would_be_met_is_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grouping, "WINDOW_ROWS", 1)
    text = HEADER + "\n".join(["1;F;60;S1;ALAT;19;U/L", *OTHER, *FIRST_FRAGMENT[:4]]) + "\n"
    _, rows = _run(text, as_file=False)
    statuses = column(rows, "levlab_normal_panel")
    assert statuses[3:] == ["incomplete"] * 4  # bili, ALP, LDH, AST of S1 (ALT came first): never met
    assert "came back" in column(rows, "levlab_error")[3]


def test_levlab_csv_groups_a_file_and_joins_a_stream(tmp_path: Path) -> None:
    path = tmp_path / "split.csv"
    path.write_text(SPLIT_FILE, encoding="utf-8")
    for args, given_input in (([str(path)], None), (["-"], SPLIT_FILE)):
        result = CliRunner().invoke(main, ["csv", *args, "--format", "jsonl"], input=given_input)
        panels = [json.loads(line) for line in result.stdout.splitlines()]
        assert [p["normal_panel"]["status"] for p in panels] == ["incomplete", "incomplete"], result.output
        assert panels[0]["rows"] == [1, 2, 3, 4, 5, 8]
        # stdin is copied to a temporary file (levlab.stdin_spool), so it is grouped as the file is
        assert "samples had their rows apart" in result.stderr


# --- the property of issue 19's "Done when" ------------------------------------------------------------------

_ANALYTES = [("Bilirubine totaal", "µmol/L", ("12", "60")), ("AF", "U/L", ("80", "300")), ("LD", "U/L", ("180", "500")),
             ("ASAT", "U/L", ("20", "90")), ("ALAT", "U/L", ("19", "190")), ("GGT", "U/L", ("30", "300"))]


@st.composite
def long_exports(draw: st.DrawFn) -> list[str]:
    """Rows of a long export: a few samples, each with some analytes (normal or raised), some given twice."""
    rows = []
    for sample in range(draw(st.integers(1, 4))):
        patient = draw(st.integers(1, 3))
        sex = "F" if patient % 2 else "M"
        results = []
        for test, unit, values in _ANALYTES:
            for _ in range(draw(st.sampled_from([0, 1, 1, 1, 1, 1, 2, 2]))):
                value = draw(st.sampled_from([values[0]] * 3 + [values[1]]))  # mostly in range: `met` is at stake
                results.append(f"{patient};{sex};60;S{sample};{test};{value};{unit}")
        rows += draw(st.permutations(results))  # a sample's rows together, in any order
    return rows


def _outcomes(rows: list[str], *, as_file: bool) -> dict[str, str]:
    """Each sample's normal-panel outcome, from the CSV column of its rows (all its rows must agree)."""
    _, out = _run(HEADER + "\n".join(rows) + "\n", as_file=as_file)
    found: dict[str, set[str]] = {}
    for sample, status in zip(column(out, "sample"), column(out, "levlab_normal_panel"), strict=True):
        found.setdefault(sample, set()).add(status)
    return {sample: min(statuses, key=["met", "not-met", "incomplete"].index) if len(statuses) > 1 else next(iter(statuses))
            for sample, statuses in found.items()}


def _shuffled(rows: list[str], seed: int, blocks: bool) -> list[str]:
    """The rows in another order: each row on its own, or cut into runs of consecutive rows whose
    order is shuffled (so that a sample's first run can be a whole panel and its rest come later)."""
    chance = random.Random(seed)
    if not blocks:
        return chance.sample(rows, len(rows))
    cuts = sorted(chance.sample(range(1, len(rows)), min(len(rows) - 1, chance.randint(1, 8)))) if len(rows) > 1 else []
    runs = [rows[start:end] for start, end in zip([0, *cuts], [*cuts, len(rows)], strict=True)]
    chance.shuffle(runs)
    return [row for run in runs for row in run]


@settings(max_examples=200, deadline=None)
@given(rows=long_exports(), seed=st.integers(0, 2**32 - 1), blocks=st.booleans())
def test_shuffling_a_long_export_never_turns_a_panel_met(rows: list[str], seed: int, blocks: bool) -> None:
    """Sorted, each sample's rows are together; shuffled (row by row, or as runs of rows), as a file
    and as a stream, no sample that is not-met or incomplete becomes met on any of its rows (as a
    file, every outcome is the same as sorted)."""
    if not rows:
        return
    sorted_outcomes = _outcomes(rows, as_file=True)
    shuffled = _shuffled(rows, seed, blocks)
    for as_file in (True, False):
        outcomes = _outcomes(shuffled, as_file=as_file)
        for sample, status in sorted_outcomes.items():
            assert not (status != "met" and outcomes[sample] == "met"), (sample, status, as_file, shuffled)
        if as_file:
            assert outcomes == sorted_outcomes


def test_a_workbook_file_is_grouped_as_a_csv_file_is(tmp_path: Path) -> None:
    """A workbook can be read again too: its split sample is one panel (issue 19.1)."""
    from workbooks import workbook

    rows = [HEADER.strip().split(";")] + [line.split(";") for line in FIRST_FRAGMENT + OTHER + REST]
    rows = [[float(cell) if cell.isdigit() else cell for cell in row] for row in rows]
    path = tmp_path / "split.xlsx"
    path.write_bytes(workbook(("Lab", rows)))
    result = CliRunner().invoke(main, ["csv", str(path), "--format", "jsonl"])
    panels = [json.loads(line) for line in result.stdout.splitlines()]
    assert panels[0]["rows"] == [1, 2, 3, 4, 5, 8] and panels[0]["normal_panel"]["status"] == "incomplete", result.output


def test_trend_reads_a_split_sample_of_a_file_as_one_sample(tmp_path: Path) -> None:
    text = "patient;sex;age;date;test;result;unit\n" + "\n".join(
        line.replace(";S1;", ";2026-01-05;") for line in FIRST_FRAGMENT + REST) + "\n"
    text = text.replace("1;F;60;2026-01-05;ALAT;190;U/L", "2;M;50;2026-01-05;ALAT;30;U/L\n1;F;60;2026-01-05;ALAT;190;U/L")
    path = tmp_path / "split.csv"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["trend", str(path), "--format", "json", "--patient", "1"])
    assert result.exit_code in (0, 1), result.output
    samples = json.loads(result.stdout)[0]["samples"]
    assert len(samples) == 1 and samples[0]["normal_panel"]["status"] == "incomplete"  # ALT 19 and 190: one sample


def test_a_file_that_changes_between_the_passes_never_gives_met_to_a_fragment() -> None:
    """The index pass saw the sorted file; the run reads the rows apart: the fragment that comes
    back is said, never met."""
    indexed = HEADER + "\n".join(FIRST_FRAGMENT + REST + OTHER) + "\n"
    read = HEADER + "\n".join(FIRST_FRAGMENT[1:] + OTHER + FIRST_FRAGMENT[:1]) + "\n"
    options = CsvOptions()
    run = CsvRun(io.StringIO(read, newline=""), options, reread=_reread(indexed, options))
    out = io.StringIO()
    run.run(JsonlSink(out))
    panels = [json.loads(line) for line in out.getvalue().splitlines()]
    assert panels[-1]["rows"] == [7] and "the file changed while it was read" in panels[-1]["errors"][0]["message"]
    assert all(p["normal_panel"]["status"] != "met" for p in panels)


def test_a_long_export_from_a_pipe_is_grouped_as_a_file_even_past_the_window(tmp_path: Path, monkeypatch) -> None:
    """The stream window's one limit (a key back after more than WINDOW_ROWS sorted-looking rows) is
    gone for stdin and pipes: levlab copies the input to a temporary file and reads it as a file."""
    import tempfile

    from levlab.exports import grouping

    monkeypatch.setattr(grouping, "WINDOW_ROWS", 4)  # a tiny window: the stream alone would have written P1 as met
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rows = [f"P1;V;60;2024-01-01;{test};{value};{unit}" for test, value, unit in (
        ("Bilirubine", 10, "umol/L"), ("AF", 80, "U/L"), ("LD", 180, "U/L"), ("ASAT", 25, "U/L"), ("ALAT", 30, "U/L"))]
    rows += [f"P{n};V;60;2024-01-01;GGT;30;U/L" for n in range(2, 12)]
    rows += ["P1;V;60;2024-01-01;ALAT2;300;U/L".replace("ALAT2", "ALAT")]  # P1's raised ALT, far later
    text = "patient;sex;age;date;test;value;unit\n" + "\n".join(rows) + "\n"
    result = CliRunner().invoke(main, ["csv", "-", "--format", "jsonl"], input=text)
    (first,) = [json.loads(line) for line in result.stdout.splitlines() if json.loads(line)["key"]["patient"] == "P1"]
    assert first["normal_panel"]["status"] == "incomplete"  # ALT given twice with different results: neither used
    assert "alt is given twice" in json.dumps(first["errors"])
    assert list(tmp_path.iterdir()) == []  # the copy is removed
    # a wide export from stdin streams on and leaves no copy either
    wide = CliRunner().invoke(main, ["csv", "-"], input="patient,ALT (U/L)\nP1,30\n")
    assert wide.exit_code == 0 and list(tmp_path.iterdir()) == []


def test_the_copy_of_stdin_is_removed_when_the_run_stops_with_an_error(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    text = "patient;date;test;value;unit\nP1;2024-01-01;ALAT;30;U/L\n"
    result = CliRunner().invoke(main, ["csv", "-", "--col", "value=Nope"], input=text)
    assert result.exit_code == 2 and "Nope" in result.stderr
    assert list(tmp_path.iterdir()) == []


def _splits_the_long_way(keys: list[str]) -> dict[str, int]:
    """The keys whose rows are in more than one run, with their row counts, in first-seen order:
    every row looked at in turn."""
    counts: dict[str, int] = {}
    split: set[str] = set()
    previous = None
    for key in keys:
        if key != previous and key in counts:
            split.add(key)
        counts[key] = counts.get(key, 0) + 1
        previous = key
    return {key: size for key, size in counts.items() if key in split}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("ABCDE"), max_size=40), st.lists(st.integers(1, 7), min_size=1, max_size=40))
def test_the_index_of_split_keys_counts_runs_across_chunks_as_the_long_way(keys: list[str], sizes: list[int]) -> None:
    """index_splits finds a chunk's runs where the key changes (a run may go on from the chunk
    before): against looking at every row in turn, over any chunking."""
    chunks, at, index = [], 0, 0
    while at < len(keys):
        size = sizes[index % len(sizes)]
        chunks.append((at + 1, [[key] for key in keys[at:at + size]], [None] * len(keys[at:at + size])))
        at, index = at + size, index + 1
    found = grouping.index_splits(chunks, lambda first, rows: [row[0] for row in rows])
    assert found == _splits_the_long_way(keys)
    assert list(found) == list(_splits_the_long_way(keys))  # in the order they first appear
