"""levlab.exports.long_index: the index pass by the key columns alone gives the long way's index,
or steps aside (NOT_PLAIN) and leaves the file to the long way."""

from __future__ import annotations

import contextlib
import io
import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levlab.exports import CsvOptions, CsvRun, grouping, long_index
from levlab.exports.csv_records import CsvRecords
from levlab.exports.long_index import NOT_PLAIN, RunIndex, plain_index
from levlab.exports.long_keys import panel_keys

HEADER = ["patient", "geslacht", "leeftijd", "monsternummer", "bepaling", "uitslag", "eenheid", "referentiewaarde"]
TESTS = [("ALAT", "U/L", "< 45"), ("ASAT", "U/L", "< 35"), ("AF", "U/L", "35 - 105"), ("LD", "U/L", "< 250"),
         ("Bilirubine totaal", "umol/L", "< 17"), ("GGT", "U/L", "< 40")]
VALUES = ["30", "45.5", "<5", "> 1000", "≤ 3", "12", "NA", "neg", "ALAT", "uitslag"]
PATIENTS = ["P1", "P2", "P 3", "", " ", "P'4", "P1 "]  # a space, an empty and a blank patient id, a quote mark


def _both(text: str, options: CsvOptions | None = None) -> tuple[object, object]:
    """(plain_index, the long way's index_splits) of one file."""
    options = options or CsvOptions()
    run = CsvRun(io.StringIO(text, newline=""), options)

    @contextlib.contextmanager
    def again() -> Iterator[CsvRecords]:
        yield CsvRecords(io.StringIO(text, newline=""), options)

    with again() as reader:
        plain = plain_index(run, reader, panel_keys(run.layout, []), grouping.KEY_LIMIT)
    with again() as reader:
        full = grouping.index_splits(run.watched(reader), panel_keys(run.layout, []))
    return plain, full


def _random_file(rng: random.Random, *, odd: float) -> str:
    """A long export whose samples are often split (by sample id, or by patient and date), with
    now and then (`odd`) an odd line: a
    quote, a repeated header (as it is, or its columns in another order), a short or long row,
    a blank line, a cell that is no number, keys with spaces or quote marks."""
    delimiter = rng.choice([",", ";", "\t", "|"])
    decimal = "," if delimiter == ";" else "."
    ending = rng.choice(["\n", "\r\n"])
    dated = rng.random() < 0.3  # no sample column: the key is the patient and the date, a row without a patient its own
    header = [*HEADER[:3], "datum", *HEADER[4:]] if dated else HEADER
    lines = [delimiter.join(header)]
    for _ in range(rng.randint(0, 60)):
        roll = rng.random()
        if roll < odd:
            lines.append(rng.choice([
                "", delimiter.join(header), delimiter.join(reversed(header)), delimiter.join(header[:5]),
                delimiter.join(["P1", "M", "50", "S1", "ALAT", "30", "U/L", "< 45", "extra"]),
                delimiter.join(['"P1"', "M", "50", "S1", "ALAT", "30", "U/L", "< 45"]),
                delimiter.join(["P1", "M", "50", '"S1', "ALAT", "30", "U/L", "< 45"]),
            ]))
            continue
        name, unit, lab_range = rng.choice(TESTS)
        value = rng.choice(VALUES[:6] if rng.random() > odd else VALUES).replace(".", decimal)
        lines.append(delimiter.join([rng.choice(PATIENTS[:2] if rng.random() > odd else PATIENTS),
                                     rng.choice("MV"), str(rng.randint(20, 90)),
                                     rng.choice(["05-01-2026", "2026-01-05", "06-01-2026"]) if dated else f"S{rng.randint(1, 4)}",
                                     name, value, unit, lab_range]))
    text = ending.join(lines) + (ending if rng.random() < 0.9 else "")
    return ("\ufeff" + text) if rng.random() < 0.1 else text


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 10**9), st.sampled_from([0.0, 0.02, 0.1, 0.3]))
def test_the_index_by_key_columns_is_the_long_ways_or_it_steps_aside(seed: int, odd: float) -> None:
    plain, full = _both(_random_file(random.Random(seed), odd=odd))
    assert plain is NOT_PLAIN or plain == full
    if plain is not NOT_PLAIN:
        assert list(plain) == list(full)  # in the order they first appear


def test_plain_files_are_indexed_by_their_key_columns_and_the_others_the_long_way() -> None:
    """So that the test above can fail: most plain files take the shortcut, and odd lines do not."""
    taken = [_both(_random_file(random.Random(seed), odd=0.0))[0] is not NOT_PLAIN for seed in range(50)]
    assert all(taken)
    stepped = [_both(_random_file(random.Random(seed), odd=0.3))[0] is NOT_PLAIN for seed in range(50)]
    assert sum(stepped) > 40


