"""levlab benchmark: levlab against the floors it cannot beat, measured interleaved.

    python bench/run.py                # full run (about two minutes on 2 cores)
    python bench/run.py --quick        # smaller files, fewer repeats

Each figure is the median of several runs of whole processes (start-up included), the
levlab command and its floor alternating so that machine noise hits both alike:
  wide / long `levlab csv`  vs  a plain csv-module read + write of the same file
  one-shot `levlab interpret` (six analytes, mg/dL and µkat/L among them) vs `python -c "import pint"`
  `levlab --help`  vs  `python -c "import click"`
  peak RSS of wide `levlab csv` at 50k and 400k rows.
Only public tools: the Python standard library and the installed `levlab` command.
Results over time, and what each speed step bought: bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
LEVLAB = shutil.which("levlab", path=str(Path(sys.executable).parent)) or shutil.which("levlab")
FLOOR_SCRIPT = (
    "import csv, sys\n"
    "src = open(sys.argv[1], newline='', encoding='utf-8-sig')\n"
    "out = csv.writer(sys.stdout)\n"
    "for row in csv.reader(src):\n"
    "    out.writerow(row)\n"
)
ONE_SHOT = ["interpret", "bili=2.4mg/dL", "alp=3.1ukat/L", "ldh=480U/L", "ast=40U/L", "alt=35U/L", "ggt=1.2ukat/L", "--sex", "F", "--age", "60"]


WIDE_COLUMNS = (  # (header, span) with whole numbers; (header, span) with two decimals, in units exports carry decimals in
    (("ALAT (U/L)", (8, 120)), ("ALAT (U/L)", (8, 120))),
    (("ASAT (U/L)", (10, 90)), ("ASAT (U/L)", (10, 90))),
    (("ALP (U/L)", (30, 400)), ("ALP (ukat/L)", (0.5, 6.7))),
    (("GGT (U/L)", (8, 300)), ("GGT (U/L)", (8, 300))),
    (("LDH (U/L)", (100, 700)), ("LDH (U/L)", (100, 700))),
    (("Bilirubin (umol/L)", (3, 80)), ("Bilirubin (mg/dL)", (0.18, 4.7))),
)


def _value(rng: random.Random, low: float, high: float, distinct: bool) -> str:
    """A whole number (values repeat: a few hundred per column) or a two-decimal one (nearly every
    value new, as in an export in mg/dL or µkat/L)."""
    return f"{rng.uniform(low, high):.2f}" if distinct else str(rng.randint(int(low), int(high)))


def make_wide(path: Path, rows: int, seed: int = 1, *, distinct: bool = False) -> None:
    """A research-style extract: a row per sample, six analytes with units in the headers.
    `distinct`: two-decimal values, so that nearly every cell is one never seen before."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        columns = [pair[distinct] for pair in WIDE_COLUMNS]
        handle.write("patient_id,sex,age," + ",".join(name for name, _ in columns) + "\n")
        for number in range(rows):
            values = ",".join(_value(rng, *span, distinct) for _, span in columns)
            handle.write(f"P{number:07d},{rng.choice('FM')},{rng.randint(20, 90)},{values}\n")


LONG_TESTS = [("ALAT", "U/L", "< 45", 8, 120), ("ASAT", "U/L", "< 35", 10, 90), ("AF", "U/L", "35 - 105", 30, 400),
              ("GGT", "U/L", "< 40", 8, 300), ("LD", "U/L", "< 250", 100, 700), ("Bilirubine totaal", "umol/L", "< 17", 3, 80)]


