"""values.py: result texts become one number, a comparator and unit text, or a clear error.

pint never sees these texts, so nothing typed here may hang, overflow or be half-read.
"""

from __future__ import annotations

import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levlab.errors import RangeError, ValueParseError
from levlab.values import parse_number, parse_range, read_value_text, split_value


def finishes(call, *args, seconds: float = 5.0, **kwargs):
    """Run call in a thread and fail if it has not returned within `seconds` (no hangs allowed)."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = call(*args, **kwargs)
        except Exception as error:  # re-raised in the test thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{call.__name__}{args} did not finish within {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# --- plain numbers and the decimal mark ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("35", 35.0, id="integer"),
        pytest.param("2.4", 2.4, id="decimal-point"),
        pytest.param("1,2", 1.2, id="decimal-comma"),
        pytest.param("0,045", 0.045, id="comma-three-decimals-after-zero-is-not-grouping"),
        pytest.param("1.234", 1.234, id="point-three-decimals-is-decimal-at-prompt"),
        pytest.param(",5", 0.5, id="leading-comma"),
        pytest.param(".5", 0.5, id="leading-point"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param(" 42 ", 42.0, id="surrounding-space"),
    ],
)
def test_prompt_numbers(text, expected):
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        pytest.param("1,234", ",", 1.234, id="comma-dialect-comma-is-decimal"),
        pytest.param("1,2", ",", 1.2, id="comma-dialect-short-fraction"),
        pytest.param("1.2", ",", 1.2, id="comma-dialect-point-short-fraction-unambiguous"),
        pytest.param("1.234", ".", 1.234, id="point-dialect-point-is-decimal"),
    ],
)
def test_dialect_numbers(text, decimal, expected):
    assert parse_number(text, decimal) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "decimal", "match"),
    [
        pytest.param("1,234", None, "ambiguous", id="prompt-comma-thousands"),
        pytest.param("12,345", None, "ambiguous", id="prompt-comma-thousands-5-digits"),
        pytest.param("1.234", ",", "ambiguous", id="comma-dialect-point-thousands"),
        pytest.param("1,234", ".", "ambiguous", id="point-dialect-comma-thousands"),
        pytest.param("1.234,5", None, "more than one decimal mark", id="both-marks-prompt"),
        pytest.param("1.234,5", ",", "more than one decimal mark", id="both-marks-comma-dialect"),
        pytest.param("1,234.5", None, "more than one decimal mark", id="both-marks-us"),
        pytest.param("1.2.3", None, "more than one decimal mark", id="two-points"),
        pytest.param("5.", None, "ends in a decimal mark", id="trailing-point"),
        pytest.param("", None, "empty", id="empty"),
        pytest.param("   ", None, "empty", id="blank"),
        pytest.param("12a", None, "not a plain number", id="letters"),
    ],
)
def test_numbers_refused(text, decimal, match):
    with pytest.raises(ValueParseError, match=match):
        parse_number(text, decimal)


def test_ambiguous_comma_error_gives_both_readings():
    with pytest.raises(ValueParseError) as caught:
        parse_number("1,234")
    assert "1.234" in str(caught.value)
    assert "1234" in str(caught.value)


# --- split_value: comparator, number, unit text -----------------------------------------


@pytest.mark.parametrize(
    ("text", "comparator", "number", "unit_text"),
    [
        pytest.param("35", None, 35.0, "", id="bare"),
        pytest.param("2.4mg/dL", None, 2.4, "mg/dL", id="unit-attached"),
        pytest.param("480 U/L", None, 480.0, "U/L", id="unit-spaced"),
        pytest.param("2,4 mg/dL", None, 2.4, "mg/dL", id="decimal-comma-with-unit"),
        pytest.param("<5", "<", 5.0, "", id="less"),
        pytest.param("< 5", "<", 5.0, "", id="less-spaced"),
        pytest.param(">1000", ">", 1000.0, "", id="greater"),
        pytest.param("<=5", "<=", 5.0, "", id="less-equal"),
        pytest.param("=<5", "<=", 5.0, "", id="less-equal-reversed"),
        pytest.param(">=1000", ">=", 1000.0, "", id="greater-equal"),
        pytest.param("≤5", "<=", 5.0, "", id="unicode-less-equal"),
        pytest.param("≥ 1000 U/L", ">=", 1000.0, "U/L", id="unicode-greater-equal-with-unit"),
        pytest.param("7.5 x10^9/L", None, 7.5, "x10^9/L", id="cell-count-power-of-ten-unit"),
        pytest.param("7.5x10^9/L", None, 7.5, "x10^9/L", id="cell-count-attached"),
        pytest.param("7.5 10*9/L", None, 7.5, "10*9/L", id="cell-count-ucum"),
        pytest.param("7.5 x10⁹/L", None, 7.5, "x10^9/L", id="cell-count-superscript-is-not-109"),
        pytest.param("7,5 ×10⁹/l", None, 7.5, "×10^9/l", id="cell-count-times-sign-superscript"),
    ],
)
def test_split_value(text, comparator, number, unit_text):
    parsed = split_value(text)
    assert parsed.comparator == comparator
    assert parsed.number == pytest.approx(number)
    assert parsed.unit_text == unit_text


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("  ", "empty", id="blank"),
        pytest.param("abc", "not a number", id="non-numeric"),
        pytest.param("U/L", "not a number", id="unit-only"),
        pytest.param("-5", "negative", id="negative"),
        pytest.param("−5", "negative", id="negative-unicode-minus"),
        pytest.param("- 5", "negative", id="negative-spaced"),
        pytest.param("+5", "without a sign", id="plus-sign"),
        pytest.param("nan", "not a finite number", id="nan"),
        pytest.param("NaN", "not a finite number", id="nan-case"),
        pytest.param("inf", "not a finite number", id="inf"),
        pytest.param("Infinity", "not a finite number", id="infinity"),
        pytest.param("1e999", "exponents", id="1e999-overflow"),
        pytest.param("1e3", "exponents", id="e-notation"),
        pytest.param("1E3", "exponents", id="E-notation"),
        pytest.param("9**9**9", "exponents", id="python-power-tower"),
        pytest.param("10**10**10", "exponents", id="python-power-tower-10"),
        pytest.param("9^9^9", "exponents", id="caret-power-tower"),
        pytest.param("2*3", "exponents", id="product"),
        pytest.param("5 x 10", "exponents", id="times-ten-without-per-litre"),
        pytest.param("٣٥", "non-ASCII digits", id="arabic-indic-digits"),
        pytest.param("३५", "non-ASCII digits", id="devanagari-digits"),
        pytest.param("３５", "non-ASCII digits", id="fullwidth-digits"),
        pytest.param("3５", "non-ASCII digits", id="one-fullwidth-digit"),
        pytest.param("<３５ U/L", "non-ASCII digits", id="fullwidth-after-a-comparator"),
        pytest.param("𝟑𝟓", "non-ASCII digits", id="mathematical-bold-digits"),
        pytest.param("9" * 31, "too many digits", id="31-digits"),
        pytest.param("0" * 30 + "1", "too many digits", id="31-digits-leading-zeros"),
        pytest.param("1" * 65, "at most 64", id="overlong-text"),
        pytest.param("1,234", "ambiguous", id="thousands-comma"),
        pytest.param("1.234,5", "more than one decimal mark", id="grouped-european"),
    ],
)
def test_split_value_refused(text, match):
    with pytest.raises(ValueParseError, match=match):
        finishes(split_value, text)


def test_comma_dialect_reads_comma_as_decimal():
    assert split_value("1,234", decimal=",").number == pytest.approx(1.234)
    with pytest.raises(ValueParseError, match="ambiguous"):
        split_value("1.234", decimal=",")


def test_power_tower_in_unit_text_is_left_for_the_unit_lookup():
    # The number is read; the unit text is handed on as text (and refused by units.py).
    parsed = finishes(split_value, "5 mg**9**9**9")
    assert parsed.number == 5.0


# --- reference ranges as laboratories write them ----------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high", "low_inclusive", "high_inclusive"),
    [
        pytest.param("< 45", None, 45.0, True, False, id="less-excludes-45"),
        pytest.param("<45", None, 45.0, True, False, id="less-no-space"),
        pytest.param("<= 45", None, 45.0, True, True, id="less-equal-includes"),
        pytest.param("≤45", None, 45.0, True, True, id="unicode-less-equal-includes"),
        pytest.param("0 - 45", 0.0, 45.0, True, True, id="hyphen-includes-both"),
        pytest.param("0-45", 0.0, 45.0, True, True, id="hyphen-no-space"),
        pytest.param("0–45", 0.0, 45.0, True, True, id="en-dash"),
        pytest.param("0 — 45", 0.0, 45.0, True, True, id="em-dash"),
        pytest.param("35 tot 50", 35.0, 50.0, True, True, id="dutch-tot"),
        pytest.param("35 bis 50", 35.0, 50.0, True, True, id="german-bis"),
        pytest.param("[35;50]", 35.0, 50.0, True, True, id="bracketed-semicolon"),
        pytest.param("> 3", 3.0, None, False, True, id="greater-excludes"),
        pytest.param(">= 3", 3.0, None, True, True, id="greater-equal-includes"),
        pytest.param("3,5 - 10,0", 3.5, 10.0, True, True, id="decimal-commas"),
    ],
)
def test_parse_range(text, low, high, low_inclusive, high_inclusive):
    parsed = parse_range(text)
    assert (parsed.low, parsed.high) == (low, high)
    assert (parsed.low_inclusive, parsed.high_inclusive) == (low_inclusive, high_inclusive)


def test_parse_range_keeps_unit_text():
    assert parse_range("< 45 U/L").unit_text == "U/L"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("45", "not understood", id="bare-number"),
        pytest.param("normal", "not understood", id="word"),
        pytest.param("50 - 45", "lower limit above its upper limit", id="reversed"),
        pytest.param("< 1,234", "ambiguous", id="ambiguous-limit"),
        pytest.param("1" * 70, "at most 64", id="overlong"),
    ],
)
def test_parse_range_refused(text, match):
    with pytest.raises(RangeError, match=match):
        parse_range(text)


def test_parse_range_reads_a_superscript_power_of_ten_in_its_unit():
    assert parse_range("3,5 - 10,0 x10⁹/L").unit_text == "x10^9/L"


@pytest.mark.parametrize("text", ["< ４５", "３５ - ５０", "< 45 U/L", "３５–50"])
def test_parse_range_refuses_non_ascii_digits(text):
    if text.isascii():
        assert parse_range(text).high == 45
        return
    with pytest.raises(RangeError, match="non-ASCII digits"):
        parse_range(text)


def test_a_superscript_power_of_ten_is_not_a_non_ascii_digit():
    assert split_value("5,0 x10⁹/L", decimal=",").unit_text == "x10^9/L"


def test_a_trailing_star_is_said_to_be_a_mark_not_an_expression():
    """Issue 20.15: `45*` was refused as an exponent or expression."""
    with pytest.raises(ValueParseError, match="a trailing '\\*' is not part of the number"):
        split_value("45*")
    with pytest.raises(ValueParseError, match="exponents and expressions"):
        split_value("45**2")


@pytest.mark.parametrize("text, mark", [("45*", "*"), ("45 **", "**"), ("45#", "#"), ("45!", "!"), ("45?", "?"),
                                        ("45+", "+"), ("45 †", "†"), ("45^", "^")])
def test_a_trailing_mark_is_said_to_be_a_mark_not_a_unit_or_an_expression(text: str, mark: str) -> None:
    """Issue 20.15: `45#` was an 'unknown unit', `45^` an expression: each is a number with a trailing mark."""
    with pytest.raises(ValueParseError, match=re.escape(f"a trailing {mark!r} is not part of the number")):
        split_value(text)


@pytest.mark.parametrize("text", ["45**2", "4*5", "1e3", "45 ^2", "4 x 10^3"])
def test_an_expression_is_still_said_to_be_one(text: str) -> None:
    with pytest.raises(ValueParseError, match="exponents and expressions"):
        split_value(text)


@settings(max_examples=3000, deadline=None)
@given(text=st.text(alphabet="0123456789.,  <>-", max_size=40), decimal=st.sampled_from([None, ".", ","]))
def test_split_value_shortcut_for_plain_numbers_reads_as_the_long_way(text: str, decimal: str | None) -> None:
    def outcome(read):
        try:
            return read(text, decimal)
        except ValueParseError as error:
            return str(error)

    assert outcome(split_value) == outcome(read_value_text)


@pytest.mark.parametrize("text", ["45", " 45 ", "0.5", "000123.4500", "1" * 15 + "." + "2" * 14, "1,5", "1.234", "1,234"])
@pytest.mark.parametrize("decimal", [None, ".", ","])
def test_split_value_shortcut_on_plain_numbers(text: str, decimal: str | None) -> None:
    try:
        expected = read_value_text(text, decimal)
    except ValueParseError:
        with pytest.raises(ValueParseError):
            split_value(text, decimal)
    else:
        assert split_value(text, decimal) == expected
