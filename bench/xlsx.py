"""Excel workbooks: peak memory and time of `levlab csv book.xlsx` as the sheet grows.

    python bench/xlsx.py            # 10,000 and 100,000 rows
    python bench/xlsx.py --rows 25000 --rows 200000

Writes wide workbooks (a row per sample: patient, sex, age, date cell, five analytes, one of
them sometimes text `<5`) with openpyxl in write-only mode into bench/out/ (with the sheet's
<dimension> element Excel writes), then runs
`levlab csv FILE -o /dev/null` in a child process per size and reports its peak resident memory
(ru_maxrss of the child) and wall time; also `-o out.xlsx` (the workbook sink). Needs the
Excel extra (pip install 'levlab[excel]').
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
HEADER = ["patient", "sex", "age", "date", "Bilirubin (umol/L)", "ALP (U/L)", "LDH (U/L)", "AST (U/L)", "ALT (U/L)"]


def make_workbook(rows: int) -> str:
    """A wide workbook of `rows` samples in bench/out (made once per size)."""
    import openpyxl

    path = os.path.join(OUT, f"wide_{rows}.xlsx")
    if os.path.exists(path):
        return path
    os.makedirs(OUT, exist_ok=True)
    chance = random.Random(12)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Lab")
    sheet.append(HEADER)
    start = dt.datetime(2024, 1, 1, 8, 0)
    for number in range(rows):
        sheet.append([f"P{number // 4:06d}", chance.choice("FM"), chance.randint(30, 85),
                      start + dt.timedelta(hours=number), round(chance.uniform(4, 60), 1), chance.randint(40, 600),
                      chance.randint(120, 900), chance.randint(10, 200),
                      "<5" if number % 97 == 0 else chance.randint(5, 300)])
    book.save(path + ".tmp")
    add_dimension(path + ".tmp", path, f"A1:I{rows + 1}")
    os.unlink(path + ".tmp")
    return path


def add_dimension(source: str, target: str, ref: str) -> None:
    """The workbook with a <dimension> element in its sheet, as Excel and LibreOffice write it
    (openpyxl's write-only mode leaves it out, and openpyxl's reader then parses the whole sheet
    once at load to find its size)."""
    import zipfile

    with zipfile.ZipFile(source) as given, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as written:
        for item in given.infolist():
            data = given.read(item)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(b"<sheetViews>", f'<dimension ref="{ref}" /><sheetViews>'.encode(), 1)
            written.writestr(item, data)


def measure(path: str, target: str) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one `levlab csv` child process."""
    levlab = os.path.join(os.path.dirname(sys.executable), "levlab")
    script = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
              "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
              "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", script, levlab, "csv", path, "-o", target],
                            capture_output=True, text=True, check=True)
    seconds, peak_kib = result.stdout.split()
    return int(peak_kib) / 1024, float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="sheet sizes (default 10,000 and 100,000)")
    sizes = parser.parse_args().rows or [10_000, 100_000]
    print(f"{'rows':>8}  {'-o /dev/null (CSV)':>24}  {'-o out.xlsx':>24}")
    for rows in sizes:
        path = make_workbook(rows)
        csv_peak, csv_time = measure(path, os.devnull)
        xlsx_peak, xlsx_time = measure(path, os.path.join(OUT, f"out_{rows}.xlsx"))
        print(f"{rows:>8}  {csv_peak:>9.1f} MiB {csv_time:>8.1f} s  {xlsx_peak:>9.1f} MiB {xlsx_time:>8.1f} s")


if __name__ == "__main__":
    main()
