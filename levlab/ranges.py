"""Reference intervals: the defaults (data/ranges.toml), a lab's own, and choosing one."""

from __future__ import annotations

import tomllib
from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from levlab.catalog import Analyte, analytes, find_analyte
from levlab.data import load_toml
from levlab.errors import LevlabError, RangeError, shown
from levlab.model import Interval, Patient
from levlab.units import to_canonical_factor, unit_for_analyte
from levlab.values import format_number, parse_range

LAB_RANGE_SOURCE = "laboratory's own range"


def interval_from_text(
    analyte: Analyte,
    text: str,
    unit_key: str,
    source: str,
    *,
    decimal: str | None = None,
    sex: str | None = None,
    age_min: int | None = None,
    age_max: int | None = None,
    smoker: bool | None = None,
    note: str | None = None,
) -> Interval:
    """Read a range such as `< 45` or `35 - 50` into the canonical unit.

    The range is in `unit_key` unless it names its own unit (`0.2 - 0.6 µkat/L`), which then wins.
    """
    parsed = parse_range(text, decimal)
    unit = unit_for_analyte(analyte, parsed.unit_text).key if parsed.unit_text else unit_key
    factor = to_canonical_factor(analyte, unit)
    return Interval(
        analyte=analyte.id,
        low=None if parsed.low is None else parsed.low * factor,
        high=None if parsed.high is None else parsed.high * factor,
        low_inclusive=parsed.low_inclusive,
        high_inclusive=parsed.high_inclusive,
        unit=analyte.canonical_unit,
        source=source,
        text=text.strip() if parsed.unit_text else f"{text.strip()} {unit}",
        sex=sex,
        age_min=age_min,
        age_max=age_max,
        smoker=smoker,
        note=note,
    )


def _intervals_from_entries(entries: Iterable[Mapping[str, Any]], where: str) -> dict[str, tuple[Interval, ...]]:
    by_analyte: dict[str, list[Interval]] = {}
    for number, entry in enumerate(entries, start=1):
        interval = _interval_from_entry(entry, f"{where}, interval {number}")
        by_analyte.setdefault(interval.analyte, []).append(interval)
    return {analyte_id: tuple(found) for analyte_id, found in by_analyte.items()}


def _interval_from_entry(entry: Mapping[str, Any], label: str) -> Interval:
    try:
        analyte = find_analyte(str(entry["analyte"]))
        if analyte is None:
            raise RangeError(f"unknown analyte {entry['analyte']!r}")
        return _read_entry(analyte, entry)
    except KeyError as missing:
        raise RangeError(f"{label}: missing key {missing}") from None
    except LevlabError as error:
        raise RangeError(f"{label}: {error}") from None


class _LazyIntervals(Mapping[str, tuple[Interval, ...]]):
    """The shipped intervals, read per analyte on first use: a default in another unit than
    the canonical one (haemoglobin in g/dL) needs pint, which only that analyte should pay for."""

    def __init__(self, entries: Iterable[Mapping[str, Any]], where: str) -> None:
        self._entries: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        for number, entry in enumerate(entries, start=1):
            analyte = find_analyte(str(entry.get("analyte", "")))
            if analyte is None:
                raise RangeError(f"{where}, interval {number}: unknown analyte {entry.get('analyte')!r}")
            self._entries.setdefault(analyte.id, []).append((f"{where}, interval {number}", entry))
        self._read: dict[str, tuple[Interval, ...]] = {}

    def __getitem__(self, analyte_id: str) -> tuple[Interval, ...]:
        found = self._read.get(analyte_id)
        if found is None:
            found = self._read[analyte_id] = tuple(
                _interval_from_entry(entry, label) for label, entry in self._entries[analyte_id]
            )
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def _read_entry(analyte: Analyte, entry: Mapping[str, Any]) -> Interval:
    sex = entry.get("sex")
    return interval_from_text(
        analyte,
        str(entry["range"]),
        unit_for_analyte(analyte, str(entry.get("unit", analyte.canonical_unit))).key,
        str(entry["source"]),
        sex=None if sex is None else parse_sex(str(sex)),
        age_min=_optional_int(entry.get("age_min")),
        age_max=_optional_int(entry.get("age_max")),
        smoker=_optional_bool(entry.get("smoker")),
        note=_optional_str(entry.get("note")),
    )


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RangeError(f"age limits are whole years, not {repr(value)[:60]}")
    return value


