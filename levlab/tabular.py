"""Laboratory exports as CSV: dialect, layout, streaming panels, row-faithful writing.

No click and no rich here: every function takes text streams (iterables of lines) and writes
to text streams, so the tests drive it with `io.StringIO`. The interpretation itself is the
core's (`read_measurement`, `assess`, `interpret_results`, `unusable`); this module only
decides what a cell means, groups rows into panels, and caches the core's answers:

* a cell is read once per distinct (analyte, text, unit, lab range) — the decimal mark is
  fixed per run — because values repeat a great deal in real exports;
* a reading is judged once per distinct *assessment context* of the patient
  (`interpret.assess_context`: the intervals that may apply), not once per patient; a judged
  cell carries its output text, its RuleBook signature and its dominance keys, made once;
* the CSV rule columns are decided once per distinct row signature (RuleBook); a panel is
  interpreted in full (JSONL, table) once per distinct tuple of judged results.

Every cache is cleared together when they have grown past `CACHE_LIMIT` entries, and the
panel cache on its own past `PANEL_CACHE_LIMIT`, so memory stays bounded however long the file.

Rows are taken a chunk at a time (`CsvRun._chunks`: up to `CHUNK_LINES` lines, split at the
delimiter when no line holds a quote, else parsed by one csv.reader call when each line is one
record, else record by record) and handled column by column with `map` and `zip` over the
caches, so that the work per row is a few dictionary lookups done in C; chunks grow from one
line, so a slow pipe's first rows are not held back. The output does not depend on the chunk
size (tested).

Layouts:

* *wide*: a row per sample, a column per analyte; each row is a panel.
* *long*: a row per result; a panel is a run of consecutive rows with the same patient and
  sample (or `--group-by` columns). Only the open panel is held (across chunks). A key that
  comes back after its panel was closed (an unsorted file) starts a new panel; the run reports
  how often that happened so the user can sort the file first.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import io
import itertools
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from levlab import DISCLAIMER
from levlab.catalog import Analyte, analytes, find_analyte, normalise_name
from levlab.errors import ExitStatus, LevlabError, UsageError, shown
from levlab.grading import grade_value
from levlab.interpret import assess, assess_context, interpret_results, read_measurement, unusable
from levlab.model import AnalyteResult, PanelResult, Patient
from levlab.ranges import IntervalTable, default_intervals, parse_sex
from levlab.rules import (
    FLAG_CONDITIONS,
    LEAD_OVER_RIVALS,
    PROJECTIONS,
    REQUIRED_FLAGS,
    SERIAL_EVALUATORS,
    Rule,
    decide,
    dominance_keys,
    normal_panel_status,
    rule_inputs,
    rule_subjects,
    rules,
)
from levlab.units import lookup_unit, unit_for_analyte
from levlab.values import format_number, parse_number, parse_range

if TYPE_CHECKING:
    from levlab.serial import Sample

CACHE_LIMIT = 100_000  # entries over all caches; past it they are all cleared
PANEL_CACHE_LIMIT = 4_096  # interpreted panels are large (~4 kB each): their cache is cleared on its own
SAMPLE_LINES = 50  # lines read ahead to sniff the delimiter
CHUNK_LINES = 1_024  # lines read, parsed and interpreted together
DECODE_BLOCK = 1_024  # lines decoded together
GC_THRESHOLD = 100_000  # allocations between cyclic garbage collections during a run (Python's default: 700)
#: largest field read (the csv module's default is 128 KiB): a 5 MB cell is kept and passed through
#: (its reading is refused, briefly); a larger one ends the run as a usage error, not a traceback
FIELD_LIMIT = 64 * 1024 * 1024
UNDECODABLE_KEPT = 10_000  # undecodable lines remembered until their row is written
LONG_CELL = 1_024  # characters: no value, unit, range, sex, age or test name is this long; such a cell is
# refused on every row it is on, and never kept as a cache key (a few huge distinct cells would hold megabytes)
DELIMITERS = (",", ";", "\t", "|")
TABLE_PANELS = 10  # --format table shows each panel up to this many, a summary beyond
ERRORS_SHOWN = 10  # row errors echoed on stderr; the rest are only in the output

#: texts that mean "not measured" (compared after strip + casefold); --na adds more
NA_MARKERS = frozenset({"", "na", "n/a", "n.a.", "#n/a", "-", "--", ".", "nan", "null", "none", "nvt", "n.v.t."})

#: roles a column can play, with the header names (EN / NL / DE) that give it; matched folded
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "patient": ("patient", "patient id", "patientid", "patient nr", "patientnummer", "patient number", "patnr",
                "pat nr", "pat id", "pid", "mrn", "subject", "subject id", "client id", "ptid", "record id"),
    "sample": ("sample", "sample id", "sample nr", "sample number", "specimen", "specimen id", "monster",
               "monster id", "monsternummer", "monsternr", "order", "order id", "ordernr", "ordernummer",
               "labnr", "labnummer", "lab number", "aanvraag", "aanvraagnummer", "accession", "accession number",
               "barcode", "probe", "probennummer"),
    "date": ("date", "datetime", "date time", "sample date", "sample datetime", "sampling date", "collection date",
             "collection datetime", "collection time", "collected", "collected at", "specimen date", "draw date",
             "datum", "afnamedatum", "afnamedatum tijd", "afname datum", "afnamemoment", "afname", "datum afname",
             "datum tijd", "abnahmedatum", "entnahmedatum"),
    "test": ("test", "test name", "testnaam", "test description", "test omschrijving", "analyte", "analysis",
             "bepaling", "bepaling naam", "bepalingsnaam", "bepaling omschrijving", "omschrijving", "parameter",
             "component", "observation", "lab test", "onderzoek", "analyse", "untersuchung"),
    "code": ("code", "test code", "testcode", "loinc", "loinc code", "bepalingcode", "bepalingscode",
             "observation code", "component code"),
    "value": ("result", "results", "value", "uitslag", "waarde", "resultaat", "uitslag waarde", "result value",
              "numeric result", "observation value", "wert", "ergebnis", "befund"),
    "unit": ("unit", "units", "eenheid", "eenheden", "einheit", "uom", "unit of measure", "result unit",
             "result units"),
    "range": ("reference range", "ref range", "reference", "range", "normal range", "reference interval",
              "referentiewaarde", "referentiewaarden", "referentie", "referentiegebied", "normaalwaarde",
              "normaalwaarden", "refwaarde", "ref", "norm", "normal", "referenzbereich", "referenzwert",
              "normalwert", "normalwerte", "normbereich"),
    "sex": ("sex", "gender", "geslacht", "sexe", "geschlecht"),
    "age": ("age", "leeftijd", "alter", "age years", "leeftijd jaren", "age at sample", "age at collection"),
    "flag": ("flag", "lab flag", "abnormal flag", "vlag", "afwijkend", "afwijking", "markering", "interpretation"),
}
#: roles that --col may set
COL_ROLES = ("patient", "sex", "age", "sample", "date", "test", "value", "unit", "range")
_ROLE_INDEX = {normalise_name(name): role for role, names in ROLE_NAMES.items() for name in names}
_SUFFIXES = sorted(
    ((normalise_name(name), role) for role in ("range", "unit") for name in ROLE_NAMES[role]),
    key=lambda item: -len(item[0]),
)
_BRACKETED_UNIT = re.compile(r"^(?P<name>.*?)\s*[(\[]\s*(?P<unit>[^()\[\]]*?)\s*[)\]]\s*$")
_SEPARATORS = re.compile(r"[\s_,]+")
_UTF8 = {"utf-8", "utf-8-sig"}
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")  # after a CR that is not part of CRLF: a line break to csv
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read a cell as a formula
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")

csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))


def spreadsheet_safe(text: str) -> str:
    """A cell levlab writes, made inert for spreadsheets: `'` before a leading = + - @ tab CR."""
    return "'" + text if text.startswith(FORMULA_START) else text


def excel_safe_row(row: list[str]) -> list[str]:
    """--excel-safe: the row with `'` before each cell a spreadsheet would run as a formula, other
    than plain numbers (-5, +3.5) and a lone "-"; the same list when nothing needs it."""
    if not any(cell.startswith(FORMULA_START) for cell in row):
        return row
    return ["'" + cell if cell.startswith(FORMULA_START) and cell != "-" and not _PLAIN_NUMBER.fullmatch(cell)
            else cell for cell in row]


# --- text in: encoding and dialect -------------------------------------------------------


class DecodedLines:
    """The lines of a byte stream as text; an undecodable byte is one error naming its line.

    UTF-8 (the default) is read with or without a byte-order mark; `bom` tells, once the first
    line is read, whether there was one (the CSV output keeps it). `progress`, if given, is
    called now and then with the number of bytes read so far.
    """

    def __init__(self, binary: Iterable[bytes], encoding: str = "utf-8",
                 progress: Callable[[int], None] | None = None) -> None:
        self.binary = binary
        self.encoding = encoding
        self.codec = check_encoding(encoding)
        if self.codec.startswith(("utf-16", "utf-32")):
            raise UsageError(f"{encoding} is not read line by line; convert the file first: "
                             f"iconv -f {encoding} -t UTF-8 FILE > FILE.utf8.csv")
        self.progress = progress
        self.bom = False
        #: (line as read, with U+FFFD for its bad bytes, message): lines past the first
        #: SAMPLE_LINES that did not decode; CsvRun turns each into an error on its row
        self.undecodable: list[tuple[str, str]] = []

    def __iter__(self) -> Iterator[str]:
        return itertools.chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[list[str]]:
        """The lines, a block at a time: decoded in one go unless a line in the block needs care
        (a byte that does not decode, a CR alone)."""
        codec, progress = self.codec, self.progress
        raw_lines = iter(self.binary)
        first = next(raw_lines, None)
        if first is None:
            return
        if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise UsageError("the file is UTF-16 (Excel's 'Unicode text'); convert it to UTF-8 first: "
                             "iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8.csv")
        done = 0  # bytes read
        if first.startswith(codecs.BOM_UTF8):
            self.bom = True
            if codec in _UTF8:
                first = first[len(codecs.BOM_UTF8):]
        block = [first]
        number = 0  # lines before the block
        while block:
            try:
                lines = list(map(bytes.decode, block, itertools.repeat(codec)))
            except UnicodeDecodeError:
                lines = [self._decode(number + offset, raw) for offset, raw in enumerate(block, start=1)]
            text = "".join(lines)
            if "\r" in text and text.count("\r") != text.count("\r\n"):
                # a CR alone ends a line (old Mac files), as for a file opened with newline=''
                lines = [piece for line in lines for piece in _LONE_CR.split(line) if piece]
            yield lines
            number += len(block)
            if progress is not None:
                done += sum(map(len, block))
                progress(done)
            # blocks grow from one line: a slow pipe's first lines are not held back for long
            block = list(itertools.islice(raw_lines, min(number, DECODE_BLOCK)))

    def _decode(self, number: int, raw: bytes) -> str:
        """One line that may not decode: an error before any output, else kept with U+FFFD."""
        try:
            return raw.decode(self.codec)
        except UnicodeDecodeError as error:
            if number <= SAMPLE_LINES:  # before any output: the file is in another encoding
                raise UsageError(self._explain(number, raw, error)) from None
            line = raw.decode(self.codec, "replace")
            if len(self.undecodable) < UNDECODABLE_KEPT:
                self.undecodable.append((line, self._explain(number, raw, error)))
            return line

    def _explain(self, number: int, raw: bytes, error: UnicodeDecodeError) -> str:
        byte = raw[error.start:error.start + 1].hex()
        hint = "cp1252" if self.codec in _UTF8 else "utf-8"
        return (f"line {number}: byte 0x{byte} cannot be read as {self.encoding}; the file is in another "
                f"encoding: try --encoding {hint} (or latin-1)")


def check_encoding(encoding: str) -> str:
    """The codec's canonical name, or a usage error for an unknown encoding."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(f"unknown encoding {shown(encoding)}; try utf-8, cp1252 or latin-1") from None


