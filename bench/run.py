"""levlab benchmark: levlab against the floors it cannot beat, measured interleaved.

    python bench/run.py                # full run (about six minutes on 2 shared cores)
    python bench/run.py --quick        # smaller files, fewer repeats

Each figure is the median of several runs of whole processes (start-up included), the
levlab command and its floor alternating so that machine noise hits both alike. The floor of
a CSV file is a plain csv-module read + write of that same file, run in the same round:
  wide and long `levlab csv`, values that repeat (whole numbers) and values that do not (two
  decimals, µkat/L and mg/dL in the wide file), as CSV, JSONL and the `--format table` summary;
  one-shot `levlab interpret` (six analytes, mg/dL and µkat/L among them) vs `python -c "import pint"`;
  `levlab --help` vs `python -c "import click"`;
  peak RSS of every run above, of wide `levlab csv` at 50k and 400k rows, of a long file
  without a patient or sample column, of one with CR-only line ends, and of a file without
  any line end (an error at the line limit).
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


def run_once(command: list[str], *, stdin_path: Path | None = None, expected: tuple[int, ...] = (0, 1)) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process, output discarded."""
    stdin = stdin_path.open("rb") if stdin_path else subprocess.DEVNULL
    with tempfile.TemporaryFile() as errors:  # kept to tell a crash (exit 1 too) from row errors
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if stdin_path:
            stdin.close()
        errors.seek(0)
        crashed = b"Traceback (most recent call last)" in errors.read()
    if process.returncode not in expected or crashed:
        raise SystemExit(f"benchmark command failed ({process.returncode}{', a traceback' if crashed else ''}): "
                         f"{' '.join(command)}")
    return elapsed, usage.ru_maxrss


def interleaved(pairs: dict[str, tuple[list[str], list[str]]], repeats: int
                ) -> tuple[dict[str, tuple[float, float]], dict[str, int]]:
    """Median wall time of each (levlab, floor) pair, runs alternating (which of the two goes
    first swaps every round); and levlab's peak RSS (KiB) over its runs."""
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in pairs}
    peaks = dict.fromkeys(pairs, 0)
    for round_ in range(repeats):
        for name, (ours, base) in pairs.items():
            for which in ((0, 1) if round_ % 2 == 0 else (1, 0)):
                elapsed, rss = run_once((ours, base)[which])
                times[name][which].append(elapsed)
                if which == 0:
                    peaks[name] = max(peaks[name], rss)
    return {name: (statistics.median(a), statistics.median(b)) for name, (a, b) in times.items()}, peaks


#: (name, file, output format, target ratio to the floor) — every figure the README table shows
SPEED_TARGETS = (
    ("wide csv, repeating values", "wide", "csv", 0.40),
    ("long csv, repeating values", "long", "csv", 0.35),
    ("wide csv, all-distinct values", "wide_distinct", "csv", 0.10),
    ("long csv, all-distinct values", "long_distinct", "csv", None),
    ("wide jsonl, repeating values", "wide_small", "jsonl", 0.10),
    ("long jsonl, repeating values", "long_small", "jsonl", 0.10),
    ("wide jsonl, all-distinct values", "wide_distinct", "jsonl", 0.05),
    ("long jsonl, all-distinct values", "long_distinct", "jsonl", 0.05),
    ("wide table summary, repeating values", "wide_small", "table", "csv"),
    ("wide table summary, all-distinct values", "wide_distinct", "table", "csv"),
    ("long table summary, all-distinct values", "long_distinct", "table", "csv"),
)


def levlab_csv(path: Path, output_format: str) -> list[str]:
    return [LEVLAB, "csv", str(path), "--format", output_format]


