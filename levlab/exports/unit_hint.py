"""What a column's values suggest about its unit, for the usage error of a column without one.

A bilirubin (albumin, haemoglobin, glucose...) column with no unit anywhere is a usage error:
levlab never picks a unit. But the first rows' values often say which of the analyte's accepted
units can be meant: `values 1.8-254, median 7.3 (62 numbers in the first 200 rows): only µmol/L
fits`. A unit *fits* when every value, read in it, lies in the analyte's usual (`plausible`) span,
and the median lies within a factor `MEDIAN_FACTOR` of the reference interval levlab would use
(from a quarter of its lowest lower limit to four times its highest upper limit): a cohort whose
median bilirubin is 0.7 µmol/L is not reported in µmol/L. The message names the `--map` to write
for each unit that fits; nothing is applied.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from levlab.catalog import Analyte
from levlab.errors import LevlabError
from levlab.ranges import IntervalTable
from levlab.units import to_canonical_factor
from levlab.values import format_number, split_value

ROWS_READ = 200  # data rows whose values are looked at
MEDIAN_FACTOR = 4.0  # how far below the lowest lower limit, or above the highest upper limit, a median may lie


def numbers_of(texts: Iterable[str], decimal: str, na: frozenset[str]) -> list[float]:
    """The plain numbers among a column's cell texts: no missing-value marker, no censored value
    (`<5`), no value carrying its own unit, nothing that does not read as a number."""
    found = []
    for text in texts:
        if text.strip().casefold() in na:
            continue
        try:
            parsed = split_value(text, decimal)
        except LevlabError:
            continue
        if parsed.comparator is None and not parsed.unit_text:
            found.append(parsed.number)
    return found


def fitting_units(analyte: Analyte, numbers: list[float], table: IntervalTable) -> list[str]:
    """The analyte's accepted units in which all the numbers are usual and their median is near
    the reference interval (see the module text), in the catalogue's order."""
    median = statistics.median(numbers)
    intervals = table.for_analyte(analyte.id)
    lows = [i.low for i in intervals if i.low]
    highs = [i.high for i in intervals if i.high]
    fits = []
    for unit in analyte.units:
        factor = to_canonical_factor(analyte, unit)
        if not all(analyte.plausible_low <= number * factor <= analyte.plausible_high for number in numbers):
            continue
        if lows and median * factor < min(lows) / MEDIAN_FACTOR:
            continue
        if highs and median * factor > max(highs) * MEDIAN_FACTOR:
            continue
        fits.append(unit)
    return fits


def suggestion(analyte: Analyte, header: str, texts: list[str], decimal: str, na: frozenset[str],
               table: IntervalTable) -> str:
    """What the values (cell texts of the first rows, at most ROWS_READ) suggest, as a sentence
    that ends a usage error: the span, the median, the units that fit and the --map for each."""
    if not texts:
        return "The file has no data rows whose values could suggest a unit"
    numbers = numbers_of(texts, decimal, na)
    read = f"In its first {len(texts)} data row{'s' * (len(texts) != 1)}"
    if not numbers:
        return f"{read} no plain number suggests a unit"
    span = (f"{read}: values {format_number(min(numbers))}-{format_number(max(numbers))}, median "
            f"{format_number(statistics.median(numbers))} ({len(numbers)} number{'s' * (len(numbers) != 1)})")
    fits = fitting_units(analyte, numbers, table)
    maps = " or ".join(f"--map \"{header}={analyte.id}:{unit}\"" for unit in fits)
    if not fits:
        return f"{span}: no unit of {analyte.id} fits them all; check the column"
    if len(fits) == 1:
        return f"{span}: only {fits[0]} fits; if that is the unit, write {maps}"
    named = f"both {fits[0]} and {fits[1]}" if len(fits) == 2 else f"{', '.join(fits[:-1])} and {fits[-1]} all"
    return f"{span}: {named} fit, so the values cannot tell; ask the laboratory, then write {maps}"