@dataclass(frozen=True, slots=True)
class Dialect:
    """How the file is written: delimiter, decimal mark, line ending, and where each came from."""

    delimiter: str
    decimal: str
    lineterminator: str = "\n"
    delimiter_source: str = "sniffed"
    decimal_source: str = "follows the delimiter"

    def describe(self) -> str:
        """`delimiter ';' (sniffed), decimal ',' (follows the delimiter)`."""
        shown_delimiter = "tab" if self.delimiter == "\t" else repr(self.delimiter)
        return (f"delimiter {shown_delimiter} ({self.delimiter_source}), "
                f"decimal mark {self.decimal!r} ({self.decimal_source})")


def sniff_delimiter(sample: Sequence[str]) -> str | None:
    """The delimiter among `, ; tab |` that splits the sample into the most consistent rows."""
    best, best_score = None, (0.0, 0)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(sample, delimiter=delimiter) if row]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(width == widths[0] for width in widths) / len(widths)
        score = (consistent, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def open_dialect(lines: Iterable[str], delimiter: str | None = None, decimal: str | None = None,
                 ) -> tuple[Dialect, Iterator[str]]:
    """Sniff the dialect from the first lines; the lines come back whole, to be read again."""
    iterator = iter(lines)
    sample = list(itertools.islice(iterator, SAMPLE_LINES))
    if not sample:
        raise UsageError("the input is empty: no header row")
    source = "given"
    if delimiter is None:
        delimiter = sniff_delimiter(sample) or ","
        source = "sniffed"
    decimal_source = "given"
    if decimal is None:
        decimal = "," if delimiter == ";" else "."
        decimal_source = "follows the delimiter"
    ending = "\r\n" if sample[0].endswith("\r\n") else "\n"
    return Dialect(delimiter, decimal, ending, source, decimal_source), itertools.chain(sample, iterator)


# --- options -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvOptions:
    """What the command line says; texts are checked here, against the header in `detect_layout`."""

    layout: str | None = None  # "wide", "long" or None to detect
    delimiter: str | None = None
    decimal: str | None = None
    na: tuple[str, ...] = ()
    cols: tuple[str, ...] = ()  # ROLE=HEADER
    maps: tuple[str, ...] = ()  # HEADER=ANALYTE[:UNIT]
    ranges: tuple[str, ...] = ()  # HEADER=RANGE
    group_by: tuple[str, ...] = ()
    strict: bool = False
    table: IntervalTable | None = None
    skip_lines: int = 0  # lines above the header (a title): dropped, and said in the report

    @property
    def na_markers(self) -> frozenset[str]:
        return NA_MARKERS | {text.strip().casefold() for text in self.na}


@dataclass(frozen=True, slots=True)
class MapOption:
    """One --map: a header, the analyte it holds (None: ignore the column), and its unit."""

    header: str
    analyte: Analyte | None
    unit: str | None
    text: str


def parse_map(text: str) -> MapOption:
    """`HEADER=ANALYTE[:UNIT]` or `HEADER=ignore`; an error names the part that is wrong."""
    header, sep, target = text.rpartition("=")
    if not sep or not header.strip():
        raise UsageError(f"--map {shown(text)}: the header is missing; write HEADER=ANALYTE[:UNIT], "
                         "e.g. --map \"Total_Bilirubin=bilirubin:mg/dL\"")
    name, _, unit_text = target.partition(":")
    if name.strip().casefold() in {"ignore", "-", "none"}:
        return MapOption(header.strip(), None, None, text)
    if not name.strip():
        raise UsageError(f"--map {shown(text)}: the analyte is missing after '='; write HEADER=ANALYTE[:UNIT]")
    analyte = find_analyte(name)
    if analyte is None:
        raise UsageError(f"--map {shown(text)}: unknown analyte {shown(name.strip())}; "
                         f"known: {', '.join(analytes())} (or 'ignore')")
    unit = None
    if unit_text.strip():
        try:
            unit = unit_for_analyte(analyte, unit_text).key
        except LevlabError as error:
            raise UsageError(f"--map {shown(text)}: unit {shown(unit_text.strip())}: {error}") from None
    return MapOption(header.strip(), analyte, unit, text)


def parse_col(text: str) -> tuple[str, str]:
    """`ROLE=HEADER` -> (role, header); an error names the part that is wrong."""
    role, sep, header = text.partition("=")
    role = role.strip().casefold()
    if not sep or not header.strip():
        raise UsageError(f"--col {shown(text)}: write ROLE=HEADER, e.g. --col test=Bepaling")
    if role not in COL_ROLES:
        raise UsageError(f"--col {shown(text)}: unknown role {shown(role)}; roles: {', '.join(COL_ROLES)}")
    return role, header.strip()


def parse_range_option(text: str, decimal: str) -> tuple[str, str]:
    """`HEADER=RANGE` (`ALT=0-45`, `LDH=<250`) -> (header, range text), the range checked."""
    header, sep, range_text = text.rpartition("=")
    if not sep or not header.strip():
        raise UsageError(f"--range {shown(text)}: write HEADER=RANGE, e.g. --range \"ALT (U/L)=<45\"")
    try:
        parse_range(range_text, decimal)
    except LevlabError as error:
        raise UsageError(f"--range {shown(text)}: {error}") from None
    return header.strip(), range_text.strip()


def find_header(header: Sequence[str], name: str, what: str) -> int:
    """Index of a header named on the command line: exact first, then folded if that is unique."""
    stripped = [cell.strip() for cell in header]
    if name in stripped:
        return stripped.index(name)
    folded = normalise_name(name)
    matches = [i for i, cell in enumerate(stripped) if normalise_name(cell) == folded and folded]
    if len(matches) == 1:
        return matches[0]
    raise UsageError(f"{what}: no column {shown(name)} in the header (columns: {', '.join(map(repr, stripped))})")


# --- layout detection ------------------------------------------------------------------------


@dataclass
class AnalyteColumn:
    """A wide file's column of one analyte, with where its unit and lab range come from."""

    index: int
    header: str
    analyte: Analyte
    unit: str | None = None  # units.toml key from the header or --map
    unit_source: str = "assumed"  # header, map, unit column, assumed
    unit_index: int | None = None  # a neighbouring unit column
    range_index: int | None = None  # a neighbouring lab-range column
    range_text: str | None = None  # --range
    mapped: bool = False

    @property
    def range_source(self) -> str:
        if self.range_text is not None:
            return f"laboratory's own range (--range {self.header})"
        if self.range_index is not None:
            return "laboratory's own range (export column)"
        return ""


@dataclass
class Layout:
    """What each column of the header means."""

    kind: str  # "wide" or "long"
    header: list[str]
    roles: dict[str, int] = field(default_factory=dict)
    columns: list[AnalyteColumn] = field(default_factory=list)  # wide only
    group: list[int] = field(default_factory=list)  # long: the columns whose values make the panel key
    key_columns: list[int] = field(default_factory=list)  # what a panel's "key" shows
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.header)


def split_header(text: str) -> tuple[Analyte | None, str | None]:
    """The analyte a wide header names and the unit it gives: `ALAT (U/L)`, `bilirubin_umol_L`.

    A bracketed text that is not a unit of the analyte is an error (it would otherwise be
    silently ignored); a unit after a space or underscore is taken only when it is one.
    """
    whole = find_analyte(text)
    if whole is not None:
        return whole, None
    match = _BRACKETED_UNIT.match(text)
    if match and match.group("name"):
        analyte = find_analyte(match.group("name"))
        if analyte is not None:
            inner = match.group("unit")
            if not inner or find_analyte(inner) is analyte:
                return analyte, None
            try:
                return analyte, unit_for_analyte(analyte, inner).key
            except LevlabError as error:
                raise UsageError(
                    f"column {shown(text)}: {error}; give its unit with --map \"{text}={analyte.id}:UNIT\""
                ) from None
    parts = [part for part in _SEPARATORS.split(text.strip()) if part]
    for size in (1, 2, 3):
        if len(parts) <= size:
            break
        analyte = find_analyte(" ".join(parts[:-size]))
        if analyte is None:
            continue
        try:
            unit = lookup_unit("/".join(parts[-size:]) if size > 1 else parts[-1])
        except LevlabError:
            continue
        if unit.key in analyte.units:
            return analyte, unit.key
    return None, None


def companion_of(text: str) -> tuple[str, Analyte] | None:
    """`ALT ref`, `ALAT normaalwaarde`, `ALT unit` -> ("range" | "unit", the analyte)."""
    folded = normalise_name(text)
    for suffix, role in _SUFFIXES:
        if folded != suffix and folded.endswith(suffix):
            analyte = find_analyte(folded[: -len(suffix)])
            if analyte is not None:
                return role, analyte
        if folded != suffix and folded.startswith(suffix):
            analyte = find_analyte(folded[len(suffix):])
            if analyte is not None:
                return role, analyte
    return None