def floor(path: Path) -> list[str]:
    return [PYTHON, "-c", FLOOR_SCRIPT, str(path)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller files and fewer repeats")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    if LEVLAB is None:
        raise SystemExit("no `levlab` command found: pip install . first")
    rows = 50_000 if args.quick else 200_000
    small = 20_000 if args.quick else 50_000  # the slow paths (JSONL, table, all-distinct values)
    repeats = args.repeats or (3 if args.quick else 5)
    work = Path(tempfile.mkdtemp(prefix="levlab-bench-"))
    sizes = {"wide": rows, "long": rows, "wide_small": small, "long_small": small, "wide_distinct": small,
             "long_distinct": small}
    try:
        files = {name: work / f"{name}.csv" for name in sizes}
        make_wide(files["wide"], rows)
        make_long(files["long"], rows)
        make_wide(files["wide_small"], small)
        make_long(files["long_small"], small)
        make_wide(files["wide_distinct"], small, distinct=True)
        make_long(files["long_distinct"], small, distinct=True)
        wide_50k, wide_400k = work / "wide50k.csv", work / "wide400k.csv"
        keyless, cr_only, endless = work / "keyless.csv", work / "cr_only.csv", work / "endless.csv"
        make_wide(wide_50k, 50_000)
        make_wide(wide_400k, 400_000)
        make_long(keyless, rows, keyless=True)
        make_long(cr_only, rows, ending="\r")
        with endless.open("wb") as handle:  # 20 MB and not one line end: cut at the line limit
            handle.write(b"patient,ALT\n")  # (written in pieces: a child's peak RSS counts its parent's when it starts)
            for _ in range(35):
                handle.write(b"P1;30;" * 100_000)
        # warm the page cache and levlab's bytecode once
        for path in files.values():
            run_once([LEVLAB, "csv", str(path)])
        run_once([LEVLAB, *ONE_SHOT])
        pairs: dict[str, tuple[list[str], list[str]]] = {}
        for name, file, output_format, _ in SPEED_TARGETS:
            pairs[name] = (levlab_csv(files[file], output_format), floor(files[file]))
        for file in {file for _, file, _, target in SPEED_TARGETS if target == "csv"} - {f for _, f, fmt, _ in SPEED_TARGETS if fmt == "csv"}:
            pairs[f"{file} csv"] = (levlab_csv(files[file], "csv"), floor(files[file]))  # what its table is held against
        pairs["one-shot interpret"] = ([LEVLAB, *ONE_SHOT], [PYTHON, "-c", "import pint"])
        pairs["--help"] = ([LEVLAB, "--help"], [PYTHON, "-c", "import click"])
        medians, peaks = interleaved(pairs, repeats)
        memory = {
            "wide csv, 50,000 rows": max(run_once(levlab_csv(wide_50k, "csv"))[1] for _ in range(2)),
            "wide csv, 400,000 rows": max(run_once(levlab_csv(wide_400k, "csv"))[1] for _ in range(2)),
            f"long csv without a key, {rows:,} rows": max(run_once(levlab_csv(keyless, "csv"))[1] for _ in range(2)),
            f"long csv with CR-only line ends, {rows:,} rows": max(run_once(levlab_csv(cr_only, "csv"))[1] for _ in range(2)),
            "a 20 MB file without a line end (error)": max(run_once(levlab_csv(endless, "csv"), expected=(0, 1, 2))[1] for _ in range(2)),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    load = os.getloadavg()
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; medians of {repeats} interleaved runs; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)",
        "",
        "| measure | rows | levlab | floor (csv read + write) | figure | target | met | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    csv_of = {file: name for name, file, fmt, _ in SPEED_TARGETS if fmt == "csv"}
    for name, file, _, target in SPEED_TARGETS:
        ours, base = medians[name]
        count = sizes[file]
        ratio = base / ours
        if target == "csv":  # as fast as the same file's CSV output
            csv_time = medians[csv_of.get(file, f"{file} csv")][0]
            shown_target, met = f"<= csv output ({csv_time:.2f} s)", ours <= csv_time * 1.05
        elif target is None:
            shown_target, met = "—", None
        else:
            shown_target, met = f">= {target:.2f}", ratio >= target
        lines.append(f"| {name} | {count:,} | {count / ours:,.0f} rows/s ({ours:.2f} s) | {base:.2f} s | {ratio:.3f} of floor "
                     f"| {shown_target} | {'—' if met is None else 'yes' if met else 'NO'} | {peaks[name] / 1024:.1f} MiB |")
    for name, floor_name in (("one-shot interpret", "import pint"), ("--help", "import click")):
        ours, base = medians[name]
        ratio = ours / base
        lines.append(f"| {name} | — | {ours * 1000:.0f} ms | {base * 1000:.0f} ms ({floor_name}) | {ratio:.2f}x | <= 1.50x "
                     f"| {'yes' if ratio <= 1.5 else 'NO'} | {peaks[name] / 1024:.1f} MiB |")
    growth = memory["wide csv, 400,000 rows"] / memory["wide csv, 50,000 rows"]
    lines += ["", "| peak memory | RSS | target | met |", "|---|---|---|---|"]
    for name, kib in memory.items():
        lines.append(f"| {name} | {kib / 1024:.1f} MiB | < 100 MiB | {'yes' if kib < 100 * 1024 else 'NO'} |")
    lines.append(f"| growth, wide 50k -> 400k rows | {growth:.2f}x | <= 1.25x | {'yes' if growth <= 1.25 else 'NO'} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
