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


@pytest.mark.parametrize(("ending", "name"), [("\r", "CR"), ("\r\n", "CRLF"), ("\n", "LF")])
def test_the_output_keeps_the_input_line_ending(ending, name) -> None:
    """Issue 20.14: CR-only input came back with LF line endings."""
    from click.testing import CliRunner

    from levlab.cli import main

    text = ending.join(["patient,alt", "1,30", "2,300"]) + ending
    result = CliRunner().invoke(main, ["csv", "-"], input=text.encode())
    assert result.exit_code == 0, result.stderr
    out = result.stdout_bytes
    assert out.count(ending.encode()) == 3, name
    assert out.replace(ending.encode(), b"").count(b"\r") + out.replace(ending.encode(), b"").count(b"\n") == 0
