"""Reference intervals: the defaults (data/ranges.toml), a lab's own, and choosing one."""

from __future__ import annotations

import math
from collections import ChainMap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from levlab.catalog import Analyte, analytes, find_analyte
from levlab.data import load_toml
from levlab.errors import LevlabError, RangeError, shown
from levlab.language import Msg
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
    check_limits: bool = True,
) -> Interval:
    """Read a range such as `< 45` or `35 - 50` into the canonical unit.

    The range is in `unit_key` unless it names its own unit (`0.2 - 0.6 µkat/L`), which then wins.
    A laboratory's limit (`check_limits`) that is implausible in its unit is refused, as a value is:
    outside the analyte's plausible span, or far from every default limit where another accepted
    unit would put it near one (`< 1.2` bilirubin in µmol/L is 1.2 mg/dL written without its unit).
    """
    plain = sex is None and age_min is None and age_max is None and smoker is None and note is None and check_limits
    key = (analyte.id, text, unit_key, source, decimal)
    if plain:  # a lab's range of an export: the same few texts row after row, read once each
        kept = _LAB_INTERVALS.get(key)
        if kept is not None and kept[0] is analyte:
            return kept[1]
    interval = _interval_from_text(analyte, text, unit_key, source, decimal=decimal, sex=sex, age_min=age_min,
                                   age_max=age_max, smoker=smoker, note=note, check_limits=check_limits)
    if plain and len(text) <= 200:
        if len(_LAB_INTERVALS) >= LAB_INTERVALS_KEPT:
            _LAB_INTERVALS.clear()
        _LAB_INTERVALS[key] = (analyte, interval)
    return interval


#: lab ranges kept read (`interval_from_text`; an export has a few per analyte); past this many they start again
LAB_INTERVALS_KEPT = 1_024
_LAB_INTERVALS: dict[tuple[Any, ...], tuple[Analyte, Interval]] = {}


def _interval_from_text(analyte: Analyte, text: str, unit_key: str, source: str, *, decimal: str | None,
                        sex: str | None, age_min: int | None, age_max: int | None, smoker: bool | None,
                        note: str | None, check_limits: bool) -> Interval:
    """`interval_from_text`, uncached."""
    parsed = parse_range(text, decimal)
    unit = unit_for_analyte(analyte, parsed.unit_text).key if parsed.unit_text else unit_key
    factor = to_canonical_factor(analyte, unit)
    if check_limits:
        for limit, side in ((parsed.low, "low"), (parsed.high, "high")):
            if limit:  # a zero lower limit (`0 - 45`) is common and says nothing of the unit
                _check_limit(analyte, text, limit, unit, side, unit_written=bool(parsed.unit_text))
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


#: far from every default limit: more than this factor away (a lab's limits differ from the defaults by less)
LIMIT_FAR = 4.0
#: near a default limit: within this factor (what another unit must reach for a limit to be refused)
LIMIT_NEAR = 2.0


def _check_limit(analyte: Analyte, text: str, limit: float, unit: str, side: str, *, unit_written: bool) -> None:
    """Refuse a laboratory's limit that is implausible in its unit, with the unit it was probably meant in.

    The hint fits how the unit came: a range without its unit is told to write it; a range that
    names its unit is told that the number and the unit disagree (the unit is already there)."""
    value = limit * to_canonical_factor(analyte, unit)
    span = f"{format_number(analyte.plausible_low)}-{format_number(analyte.plausible_high)} {analyte.canonical_unit}"
    defaults = [getattr(i, side) for i in default_intervals().for_analyte(analyte.id) if getattr(i, side)]

    def distance(canonical: float) -> float:
        return min((abs(math.log(canonical / default)) for default in defaults), default=0.0)

    def plausible(canonical: float) -> bool:
        return analyte.plausible_low <= canonical <= analyte.plausible_high

    if plausible(value) and distance(value) <= math.log(LIMIT_FAR):
        return
    hints = []
    for other in analyte.units:
        as_other = limit * to_canonical_factor(analyte, other)
        if other != unit and plausible(as_other) and distance(as_other) <= math.log(LIMIT_NEAR):
            hints.append(f"{other} ({format_number(limit)} {other} = {format_number(as_other)} {analyte.canonical_unit})")
    if plausible(value) and not hints:
        return  # far from the defaults, but no other unit explains it: the laboratory's own choice
    why = (f"outside the plausible {span}" if not plausible(value) else
           f"far from every default limit ({', '.join(format_number(d) for d in defaults)} {analyte.canonical_unit})")
    if not hints:
        hint = "; check the range and its unit"
    elif unit_written:
        hint = f"; the range says {unit}, but its numbers fit {' or '.join(hints)}: check the range's numbers and unit"
    else:
        hint = f"; did you mean {' or '.join(hints)}? write the unit in the range"
    raise RangeError(f"{analyte.id} range {shown(text.strip())}: the limit {format_number(limit)} {unit} is "
                     f"implausible ({why}){hint}")


#: the keys of an [[interval]] entry, and the TOML types each may have
ENTRY_KEYS: dict[str, tuple[type, ...]] = {
    "analyte": (str,), "range": (str,), "unit": (str,), "source": (str,), "sex": (str,),
    "age_min": (int,), "age_max": (int,), "smoker": (bool,), "note": (str,),
}
_TYPE_WORDS = {str: "a text", int: "in whole years", bool: "true or false"}


