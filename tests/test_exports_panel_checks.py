"""exports/panel_checks.py: rows of different dates in one panel are suspect, never met (issue 19 item 3)."""

from __future__ import annotations

import pytest
from export_runs import column, run_csv, run_jsonl

FIVE = [("bilirubin", "10", "umol/L"), ("ALP", "80", "U/L"), ("LDH", "150", "U/L"), ("AST", "20", "U/L"),
        ("ALT", "20", "U/L")]


def export(header: str, delimiter: str, cells: list[tuple[str, str]]) -> str:
    """One patient's five normal results; `cells` gives each row's (sample, date-like) cells."""
    lines = [header]
    for (test, value, unit), (sample, when) in zip(FIVE, cells, strict=True):
        lines.append(delimiter.join(["1", "F", "60", sample, when, test, value, unit]))
    return "\n".join(lines) + "\n"


TWO_DATES = [("", "02-01-2024")] * 3 + [("", "14-05-2024")] * 2
SAME_DAY = [("", "02-01-2024 08:00")] * 3 + [("", "02-01-2024 11:30")] * 2


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("patient;sex;age;sample;Ontvangstdatum;test;result;unit", ";"),  # a date levlab takes, but the sample id keys
     ("patient,sex,age,sample id,Received date,test,result,unit", ","),
     ("patient,sex,age,sample id,Prothrombin time taken,test,result,unit", ",")],  # a date word among unknown words
    ids=["nl-received-date", "en-received-date", "en-unrecognised-date-column"],
)
def test_rows_of_different_dates_in_one_panel_are_never_met(header, delimiter):
    """Issue 19.3: rows from 02-01 and 14-05 (blank sample ids) formed one panel, `met`."""
    text = export(header, delimiter, TWO_DATES)
    _, (panel,) = run_jsonl(text)
    assert panel["normal_panel"]["status"] == "incomplete"
    assert panel["normal_panel"]["statement"] is None
    assert "differ in" in panel["normal_panel"]["reason"] and "'14-05-2024' (row 4)" in panel["normal_panel"]["reason"]
    (error,) = panel["errors"]
    assert error["row"] == 4
    _, rows = run_csv(text)
    assert set(column(rows, "levlab_normal_panel")) == {"incomplete"}
    assert "several samples" in column(rows, "levlab_error")[3]


def test_the_same_day_at_other_times_and_blank_dates_are_one_sample():
    text = export("patient,sex,age,sample id,Received date,test,result,unit", ",", SAME_DAY)
    _, (panel,) = run_jsonl(text)
    assert panel["normal_panel"]["status"] == "met" and not panel["errors"]
    blanks = [("", "02-01-2024")] * 4 + [("", "")]
    _, (panel,) = run_jsonl(export("patient,sex,age,sample id,Received date,test,result,unit", ",", blanks))
    assert panel["normal_panel"]["status"] == "met"


def test_a_raised_panel_of_two_dates_stays_not_met_and_says_why():
    text = export("patient;sex;age;monsternummer;Validatiedatum;test;result;unit", ";", TWO_DATES).replace(";80;", ";300;")
    _, (panel,) = run_jsonl(text)
    assert panel["normal_panel"]["status"] == "not-met"
    assert any("differ in 'Validatiedatum'" in note for note in panel["notes"])