def detect_layout(header: Sequence[str], options: CsvOptions, decimal: str) -> Layout:
    """Give every column a meaning from its header and the options, or a usage error that says why."""
    header = list(header)
    stripped = [cell.strip() for cell in header]
    if len(set(stripped)) != len(stripped):
        seen = Counter(stripped)
        doubles = [name for name, count in seen.items() if count > 1]
        raise UsageError(f"the header repeats {', '.join(map(repr, doubles))}: every column needs its own name "
                         "(if a title stands above the header, skip it with --skip-lines N)")
    taken: dict[int, str] = {}
    roles: dict[str, int] = {}
    for text in options.cols:
        role, name = parse_col(text)
        index = find_header(header, name, f"--col {text}")
        roles[role] = index
        taken[index] = role
    maps = [parse_map(text) for text in options.maps]
    map_at: dict[int, MapOption] = {}
    for option in maps:
        index = find_header(header, option.header, f"--map {option.text}")
        if index in taken:
            raise UsageError(f"--map {option.text}: column {shown(stripped[index])} is already the {taken[index]} column")
        map_at[index] = option
    for index, text in enumerate(stripped):
        if index in taken or index in map_at:
            continue
        role = _ROLE_INDEX.get(normalise_name(text))
        if role is not None and role not in roles:
            roles[role] = index
            taken[index] = role
    kind = options.layout
    if kind is None:
        kind = "long" if ("test" in roles or "code" in roles) and "value" in roles and not maps else "wide"
    layout = Layout(kind, header, roles)
    if kind == "long":
        _detect_long(layout, stripped, taken, options, map_at)
    else:
        _detect_wide(layout, stripped, taken, options, map_at, decimal)
    return layout


def _detect_long(layout: Layout, stripped: list[str], taken: dict[int, str], options: CsvOptions,
                 map_at: dict[int, MapOption]) -> None:
    roles = layout.roles
    if map_at:
        raise UsageError("--map names analyte columns of a wide file; in a long file the test column names "
                         "the analyte (use --col test=HEADER, --col unit=HEADER)")
    if options.ranges:
        raise UsageError("--range is for wide files; a long file gives each row's range in its range column "
                         "(--col range=HEADER)")
    if "test" not in roles and "code" in roles:
        roles["test"] = roles.pop("code")
    missing = [role for role in ("test", "value") if role not in roles]
    if missing:
        raise UsageError(
            f"long layout needs a test column and a result column; none found for {' and '.join(missing)} "
            f"(columns: {', '.join(map(repr, stripped))}); name them with --col test=HEADER --col value=HEADER"
        )
    if options.group_by:
        layout.group = [find_header(layout.header, name, f"--group-by {name}") for name in options.group_by]
        how = "--group-by"
    else:
        layout.group = [roles[role] for role in ("patient", "sample") if role in roles]
        if "sample" not in roles and "date" in roles:
            layout.group.append(roles["date"])
        how = "patient and sample"
    layout.key_columns = list(layout.group) + ([roles["date"]] if "date" in roles and roles["date"] not in layout.group else [])
    if layout.group:
        names = " + ".join(repr(stripped[i]) for i in layout.group)
        layout.notes.append(
            f"panels: consecutive rows with the same {names} ({how}); a key that comes back after its panel "
            "was closed starts a new panel (sort unsorted files first)"
        )
    else:
        layout.notes.append("panels: no patient or sample column, so the whole file is one panel "
                            "(name the key with --group-by COL)")
    if "unit" not in roles:
        layout.notes.append("no unit column: results without a unit in the value are read in the canonical "
                            "unit where it may be assumed (enzymes: U/L, said per result), and are errors for "
                            "bilirubin, albumin, globulin, haemoglobin and glucose")
    layout.ignored = [stripped[i] for i in range(len(stripped)) if i not in taken and i not in roles.values()]


def _detect_wide(layout: Layout, stripped: list[str], taken: dict[int, str], options: CsvOptions,
                 map_at: dict[int, MapOption], decimal: str) -> None:
    roles = layout.roles
    explicit = {parse_col(text)[0] for text in options.cols}
    # In a wide file a bare unit or range column belongs to the analyte column before it, and
    # a column that looked like a test or result column of a long file is just another column.
    for role in ("unit", "range", "test", "value", "code"):
        if role in roles and role not in explicit:
            taken.pop(roles.pop(role))
    columns: dict[int, AnalyteColumn] = {}
    companions: list[tuple[int, str, Analyte | None]] = []
    for index, text in enumerate(stripped):
        if index in taken:
            continue
        option = map_at.get(index)
        if option is not None:
            if option.analyte is not None:
                columns[index] = AnalyteColumn(index, text, option.analyte, option.unit,
                                               "map" if option.unit else "assumed", mapped=True)
            continue
        analyte, unit = split_header(text)
        if analyte is not None:
            columns[index] = AnalyteColumn(index, text, analyte, unit, "header" if unit else "assumed")
            continue
        companion = companion_of(text)
        generic = _ROLE_INDEX.get(normalise_name(text))
        if companion is not None:
            companions.append((index, companion[0], companion[1]))
        elif generic in ("unit", "range"):
            companions.append((index, generic, None))
    _settle_duplicates(columns, layout.notes)
    used: set[int] = set(columns)
    for index, role, analyte in companions:
        owner = _companion_owner(columns, index, analyte)
        if owner is None:
            continue
        if role == "unit" and owner.unit_index is None and owner.unit is None:
            owner.unit_index = index
        elif role == "range" and owner.range_index is None:
            owner.range_index = index
        else:
            continue
        used.add(index)
    for text in options.ranges:
        name, range_text = parse_range_option(text, decimal)
        index = find_header(layout.header, name, f"--range {text}")
        if index not in columns:
            raise UsageError(f"--range {shown(text)}: column {shown(stripped[index])} is not an analyte column")
        columns[index].range_text = range_text
    if not columns:
        raise UsageError(
            "no column is recognised as an analyte (wide layout) or as a test and result pair (long layout); "
            f"columns: {', '.join(map(repr, stripped))}. Map them with --map HEADER=ANALYTE[:UNIT] "
            "or --col test=HEADER --col value=HEADER; if a title stands above the header, skip it with --skip-lines N"
        )
    unitless = []
    for column in columns.values():
        if column.unit is None and column.unit_index is not None:
            column.unit_source = "unit column"
        elif column.unit is None and column.analyte.unit_required:
            first, second = column.analyte.units[:2]
            unitless.append(
                f"column {shown(column.header)} ({column.analyte.id}) has no unit in its header, in a unit column "
                f"or in --map, and its values could be {first} or {second}; say which with "
                f"--map \"{column.header}={column.analyte.id}:{first}\" (or :{second})"
            )
    if unitless:  # every such column at once, so that one run shows all the --map options to write
        raise UsageError("; ".join(unitless))
    layout.columns = [columns[index] for index in sorted(columns)]
    layout.key_columns = [roles[role] for role in ("patient", "sample", "date") if role in roles]
    layout.ignored = [stripped[i] for i in range(len(stripped)) if i not in used and i not in taken]
    if options.group_by:
        layout.notes.append("--group-by is ignored in a wide file: each row is a panel")


def _settle_duplicates(columns: dict[int, AnalyteColumn], notes: list[str]) -> None:
    """Two columns of one analyte: a --map decides which counts, otherwise it is a usage error."""
    by_analyte: dict[str, list[AnalyteColumn]] = {}
    for column in columns.values():
        by_analyte.setdefault(column.analyte.id, []).append(column)
    for analyte_id, group in by_analyte.items():
        if len(group) == 1:
            continue
        mapped = [column for column in group if column.mapped]
        if len(mapped) == 1:
            for column in group:
                if column is not mapped[0]:
                    del columns[column.index]
                    notes.append(f"{column.header!r} not interpreted: --map gives {analyte_id} to {mapped[0].header!r}")
            continue
        names = ", ".join(repr(column.header) for column in group)
        first = group[0]
        raise UsageError(
            f"columns {names} are all {analyte_id}: say which one counts, e.g. "
            f"--map \"{first.header}={analyte_id}\" (the others are then ignored, and reported so)"
        )


def _companion_owner(columns: dict[int, AnalyteColumn], index: int, analyte: Analyte | None) -> AnalyteColumn | None:
    if analyte is not None:
        return next((column for column in columns.values() if column.analyte.id == analyte.id), None)
    # a bare `unit` / `ref` column belongs to the nearest analyte column on its left (at most two steps)
    for step in (1, 2):
        column = columns.get(index - step)
        if column is not None:
            return column
    return None


def detection_report(layout: Layout, dialect: Dialect, encoding: str) -> list[str]:
    """The short account, before the data, of what levlab made of the file."""
    lines = [f"levlab csv: {layout.kind} layout; {dialect.describe()}; encoding {encoding}"]
    for role, index in layout.roles.items():
        lines.append(f"  {layout.header[index].strip()!r} -> {role}")
    for column in layout.columns:
        if column.unit_source == "assumed":
            unit = f"{column.analyte.canonical_unit} (assumed: no unit in the header, a unit column or --map)"
        elif column.unit_source == "unit column":
            unit = f"unit from column {layout.header[column.unit_index].strip()!r}"  # type: ignore[index]
        else:
            unit = f"{column.unit} (from the {column.unit_source})"
        lab = ""
        if column.range_text is not None:
            lab = f"; lab range {column.range_text!r} (--range) replaces the defaults"
        elif column.range_index is not None:
            lab = f"; lab range from column {layout.header[column.range_index].strip()!r} replaces the defaults"
        lines.append(f"  {column.header!r} -> {column.analyte.id}, {unit}{lab}")
    if layout.kind == "long" and "range" in layout.roles:
        lines.append(f"  lab ranges from {layout.header[layout.roles['range']].strip()!r} replace the defaults where given")
    if layout.ignored:
        lines.append(f"  ignored (passed through): {', '.join(map(repr, layout.ignored))}")
    lines.extend(f"  {note}" for note in layout.notes)
    if layout.kind == "wide":
        present = {column.analyte.id for column in layout.columns}
        lines.extend(f"  no {_short(a)} column: normal-panel can never be met" for a in _normal_panel_ids() if a not in present)
    return lines


def _normal_panel_ids() -> tuple[str, ...]:
    for rule in rules():
        if rule.when["type"] == "panel_in_range":
            return tuple(rule.when["analytes"])
    return ()


def _short(analyte_id: str) -> str:
    return analyte_id.upper() if len(analyte_id) <= 3 else analyte_id


# --- the cached path through the core -----------------------------------------------------------


class _NotMeasured:
    """A cell that holds a missing-value marker."""

    def __repr__(self) -> str:
        return "NOT_MEASURED"


NOT_MEASURED: Any = _NotMeasured()


class Reading:
    """One distinct cell read by `read_measurement`: the measurement, or the error it raised."""

    __slots__ = ("analyte", "error", "judged", "measurement", "patient_free")

    def __init__(self, analyte: Analyte, measurement: Any, error: str | None) -> None:
        self.analyte = analyte
        self.measurement = measurement
        self.error = error
        # unreadable, or judged by the lab's own range: the patient does not enter the judgement
        self.patient_free = measurement is None or measurement.lab_interval is not None
        self.judged: dict[int, Judged] = {}  # assessment context token (0: patient-free) -> judged


