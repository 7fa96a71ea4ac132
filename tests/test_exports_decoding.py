"""levlab.exports.decoding: bytes to text lines (encoding, BOM, undecodable lines)."""

from __future__ import annotations

import codecs
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


class _ReadRecorder:
    """A byte stream that remembers the longest piece it handed out, however it is read."""

    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)
        self.longest = 0

    def _handed(self, piece: bytes) -> bytes:
        self.longest = max(self.longest, len(piece))
        return piece

    def readline(self, size: int = -1) -> bytes:
        return self._handed(self.stream.readline(size))

    def read(self, size: int = -1) -> bytes:
        return self._handed(self.stream.read(size))

    def read1(self, size: int = -1) -> bytes:
        return self._handed(self.stream.read1(size))

    def __iter__(self) -> _ReadRecorder:
        return self

    def __next__(self) -> bytes:
        piece = self.readline()
        if not piece:
            raise StopIteration
        return piece


def test_cr_only_line_endings_are_read_as_lines_in_bounded_pieces() -> None:
    """Issue 18 (and 20.14): a file whose lines end in a CR alone was one 'line' to the byte stream,
    read whole into memory (115 MB for 20 MB of input). It is read a piece at a time and split."""
    from levlab.exports.decoding import READ_PIECE

    rows = [f"{n},F,60,{n % 90}\r" for n in range(20_000)]
    data = ("patient,sex,age,alt\r" + "".join(rows)).encode()
    assert len(data) > 4 * READ_PIECE
    stream = _ReadRecorder(data)
    lines = list(DecodedLines(stream, "utf-8"))
    assert lines == ["patient,sex,age,alt\r", *rows]
    assert stream.longest <= READ_PIECE


@pytest.mark.parametrize("text", [
    "a,b\r1,2\r3,4\r",  # CR only
    "a,b\r\n1,2\r\n3,4",  # CRLF, no line end at the end
    "a,b\n1,2\r3,4\r\n5,6\n",  # mixed
    "abcdef\r\nghijk\r\nlmnopqrstuvwxyz\r",  # a CRLF cut between two pieces
    "a\r\r\r\nb\r\n\r\nc\r",  # blank lines of every kind
    "a" * 50 + "\r" + "b" * 30 + "\n" + "c" * 20,  # lines longer than a piece
    "\u00b5mol\r\u00e9\u00e9\r\n",  # characters of more than one byte
])
@pytest.mark.parametrize("piece", [1, 2, 3, 7, 64])
def test_lines_are_split_as_a_file_opened_with_newline_empty_splits_them(
        monkeypatch: pytest.MonkeyPatch, text: str, piece: int) -> None:
    from levlab.exports import decoding

    monkeypatch.setattr(decoding, "READ_PIECE", piece)
    expected = list(io.TextIOWrapper(io.BytesIO(text.encode()), "utf-8", newline=""))
    assert b"".join(decoding.split_lines(io.BytesIO(text.encode()))) == text.encode()  # nothing lost or doubled
    assert list(DecodedLines(io.BytesIO(text.encode()), "utf-8")) == expected


def test_cr_only_utf16_is_read_as_lines() -> None:
    text = "patient,alt\r1,30\r2,40\r"
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    assert list(DecodedLines(io.BytesIO(data), "utf-8")) == ["patient,alt\r", "1,30\r", "2,40\r"]


def test_a_line_that_never_ends_is_cut_at_the_line_limit_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from levlab.exports import decoding

    monkeypatch.setattr(decoding, "LINE_LIMIT", 1024 * 1024)
    data = b"a,b\n1,2\n" + b"x" * (3 * 1024 * 1024)  # no line end after line 3
    with pytest.raises(UsageError, match=r"line 3 runs past 1 MiB without a line end"):
        list(decoding.split_lines(io.BytesIO(data)))
    # a line just under the limit is read whole
    data = b"a,b\n" + b"y" * (1024 * 1024 - 10) + b"\n"
    assert [len(line) for line in decoding.split_lines(io.BytesIO(data))] == [4, 1024 * 1024 - 9]


def test_csv_on_a_file_without_line_ends_is_a_usage_error(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from levlab.cli import main
    from levlab.exports import decoding

    monkeypatch.setattr(decoding, "LINE_LIMIT", 1024 * 1024)
    path = tmp_path / "endless.csv"
    path.write_bytes(b"patient,ALT\n" + b"1,30;" * 400_000)
    result = CliRunner().invoke(main, ["csv", str(path)])
    assert result.exit_code == 2
    assert "line 2 runs past 1 MiB without a line end" in result.stderr
