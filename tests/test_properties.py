"""Property tests: any text given as a value, unit, range or name yields a result or a LevlabError.

Never another exception, never a hang: each call runs under a hard alarm (`_time_limit`) as well
as hypothesis' deadline. Hostile values are answered with a short `Error:` line, quickly.
"""

from __future__ import annotations

import contextlib
import io
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from levlab.catalog import Analyte, analytes, find_analyte, get_analyte
from levlab.cli import main
from levlab.errors import LevlabError, RangeError, UnitError, UnknownAnalyteError, ValueParseError
from levlab.interpret import interpret_panel, read_measurement
from levlab.model import Measurement
from levlab.units import Unit, lookup_unit, to_canonical_factor
from levlab.values import RangeText, ValueText, format_number, parse_number, parse_range, split_value

ANALYTES: list[Analyte] = list(analytes().values())
HARD_LIMIT_S = 2.0  # a call that takes this long is a hang; timing targets live in bench/
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # the alarm guards hangs

# Warm the caches (pint registry, factors, catalogue) so the deadline measures the work, not imports.
for _analyte in ANALYTES:
    for _unit in _analyte.units:
        to_canonical_factor(_analyte, _unit)


class Hang(Exception):
    """Raised by the alarm inside a call that did not return in time."""


@contextlib.contextmanager
def _time_limit(seconds: float = HARD_LIMIT_S) -> Iterator[None]:
    def _alarm(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# Pieces real and hostile result texts are made of: numbers, marks, comparators, signs, exponents,
# unit spellings, mojibake, non-ASCII digits, NUL, an 18-fold NFKC expander (U+FDFA) and words.
PIECES = [
    *"0123456789",
    ".",
    ",",
    " ",
    "<",
    ">",
    "=",
    "≤",
    "≥",
    "-",
    "−",
    "+",
    "e",
    "E",
    "*",
    "**",
    "^",
    "x",
    "×",
    "10",
    "/",
    "%",
    "µ",
    "μ",
    "u",
    "U",
    "mg",
    "dL",
    "umol",
    "µmol/L",
    "mg/dL",
    "U/L",
    "IU/L",
    "µkat/L",
    "g/L",
    "10*9/L",
    "Âµ",
    "[IU]",
    "mg%",
    "٣",
    "٥",
    "３",
    "\x00",
    "\t",
    "\n",
    "\ufdfa",
    "\u0301",
    "nan",
    "inf",
    "NaN",
    "Infinity",
    "none",
    "[bold]",
    "[/]",
    "=",
    "'",
    '"',
    ";",
]
pieced = st.lists(st.sampled_from(PIECES), max_size=24).map("".join)
any_text = st.one_of(st.text(max_size=100), pieced, st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
number_like = st.from_regex(r"\A[<>]?=?\s?[0-9]{1,8}([.,][0-9]{1,5})?\s?\Z")


@PROPERTY_SETTINGS
@given(text=any_text, decimal=st.sampled_from([None, ".", ","]))
@example(text="9**9**9", decimal=None)
@example(text="9^9^9", decimal=None)
@example(text="10**10**10", decimal=None)
@example(text="1e999", decimal=None)
@example(text="\ufdfa" * 10_000, decimal=None)
def test_value_text_gives_a_value_or_a_value_error(text: str, decimal: str | None) -> None:
    with _time_limit():
        try:
            parsed = split_value(text, decimal)
        except ValueParseError:
            return
    assert isinstance(parsed, ValueText)
    assert parsed.number >= 0 and parsed.number == parsed.number and parsed.number != float("inf")


@PROPERTY_SETTINGS
@given(
    analyte=st.sampled_from(ANALYTES),
    text=st.one_of(any_text, number_like, st.tuples(number_like, pieced).map(" ".join)),
    unit_text=st.one_of(st.none(), any_text, st.sampled_from(["U/L", "mg/dL", "umol/l", "mg**9**9**9", "u/l"])),
    decimal=st.sampled_from([None, ".", ","]),
    lab_range=st.one_of(st.none(), any_text, st.sampled_from(["< 45", "35 - 50", "<= 1e999", "9**9**9"])),
)
@example(analyte=get_analyte("alt"), text="35 mg**9**9**9", unit_text=None, decimal=None, lab_range=None)
def test_measurement_text_gives_a_measurement_or_a_levlab_error(
    analyte: Analyte, text: str, unit_text: str | None, decimal: str | None, lab_range: str | None
) -> None:
    with _time_limit():
        try:
            measurement = read_measurement(analyte, text, unit_text=unit_text, decimal=decimal, lab_range=lab_range)
        except LevlabError:
            return
    assert isinstance(measurement, Measurement)
    assert analyte.possible_low <= measurement.value <= analyte.possible_high
    usual = analyte.plausible_low <= measurement.value <= analyte.plausible_high
    assert usual or (measurement.warnings and not measurement.unit_assumed)
    assert measurement.unit in analyte.units


@PROPERTY_SETTINGS
@given(text=st.one_of(any_text, st.sampled_from(["mg**9**9**9", "u/L", "Âµmol/L", "IE/l", "mg%", "µ"])))
def test_unit_text_gives_a_unit_or_a_unit_error(text: str) -> None:
    with _time_limit():
        try:
            unit = lookup_unit(text)
        except UnitError:
            return
    assert isinstance(unit, Unit)


@PROPERTY_SETTINGS
@given(text=any_text, decimal=st.sampled_from([None, ".", ","]))
def test_range_text_gives_a_range_or_a_range_error(text: str, decimal: str | None) -> None:
    with _time_limit():
        try:
            parsed = parse_range(text, decimal)
        except RangeError:
            return
    assert isinstance(parsed, RangeText)
    assert parsed.low is not None or parsed.high is not None


@PROPERTY_SETTINGS
@given(name=st.one_of(any_text, st.sampled_from(["ALAT", "gamma-GT", "1742-6", "s-alt", "bilirubine totaal"])))
def test_analyte_name_gives_an_analyte_or_an_unknown_analyte_error(name: str) -> None:
    with _time_limit():
        found = find_analyte(name)
        try:
            analyte = get_analyte(name)
        except UnknownAnalyteError as error:
            assert found is None
            assert len(str(error)) < 400
            return
    assert analyte is found


# Display precision: format_number shows 4 significant digits below 1000 (3 below 0.001, and
# at most 6 decimals) and 1 decimal from 1000 up. Reading the shown text back gives the value
# within 0.05 % of it, or within 5e-7 for values below 0.001; and the display is stable.
def _display_tolerance(value: float) -> float:
    return max(5e-4 * value, 5e-7)


@settings(max_examples=400, deadline=None)
@given(
    value=st.one_of(st.floats(0, 1e12), st.floats(0, 0.01), st.floats(0, 2000), st.integers(0, 10**12).map(float)),
    decimal=st.sampled_from([".", ","]),
)
@example(value=999.95, decimal=".")
@example(value=0.0009995, decimal=",")
@example(value=1.0005, decimal=".")
def test_format_then_parse_round_trips_within_display_precision(value: float, decimal: str) -> None:
    shown = format_number(value, decimal)
    back = parse_number(shown, decimal)
    assert abs(back - value) <= _display_tolerance(value), (value, shown, back)
    assert format_number(back, decimal) == shown
    if decimal == ".":
        assert parse_number(shown) == back  # typed at the prompt, "." is the decimal mark


@settings(max_examples=60, deadline=None)
@given(analyte=st.sampled_from(ANALYTES), data=st.data())
def test_a_shown_value_read_back_in_its_unit_gives_the_same_measurement(analyte: Analyte, data: st.DataObject) -> None:
    unit = data.draw(st.sampled_from(analyte.units))
    value = data.draw(st.floats(analyte.plausible_low, analyte.plausible_high))
    number = value / to_canonical_factor(analyte, unit)
    text = f"{format_number(number)} {unit}"
    try:
        measurement = read_measurement(analyte, text)
    except LevlabError:  # rounding the display may step just outside the plausible span
        return
    assert abs(measurement.number - number) <= _display_tolerance(number)


# The rich table shows what was typed, literally: `[IU]/L` is a unit here, not console markup.
@settings(max_examples=40, deadline=None)
@given(unit=st.sampled_from(["[IU]/L", "[iu]/l", "U/L", "IE/l"]), number=st.integers(2, 500))
def test_the_terminal_table_shows_the_input_as_typed(unit: str, number: int) -> None:
    from rich.console import Console

    from levlab.render import print_panel

    text = f"{number} {unit}"
    panel = interpret_panel({"alt": read_measurement(get_analyte("alt"), text)})
    out = io.StringIO()
    print_panel(panel, Console(file=out, width=200, force_terminal=True, color_system=None))
    assert text in out.getvalue()


# --- the command line ------------------------------------------------------------------------

HOSTILE_TOKENS = {
    "exponent bomb **": "alt=9**9**9",
    "exponent bomb ^": "alt=9^9^9",
    "power tower": "alt=10**10**10",
    "unit bomb": "alt=35mg**9**9**9",
    "unit bomb after U/L": "alt=35 U/L**9**9",
    "overflow": "alt=1e999",
    "nan": "alt=nan",
    "NaN with unit": "alt=NaN U/L",
    "inf": "alt=inf",
    "Infinity": "alt=Infinity",
    "negative": "alt=-5",
    "unicode minus": "alt=−5",
    "Arabic-Indic digits": "alt=٣٥",
    "Devanagari digits": "alt=३५",
    "NUL byte": "alt=3\x005",
    "5 MB value": "alt=" + "9" * 5_000_000,
    "5 MB unit": "alt=35 " + "m" * 5_000_000,
    "5 MB name": "a" * 5_000_000 + "=35",
    "5 MB NFKC expander": "alt=" + "\ufdfa" * 5_000_000,
}


@pytest.mark.parametrize("token", HOSTILE_TOKENS.values(), ids=HOSTILE_TOKENS.keys())
def test_hostile_value_gets_a_short_clear_error_quickly(token: str) -> None:
    runner = CliRunner()
    start = time.perf_counter()
    with _time_limit():
        result = runner.invoke(main, ["interpret", token])
    elapsed = time.perf_counter() - start
    assert elapsed < HARD_LIMIT_S
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.startswith("Error: token ")
    assert result.stderr.count("\n") == 1 and len(result.stderr) < 400
    assert "Traceback" not in result.stderr


HOSTILE_OPTIONS = {
    "age nan": ["--age", "nan"],
    "age inf": ["--age", "inf"],
    "age 1e999": ["--age", "1e999"],
    "age negative": ["--age", "-5"],
    "age 9**9**9": ["--age", "9**9**9"],
    "5 MB sex": ["--sex", "x" * 5_000_000],
    "smoker NUL": ["--smoker", "\x00"],
}


@pytest.mark.parametrize("option", HOSTILE_OPTIONS.values(), ids=HOSTILE_OPTIONS.keys())
def test_hostile_option_gets_a_usage_error(option: list[str]) -> None:
    start = time.perf_counter()
    with _time_limit():
        result = CliRunner().invoke(main, ["interpret", "alt=50", *option])
    assert time.perf_counter() - start < HARD_LIMIT_S
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Error:" in result.stderr and len(result.stderr) < 1000


HOSTILE_CONVERSIONS = {
    "value bomb": ["convert", "9**9**9", "mg/dL", "umol/L", "-a", "bili"],
    "unit bomb": ["convert", "1", "mg**9**9**9", "umol/L", "-a", "bili"],
    "overflow": ["convert", "1e999", "mg/dL", "umol/L", "-a", "bili"],
    "nan": ["convert", "nan", "mg/dL", "umol/L", "-a", "bili"],
    "negative": ["convert", "-a", "bili", "--", "-5", "mg/dL", "umol/L"],
    "analyte bomb": ["convert", "1", "mg/dL", "umol/L", "-a", "9**9**9"],
    "5 MB unit": ["convert", "1", "m" * 5_000_000, "umol/L", "-a", "bili"],
    "Arabic-Indic analyte": ["units", "٣٥"],
}


@pytest.mark.parametrize("args", HOSTILE_CONVERSIONS.values(), ids=HOSTILE_CONVERSIONS.keys())
def test_hostile_conversion_gets_a_short_clear_error_quickly(args: list[str]) -> None:
    start = time.perf_counter()
    with _time_limit():
        result = CliRunner().invoke(main, args)
    assert time.perf_counter() - start < HARD_LIMIT_S
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == "" and result.stderr.startswith("Error: ") and len(result.stderr) < 400


@pytest.mark.parametrize("args", [["interpret", "alt=３５"], ["interpret", "alt=35", "--baseline", "alt=３５"],
                                  ["convert", "２,４", "mg/dL", "umol/L", "-a", "bilirubin"]])
def test_fullwidth_digits_are_refused_as_non_ascii_digits(args: list[str]) -> None:
    """README: non-ASCII digits are refused; NFKC would turn `３５` into 35, so they are refused before it."""
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and "non-ASCII digits" in result.stderr


def test_ten_thousand_tokens_are_answered_quickly() -> None:
    tokens = [f"alt={n}" for n in range(11, 10_011)]  # 10 or less may be µkat/L
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["interpret", *tokens])
    assert time.perf_counter() - start < HARD_LIMIT_S
    assert result.exit_code == 2 and "given twice" in result.stderr


@pytest.mark.parametrize("token", ["alt=9**9**9", "alt=9^9^9", "alt=35mg**9**9**9", "alt=1e999", "alt=٣٥"])
def test_hostile_value_in_a_real_process(token: str) -> None:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "levlab", "interpret", token], capture_output=True, text=True, timeout=30, check=False
    )
    assert time.perf_counter() - start < HARD_LIMIT_S
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("Error: token ") and "Traceback" not in done.stderr