class Judged:
    """A reading judged for one assessment context; made once, so panels are keyed by identity."""

    __slots__ = ("error", "flag", "fragment", "lead_key", "result", "rival_key", "signature")

    def __init__(self, result: AnalyteResult | None, error: str | None = None) -> None:
        self.result = result  # None: the stand-in for a cell not measured
        self.error = error  # the reading's error, for the row's levlab_error
        self.flag = None if result is None else result.flag
        self.lead_key, self.rival_key = dominance_keys(result)  # for rules.LEAD_OVER_RIVALS
        self.fragment: str | None = None  # its ANALYTE_FIELDS as CSV text, made on first use
        self.signature: int | None = None  # RuleBook's number for what its cached rules read of it


class Decision:
    """What RuleBook decided for one distinct row signature."""

    __slots__ = ("cell_errors", "keyed", "status", "text", "texts")

    def __init__(self, keyed: tuple[str, ...], status: str, text: str, cell_errors: bool) -> None:
        self.keyed = keyed  # keyed rule ids met
        self.status = status  # normal-panel status
        self.text = text  # PANEL_COLUMNS as sink text when no value-reading rule fires
        self.texts: dict[tuple[str, ...], str] = {}  # the same when these value-reading rules fire
        self.cell_errors = cell_errors  # whether a cell of such a row carries an error


_TEXT = operator.attrgetter("text")
_CELL_ERRORS = operator.attrgetter("cell_errors")


_NO_RIVAL = float("-inf")  # the rival key when there is none


class FreeRule(NamedTuple):
    """A rule RuleBook decides on every row, from exact values."""

    rule: Rule
    positions: tuple[int, ...]  # its rivals (lead given), else its subjects: one must be measured
    lead: int | None = None  # the lead of a rules.LEAD_OVER_RIVALS condition
    gate: int | None = None  # the analyte whose flag must be one of `flags` (rules.REQUIRED_FLAGS)
    flags: frozenset[str] = frozenset()


class ChunkColumn(NamedTuple):
    """One analyte column of a chunk, an entry per row: what each judged cell carries, taken
    apart in one `zip` (cheaper than reading each attribute of every cell)."""

    fragments: tuple[str, ...]
    signatures: tuple[int | None, ...]
    lead_keys: tuple[float, ...]
    rival_keys: tuple[float, ...]
    judged: tuple[Judged, ...]  # the stand-in with result None where not measured


def _cell(judged: Judged) -> tuple[str | None, int | None, float, float, Judged]:
    """A judged cell as a ChunkColumn entry."""
    return judged.fragment, judged.signature, judged.lead_key, judged.rival_key, judged


def _row_cells(columns: list[ChunkColumn], row: int) -> list[Judged | None]:
    """One row's cells from a chunk's columns, None where not measured."""
    return [None if column.judged[row].result is None else column.judged[row] for column in columns]
_COLUMNS = operator.attrgetter("columns")


class RuleBook:
    """Rule ids and normal-panel status for CSV columns, decided per row without messages.

    The same decisions as `interpret_results`, cached on what each rule reads. Each judged cell
    gets a signature once: a number for its flag, whether it has an error, and its
    rules.PROJECTIONS. Rules of a flag condition type, normal-panel and rules with a projection
    depend on a row only through the tuple of its cells' signatures, so they are decided together
    once per distinct tuple (a Decision). The rest (ratios, dominance) read exact values and are
    decided afresh on each row, by comparing keys (rules.LEAD_OVER_RIVALS) where they can:
    a cache keyed on values would only grow. Serial rules never fire in a stream.
    """

    def __init__(self, analyte_ids: Sequence[str], new_cache: Callable[[], dict[Any, Any]]) -> None:
        position = {analyte_id: index for index, analyte_id in enumerate(analyte_ids)}
        self.analyte_ids = tuple(analyte_ids)
        self.keyed: list[Rule] = []  # decided once per distinct row signature
        self.free: list[FreeRule] = []  # rules that read exact values, decided on every row
        self.normal_rule: Rule | None = None
        self.projections: list[list[tuple[Rule, Any]]] = [[] for _ in self.analyte_ids]
        for rule in rules():
            kind = rule.when["type"]
            if kind in SERIAL_EVALUATORS:
                continue
            if kind == "panel_in_range":
                self.normal_rule = rule
            elif not any(a in position for a in rule_subjects(rule)):
                continue  # none of the analytes it is about is in the file: it can never be met
            elif kind in FLAG_CONDITIONS:
                self.keyed.append(rule)
            elif kind in PROJECTIONS:
                self.keyed.append(rule)
                for analyte_id in rule_inputs(rule):
                    if analyte_id in position:
                        self.projections[position[analyte_id]].append((rule, PROJECTIONS[kind]))
            elif kind in LEAD_OVER_RIVALS:
                lead, rivals = LEAD_OVER_RIVALS[kind](rule.when)
                self.free.append(FreeRule(rule, tuple(position[a] for a in rivals if a in position), position[lead]))
            else:  # gated by REQUIRED_FLAGS, or else by its subjects: with none measured it cannot be met
                gate = REQUIRED_FLAGS[kind](rule.when) if kind in REQUIRED_FLAGS else None
                if gate is None:
                    self.free.append(FreeRule(rule, tuple(position[a] for a in rule_subjects(rule) if a in position)))
                elif gate[0] in position:
                    self.free.append(FreeRule(rule, (), gate=position[gate[0]], flags=gate[1]))
        self.order = {rule.id: index for index, rule in enumerate(rules())}
        self._numbers = itertools.count(1)  # signature numbers, never reused (caches are cleared)
        self.numbers = new_cache()  # cell signature -> its number
        self.by_signature = new_cache()  # row signature (numbers) -> Decision
        self.texts = new_cache()  # (keyed ids, free ids, status) -> levlab's panel fields as output text

    def _results(self, judged: Iterable[Judged | None]) -> dict[str, AnalyteResult]:
        return {analyte_id: j.result for analyte_id, j in zip(self.analyte_ids, judged, strict=True)
                if j is not None and j.result is not None}

    def sign(self, position: int, judged: Judged) -> int:
        """What the keyed rules read of one cell, as a number: its flag, whether it has an
        error, and its projections (made once per cell)."""
        analyte_id = self.analyte_ids[position]
        signature = (judged.flag, judged.error is None, *(project(rule.when, analyte_id, judged.result)
                                                          for rule, project in self.projections[position]))
        number = self.numbers.get(signature)
        if number is None:
            number = self.numbers[signature] = next(self._numbers)
        judged.signature = number
        return number

    def signatures(self, judged: Sequence[Judged | None]) -> tuple[Any, ...]:
        """The row's signature: each cell's (None where not measured)."""
        return tuple([None if j is None else self.sign(i, j) if j.signature is None else j.signature
                      for i, j in enumerate(judged)])

    def _text(self, keyed: tuple[str, ...], free: tuple[str, ...], status: str, sink: Sink) -> str:
        key = (keyed, free, status)
        text = self.texts.get(key)
        if text is None:
            ids = " ".join(sorted((*keyed, *free), key=self.order.__getitem__))
            text = self.texts[key] = sink.fragment([ids, status])
        return text

    def _decision(self, judged: Sequence[Judged | None], sink: Sink) -> Decision:
        results = self._results(judged)
        status = "" if self.normal_rule is None else normal_panel_status(self.normal_rule, results).status
        keyed = tuple(r.id for r in self.keyed if decide(r, results))
        return Decision(keyed, status, self._text(keyed, (), status, sink),
                        any(j is not None and j.error is not None for j in judged))

    def _holds(self, free: FreeRule, judged: Sequence[Judged | None]) -> bool:
        """Whether one value-reading rule is met by one row's cells (None: not measured)."""
        if free.lead is not None:  # rules.LEAD_OVER_RIVALS
            lead = judged[free.lead]
            return lead is not None and lead.lead_key > max(
                (judged[p].rival_key for p in free.positions if judged[p] is not None), default=_NO_RIVAL)
        if free.gate is not None and (judged[free.gate] is None or judged[free.gate].flag not in free.flags):
            return False  # cannot be met on this row
        if free.positions and all(judged[p] is None or judged[p].result is None for p in free.positions):
            return False  # none of its subjects measured
        return bool(decide(free.rule, self._results(judged)))

    def panel_text(self, judged: Sequence[Judged | None], signatures: tuple[Any, ...], sink: Sink) -> str:
        """One panel's PANEL_COLUMNS (rule ids in rules.toml order, normal-panel) as sink text."""
        decision = self.by_signature.get(signatures)
        if decision is None:
            decision = self.by_signature[signatures] = self._decision(judged, sink)
        fired = tuple(free.rule.id for free in self.free if self._holds(free, judged))
        return self._text(decision.keyed, fired, decision.status, sink) if fired else decision.text

    def panel_texts(self, columns: list[ChunkColumn], count: int, sink: Sink) -> tuple[list[str], list[Decision]]:
        """PANEL_COLUMNS text of each of `count` rows, and its Decision, from the rows' cells given
        column by column."""
        keys = list(zip(*[column.signatures for column in columns], strict=True))
        decisions = list(map(self.by_signature.get, keys))
        if None in decisions:
            for row, decision in enumerate(decisions):
                if decision is None:
                    decision = self.by_signature.get(keys[row])
                    if decision is None:
                        decision = self.by_signature[keys[row]] = self._decision(_row_cells(columns, row), sink)
                    decisions[row] = decision
        texts = list(map(_TEXT, decisions))
        if not self.free:
            return texts, decisions
        fired: dict[int, tuple[str, ...]] = {}
        for free in self.free:
            if free.lead is not None:  # the lead's key against the largest of its rivals', column by column
                rivals = [columns[p].rival_keys for p in free.positions]
                highest = map(max, *rivals) if len(rivals) > 1 else rivals[0] if rivals else itertools.repeat(_NO_RIVAL)
                rows: Iterable[int] = itertools.compress(range(count), map(operator.gt, columns[free.lead].lead_keys, highest))
            else:
                rows = [row for row in range(count) if self._holds(free, _row_cells(columns, row))]
            for row in rows:
                fired[row] = (*fired.get(row, ()), free.rule.id)
        for row, ids in fired.items():
            decision = decisions[row]
            text = decision.texts.get(ids)
            if text is None:
                text = decision.texts[ids] = self._text(decision.keyed, ids, decision.status, sink)
            texts[row] = text
        return texts, decisions


class PatientEntry:
    """A patient read from sex/age cells, with the errors of those cells."""

    __slots__ = ("columns", "contexts", "errors", "patient")

    def __init__(self, patient: Patient, errors: list[tuple[str, str]]) -> None:
        self.patient = patient
        self.errors = errors
        self.contexts: dict[str, int] = {}  # analyte id -> assessment context token
        self.columns: tuple[int, ...] | None = None  # wide: the context of each analyte column


class Evaluation:
    """A panel interpreted once per distinct tuple of judged results (JSONL and table output)."""

    __slots__ = ("panel",)

    def __init__(self, panel: PanelResult) -> None:
        self.panel = panel


