"""What a long export's test column says: the analyte of a test name or code, and the unit a name gives.

One name-and-unit reader serves wide headers and long test names (`header.split_header`):
`ALT (U/L)` in a test column is ALT with the row's unit U/L, as it is ALT in U/L as a header; a
unit column that says another unit on that row is an error naming both. `--map CODE=ANALYTE[:UNIT]`
options that name no column, and the lines of a `--codes FILE`, map the *values* of the test or
code column (local LIS codes and names): `--map 50861=alt`. A `--codes` file holds
`code = analyte[:unit]` lines, as TOML (`50861 = "alt:U/L"`) or plain text (`50861 = alt:U/L`,
`#` comments).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass

from levlab.catalog import Analyte, find_analyte, normalise_name
from levlab.errors import LevlabError, UsageError, shown
from levlab.exports.header import MapOption, header_unit, split_header
from levlab.units import unit_for_analyte

MAX_CODES = 100_000  # lines of a --codes file: a dictionary of local codes, not a data file


@dataclass(frozen=True, slots=True)
class NamedAnalyte:
    """A test name or code read: its analyte (None: not one levlab takes), the unit the name or a
    map gives (units.toml key, or None), and where that unit came from (for messages)."""

    analyte: Analyte | None
    unit: str | None = None
    unit_from: str = ""


UNKNOWN = NamedAnalyte(None)


class NameReader:
    """Test names and codes -> NamedAnalyte, with the value maps of `--map` and `--codes`."""

    def __init__(self, value_maps: Iterable[MapOption] = ()) -> None:
        self.maps: dict[str, MapOption] = {}
        self.used: set[str] = set()  # the texts of the maps that matched a row
        for option in value_maps:
            self.maps.setdefault(option.header.strip(), option)
            self.maps.setdefault(normalise_name(option.header), option)

    def read(self, name: str, code: str) -> NamedAnalyte:
        """The analyte of a row's test name (or, failing that, its code): a value map first, then the
        catalogue through the name-and-unit reader of headers."""
        for text in (name, code):
            option = self._mapped(text)
            if option is not None:
                self.used.add(option.text)
                if option.analyte is None:  # CODE=ignore: passed through
                    return UNKNOWN
                if option.unit is None:  # a map without a unit keeps the unit the name gives (`ALT (U/L)=alt`)
                    unit = header_unit(name, option.analyte) if text is name else None
                    return NamedAnalyte(option.analyte, unit, f"the test name {shown(name.strip())}" if unit else "")
                return NamedAnalyte(option.analyte, option.unit, f"--map {shown(option.text)}")
        try:
            analyte, unit = split_header(name)
        except LevlabError:  # `Bilirubin (direct)`: another quantity, not the analyte
            return UNKNOWN
        if analyte is not None:
            return NamedAnalyte(analyte, unit, f"the test name {shown(name.strip())}" if unit else "")
        found = find_analyte(code) if code.strip() else None
        return NamedAnalyte(found) if found is not None else UNKNOWN

    def _mapped(self, text: str) -> MapOption | None:
        if not self.maps or not text.strip():
            return None
        return self.maps.get(text.strip()) or self.maps.get(normalise_name(text))


def row_unit(test: NamedAnalyte, unit_text: str | None, na: frozenset[str]) -> tuple[str | None, str | None]:
    """The unit text to read a row's value in, and an error: the test name's (or map's) unit when the
    unit column is blank, the unit column's when they agree; different units are an error naming both."""
    if test.unit is None or test.analyte is None:
        return unit_text, None
    if unit_text is None or unit_text.strip().casefold() in na:
        return test.unit, None
    try:
        column_unit = unit_for_analyte(test.analyte, unit_text).key
    except LevlabError:
        return unit_text, None  # not a unit of the analyte: reading the value says so
    if column_unit == test.unit:
        return unit_text, None
    return None, (f"the unit column says {shown(unit_text.strip())} but {test.unit_from} gives {test.unit}: "
                  "which one is meant cannot be told, so the result is not used")


def read_codes(path: str) -> tuple[str, ...]:
    """A `--codes FILE` as `--map` texts (`CODE=ANALYTE[:UNIT]`): TOML (`50861 = "alt:U/L"`) or plain
    `code = analyte[:unit]` lines; an error names the file and line."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read(16 * 1024 * 1024)
    except OSError as error:
        raise UsageError(f"--codes {shown(path)}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--codes {shown(path)}: not UTF-8 text") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        table = None
    if table is not None and all(isinstance(value, str) for value in table.values()):
        entries = list(table.items())
    else:
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            code, sep, target = line.partition("=")
            if not sep or not code.strip() or not target.strip():
                raise UsageError(f"--codes {shown(path)}, line {number}: {shown(line)} is not `code = analyte[:unit]`")
            entries.append((code.strip().strip('"'), target.strip().strip('"')))
    if len(entries) > MAX_CODES:
        raise UsageError(f"--codes {shown(path)}: more than {MAX_CODES} codes")
    return tuple(f"{code}={target}" for code, target in entries)
