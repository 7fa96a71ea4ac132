"""levlab.exports.dialect: the delimiter sniffed, the decimal mark and line ending."""

from __future__ import annotations

import pytest

from levlab.exports import (
    dialect,
)

# --- dialect ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "delimiter"), [
    ("a,b,c\n1,2,3\n", ","),
    ("a;b;c\n1,5;2;3\n", ";"),
    ("a\tb\tc\n1\t2\t3\n", "\t"),
    ("a|b|c\n1|2|3\n", "|"),
    ('"x;y",b,c\n1,2,3\n', ","),
])
def test_sniffs_the_delimiter(text: str, delimiter: str) -> None:
    assert dialect.sniff_delimiter(text.splitlines(keepends=True)) == delimiter


def test_decimal_mark_follows_the_delimiter_unless_given() -> None:
    assert dialect.open_dialect(["a;b\n"])[0].decimal == ","
    assert dialect.open_dialect(["a,b\n"])[0].decimal == "."
    assert dialect.open_dialect(["a;b\n"], decimal=".")[0].decimal == "."
    assert dialect.open_dialect(["a,b\r\n"])[0].lineterminator == "\r\n"
