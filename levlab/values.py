"""Safe reading of result texts: number, comparator and unit text. pint never sees these.

Everything here is plain string work with bounded input, so no text can make it hang.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from levlab.errors import RangeError, ValueParseError, message_of, shown
from levlab.language import Msg

MAX_VALUE_TEXT = 64  # characters; a longer result text is refused, not scanned
MAX_RAW_TEXT = 4 * MAX_VALUE_TEXT  # checked before Unicode normalisation, which can expand a text 18-fold

COMPARATORS = {"<": "<", "<=": "<=", "=<": "<=", "≤": "<=", "⩽": "<=", ">": ">", ">=": ">=", "=>": ">=", "≥": ">=", "⩾": ">="}
_COMPARATOR = re.compile(r"(<=|=<|>=|=>|[<>≤≥⩽⩾])\s*")
_NUMBER = re.compile(r"[0-9][0-9.,]*|[.,][0-9][0-9.,]*")
_DECIMAL_MARKS = (".", ",")
_NA_WORDS = frozenset({"nan", "inf", "infinity", "-inf", "+inf", "none", "null"})
_SUPERSCRIPT_POWER = re.compile(r"10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)")
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def refuse_non_ascii_digits(text: str, error: type[Exception] = ValueParseError) -> None:
    """A digit other than 0-9 (`٣٥`, fullwidth `３５`) is refused before NFKC could make it ASCII:
    a reader cannot tell how such a number was typed or converted. Superscripts are not digits here."""
    if not text.isascii() and any(
        unicodedata.category(c) == "Nd" and not ("0" <= c <= "9") for c in text
    ):
        raise error(f"{shown(text.strip())} uses non-ASCII digits; write the number with 0-9")


def normalise_text(text: str) -> str:
    """NFKC, after writing a superscript power of ten as `10^9` (NFKC alone turns `10⁹/L` into `109/L`)."""
    text = _SUPERSCRIPT_POWER.sub(lambda match: "10^" + match.group(1).translate(_SUPERSCRIPT_DIGITS), text)
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True, slots=True)
class ValueText:
    """A result text split into comparator, number and the unit text that followed."""

    comparator: str | None
    number: float
    unit_text: str


def parse_number(text: str, decimal: str | None = None) -> float:
    """Read one non-negative decimal number.

    `decimal` is the dialect's decimal mark ("." or ","); None means typed at the prompt,
    where "." is the decimal mark and "1,5" is read as 1.5 but "1,234" is refused.
    The other mark followed by exactly three digits could be a thousands separator and
    is refused; so is a number with both marks.
    """
    text = text.strip()
    if not text:
        raise ValueParseError(Msg("empty value"))
    if len(text) > MAX_VALUE_TEXT:
        raise ValueParseError(Msg("{text} is too long for a number", text=shown(text, 20)))
    if not re.fullmatch(r"[0-9.,]+", text):
        raise ValueParseError(Msg("{text!r} is not a plain number", text=text))
    marks = [c for c in text if c in _DECIMAL_MARKS]
    if len(marks) > 1:
        raise ValueParseError(Msg(
            "{text!r} has more than one decimal mark or a thousands separator; write it without grouping, e.g. 1234.5",
            text=text))
    if not re.search(r"[0-9]", text):
        raise ValueParseError(Msg("{text!r} is not a number", text=text))
    if marks:
        mark = marks[0]
        integer, _, fraction = text.partition(mark)
        if not fraction:
            raise ValueParseError(Msg("{text!r} ends in a decimal mark", text=text))
        declared = decimal or "."
        if mark != declared and len(fraction) == 3 and integer.lstrip("0"):
            raise ValueParseError(Msg(
                "{text!r} is ambiguous: is {mark!r} a decimal mark or a thousands separator? write {one} or {other}",
                text=text, mark=mark, one=f"{integer}{declared}{fraction}", other=f"{integer}{fraction}"))
        text = f"{integer or '0'}.{fraction}"
    if len(text) > 30:
        raise ValueParseError(f"{text[:20]}... has too many digits")
    value = float(text)
    if not math.isfinite(value):
        raise ValueParseError(f"{text[:20]} is too large")
    return value


#: after the number, only marks: no letter, digit or character of a unit (%, /, °, µ, brackets)
_TRAILING_MARK = re.compile(r"\s*([^\w\s%/°µμ.,()\[\]]+)\s*")


#: a plain number in the decimal mark given (or "."): what most cells of an export hold, read at
#: once by `split_value` (the general path below gives the same for it: tested)
_PLAIN = {".": re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,14})?"), ",": re.compile(r"[0-9]{1,15}(?:,[0-9]{1,14})?")}


def split_value(text: str, decimal: str | None = None) -> ValueText:
    """Split `<5`, `2,4 mg/dL`, `>= 1000 U/L` into comparator, number and unit text."""
    if text.isascii():
        plain = text.strip()
        if _PLAIN[decimal or "."].fullmatch(plain):
            return ValueText(None, float(plain.replace(",", ".")), "")
    return read_value_text(text, decimal)


def read_value_text(text: str, decimal: str | None = None) -> ValueText:
    """`split_value` without its shortcut for plain numbers: every text the long way."""
    raw = text
    if len(text) > MAX_RAW_TEXT and len(text.strip()) > MAX_RAW_TEXT:
        raise ValueParseError(f"value text is {len(text)} characters long; at most {MAX_VALUE_TEXT} are read")
    refuse_non_ascii_digits(text)
    text = normalise_text(text).strip()
    if not text:
        raise ValueParseError("empty value")
    if len(text) > MAX_VALUE_TEXT:
        raise ValueParseError(f"value text is {len(text)} characters long; at most {MAX_VALUE_TEXT} are read")
    comparator = None
    match = _COMPARATOR.match(text)
    if match:
        comparator = COMPARATORS[match.group(1)]
        text = text[match.end() :]
    if text[:1] in ("-", "−", "+"):
        if text[:1] != "+" and re.match(r"[-−]\s*[0-9.,]", text):
            raise ValueParseError(Msg("{text!r} is negative; a concentration or activity cannot be", text=raw.strip()))
        raise ValueParseError(Msg("{text!r}: write the number without a sign", text=raw.strip()))
    number_match = _NUMBER.match(text)
    if number_match is None:
        _explain_non_number(raw.strip(), text)
    rest = text[number_match.end() :]
    if (mark := _TRAILING_MARK.fullmatch(rest)) is not None:  # 45*, 45#, 45! (issue 20.15)
        raise ValueParseError(Msg(
            "{text!r}: a trailing {mark!r} is not part of the number (a laboratory's mark for a flagged or commented "
            "result?); write the number alone, and give the laboratory's flag in a flag column",
            text=raw.strip(), mark=mark.group(1)))
    if re.match(r"\s*(\*\*|\^|\*|[eE][+\-]?[0-9]|[x×]\s*10)", rest) and not re.match(r"\s*[x×*]?\s*10\s*(\^|\*|\*\*|[eE])\s*[0-9]+\s*/", rest):
        raise ValueParseError(Msg("{text!r}: exponents and expressions are not read; write the plain number (e.g. 1000)",
                                  text=raw.strip()))
    number = parse_number(number_match.group(0), decimal)
    return ValueText(comparator, number, rest.strip())


def _explain_non_number(raw: str, text: str) -> None:
    """Raise the most helpful ValueParseError for a text that does not start with a digit."""
    first = text[:1]
    if first and unicodedata.category(first) == "Nd":
        raise ValueParseError(Msg("{text!r} uses non-ASCII digits; write the number with 0-9", text=raw))
    if text.lower().split(" ")[0] in _NA_WORDS or text.lower().startswith(("nan", "inf")):
        raise ValueParseError(Msg("{text!r} is not a finite number", text=raw))
    raise ValueParseError(Msg("{text!r} is not a number", text=raw))


def format_number(value: float, decimal: str = ".") -> str:
    """Shortest round-tripping text of a number, up to 4 significant decimals, in the given mark."""
    if value == 0:
        text = "0"
    elif abs(value) >= 1000:
        text = f"{value:.1f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.4g}" if abs(value) >= 0.001 else f"{value:.3g}"
        if "e" in text:
            text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text.replace(".", decimal) if decimal != "." else text


@dataclass(frozen=True, slots=True)
class RangeText:
    """A reference range as written, read into limits in its own unit."""

    low: float | None
    high: float | None
    low_inclusive: bool
    high_inclusive: bool
    unit_text: str


_RANGE_SPLIT = re.compile(r"^(?P<low>[0-9][0-9.,]*|[.,][0-9]+)\s*(?:-|–|—|−|\.\.|to|tot|bis)\s*(?P<high>[0-9][0-9.,]*|[.,][0-9]+)\s*(?P<unit>.*)$", re.IGNORECASE)


def parse_range(text: str, decimal: str | None = None) -> RangeText:
    """Read a laboratory's range: `< 45`, `<= 45`, `≤45`, `35 - 50`, `35–50`, `> 3`, `[35;50]`.

    `< 45` means 45 is outside (raised); `<=`, `≤` and `a - b` include their limits.
    """
    raw = text
    if len(text) > MAX_RAW_TEXT and len(text.strip()) > MAX_RAW_TEXT:
        raise RangeError(f"range text is {len(text)} characters long; at most {MAX_VALUE_TEXT} are read")
    refuse_non_ascii_digits(text, RangeError)
    text = normalise_text(text).strip()
    if len(text) > MAX_VALUE_TEXT:
        raise RangeError(f"range text is {len(text)} characters long; at most {MAX_VALUE_TEXT} are read")
    bracketed = re.fullmatch(r"[\[(]\s*(.*?)\s*[\])]", text)
    if bracketed:
        text = re.sub(r"\s*;\s*", " - ", bracketed.group(1))
    if not text:
        raise RangeError("empty reference range")
    try:
        match = _RANGE_SPLIT.match(text)
        if match:
            low = parse_number(match.group("low"), decimal)
            high = parse_number(match.group("high"), decimal)
            if low > high:
                raise RangeError(f"reference range {raw.strip()!r} has its lower limit above its upper limit")
            return RangeText(low, high, True, True, match.group("unit").strip())
        comparator_match = _COMPARATOR.match(text)
        if comparator_match:
            comparator = COMPARATORS[comparator_match.group(1)]
            rest = text[comparator_match.end() :]
            number_match = _NUMBER.match(rest)
            if number_match:
                limit = parse_number(number_match.group(0), decimal)
                unit_text = rest[number_match.end() :].strip()
                if comparator in ("<", "<="):
                    return RangeText(None, limit, True, comparator == "<=", unit_text)
                return RangeText(limit, None, comparator == ">=", True, unit_text)
    except ValueParseError as error:
        raise RangeError(Msg("reference range {text!r}: {error}", text=raw.strip(), error=message_of(error))) from None
    raise RangeError(Msg("reference range {text!r} is not understood; write it as '< 45', '<= 45' or '35 - 50'",
                         text=raw.strip()))
