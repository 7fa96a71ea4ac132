"""The settings of one export run: what the command line says (`levlab.options` holds the click side).

The texts of `--col`, `--map` and `--range` are checked against the file's header by
`levlab.exports.layout.detect_layout`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from levlab.ranges import IntervalTable

#: texts that mean "not measured" (compared after strip + casefold); --na adds more
NA_MARKERS = frozenset({"", "na", "n/a", "n.a.", "#n/a", "-", "--", ".", "nan", "null", "none", "nvt", "n.v.t."})


@dataclass(frozen=True)
class CsvOptions:
    """What the command line says; texts are checked here, against the header in `detect_layout`."""

    layout: str | None = None  # "wide", "long" or None to detect
    delimiter: str | None = None
    decimal: str | None = None
    na: tuple[str, ...] = ()
    cols: tuple[str, ...] = ()  # ROLE=HEADER
    maps: tuple[str, ...] = ()  # HEADER=ANALYTE[:UNIT] (long: a test name or code naming no column, too)
    codes: tuple[str, ...] = ()  # CODE=ANALYTE[:UNIT] lines of --codes FILE (exports.names.read_codes)
    ranges: tuple[str, ...] = ()  # HEADER=RANGE
    group_by: tuple[str, ...] = ()
    strict: bool = False
    table: IntervalTable | None = None
    skip_lines: int = 0  # lines above the header (a title): dropped, and said in the report
    sheet: str | None = None  # a workbook's sheet, by name or 1-based number (--sheet)
    #: analyte id -> the unit of a value given without one (the settings file's units = "si")
    configured_units: Mapping[str, str] = field(default_factory=dict)

    @property
    def na_markers(self) -> frozenset[str]:
        return NA_MARKERS | {text.strip().casefold() for text in self.na}