def _optional_bool(value: Any) -> bool | None:
    """`smoker = true/false`; a string such as "no" would silently never match a patient."""
    if value is None or isinstance(value, bool):
        return value
    raise RangeError(f"smoker is true or false, not {repr(value)[:60]}")


def _optional_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise RangeError(f"note is a text, not {repr(value)[:60]}")


@dataclass(frozen=True)
class IntervalTable:
    """Intervals by analyte id; hashable by identity so results can be cached per table."""

    by_analyte: Mapping[str, tuple[Interval, ...]]

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def for_analyte(self, analyte_id: str) -> tuple[Interval, ...]:
        """Every interval of an analyte, for any patient."""
        return self.by_analyte.get(analyte_id, ())

    def all(self) -> list[Interval]:
        """Every interval, in catalogue order."""
        return [interval for analyte_id in analytes() for interval in self.for_analyte(analyte_id)]

    def with_overrides(self, overrides: Mapping[str, tuple[Interval, ...]]) -> IntervalTable:
        """A new table where the analytes in `overrides` use only those intervals."""
        return IntervalTable(ChainMap(dict(overrides), self.by_analyte))


@cache
def default_intervals() -> IntervalTable:
    """The shipped defaults, each with its source."""
    return IntervalTable(_LazyIntervals(load_toml("ranges.toml")["interval"], "ranges.toml"))


def load_interval_file(text: str, name: str) -> IntervalTable:
    """Defaults, with the analytes named in a --ranges TOML file replaced by its intervals."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RangeError(f"{name}: not valid TOML ({error})") from None
    entries = document.get("interval")
    if not isinstance(entries, list) or not entries:
        raise RangeError(f"{name}: no [[interval]] entries (see `levlab ranges` for the format)")
    return default_intervals().with_overrides(_intervals_from_entries(entries, name))


def candidate_intervals(table: IntervalTable, analyte_id: str, patient: Patient) -> tuple[tuple[Interval, ...], tuple[Interval, ...]]:
    """(certain, possible): intervals that surely hold for the patient, and those that may."""
    certain, possible = [], []
    for interval in table.for_analyte(analyte_id):
        holds = interval.holds_for(patient)
        if holds:
            certain.append(interval)
        elif holds is None:
            possible.append(interval)
    return tuple(certain), tuple(possible)


def parse_sex(text: str) -> str:
    """`F`/`M` from F, M, V (vrouw), female, male, vrouw, man, w (weiblich)...; error otherwise."""
    folded = text.strip().casefold()
    if folded in {"f", "v", "w", "female", "vrouw", "woman", "vrouwelijk", "weiblich"}:
        return "F"
    if folded in {"m", "male", "man", "mannelijk", "männlich", "mannlich"}:
        return "M"
    raise RangeError(f"sex {shown(text)} is not understood; use F or M (Dutch V or M)")


def describe_interval(interval: Interval) -> str:
    """`< 45 U/L` style text in the canonical unit."""
    unit = interval.unit
    if interval.low is not None and interval.high is not None:
        return f"{format_number(interval.low)} - {format_number(interval.high)} {unit}"
    if interval.high is not None:
        return f"{'<=' if interval.high_inclusive else '<'} {format_number(interval.high)} {unit}"
    if interval.low is not None:
        return f"{'>=' if interval.low_inclusive else '>'} {format_number(interval.low)} {unit}"
    return f"any {unit}"