def make_long(path: Path, results: int, seed: int = 2, *, distinct: bool = False, keyless: bool = False,
              ending: str = "\n") -> None:
    """A LIS-style export: a row per result, six results per sample, Dutch names and ranges.
    `distinct`: two-decimal values; `keyless`: no patient or sample column (nothing says which rows
    are one panel); `ending`: the line ending ("\r" for an old Mac export)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(("" if keyless else "patient,") + "geslacht,leeftijd," + ("" if keyless else "monsternummer,")
                     + "bepaling,uitslag,eenheid,referentiewaarde" + ending)
        for number in range(results // len(LONG_TESTS)):
            sex, age = rng.choice("MV"), rng.randint(20, 90)
            key = "" if keyless else f"P{number // 3:06d},"
            sample = "" if keyless else f"S{number:07d},"
            for name, unit, reference, low, high in LONG_TESTS:
                handle.write(f"{key}{sex},{age},{sample}{name},{_value(rng, low, high, distinct)},{unit},{reference}{ending}")


def run_once(command: list[str], *, stdin_path: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process, output discarded."""
    stdin = stdin_path.open("rb") if stdin_path else subprocess.DEVNULL
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if stdin_path:
        stdin.close()
    if process.returncode not in (0, 1):
        raise SystemExit(f"benchmark command failed ({process.returncode}): {' '.join(command)}")
    return elapsed, usage.ru_maxrss


def interleaved(pairs: dict[str, tuple[list[str], list[str]]], repeats: int) -> dict[str, tuple[float, float]]:
    """Median wall time of each (levlab, floor) pair, runs alternating."""
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in pairs}
    for _ in range(repeats):
        for name, (ours, floor) in pairs.items():
            times[name][0].append(run_once(ours)[0])
            times[name][1].append(run_once(floor)[0])
    return {name: (statistics.median(a), statistics.median(b)) for name, (a, b) in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller files and fewer repeats")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    if LEVLAB is None:
        raise SystemExit("no `levlab` command found: pip install . first")
    rows = 50_000 if args.quick else 200_000
    repeats = args.repeats or (3 if args.quick else 5)
    work = Path(tempfile.mkdtemp(prefix="levlab-bench-"))
    try:
        wide, long_, wide_small, wide_big = work / "wide.csv", work / "long.csv", work / "wide50k.csv", work / "wide400k.csv"
        make_wide(wide, rows)
        make_long(long_, rows)
        make_wide(wide_small, 50_000)
        make_wide(wide_big, 400_000)
        # warm the page cache and levlab's bytecode once
        for path in (wide, long_):
            run_once([LEVLAB, "csv", str(path)])
        run_once([LEVLAB, *ONE_SHOT])
        medians = interleaved(
            {
                "wide csv": ([LEVLAB, "csv", str(wide)], [PYTHON, "-c", FLOOR_SCRIPT, str(wide)]),
                "long csv": ([LEVLAB, "csv", str(long_)], [PYTHON, "-c", FLOOR_SCRIPT, str(long_)]),
                "one-shot interpret": ([LEVLAB, *ONE_SHOT], [PYTHON, "-c", "import pint"]),
                "--help": ([LEVLAB, "--help"], [PYTHON, "-c", "import click"]),
            },
            repeats,
        )
        rss_small = max(run_once([LEVLAB, "csv", str(wide_small)])[1] for _ in range(2))
        rss_big = max(run_once([LEVLAB, "csv", str(wide_big)])[1] for _ in range(2))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; {rows:,} rows per CSV file; medians of {repeats} interleaved runs",
        "",
        "| measure | levlab | floor | figure | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for name, target in (("wide csv", 0.40), ("long csv", 0.35)):
        ours, floor = medians[name]
        ratio = floor / ours
        lines.append(f"| {name} ({rows:,} rows) | {rows / ours:,.0f} rows/s ({ours:.2f} s) | {rows / floor:,.0f} rows/s ({floor:.2f} s) "
                     f"| {ratio:.2f} of floor | >= {target:.2f} | {'yes' if ratio >= target else 'NO'} |")
    for name, floor_name in (("one-shot interpret", "import pint"), ("--help", "import click")):
        ours, floor = medians[name]
        ratio = ours / floor
        lines.append(f"| {name} | {ours * 1000:.0f} ms | {floor * 1000:.0f} ms ({floor_name}) | {ratio:.2f}x | <= 1.50x | {'yes' if ratio <= 1.5 else 'NO'} |")
    growth = rss_big / rss_small
    lines.append(f"| peak RSS, wide csv 50k -> 400k rows | {rss_big / 1024:.1f} MiB | {rss_small / 1024:.1f} MiB | {growth:.2f}x "
                 f"| <= 1.25x and < 100 MiB | {'yes' if growth <= 1.25 and rss_big < 100 * 1024 else 'NO'} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