_token_value = st.one_of(
    any_text,
    number_like,
    st.tuples(number_like, st.sampled_from(["U/L", "ukat/L", "mg/dL", "umol/l", "[IU]/L", "ng/mL", "u/l", "mg%"])).map(
        " ".join
    ),
)


@settings(max_examples=80, deadline=None)
@given(
    tokens=st.lists(
        st.tuples(st.sampled_from(["alt", "ast", "bili", "alp", "ldh", "ggt", "cea", "x", ""]), _token_value).map(
            "=".join
        ),
        min_size=1,
        max_size=6,
    ),
    output_format=st.sampled_from(["json", "table"]),
)
def test_any_tokens_give_a_panel_or_an_error_line(tokens: list[str], output_format: str) -> None:
    with _time_limit():
        result = CliRunner().invoke(main, ["interpret", *tokens, "--format", output_format])
    event(f"exit {result.exit_code}")
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: ") and result.stdout == ""
        assert result.stderr.count("\n") == 1 and len(result.stderr) < 1000
    else:
        assert result.stdout.startswith("{" if output_format == "json" else "levlab")


# --- a --ranges file -----------------------------------------------------------------------

_toml_scalar = st.one_of(
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(max_size=20),
    st.sampled_from(["alt", "ALAT", "cea", "< 45", "35 - 50", "9**9**9", "1e999", "F", "x", "U/L", "mg/dL", "no"]),
)
_toml_entry = st.dictionaries(
    st.sampled_from(["analyte", "range", "unit", "source", "sex", "age_min", "age_max", "smoker", "note"]),
    st.one_of(_toml_scalar, st.lists(_toml_scalar, max_size=2)),
    max_size=9,
)


def _toml(entries: list[dict[str, object]]) -> str:
    import json

    def value(item: object) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, list):
            return "[" + ", ".join(value(x) for x in item) + "]"
        return json.dumps(item) if isinstance(item, str) else str(item)

    return "\n".join(
        "[[interval]]\n" + "\n".join(f"{key} = {value(item)}" for key, item in entry.items()) for entry in entries
    )


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(_toml_entry, max_size=3), garbage=st.one_of(st.just(""), st.text(max_size=30)))
@example(entries=[{"analyte": "cea", "range": "< 5", "source": "lab", "smoker": "no"}], garbage="")
def test_a_ranges_file_gives_a_table_or_a_range_error(entries: list[dict[str, object]], garbage: str) -> None:
    from levlab.ranges import IntervalTable, load_interval_file

    with _time_limit():
        try:
            table = load_interval_file(_toml(entries) + garbage, "ranges.toml")
        except RangeError as error:
            assert str(error).startswith("ranges.toml")
            return
    assert isinstance(table, IntervalTable)
    for interval in table.all():
        assert interval.smoker in (None, True, False) and interval.sex in (None, "F", "M")
        assert interval.note is None or isinstance(interval.note, str)