def _check_entry_shape(entry: Any, label: str) -> Mapping[str, Any]:
    """An entry is a table of known keys, each a scalar of its type: refused before it is read."""
    if not isinstance(entry, dict):
        raise RangeError(f"{label}: an [[interval]] entry is a table of keys, not {_toml_kind(entry)}")
    for key, value in entry.items():
        types = ENTRY_KEYS.get(key)
        if types is None:
            raise RangeError(f"{label}: unknown key {shown(key)}; the keys are {', '.join(ENTRY_KEYS)}")
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise RangeError(f"{label}: {key} is {_TYPE_WORDS[types[0]]}, not {_toml_kind(value)}")
    for key in ("analyte", "range", "source"):
        if key not in entry:
            raise RangeError(f"{label}: missing key {key!r}")
    return entry


def _toml_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {shown(value)}"
    return f"{type(value).__name__} {shown(str(value), 20)}"


def _intervals_from_entries(entries: Iterable[Mapping[str, Any]], where: str) -> dict[str, tuple[Interval, ...]]:
    by_analyte: dict[str, list[Interval]] = {}
    labels: dict[Interval, str] = {}
    for number, entry in enumerate(entries, start=1):
        label = f"{where}, interval {number}"
        interval = _interval_from_entry(_check_entry_shape(entry, label), label, check_limits=True)
        for earlier in by_analyte.get(interval.analyte, ()):
            if _overlap(earlier, interval):
                raise RangeError(
                    f"{label}: {interval.analyte} {interval.text} holds for the same patients as "
                    f"{labels[earlier].removeprefix(where + ', ')} ({earlier.text}); give each entry its own "
                    "sex, age span or smoking status"
                )
        labels[interval] = label
        by_analyte.setdefault(interval.analyte, []).append(interval)
    return {analyte_id: tuple(found) for analyte_id, found in by_analyte.items()}


def _overlap(first: Interval, second: Interval) -> bool:
    """Whether some patient falls under both intervals (so neither can be chosen for them)."""
    if first.sex is not None and second.sex is not None and first.sex != second.sex:
        return False
    if first.smoker is not None and second.smoker is not None and first.smoker != second.smoker:
        return False
    low = max(first.age_min or 0, second.age_min or 0)
    high = min(math.inf if first.age_max is None else first.age_max, math.inf if second.age_max is None else second.age_max)
    return low <= high


def _interval_from_entry(entry: Mapping[str, Any], label: str, *, check_limits: bool = False) -> Interval:
    try:
        analyte = find_analyte(str(entry["analyte"]))
        if analyte is None:
            raise RangeError(f"unknown analyte {shown(str(entry['analyte']))}")
        return _read_entry(analyte, entry, check_limits=check_limits)
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


def _read_entry(analyte: Analyte, entry: Mapping[str, Any], *, check_limits: bool = False) -> Interval:
    sex = entry.get("sex")
    range_text = str(entry["range"])
    if "unit" not in entry and analyte.unit_required and not parse_range(range_text).unit_text:
        raise RangeError(
            f"{analyte.id} needs a unit, as its values do: add unit = \"{analyte.units[0]}\" (or "
            f"{', '.join(repr(u) for u in analyte.units[1:])}) to the entry, or write it in the range"
        )
    age_min, age_max = _optional_int(entry.get("age_min")), _optional_int(entry.get("age_max"))
    if age_min is not None and age_max is not None and age_min > age_max:
        raise RangeError(f"age_min = {age_min} is above age_max = {age_max}: the entry would hold for no one")
    return interval_from_text(
        analyte,
        range_text,
        unit_for_analyte(analyte, str(entry.get("unit", analyte.canonical_unit))).key,
        str(entry["source"]),
        sex=None if sex is None else parse_sex(str(sex)),
        age_min=age_min,
        age_max=age_max,
        smoker=_optional_bool(entry.get("smoker")),
        note=_optional_str(entry.get("note")),
        check_limits=check_limits,
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
    import tomllib  # here: only a --ranges file needs it (the shipped files come cached: levlab.data)

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RangeError(f"{name}: not valid TOML ({error})") from None
    except RecursionError:  # tomllib recurses once per nested list or inline table
        raise RangeError(f"{name}: lists or tables nested too deeply; a ranges file is a list of flat "
                         "[[interval]] tables") from None
    entries = document.get("interval")
    if entries is None or (isinstance(entries, list) and not entries):
        raise RangeError(f"{name}: no [[interval]] entries (see `levlab ranges` for the format)")
    unknown = [key for key in document if key != "interval"]
    if unknown:
        raise RangeError(f"{name}: unknown key {shown(unknown[0])}; a ranges file holds only [[interval]] entries")
    if not isinstance(entries, list):
        raise RangeError(f"{name}: interval is {_toml_kind(entries)}; write each entry as an [[interval]] table")
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
    raise RangeError(Msg("sex {text} is not understood; use F or M (Dutch V or M)", text=shown(text)))


SMOKER_WORDS = {"yes": True, "y": True, "ja": True, "j": True, "true": True, "1": True,
                "no": False, "n": False, "nee": False, "false": False, "0": False}


def parse_smoker(text: str) -> bool:
    """Smoking status (the CEA interval) from yes/no, Dutch ja/nee, true/false, 1/0; error otherwise."""
    folded = text.strip().casefold()
    if folded not in SMOKER_WORDS:
        raise RangeError(f"smoker {shown(text)} is not understood; use yes or no")
    return SMOKER_WORDS[folded]


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
