"""options.py: the shared CSV options refuse what cannot be read, as usage errors before any input is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from levlab.cli import main
from levlab.options import text_encoding_problem

EN_WIDE = str(Path(__file__).resolve().parent.parent / "examples" / "export_en_wide.csv")


def usage_error(*args: str) -> str:
    """The one `Error:` line of a usage error (exit 2, nothing on stdout, no traceback)."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize("encoding", ["rot13", "hex", "base64", "bz2", "zlib", "uu", "quopri", "punycode", "idna",
                                      "unicode_escape", "raw_unicode_escape", "undefined", "utf-7"])
@pytest.mark.parametrize("command", ["csv", "trend"])
def test_an_encoding_that_is_not_a_text_encoding_is_a_usage_error_naming_it(command, encoding):
    line = usage_error(command, EN_WIDE, "--encoding", encoding)
    assert "--encoding" in line and repr(encoding) in line and "not a text encoding" in line


@pytest.mark.parametrize("encoding", ["nosuch", "utf-8\x00", "x" * 5000])
def test_an_unknown_encoding_is_a_short_usage_error(encoding):
    line = usage_error("csv", EN_WIDE, "--encoding", encoding)
    assert "unknown encoding" in line and len(line) < 200


@pytest.mark.parametrize("encoding", ["utf-8", "UTF8", "utf-8-sig", "cp1252", "latin-1", "iso-8859-15", "mac-roman",
                                      "ascii"])
def test_text_encodings_of_files_are_accepted(encoding):
    assert text_encoding_problem(encoding) is None


@pytest.mark.parametrize("lines", ["999999999999999999999", "9223372036854775808", "-1", "1e3"])
@pytest.mark.parametrize("command", ["csv", "trend"])
def test_skip_lines_out_of_range_is_a_usage_error(command, lines):
    assert "--skip-lines" in usage_error(command, EN_WIDE, "--skip-lines", lines)


def test_skip_lines_beyond_the_input_says_how_many_lines_it_has():
    assert "the input has only 7 lines" in usage_error("csv", EN_WIDE, "--skip-lines", "9223372036854775807")
