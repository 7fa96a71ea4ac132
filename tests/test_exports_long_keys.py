"""levlab.exports.long_keys: each long row's panel key, its date part read as a date."""

from __future__ import annotations

import pytest

from levlab.exports.layout import detect_layout
from levlab.exports.long_keys import LONE, panel_keys


def test_one_day_written_three_ways_is_one_sample() -> None:
    """Issue 16.8: `05-01-2026`, `2026-01-05` and `5/1/2026` (day first) are one sample, grouped by
    the parsed date-time, not by the text; another day stays another panel."""
    from click.testing import CliRunner

    from levlab.cli import main

    text = ("patient;date;test;result;unit\n1;05-01-2026;ALT;30;U/L\n1;2026-01-05;AST;20;U/L\n"
            "1;5/1/2026;AF;80;U/L\n1;06-01-2026;LD;150;U/L\n")
    result = CliRunner().invoke(main, ["csv", "-", "--format", "jsonl"], input=text)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    assert "4 rows, 2 panels" in result.stderr


@pytest.mark.parametrize("bad_date", ["0001-01-01", "01-01-1899", "2999-12-31"])
def test_levlab_csv_warns_about_a_sample_date_before_1900_or_after_today(bad_date: str) -> None:
    """Issue 16.8: a date in year 1 or far in the future was accepted without a word by `levlab csv`."""
    from click.testing import CliRunner

    from levlab.cli import main

    text = f"patient;date;test;result;unit\n1;05-01-2026;ALT;30;U/L\n1;{bad_date};ALT;35;U/L\n2;{bad_date};ALT;40;U/L\n"
    result = CliRunner().invoke(main, ["csv", "-", "--format", "jsonl"], input=text)
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3  # still interpreted, each its own panel
    assert f"1 distinct sample dates before 1900 or after today ('{bad_date}')" in result.stderr
    plain = CliRunner().invoke(main, ["csv", "-"], input=text.replace(bad_date, "06-01-2026"))
    assert "before 1900" not in plain.stderr


def test_panel_keys_read_the_date_part_as_a_date_and_give_a_row_without_patient_its_own_key() -> None:
    from levlab.exports.settings import CsvOptions

    layout = detect_layout(["patient", "date", "test", "result"], CsvOptions(), ".")
    implausible: list[str] = []
    keys = panel_keys(layout, implausible)(7, [["1", "05-01-2026", "ALT", "30"], ["1", "2026-01-05", "AST", "20"],
                                               ["", "2026-01-05", "ALT", "30"], ["2", "2999-12-31", "ALT", "1"],
                                               ["1", "06-01-2026", "ALT", "30"]])
    assert keys[0] == keys[1]  # one day, two spellings
    assert keys[2] == (LONE, 9)  # no patient id: a key of its own, with its row number
    assert len({keys[0], keys[3], keys[4]}) == 3
    assert implausible == ["2999-12-31"]


@pytest.mark.parametrize("patients", [
    ["1", "1", "2"],  # every row has a patient id: the rows looked at in one go
    ["1", "", "2"],
    ["1", "  ", "2"],
    ["", "", ""],
    [" 3 ", "3", "\t"],
])
def test_rows_without_a_patient_id_get_keys_of_their_own_as_the_long_way_gives(patients) -> None:
    """The shortcut (every row has a patient id) against looking at each row."""
    from levlab.exports.settings import CsvOptions

    layout = detect_layout(["test", "result", "date", "patient"], CsvOptions(), ".")
    assert layout.lone_without == 3
    rows = [["ALT", "30", "2024-01-05", patient] for patient in patients]
    keys = panel_keys(layout, [])(11, rows)
    expected = [(LONE, 11 + index) if not patient.strip()
                else panel_keys(layout, [])(11 + index, [rows[index]])[0] for index, patient in enumerate(patients)]
    assert keys == expected
    assert all(key[0] is not LONE for key, patient in zip(keys, patients, strict=True) if patient.strip())


def test_dates_are_read_after_the_kept_parses_are_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past DATES_KEPT distinct date texts (a large export with a time on every sample), a date is
    still read as a date: one day written two ways is one sample, and a date before 1900 is said
    (it was taken as plain text, so neither happened)."""
    from click.testing import CliRunner

    from levlab.cli import main
    from levlab.exports import long_keys

    monkeypatch.setattr(long_keys, "DATES_KEPT", 3)
    text = ("patient;date;test;result;unit\n" + "".join(f"P{day};0{day}-02-2024;ALT;30;U/L\n" for day in range(1, 6))
            + "Q;05-01-2026;ALT;30;U/L\nQ;2026-01-05;AST;20;U/L\nR;01-01-1800;ALT;30;U/L\n")
    result = CliRunner().invoke(main, ["csv", "-", "--format", "jsonl"], input=text)
    assert result.exit_code == 0, result.stderr
    assert "8 rows, 7 panels" in result.stderr
    assert "1 distinct sample dates before 1900 or after today ('01-01-1800')" in result.stderr