class Judge:
    """The core behind caches. See the module text for what each cache is keyed by."""

    def __init__(self, table: IntervalTable, decimal: str, na_markers: frozenset[str], limit: int | None = None):
        self.table = table
        self.decimal = decimal
        self.na = na_markers
        self.limit = CACHE_LIMIT if limit is None else limit
        self.clears = 0  # how often the caches were cleared
        self.assumed: set[str] = set()  # analytes read with an assumed (canonical) unit
        self._tokens = itertools.count(1)  # context tokens, never reused (0: patient-free)
        self._entries = 0
        self._caches: list[dict[Any, Any]] = []
        self.readings = self.new_cache()  # (analyte id, text, unit, range) -> Reading | NOT_MEASURED
        self.patients = self.new_cache()  # (sex text, age text) -> PatientEntry
        self.contexts = self.new_cache()  # assessment context -> token
        self.candidates = self.new_cache()  # token -> the (certain, possible) intervals of its context
        self.panels = self.new_cache()  # tuple of Judged -> Evaluation
        self.names = self.new_cache()  # test name -> Analyte | None

    def new_cache(self) -> dict[Any, Any]:
        """A dict cleared together with all the others."""
        cache: dict[Any, Any] = {}
        self._caches.append(cache)
        return cache

    def grow(self) -> None:
        self._entries += 1
        if self._entries > self.limit:
            for cache in self._caches:
                cache.clear()
            self._entries = 0
            self.clears += 1

    def read(self, analyte: Analyte, text: str, unit: str | None, lab_range: str | None, range_source: str) -> Any:
        """Read a cell (uncached): NOT_MEASURED for a missing-value marker, else a Reading."""
        self.grow()
        if text.strip().casefold() in self.na:
            return NOT_MEASURED
        if lab_range is not None and lab_range.strip().casefold() in self.na:
            lab_range = None
        if unit is not None and unit.strip().casefold() in self.na:
            unit = None
        try:
            measurement = read_measurement(analyte, text, unit_text=unit, decimal=self.decimal,
                                           lab_range=lab_range, lab_range_source=range_source)
        except LevlabError as error:
            return Reading(analyte, None, str(error))
        if measurement.unit_assumed:
            self.assumed.add(analyte.id)
        return Reading(analyte, measurement, None)

    def reading(self, analyte: Analyte, text: str, unit: str | None, lab_range: str | None, range_source: str) -> Any:
        """`read`, cached per (analyte, text, unit, lab range)."""
        key = (analyte.id, text, unit, lab_range)
        found = self.readings.get(key)
        if found is None:
            found = self.read(analyte, text, unit, lab_range, range_source)
            if len(text) + len(unit or "") + len(lab_range or "") <= LONG_CELL:
                self.readings[key] = found
        return found

    def patient(self, sex_text: str, age_text: str) -> PatientEntry:
        """The patient of a row's sex and age cells, cached per pair of texts."""
        key = (sex_text, age_text)
        entry = self.patients.get(key)
        if entry is None:
            self.grow()
            errors: list[tuple[str, str]] = []
            sex = age = None
            if sex_text.strip().casefold() not in self.na:
                try:
                    sex = parse_sex(sex_text)
                except LevlabError as error:
                    errors.append(("sex", str(error)))
            if age_text.strip().casefold() not in self.na:
                try:
                    age = parse_number(age_text, self.decimal)
                    if age > 130:
                        raise UsageError(f"age {shown(age_text.strip())} is above 130 years")
                except LevlabError as error:
                    age = None
                    errors.append(("age", f"age {shown(age_text.strip())}: {error}"))
            entry = PatientEntry(Patient(sex, age), errors)
            if len(sex_text) + len(age_text) <= LONG_CELL:
                self.patients[key] = entry
        return entry

    def context(self, analyte_id: str, entry: PatientEntry) -> int:
        """Token of what `assess` looks at of this patient for this analyte."""
        token = entry.contexts.get(analyte_id)
        if token is None:
            context = assess_context(analyte_id, entry.patient, self.table)
            token = self.contexts.get((analyte_id, context))
            if token is None:
                self.grow()
                token = self.contexts[(analyte_id, context)] = next(self._tokens)
                if isinstance(context, tuple):  # (certain, possible, ...): the intervals `assess` will consider
                    self.candidates[token] = context[:2]
            entry.contexts[analyte_id] = token
        return token

    def judge(self, reading: Reading, entry: PatientEntry, context: int | None = None) -> Judged:
        """The reading judged for this patient, cached per assessment context."""
        if context is None:
            context = 0 if reading.patient_free else self.context(reading.analyte.id, entry)
        judged = reading.judged.get(context)
        if judged is None:
            self.grow()
            if reading.measurement is None:
                result = unusable(reading.analyte.id, reading.error or "unreadable")
            else:
                result = assess(reading.measurement, entry.patient, self.table, self.candidates.get(context))
            judged = reading.judged[context] = Judged(result, reading.error)
        return judged

    def evaluate(self, judged: tuple[Judged, ...], patient: Patient) -> Evaluation:
        """The panel of these judged results, interpreted once per distinct tuple.

        A Judged is made once per (reading, context) and never copied, so the tuple itself is
        the key (identity hash); the cache holds the tuple, so no id can be reused while it
        is a key. The judged results already hold all the patient decides, so the panel carries the
        patient of its first occurrence and `panel_for` relabels it for the others.
        """
        evaluation = self.panels.get(judged)
        if evaluation is None:
            if len(self.panels) >= PANEL_CACHE_LIMIT:
                self.panels.clear()
            evaluation = self.panels[judged] = Evaluation(interpret_results([j.result for j in judged], patient))
        return evaluation


def panel_for(evaluation: Evaluation, patient: Patient) -> PanelResult:
    """The evaluation's panel labelled with this patient."""
    panel = evaluation.panel
    return panel if panel.patient == patient else replace(panel, patient=patient)


# --- output fields ---------------------------------------------------------------------------


def _value_field(result: AnalyteResult, decimal: str) -> str:
    m = result.measurement
    return "" if m is None else (m.comparator or "") + format_number(m.value, decimal)


def _unit_field(result: AnalyteResult, decimal: str) -> str:
    return "" if result.measurement is None else analytes()[result.analyte].canonical_unit


def _flag_field(result: AnalyteResult, decimal: str) -> str:
    return result.flag


AnalyteField = Callable[[AnalyteResult, str], str]

def _ctcae_field(result: AnalyteResult, decimal: str) -> str:
    # CTCAE v5.0 grade 0-4 against ULN (a streamed panel has no baseline), "?" undecided, "" no term
    has_term, value = grade_value(result)
    return "" if not has_term else "?" if value is None else str(value)


#: columns appended per analyte: wide files get `levlab_<id>_<name>` per analyte column,
#: long files `levlab_<name>` on each row. Add a column by appending (name, function).
ANALYTE_FIELDS: list[tuple[str, AnalyteField]] = [
    ("value", _value_field), ("unit", _unit_field), ("flag", _flag_field), ("ctcae", _ctcae_field),
]
#: columns appended per panel, on each of its rows: the rule ids met (space-separated, in
#: rules.toml order) and the normal-panel status, as RuleBook.panel_text decides them
PANEL_COLUMNS = ("flags", "normal_panel")


def output_header(layout: Layout) -> list[str]:
    """The header row written: the input's, then levlab's columns."""
    added = []
    if layout.kind == "wide":
        for column in layout.columns:
            added.extend(f"levlab_{column.analyte.id}_{name}" for name, _ in ANALYTE_FIELDS)
    else:
        added.append("levlab_analyte")
        added.extend(f"levlab_{name}" for name, _ in ANALYTE_FIELDS)
    added.extend(f"levlab_{name}" for name in PANEL_COLUMNS)
    added.append("levlab_error")
    return layout.header + added


# --- panels out ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """A cell that could not be used: 1-based data row, its column header, what was wrong."""

    row: int
    column: str
    message: str


@dataclass
class PanelOut:
    """One interpreted panel with where it came from."""

    rows: list[int]
    key: dict[str, str]
    panel: PanelResult
    errors: list[RowError]


@dataclass
class Summary:
    """Counts for the closing line, and what the run has to say at the end."""

    rows: int = 0
    panels: int = 0
    rows_with_errors: int = 0
    reopened: int = 0  # long: panel keys that came back after their panel was closed
    seen: set[str] = field(default_factory=set)  # long: analytes met

    def line(self) -> str:
        return (f"levlab csv: {self.rows} rows, {self.panels} panels, "
                f"{self.rows_with_errors} rows with errors")


class StrictStop(LevlabError):
    """--strict: the first row with an error ends the run."""

    exit_status = ExitStatus.ROW_ERRORS


class Sink:
    """Where results go: `rows` gets output rows (CSV), `panel` gets panels (JSONL, table)."""

    wants_rows = False
    wants_panels = False

    def start(self, header: list[str]) -> None:  # pragma: no cover - interface
        pass

    def rows(self, rows: Iterable[tuple[list[str], str | None, str]]) -> None:  # pragma: no cover - interface
        """Write (fields, original record text or None when the fields were padded, appended text)."""

    def chunk(self, rows: list[list[str]], originals: list[str | None], appended: list[list[str]]) -> None:  # pragma: no cover - interface
        """Rows with levlab's fields appended (CSV sinks)."""

    def fragment(self, fields: list[str]) -> str:  # pragma: no cover - interface
        """Fields as output text, without a leading delimiter or line ending."""
        return ""

    def panel(self, out: PanelOut) -> None:  # pragma: no cover - interface
        pass


class SampleSink(Sink):
    """Each panel as a serial.Sample of its patient and sample date (for `levlab trend`)."""

    wants_panels = True

    def __init__(self, layout: Layout, patients: frozenset[str] | set[str] = frozenset()) -> None:
        roles, header = layout.roles, [cell.strip() for cell in layout.header]
        if "date" not in roles:
            raise UsageError("levlab trend needs each sample's date, and no date column was found (a header such as "
                             "'date', 'collection date' or 'afnamedatum'); name it with --col date=HEADER")
        self.patient_name = header[roles["patient"]] if "patient" in roles else None
        self.date_name = header[roles["date"]]
        self.wanted = patients
        self.samples: list[Sample] = []
        from levlab.serial import Sample, parse_datetime  # trend only

        self.make_sample, self.parse_datetime = Sample, parse_datetime

    def panel(self, out: PanelOut) -> None:
        key = {name.strip(): value for name, value in out.key.items()}
        patient = key.get(self.patient_name, "").strip() if self.patient_name else ""
        if self.wanted and patient not in self.wanted:
            return
        date_text = key.get(self.date_name, "").strip()
        self.samples.append(self.make_sample(patient, date_text or "(no date)", self.parse_datetime(date_text), out.panel))


