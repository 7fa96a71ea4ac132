"""levlab.exports.csv_records: records and their original text, split like csv.reader."""

from __future__ import annotations

import csv
import io

import pytest
from export_runs import run_csv
from hypothesis import given
from hypothesis import strategies as st

from levlab.exports import (
    CsvOptions,
    CsvRun,
    CsvSink,
    csv_records,
)


@pytest.mark.parametrize(
    ("last_line", "written_back"),
    [
        ('P2,3"0,40', True),  # a literal quote inside an unquoted field: one closed record
        ('P2,"30",40', True),
        ('P2,3"0,"40', False),  # an even count of quotes, yet the last field is left open
        ('P2,30,"40', False),
    ],
)
def test_only_a_record_left_open_at_the_end_of_the_file_is_rewritten(last_line: str, written_back: bool) -> None:
    _, rows = run_csv(f"id,ALT (U/L),AST (U/L)\nP1,30,40\n{last_line}")
    assert all(len(row) == len(rows[0]) for row in rows), "levlab's columns ended up inside a quoted field"
    out = io.StringIO(newline="")
    run = CsvRun(io.StringIO(f"id,ALT (U/L),AST (U/L)\nP1,30,40\n{last_line}", newline=""), CsvOptions())
    run.run(CsvSink(out, run.dialect))
    assert out.getvalue().split("\n")[2].startswith(last_line + ",") is written_back


@given(
    cells=st.lists(st.lists(st.text(alphabet="ab ;,\t|µ.-<5é", max_size=6), max_size=5), min_size=1, max_size=20),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    ending=st.sampled_from(["\n", "\r\n"]),
    last_ending=st.booleans(),
)
def test_lines_without_quotes_are_split_as_csv_reader_reads_them(cells: list[list[str]], delimiter: str, ending: str,
                                                                 last_ending: bool) -> None:
    lines = [delimiter.join(row) + ending for row in cells]
    if not last_ending:
        lines[-1] = lines[-1].rstrip("\r\n") or lines[-1]
    split = csv_records.split_plain(lines, delimiter)
    assert split is not None
    rows, originals = split
    assert rows == list(csv.reader(lines, delimiter=delimiter))
    assert originals == [line.rstrip("\r\n") for line in lines]


@pytest.mark.parametrize("lines", [['a,"b"\n'], ["a,b\r"], ["a\x00,b\n"], ["a\nb,c\n"]])
def test_lines_that_need_the_csv_reader_are_left_to_it(lines: list[str]) -> None:
    assert csv_records.split_plain(lines, ",") is None


def test_a_row_with_extra_fields_keeps_levlab_columns_under_their_headers() -> None:
    """Issue 16.4: read by header, `levlab_alt_value` held `comment` and `levlab_error` held `met`."""
    import csv
    import io

    from click.testing import CliRunner

    from levlab.cli import main

    text = "patient,sex,age,alt,comment\n1,F,60,30,ok\n2,F,60,300,bad,extra,more\n3,F,60,20,fine\n"
    result = CliRunner().invoke(main, ["csv", "-"], input=text)
    assert result.exit_code == 1  # the row has an error, and every row is written
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["patient"] for row in rows] == ["1", "2", "3"]
    assert [row["levlab_alt_value"] for row in rows] == ["30", "300", "20"]
    assert rows[1]["comment"] == "bad,extra,more"  # nothing dropped
    assert rows[1]["levlab_error"].startswith("row has 7 fields, the header 5")
    assert all(None not in row for row in rows)  # no row wider than the output header


def test_an_unclosed_quote_that_swallows_rows_is_an_error_naming_the_lines() -> None:
    """Issue 16.3: `"2,F,60,300,...` took the next lines into one field and the summary said 0 errors."""
    from click.testing import CliRunner

    from levlab.cli import main

    text = 'patient,sex,age,alt\n1,F,60,30\n"2,F,60,300\n3,M,50,400\n4,F,40,20\n'
    result = CliRunner().invoke(main, ["csv", "-"], input=text)
    assert result.exit_code == 1
    assert "runs over 3 lines and holds the delimiter ','" in result.stderr
    assert "took the next 2 line(s)" in result.stderr
    assert "1 rows with errors" in result.stderr


def test_a_quoted_note_with_line_breaks_but_no_delimiter_is_no_error() -> None:
    from click.testing import CliRunner

    from levlab.cli import main

    text = 'patient,alt,note\n1,30,"first line\nsecond line"\n2,40,plain\n'
    result = CliRunner().invoke(main, ["csv", "-"], input=text)
    assert result.exit_code == 0, result.stderr
    assert "0 rows with errors" in result.stderr