@pytest.mark.parametrize(("line", "plain"), [
    ("P1,M,50,S1,ALAT,30,U/L,< 45", True),
    ("P1,M,50,S1,ALAT,NA,U/L,< 45", True),  # no number, no header: the block split in full
    ("patient,geslacht,leeftijd,monsternummer,bepaling,uitslag,eenheid,referentiewaarde", False),  # the header again
    ("monsternummer,leeftijd,geslacht,patient,bepaling,uitslag,eenheid,referentiewaarde", False),
    ("", False), ("P1,M,50,S1,ALAT,30", False), ("P1,M,50,S1,ALAT,30,U/L,< 45,x", False),
    ('P1,M,50,S1,ALAT,"30",U/L,< 45', False), ("P1,M,50,S1,ALAT,30\rU/L,< 45", False),
])
def test_a_line_the_key_columns_cannot_read_alone_sends_the_file_the_long_way(line: str, plain: bool) -> None:
    text = "\n".join([",".join(HEADER), "P1,M,50,S1,ASAT,20,U/L,< 35", line, "P2,V,60,S2,ALAT,30,U/L,< 45",
                      "P1,M,50,S1,GGT,20,U/L,< 40"]) + "\n"
    found, full = _both(text)
    assert (found is not NOT_PLAIN) == plain
    if plain:
        assert found == full == {("P1", "S1"): 3}


def test_rows_without_a_patient_id_are_keys_of_their_own_even_when_their_lines_are_alike() -> None:
    """No sample column: the key is the patient and the date (read as a date), and a row without
    a patient id is a panel of its own, however like its neighbours it is."""
    header = "patient,geslacht,leeftijd,datum,bepaling,uitslag,eenheid,referentiewaarde\n"
    text = header + "".join(f",M,50,05-01-2026,ALAT,{value},U/L,< 45\n" for value in (30, 31, 30)) + \
        "P1,M,50,05-01-2026,ALAT,30,U/L,< 45\n,M,50,05-01-2026,ALAT,30,U/L,< 45\nP1,M,50,2026-01-05,ASAT,20,U/L,< 35\n"
    found, full = _both(text)
    assert found == full
    assert list(found) == [("P1", "2026-01-05T00:00:00")] and found[("P1", "2026-01-05T00:00:00")] == 2  # type: ignore[call-overload,index]


def test_a_sample_split_over_blocks_is_found(monkeypatch) -> None:
    monkeypatch.setattr(long_index, "BLOCK_LINES", 3)
    rows = ["P1,M,50,S1,ALAT,30,U/L,< 45"] * 4 + ["P2,M,50,S2,ALAT,30,U/L,< 45"] * 3 + ["P1,M,50,S1,AF,30,U/L,< 45"]
    found, full = _both(",".join(HEADER) + "\n" + "\n".join(rows) + "\n")
    assert found == full == {("P1", "S1"): 5}


def test_past_the_key_limit_the_answer_is_none_as_the_long_way_s(monkeypatch) -> None:
    monkeypatch.setattr(grouping, "KEY_LIMIT", 3)
    rows = [f"P{number},M,50,S{number},ALAT,30,U/L,< 45" for number in range(5)]
    assert _both(",".join(HEADER) + "\n" + "\n".join(rows) + "\n") == (None, None)


def test_a_run_index_joins_a_run_that_goes_on_and_counts_a_key_that_comes_back() -> None:
    index = RunIndex()
    for key, size in [("a", 2), ("a", 1), ("b", 1), ("a", 3), ("c", 1)]:
        index.add(key, size)
    assert index.splits() == {"a": 6}


@pytest.mark.parametrize(("block", "limit"), [(2, 100), (4096, 3)])
def test_rows_without_a_patient_id_count_one_key_each_over_blocks_and_against_the_limit(monkeypatch, block, limit):
    """Each such row its own key (with its row number), in any block: none is taken for split,
    and they count against the key limit as the long way counts them."""
    monkeypatch.setattr(long_index, "BLOCK_LINES", block)
    monkeypatch.setattr(grouping, "KEY_LIMIT", limit)
    header = "patient,geslacht,leeftijd,datum,bepaling,uitslag,eenheid,referentiewaarde\n"
    text = header + ",M,50,05-01-2026,ALAT,30,U/L,< 45\n" * 5 + "P1,M,50,05-01-2026,ALAT,30,U/L,< 45\n"
    found, full = _both(text)
    assert found == full == ({} if limit > 6 else None)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**9), st.sampled_from([("monsternummer",), ("patient",), ("eenheid", "patient"),
                                               ("uitslag", "monsternummer"), ("referentiewaarde",)]))
def test_group_by_columns_anywhere_give_the_long_ways_index(seed: int, group_by: tuple[str, ...]) -> None:
    """--group-by: the key columns may come after the value column, or be it."""
    rng = random.Random(seed)
    text = _random_file(rng, odd=rng.choice([0.0, 0.05]))
    if "datum" in text.partition("\n")[0]:
        group_by = tuple("datum" if name == "monsternummer" else name for name in group_by)
    plain, full = _both(text, CsvOptions(group_by=group_by))
    assert plain is NOT_PLAIN or (plain == full and list(plain) == list(full))  # type: ignore[arg-type]
