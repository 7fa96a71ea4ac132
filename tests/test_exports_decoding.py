"""levlab.exports.decoding: bytes to text lines (encoding, BOM, undecodable lines)."""

from __future__ import annotations

import io

import pytest

from levlab.errors import UsageError
from levlab.exports import (
    DecodedLines,
)


def test_utf8_bom_is_dropped_and_remembered() -> None:
    lines = DecodedLines(io.BytesIO("\ufeffa;b\n1;2\n".encode()), "utf-8")
    assert list(lines) == ["a;b\n", "1;2\n"]
    assert lines.bom


def test_cp1252_micro_sign() -> None:
    data = "test;result;unit\nbili;12;µmol/L\n".encode("cp1252")
    assert b"\xb5" in data
    assert list(DecodedLines(io.BytesIO(data), "cp1252"))[1] == "bili;12;µmol/L\n"


def test_undecodable_byte_names_the_line_and_the_option() -> None:
    data = "test;result;unit\nALT;35;U/L\nbili;12;µmol/L\n".encode("cp1252")
    with pytest.raises(UsageError, match=r"line 3: byte 0xb5 .*--encoding cp1252"):
        list(DecodedLines(io.BytesIO(data), "utf-8"))


def test_unknown_encoding_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown encoding"):
        DecodedLines(io.BytesIO(b""), "klingon")


def test_a_utf8_bom_is_stripped_whatever_the_encoding() -> None:
    """Issue 19.10: read with --encoding cp1252 (levlab's own hint after a stray byte), the BOM became
    'ï»¿patient', the patient column was lost and three patients merged into one timeline."""
    from click.testing import CliRunner

    from levlab.cli import main

    data = "\ufeffpatient;date;test;result;unit\n1;01-01-2024;ALAT;30;U/L\n2;01-01-2024;ALAT;300;U/L\n".encode()
    for encoding in ("cp1252", "latin-1", "utf-8"):
        result = CliRunner().invoke(main, ["csv", "-", "-e", encoding, "--format", "jsonl"], input=data)
        assert result.exit_code == 0, result.stderr
        assert "'patient' -> patient" in result.stderr
        assert len(result.stdout.splitlines()) == 2  # two patients, two panels
