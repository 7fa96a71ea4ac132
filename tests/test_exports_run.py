"""levlab.exports.run: the run loop; the output does not depend on the chunk size."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from export_runs import run_csv

from levlab.exports import (
    CsvOptions,
    CsvRun,
    CsvSink,
    DecodedLines,
    StrictStop,
    csv_records,
    decoding,
)

# --- chunks: the output does not depend on how many rows are read, judged and written together ---


def _messy_wide(rows: int, seed: int) -> str:
    """A wide export with what exports hold: censored, missing, unreadable and repeated values,
    bad sex and age cells, blank lines, short and long rows, quoted notes over two lines."""
    import random

    rng = random.Random(seed)
    lines = ["id,sex,age,ALT (U/L),AST (U/L),ALP (U/L),LDH (U/L),Bilirubin (umol/L),GGT (U/L),note"]
    values = ["", "NA", "<5", ">1000", "n.b.", "12", "40", "41", "250", "35,5", *(str(rng.randint(5, 900)) for _ in range(30))]
    for number in range(rows):
        roll = rng.random()
        if roll < 0.02:
            lines.append("")
            continue
        cells = [f"P{number}", rng.choice(["F", "M", "", "X", "v"]), rng.choice(["60", "", "17", "abc", "45"]),
                 *(rng.choice(values) for _ in range(6)), rng.choice(["", "ok", '"two\nlines"', '"a, b"'])]
        if roll < 0.04:
            cells = cells[: rng.randint(1, 6)]
        elif roll < 0.05:
            cells.append("extra")
        lines.append(",".join('"' + cell + '"' if "," in cell and not cell.startswith('"') else cell for cell in cells))
    return "\n".join(lines) + "\n"


def _messy_long(rows: int, seed: int) -> str:
    """A long export: panels of any length (longer than a chunk too), unknown tests, a result
    given twice, sex changing within a panel, a key coming back after its panel closed."""
    import random

    rng = random.Random(seed)
    tests = [("ALAT", "U/L", "< 45"), ("ASAT", "U/L", "< 35"), ("AF", "U/L", "35 - 105"), ("LD", "U/L", "< 250"),
             ("Bilirubine totaal", "umol/L", "< 17"), ("Natrium", "mmol/L", "135 - 145"), ("GGT", "U/L", "")]
    lines = ["patient;geslacht;leeftijd;monster;bepaling;uitslag;eenheid;referentiewaarde"]
    sample = 0
    while len(lines) <= rows:
        sample += 1
        key = rng.choice([f"S{sample}", f"S{max(1, sample - 3)}"])  # now and then a key that comes back
        size = rng.choice([1, 3, 6, 7, 40]) if rng.random() < 0.99 else 1500
        sex = rng.choice(["M", "V", ""])
        for _ in range(size):
            name, unit, reference = rng.choice(tests)
            value = rng.choice(["12", "40", "300", "<5", "", "n.b.", "35,5", str(rng.randint(3, 700))])
            lines.append(";".join([f"P{sample // 4}", sex if rng.random() < 0.97 else "M", "60", key, name, value, unit, reference]))
    return "\n".join(lines) + "\n"


def _csv_output(text: str, monkeypatch: pytest.MonkeyPatch, chunk: int, cache_limit: int | None = None,
                **options: object) -> tuple[str, str]:
    monkeypatch.setattr(csv_records, "CHUNK_LINES", chunk)
    monkeypatch.setattr(decoding, "DECODE_BLOCK", chunk)
    run = CsvRun(DecodedLines(io.BytesIO(text.encode())), CsvOptions(**options))  # type: ignore[arg-type]
    if cache_limit is not None:
        run.judge.limit = cache_limit
    out = io.StringIO(newline="")
    try:
        run.run(CsvSink(out, run.dialect))
    except StrictStop as stop:
        return out.getvalue(), f"stopped: {stop}; {run.summary.line()}"
    return out.getvalue(), "\n".join(run.closing_lines())


@pytest.mark.parametrize("make", [_messy_wide, _messy_long])
@pytest.mark.parametrize("seed", [1, 2])
def test_output_is_the_same_whatever_the_chunk_size(make: Callable[[int, int], str], seed: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    text = make(3000, seed)
    one_by_one = _csv_output(text, monkeypatch, 1)
    assert one_by_one[0].count("\n") > 2500
    for chunk in (7, 1024):
        assert _csv_output(text, monkeypatch, chunk) == one_by_one, f"chunks of {chunk}"
    # caches cleared every few entries, in the middle of chunks
    assert _csv_output(text, monkeypatch, 1024, cache_limit=5) == one_by_one


@pytest.mark.parametrize("make", [_messy_wide, _messy_long])
def test_strict_stops_at_the_same_row_whatever_the_chunk_size(make: Callable[[int, int], str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    text = make(3000, 3)
    one_by_one = _csv_output(text, monkeypatch, 1, strict=True)
    assert one_by_one[1].startswith("stopped: row ")
    assert _csv_output(text, monkeypatch, 1024, strict=True) == one_by_one


def test_a_run_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    before = gc.get_threshold()
    run_csv("id,ALT (U/L)\nP1,30\nP2,60\n")
    assert gc.get_threshold() == before