class CsvSink(Sink):
    """Every input row, fields unchanged and in order, followed by levlab's columns.

    Every field goes through csv.writer. The appended fields are the same on every row with
    the same panel result, so they are formatted once per distinct panel (`tail`) and reused
    as text after the row's own fields.
    """

    wants_rows = True

    def __init__(self, stream: IO[str], dialect: Dialect, *, excel_safe: bool = False) -> None:
        self.stream = stream
        self.excel_safe = excel_safe  # input cells a spreadsheet would run get a leading `'`
        self.delimiter = dialect.delimiter
        self.ending = dialect.lineterminator
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=dialect.delimiter, lineterminator=dialect.lineterminator)
        self._quoted = ('"', "\r", "\n")  # a field holding one of these, or the delimiter, is quoted

    def _text(self, fields: list[str]) -> str:
        """Fields as one CSV record, without its line ending."""
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(fields)
        return self._buffer.getvalue()[: -len(self.ending)]

    def start(self, header: list[str]) -> None:
        self.stream.write(self._text(excel_safe_row(header) if self.excel_safe else header) + self.ending)

    def fragment(self, fields: list[str]) -> str:
        text = self.delimiter.join(fields)
        if (len(fields) == 1 and not text) or text.count(self.delimiter) >= len(fields) or any(
                special in text for special in self._quoted):
            return self._text(fields)  # a field to quote (or a lone empty one): csv.writer decides how
        return text

    def rows(self, rows: Iterable[tuple[list[str], str | None, str]]) -> None:
        text, ending = self._text, self.ending
        if self.excel_safe:  # a changed row is written from its fields, not its original text
            rows = [(row, original, tail) if (safe := excel_safe_row(row)) is row else (safe, None, tail)
                    for row, original, tail in rows]
        self.stream.write("".join([(text(row) if original is None else original) + tail + ending
                                   for row, original, tail in rows]))


    def chunk(self, rows: list[list[str]], originals: list[str | None], appended: list[list[str]]) -> None:
        """Rows with levlab's fields appended, those given column by column as CSV text."""
        if self.excel_safe or None in originals:
            delimiter = self.delimiter
            self.rows([(row, original, delimiter + delimiter.join(parts))
                       for row, original, parts in zip(rows, originals, zip(*appended, strict=True), strict=True)])
        elif not any(appended[-1]):  # the last field (errors) empty on every row: it ends each line
            ending = self.delimiter + self.ending
            self.stream.write(ending.join(map(self.delimiter.join, zip(originals, *appended[:-1], strict=True))) + ending)
        else:  # each original text and its appended fields joined by the delimiter, in one go
            self.stream.write(self.ending.join(map(self.delimiter.join, zip(originals, *appended, strict=True))) + self.ending)


class JsonlSink(Sink):
    """One JSON object per panel: `interpret --format json`'s fields plus rows, key and errors."""

    wants_panels = True

    def __init__(self, stream: IO[str]) -> None:
        import json

        from levlab.render import panel_json

        self.stream = stream
        self.panel_json = panel_json
        self.dumps = json.dumps

    def panel(self, out: PanelOut) -> None:
        document = self.panel_json(out.panel)
        document["rows"] = out.rows
        document["key"] = out.key
        document["errors"] = [{"row": e.row, "column": e.column, "message": e.message} for e in out.errors]
        self.stream.write(self.dumps(document, ensure_ascii=False) + "\n")


class CollectSink(Sink):
    """For --format table: every panel while the file is small, then a summary in constant memory."""

    wants_panels = True

    def __init__(self, keep: int = TABLE_PANELS, findings: int = 20) -> None:
        self.keep = keep
        self.findings_kept = findings
        self.panels: list[PanelOut] = []
        self.total = 0
        self.statuses: Counter[str] = Counter()
        self.rule_counts: Counter[str] = Counter()
        self.findings: list[PanelOut] = []  # panels with a rule met or not-met, first ones
        self.more_findings = 0
        self.with_errors = 0

    @property
    def small(self) -> bool:
        return self.total <= self.keep

    def panel(self, out: PanelOut) -> None:
        self.total += 1
        self.statuses[out.panel.normal_panel.status] += 1
        self.rule_counts.update(hit.rule_id for hit in out.panel.hits)
        self.with_errors += bool(out.errors)
        if self.total <= self.keep:
            self.panels.append(out)
        if out.panel.hits or out.panel.normal_panel.status == "not-met":
            if len(self.findings) < self.findings_kept:
                self.findings.append(out)
            else:
                self.more_findings += 1
        if self.total > self.keep:
            self.panels.clear()


# --- the run -----------------------------------------------------------------------------------


class LineTap:
    """The lines the csv reader takes, kept until the record they make is written.

    A row whose fields need no padding is written back as its original text, byte for byte
    (quoting included), instead of being serialised again.
    """

    __slots__ = ("lines", "taken")

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = iter(lines)
        self.taken: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.taken.append(line)
        return line

    def record(self) -> str:
        """The text of the record just read, without its line ending; forgets it."""
        text = self.taken[0] if len(self.taken) == 1 else "".join(self.taken)
        self.taken.clear()
        return text.rstrip("\r\n")


def _transposed(rows: list[list[str]], needed: set[int]) -> list[Any]:
    """The rows' fields column by column, where column i is needed (the others may be None): all
    in one zip when most are needed, else only those."""
    if 2 * len(needed) >= len(rows[0]):
        return list(zip(*rows, strict=False))
    columns: list[Any] = [None] * (max(needed) + 1)
    for index in needed:
        columns[index] = tuple(map(operator.itemgetter(index), rows))
    return columns


def _split_plain(lines: list[str], delimiter: str) -> tuple[list[list[str]], list[str | None]] | None:
    """(rows, original texts) of lines that hold no quote, no NUL and no line break but their
    ending, split at the delimiter: what csv.reader makes of them (tested), at a fraction of the
    cost; None for any other lines."""
    text = "".join(lines)
    if '"' in text or "\0" in text or len(text) > FIELD_LIMIT or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return None
    originals: list[str | None] = list(map(str.rstrip, lines, itertools.repeat("\r\n")))
    if text.count("\n") + (not text.endswith("\n")) != len(lines):
        return None  # a line break inside a line (lines not from a file)
    rows = list(map(str.split, originals, itertools.repeat(delimiter)))  # type: ignore[arg-type]
    if "" in originals:  # a blank line is an empty record, as csv.reader has it
        rows = [row if row != [""] or original else [] for row, original in zip(rows, originals, strict=True)]
    return rows, originals


class _LongOut:
    """The CSV output of a chunk's long panels, column by column, written once per chunk."""

    __slots__ = ("columns", "originals", "rows")

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.originals: list[str | None] = []
        self.columns: list[list[str]] = [[], [], [], []]  # analyte id, its fields, panel fields, error

    def add(self, rows: list[list[str]], originals: list[str | None], ids: list[str], fields: list[str],
            panel_text: str, errors: list[str] | None) -> None:
        self.rows += rows
        self.originals += originals
        self.columns[0] += ids
        self.columns[1] += fields
        self.columns[2] += [panel_text] * len(rows)
        self.columns[3] += errors or [""] * len(rows)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often. A chunk holds thousands of rows (lists and
    tuples the collector tracks) while it is read and interpreted: at the default threshold a
    collection starts every 700 of them and scans every chunk many times over, though the run
    makes few if any reference cycles. Memory is still freed by reference counting as usual."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], GC_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


class CsvRun:
    """One pass over an export: header, layout, then panels into a sink."""

    def __init__(self, lines: Iterable[str], options: CsvOptions, encoding: str = "utf-8") -> None:
        self.options = options
        source = iter(lines)
        skipped = sum(1 for _ in itertools.islice(source, options.skip_lines))
        if skipped < options.skip_lines:
            raise UsageError(f"--skip-lines {options.skip_lines}: the input has only {skipped} lines")
        self.dialect, body = open_dialect(source, options.delimiter, options.decimal)
        self.tap = LineTap(body)
        self.reader = csv.reader(self.tap, delimiter=self.dialect.delimiter)
        header = next(self.reader, None)
        while header == []:
            header = next(self.reader, None)
        if header is None:
            raise UsageError("the input has no header row")
        self.tap.taken.clear()
        self.layout = detect_layout(header, options, self.dialect.decimal)
        self.header = [cell.strip() for cell in self.layout.header]  # as error messages name the columns
        self.report = detection_report(self.layout, self.dialect, encoding + (" (BOM)" if getattr(lines, "bom", False) else ""))
        if skipped:
            self.report.insert(1, f"  skipped {skipped} line{'s' if skipped > 1 else ''} above the header (--skip-lines)")
        self.judge = Judge(options.table or default_intervals(), self.dialect.decimal, options.na_markers)
        self.summary = Summary()
        self.errors_shown: list[str] = []
        self.undecodable: list[tuple[str, str]] = getattr(lines, "undecodable", [])
        self.bad_rows: dict[int, str] = {}  # data row -> why its text is not what the file holds

    def run(self, sink: Sink) -> Summary:
        """Write every row (and/or panel) to the sink; per-row errors are carried, not raised."""
        if sink.wants_rows:
            sink.start(output_header(self.layout))
        with _fewer_collections():
            if self.layout.kind == "wide":
                self._wide(sink)
            else:
                self._long(sink)
        return self.summary

    def closing_lines(self) -> list[str]:
        """What stderr says after the data: the first errors, warnings, and the summary line (last)."""
        lines = list(self.errors_shown)
        hidden = self.summary.rows_with_errors - len(self.errors_shown)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more rows with errors (see levlab_error / errors)")
        if self.summary.reopened:
            lines.append(
                f"levlab csv: {self.summary.reopened} panel keys came back after their panel was closed: the file "
                "is not grouped by patient and sample, so those rows formed separate panels (sort the file first)"
            )
        if self.layout.kind == "long" and self.judge.assumed:
            lines.append("levlab csv: results without a unit were read in the canonical unit (assumed; "
                         f"unit_assumed in JSON) for {', '.join(sorted(self.judge.assumed))}")
        if self.layout.kind == "long" and self.summary.rows:
            missing = [_short(a) for a in _normal_panel_ids() if a not in self.summary.seen]
            if missing:
                lines.append(f"levlab csv: no {', '.join(missing)} result in the file: normal-panel could never be met")
        lines.append(DISCLAIMER)
        lines.append(self.summary.line())
        return lines

    def _row_errors(self, number: int, errors: list[RowError]) -> None:
        self.summary.rows_with_errors += 1
        if self.options.strict:
            first = errors[0]
            self.summary.rows = number
            raise StrictStop(f"row {number}, column {first.column!r}: {first.message} (stopped: --strict)")
        if len(self.errors_shown) < ERRORS_SHOWN:
            self.errors_shown.extend(f"  row {e.row}, column {e.column!r}: {e.message}" for e in errors[:1])

    def _chunks(self) -> Iterator[tuple[int, list[list[str]], list[str | None]]]:
        """Data rows, a chunk of up to CHUNK_LINES lines at a time: (number of its first row,
        rows, their original texts). Blank lines are skipped. A short row is padded to the
        header's width and then has no original text to write back (None); nor has a record
        whose quote stays open to the end of the file."""
        lines_left, delimiter = self.tap.lines, self.dialect.delimiter
        width, summary = self.layout.width, self.summary
        size = 1  # chunks grow from one line: a slow pipe's first rows are not held back for long
        while lines := list(itertools.islice(lines_left, size)):
            size = min(2 * size, CHUNK_LINES)
            split = _split_plain(lines, delimiter)
            if split is not None:  # no quote anywhere, the most common case
                rows, originals = split
            else:
                try:  # a record per line: parsed in one go
                    rows = list(csv.reader(lines, delimiter=delimiter))
                    # every record took exactly one line (and the last is not cut off inside quotes)
                    one_per_line = len(rows) == len(lines) and not (rows[-1] and rows[-1][-1].endswith(("\n", "\r")))
                except csv.Error:
                    one_per_line = False
                if one_per_line:
                    originals = list(map(str.rstrip, lines, itertools.repeat("\r\n")))
                else:
                    rows, originals = self._records_of(lines, lines_left)
            if [] in rows:
                kept = [index for index, row in enumerate(rows) if row]
                rows, originals = [rows[i] for i in kept], [originals[i] for i in kept]
                if not rows:
                    continue
            first = summary.rows + 1
            summary.rows += len(rows)
            if self.undecodable:
                for number, text in enumerate(originals, start=first):
                    if text is not None and "\ufffd" in text:
                        self._undecodable_row(number, text)
            if min(map(len, rows)) < width:
                for index, row in enumerate(rows):
                    if len(row) < width:
                        row.extend([""] * (width - len(row)))
                        originals[index] = None
            last = originals[-1]
            if last is not None and '"' in last and len(list(csv.reader([last + "\n", "x\n"], delimiter=delimiter))) == 1:
                # a quote left open up to the end of the file (only the last record can be cut
                # off so): written back as fields, so that levlab's columns do not end up inside it
                originals[-1] = None
            yield first, rows, originals

    def _records_of(self, lines: list[str], lines_left: Iterator[str]) -> tuple[list[list[str]], list[str | None]]:
        """The records that start in `lines`, each with its original text; the last may take more
        lines from `lines_left` (a quoted field with line breaks)."""
        tap = LineTap(itertools.chain(lines, lines_left))
        reader = csv.reader(tap, delimiter=self.dialect.delimiter)
        rows: list[list[str]] = []
        originals: list[str | None] = []
        left = len(lines)
        while left > 0:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:  # a field over FIELD_LIMIT
                number = self.summary.rows + sum(1 for row in rows if row) + 1
                raise UsageError(f"data row {number}: {error}") from None
            left -= len(tap.taken)
            rows.append(row)
            originals.append(tap.record())
        return rows, originals

    def _undecodable_row(self, number: int, text: str) -> None:
        for index, (line, message) in enumerate(self.undecodable):
            if text in line or line.rstrip("\r\n") in text:
                del self.undecodable[index]
                self.bad_rows[number] = message
                return

    # wide: a row is a panel --------------------------------------------------------------------

    def _wide(self, sink: Sink) -> None:
        """Each row a panel, a chunk of rows at a time and column by column: every cell is looked
        up in its column's cache of judged cells (keyed by cell text and the patient's assessment
        context), rules are decided once per distinct row signature, and the output text is put
        together from texts made once per judged cell."""
        layout, judge, summary = self.layout, self.judge, self.summary
        header = self.header
        roles = layout.roles
        sex_at, age_at = roles.get("sex"), roles.get("age")
        book = RuleBook([column.analyte.id for column in layout.columns], judge.new_cache)
        want_rows, want_panels = sink.wants_rows, sink.wants_panels
        # not measured: one stand-in for every column, with the empty fields as its text
        absent = Judged(None)
        absent.fragment = sink.fragment([""] * len(ANALYTE_FIELDS)) if want_rows else ""
        absent_cell = _cell(absent)
        # per column: its position, the column, and its cache of judged cells
        plan = [(position, column, judge.new_cache()) for position, column in enumerate(layout.columns)]
        needed = {i for column in layout.columns for i in (column.index, column.unit_index, column.range_index) if i is not None}
        needed.update(i for i in (sex_at, age_at) if i is not None)
        for first, rows, originals in self._chunks():
            count = len(rows)
            fields = _transposed(rows, needed)  # column by column (rows are at least `width` long)
            entries = self._row_patients(fields, count, sex_at, age_at)
            # per column, the context tokens of the chunk's (few) distinct patients
            in_chunk = [set(tokens) for tokens in zip(*map(_COLUMNS, set(entries)), strict=True)]
            contexts = list(zip(*map(_COLUMNS, entries), strict=True))  # per column, each row's context token
            columns = [ChunkColumn._make(zip(*self._column_cells(position, column, cache, fields, tokens, in_chunk[position],
                                                                 rows, entries, book, sink, absent_cell), strict=True))
                       for (position, column, cache), tokens in zip(plan, contexts, strict=True)]
            texts, decisions = book.panel_texts(columns, count, sink)
            errors = self._wide_errors(first, rows, columns, decisions, entries, header)
            error_texts = [""] * count
            for row, row_errors in errors.items():
                error_texts[row] = sink.fragment([_error_text(row_errors)])
            done = count
            try:
                for row in sorted(errors):
                    done = row  # rows before a --strict stop are still written
                    self._row_errors(first + row, errors[row])
                done = count
            finally:
                summary.panels += done
                if want_rows and done:
                    fragments = [column.fragments for column in columns]
                    if done < count:
                        rows, originals, texts, error_texts = rows[:done], originals[:done], texts[:done], error_texts[:done]
                        fragments = [part[:done] for part in fragments]
                    sink.chunk(rows, originals, [*fragments, texts, error_texts])
                if want_panels:
                    for row, cells in enumerate(itertools.islice(zip(*[column.judged for column in columns], strict=True), done)):
                        entry = entries[row]
                        key = tuple(cell for cell in cells if cell is not absent)
                        evaluation = judge.panels.get(key) or judge.evaluate(key, entry.patient)
                        shown_key = {header[i]: rows[row][i] for i in layout.key_columns}
                        sink.panel(PanelOut([first + row], shown_key, panel_for(evaluation, entry.patient), errors.get(row, [])))

    def _column_cells(self, position: int, column: AnalyteColumn, cache: dict[Any, Any], fields: list[Any],
                      tokens: tuple[int, ...], in_chunk: set[int], rows: list[list[str]],
                      entries: list[PatientEntry], book: RuleBook, sink: Sink, absent: Any) -> list[Any]:
        """A chunk's cells (`_cell`s; `absent` where not measured) of one analyte column, from the
        column's cache: a dict per assessment context keyed by cell text, or, when unit or range
        cells join the key, one dict keyed by (text, context, unit, range)."""
        values = fields[column.index]
        extra = column.unit_index is not None or column.range_index is not None
        if extra:
            keys: Sequence[Any] = list(zip(
                values, tokens,
                fields[column.unit_index] if column.unit_index is not None else itertools.repeat(column.unit),
                fields[column.range_index] if column.range_index is not None else itertools.repeat(column.range_text),
                strict=False))
            cells = list(map(cache.get, keys))
        else:
            keys = values
            for token in in_chunk:
                cache.setdefault(token, {})
            if len(in_chunk) == 1:
                cells = list(map(cache[tokens[0]].get, values))
            else:
                cells = list(map(dict.get, map(cache.__getitem__, tokens), values))
        if None in cells:
            for row, cell in enumerate(cells):
                if cell is None:
                    key = keys[row]
                    store = cache if extra else cache.setdefault(tokens[row], {})  # (a grow may have cleared it)
                    cell = store.get(key)  # judged already, further up this chunk?
                    if cell is None:
                        cell = self._judge_cell(column, rows[row], entries[row], tokens[row])
                        cell = absent if cell is NOT_MEASURED else _cell(self._ready(position, cell, book, sink))
                        if not any(isinstance(part, str) and len(part) > LONG_CELL for part in (key if extra else (key,))):
                            (cache if extra else cache.setdefault(tokens[row], {}))[key] = cell
                    cells[row] = cell
        return cells

    def _row_patients(self, fields: list[tuple[str, ...]], count: int, sex_at: int | None, age_at: int | None) -> list[PatientEntry]:
        """The patient of each row of a chunk, from its sex and age cells (cached per pair of texts)."""
        judge = self.judge
        if sex_at is None and age_at is None:
            entry = judge.patient("", "")
            if entry.columns is None:
                self._column_contexts(entry)
            return [entry] * count
        whos = list(zip(fields[sex_at] if sex_at is not None else itertools.repeat(""),
                        fields[age_at] if age_at is not None else itertools.repeat(""), strict=False))
        entries = list(map(judge.patients.get, whos))
        if None in entries:
            for row, entry in enumerate(entries):
                if entry is None:
                    entry = entries[row] = judge.patient(*whos[row])
                    if entry.columns is None:
                        self._column_contexts(entry)
        return entries

    def _ready(self, position: int, cell: Judged, book: RuleBook, sink: Sink) -> Judged:
        """A judged cell with its signature and (for CSV) its text made."""
        if cell.signature is None:
            book.sign(position, cell)
        if cell.fragment is None and sink.wants_rows:
            self._fragment(cell, sink)
        return cell

    def _wide_errors(self, first: int, rows: list[list[str]], columns: list[ChunkColumn], decisions: list[Decision],
                     entries: list[PatientEntry], header: list[str]) -> dict[int, list[RowError]]:
        """The errors of a chunk's rows, by row index: cells, then sex/age, then width, then bytes."""
        errors: dict[int, list[RowError]] = {}
        if any(map(_CELL_ERRORS, decisions)):
            for row in itertools.compress(range(len(rows)), map(_CELL_ERRORS, decisions)):
                errors[row] = [RowError(first + row, column.header, chunk_column.judged[row].error)
                               for column, chunk_column in zip(self.layout.columns, columns, strict=True)
                               if chunk_column.judged[row].error is not None]
        if any(entry.errors for entry in set(entries)):
            roles = self.layout.roles
            for row, entry in enumerate(entries):
                for role, message in entry.errors:
                    errors.setdefault(row, []).append(RowError(first + row, header[roles[role]], message))
        self._record_errors(first, rows, errors)
        return errors

    def _record_errors(self, first: int, rows: list[list[str]], errors: dict[int, list[RowError]]) -> None:
        """Add the errors of the records themselves: more fields than the header, bytes that did not decode."""
        width = self.layout.width
        if max(map(len, rows)) > width:
            for row, fields in enumerate(rows):
                if len(fields) > width:
                    errors.setdefault(row, []).append(RowError(first + row, "", f"row has {len(fields)} fields, the header {width}"))
        if self.bad_rows:
            for row in range(len(rows)):
                if first + row in self.bad_rows:
                    errors.setdefault(row, []).append(RowError(first + row, "", self.bad_rows.pop(first + row)))

    def _column_contexts(self, entry: PatientEntry) -> tuple[int, ...]:
        """The patient's assessment context for each analyte column (made once per patient)."""
        entry.columns = tuple(self.judge.context(column.analyte.id, entry) for column in self.layout.columns)
        return entry.columns

    @staticmethod
    def _unit_and_range(column: AnalyteColumn, row: list[str]) -> tuple[str | None, str | None]:
        return (row[column.unit_index] if column.unit_index is not None else column.unit,
                row[column.range_index] if column.range_index is not None else column.range_text)

    def _judge_cell(self, column: AnalyteColumn, row: list[str], entry: PatientEntry, context: int) -> Any:
        """A wide cell read and judged for this context: a Judged, or NOT_MEASURED."""
        self.judge.grow()
        unit, lab_range = self._unit_and_range(column, row)
        reading = self.judge.reading(column.analyte, row[column.index], unit, lab_range, column.range_source)
        if reading is NOT_MEASURED:
            return NOT_MEASURED
        return self.judge.judge(reading, entry, None if reading.patient_free else context)

    def _fragment(self, judged: Judged, sink: Sink) -> str:
        judged.fragment = sink.fragment([function(judged.result, self.judge.decimal) for _, function in ANALYTE_FIELDS])
        return judged.fragment

    # long: a run of rows is a panel ----------------------------------------------------------------

    def _long(self, sink: Sink) -> None:
        """Runs of rows with the same key are panels. Rows come a chunk at a time; each row's
        analyte and reading are looked up column by column, and the run still open at the end
        of a chunk goes on into the next."""
        layout, judge = self.layout, self.judge
        group = layout.group
        key_of: Callable[[list[str]], Any] = operator.itemgetter(*group) if group else (lambda row: ())
        self._book = RuleBook(list(analytes()), judge.new_cache)
        self._cells = judge.new_cache()  # (test, code, value, unit, range texts) -> (analyte, reading)
        if sink.wants_rows:
            self._empty_fields = sink.fragment([""] * len(ANALYTE_FIELDS))
            self._id_texts = {analyte_id: sink.fragment([analyte_id]) for analyte_id in analytes()}
        closed: set[Any] = set()
        open_key: Any = None
        open_rows: list[list[str]] = []  # the run still open: rows, original texts, looked-up cells
        open_originals: list[str | None] = []
        open_cells: list[tuple[Analyte | None, Any]] = []
        open_first = 0
        for first, rows, originals in self._chunks():
            keys = list(map(key_of, rows))
            cells = self._long_cells(rows)
            # rows where a new run starts (the first row too when nothing is open)
            starts = list(itertools.compress(range(len(rows)), map(operator.ne, keys, itertools.chain([open_key], keys))))
            if not open_rows and (not starts or starts[0] != 0):
                starts.insert(0, 0)
            out = _LongOut()
            try:
                at = 0
                for start in starts:
                    open_rows += rows[at:start]
                    open_originals += originals[at:start]
                    open_cells += cells[at:start]
                    if open_rows:
                        self._panel(open_key, open_rows, open_originals, open_cells, open_first, sink, out)
                        if len(closed) < CACHE_LIMIT:
                            closed.add(open_key)
                    open_key, open_first = keys[start], first + start
                    if open_key in closed:
                        self.summary.reopened += 1
                    open_rows, open_originals, open_cells = [], [], []
                    at = start
                open_rows += rows[at:]
                open_originals += originals[at:]
                open_cells += cells[at:]
            finally:  # panels before a --strict stop are still written
                if out.rows:
                    sink.chunk(out.rows, out.originals, out.columns)
        if open_rows:
            out = _LongOut()
            try:
                self._panel(open_key, open_rows, open_originals, open_cells, open_first, sink, out)
            finally:
                if out.rows:
                    sink.chunk(out.rows, out.originals, out.columns)

    def _long_cells(self, rows: list[list[str]]) -> list[tuple[Analyte | None, Any]]:
        """Each row's (analyte or None when it is not one levlab knows, Reading or NOT_MEASURED or
        None), cached per (test name, code, value, unit, range) texts."""
        roles, judge = self.layout.roles, self.judge
        test_at, value_at = roles["test"], roles["value"]
        code_at, unit_at, range_at = roles.get("code"), roles.get("unit"), roles.get("range")
        fields = _transposed(rows, {i for i in (test_at, code_at, value_at, unit_at, range_at) if i is not None})
        keys = list(zip(fields[test_at], fields[code_at] if code_at is not None else itertools.repeat(""),
                        fields[value_at], fields[unit_at] if unit_at is not None else itertools.repeat(None),
                        fields[range_at] if range_at is not None else itertools.repeat(None), strict=False))
        cache = self._cells
        found = list(map(cache.get, keys))
        if None in found:
            header = self.layout.header
            range_source = f"laboratory's own range (column {header[range_at].strip()!r})" if range_at is not None else ""
            for index, cell in enumerate(found):
                if cell is None:
                    key = keys[index]
                    cell = cache.get(key)
                    if cell is None:
                        name, code, value, unit, lab_range = key
                        analyte = self._analyte_of(name, code)
                        reading = None if analyte is None else judge.reading(analyte, value, unit, lab_range, range_source)
                        cell = (analyte, reading)
                        if not any(part is not None and len(part) > LONG_CELL for part in key):
                            cache[key] = cell
                    found[index] = cell
        return found

    def _panel(self, key: Any, rows: list[list[str]], originals: list[str | None], cells: list[tuple[Analyte | None, Any]],
               first: int, sink: Sink, out: _LongOut) -> None:
        """One panel of a long file: its rules decided, its rows' output put in `out`."""
        layout, judge = self.layout, self.judge
        header = layout.header
        value_header = header[layout.roles["value"]].strip()
        errors: dict[int, list[RowError]] = {}
        entry = self._panel_patient(rows, first, errors)
        seen = self.summary.seen
        by_analyte: dict[str, int] = {}  # analyte id -> index of the row that counts
        conflicts: dict[str, str] = {}
        for offset, (analyte, reading) in enumerate(cells):
            if analyte is None:
                continue
            analyte_id = analyte.id
            seen.add(analyte_id)
            if reading is NOT_MEASURED:
                continue
            if reading.error is not None:
                errors.setdefault(offset, []).append(RowError(first + offset, value_header, reading.error))
            earlier = by_analyte.get(analyte_id)
            if earlier is None:
                by_analyte[analyte_id] = offset
            elif cells[earlier][1] is not reading and (cells[earlier][1].measurement, cells[earlier][1].error) != (
                    reading.measurement, reading.error):  # the same result read twice is no conflict
                message = (f"{analyte_id} is given twice in this panel (rows {first + earlier} and {first + offset}) "
                           "with different results; neither is used")
                conflicts[analyte_id] = message
                errors.setdefault(offset, []).append(RowError(first + offset, value_header, message))
        judged: dict[str, Judged] = {}
        for analyte_id, offset in by_analyte.items():
            analyte, reading = cells[offset]
            if analyte_id in conflicts:
                reading = Reading(analyte, None, conflicts[analyte_id])
            judged[analyte_id] = judge.judge(reading, entry)
        self._record_errors(first, rows, errors)
        for offset in sorted(errors):
            self._row_errors(first + offset, errors[offset])
        self.summary.panels += 1
        if sink.wants_rows:  # CSV: rules decided by the book, per-result fields made once per judged result
            book = self._book
            panel_cells: list[Judged | None] = [judged.get(analyte_id) for analyte_id in book.analyte_ids]
            panel_text = book.panel_text(panel_cells, book.signatures(panel_cells), sink)
            ids, fields = [], []
            for analyte, reading in cells:
                if analyte is None:  # an empty analyte id and fields
                    ids.append("")
                    fields.append(self._empty_fields)
                elif reading is NOT_MEASURED:
                    ids.append(self._id_texts[analyte.id])
                    fields.append(self._empty_fields)
                else:
                    cell = judged[analyte.id]
                    ids.append(self._id_texts[analyte.id])
                    fields.append(cell.fragment or self._fragment(cell, sink))
            out.add(rows, originals, ids, fields, panel_text,
                    [sink.fragment([_error_text(errors[offset])]) if offset in errors else "" for offset in range(len(rows))]
                    if errors else None)
        if sink.wants_panels:
            evaluation = judge.evaluate(tuple(judged.values()), entry.patient)
            panel = panel_for(evaluation, entry.patient)
            shown_key = {header[i].strip(): rows[0][i] for i in layout.key_columns}
            flat = [error for offset in sorted(errors) for error in errors[offset]]
            sink.panel(PanelOut(list(range(first, first + len(rows))), shown_key, panel, flat))

    def _analyte_of(self, name: str, code: str) -> Analyte | None:
        names = self.judge.names
        key = (name, code)
        if key in names:
            return names[key]
        self.judge.grow()
        found = find_analyte(name) or (find_analyte(code) if code.strip() else None)
        if len(name) + len(code) <= LONG_CELL:
            names[key] = found
        return found

    def _panel_patient(self, rows: list[list[str]], first: int, errors: dict[int, list[RowError]]) -> PatientEntry:
        """The panel's sex and age: the first given in its rows; a different one later is an error."""
        roles, header = self.layout.roles, self.header
        texts = {}
        for role in ("sex", "age"):
            at = roles.get(role)
            texts[role] = ""
            if at is None:
                continue
            text = rows[0][at]
            if all(row[at] == text for row in rows):  # the same on every row, as usual
                texts[role] = "" if text.strip().casefold() in self.judge.na else text
                continue
            for offset, row in enumerate(rows):
                text = row[at]
                if text.strip().casefold() in self.judge.na:
                    continue
                if not texts[role]:
                    texts[role] = text
                elif text.strip() != texts[role].strip():
                    errors.setdefault(offset, []).append(RowError(
                        first + offset, header[at], f"{role} {shown(text.strip())} differs from {shown(texts[role].strip())} "
                        "earlier in this panel; the first is used"))
        entry = self.judge.patient(texts["sex"], texts["age"])
        if entry.errors:
            for role, message in entry.errors:
                at = roles[role]
                offset = next(i for i, row in enumerate(rows) if row[at] == texts[role])
                errors.setdefault(offset, []).append(RowError(first + offset, header[at], message))
        return entry


def _error_text(errors: Sequence[RowError]) -> str:
    # starts with a column header or a message: never with what makes a spreadsheet run a formula
    return spreadsheet_safe("; ".join(f"{e.column}: {e.message}" if e.column else e.message for e in errors))


