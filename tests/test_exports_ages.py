"""exports/ages.py: the age at the sample from a birth date (issue 10 item 2)."""

from __future__ import annotations

from datetime import datetime

import pytest
from export_runs import run_jsonl

from levlab.exports.ages import age_at_sample, completed_years


@pytest.mark.parametrize(
    ("birth", "sample", "years"),
    [("2000-03-05", "2024-03-04", 23), ("2000-03-05", "2024-03-05", 24), ("2000-03-05", "2000-03-05", 0),
     ("2000-02-29", "2023-02-28", 22), ("2000-02-29", "2023-03-01", 23), ("1973-05-14", "2024-05-13", 50),
     ("1973-05-14", "2024-05-14", 51)],
)
def test_completed_years(birth, sample, years):
    assert completed_years(datetime.fromisoformat(birth), datetime.fromisoformat(sample)) == years


@pytest.mark.parametrize(
    ("birth", "sample", "age", "error"),
    [("14-05-1973", "14-05-2024", "51", None), ("1973-05-14", "13-05-2024 08:00", "50", None),
     ("", "14-05-2024", "", None), ("14-05-1973", "", "", None),
     ("15-05-2024", "14-05-2024", "", "after the sample date"), ("gisteren", "14-05-2024", "", "is not a date")],
)
def test_age_at_sample(birth, sample, age, error):
    found, problem = age_at_sample(birth, sample)
    assert found == age
    assert (problem is None) if error is None else (error in problem)


# GGT, men: 9-102 U/L from 19 to 50 years, 11-117 U/L from 51 to 65 (NUMBER): 110 U/L is raised at 50, not at 51
LONG_NL = ("Patiëntnummer;Geboortedatum;Geslacht;Afnamedatum;Bepaling;Uitslag;Eenheid\n"
           "1;14-05-1973;M;13-05-2024;GGT;110;U/L\n"
           "2;14-05-1973;M;14-05-2024;GGT;110;U/L\n"
           "3;15-05-2024;M;14-05-2024;GGT;110;U/L\n")
WIDE_EN = ("patient,date of birth,sex,collection date,GGT (U/L)\n"
           "1,1973-05-14,M,2024-05-13,110\n"
           "2,1973-05-14,M,2024-05-14,110\n"
           "3,2024-05-15,M,2024-05-14,110\n")


@pytest.mark.parametrize("text", [LONG_NL, WIDE_EN], ids=["long-nl", "wide-en"])
def test_the_age_from_a_birth_date_chooses_the_age_dependent_interval(text):
    run, panels = run_jsonl(text)
    assert [panel["age"] for panel in panels] == [50, 51, None]
    assert [panel["analytes"]["ggt"]["flag"] for panel in panels] == ["H", "N", "?"]
    assert any("birth: the age at the sample, in completed years" in line for line in run.report)


@pytest.mark.parametrize("text", [LONG_NL, WIDE_EN], ids=["long-nl", "wide-en"])
def test_a_birth_date_after_the_sample_date_is_a_row_error(text):
    run, panels = run_jsonl(text)
    (error,) = panels[2]["errors"]
    assert error["row"] == 3 and "after the sample date" in error["message"]
    assert run.summary.rows_with_errors == 1


def test_an_age_column_wins_over_a_birth_date_it_agrees_with():
    text = "patient,age,birth date,sample date,sex,GGT (U/L)\n1,51,1973-05-14,2024-05-14,M,110\n"
    run, (panel,) = run_jsonl(text)
    assert panel["age"] == 51
    assert any("the age column 'age' is used" in line for line in run.report)
    # 40 against 51 from the birth date: neither is taken (test_an_age_the_birth_date_contradicts_...)
    _, (panel,) = run_jsonl(text.replace(",51,", ",40,"))
    assert panel["age"] is None


def test_without_a_sample_date_no_age_is_derived_and_the_report_says_so():
    run, (panel,) = run_jsonl("patient;Geboortedatum;Geslacht;GGT (U/L)\n1;14-05-1973;M;110\n")
    assert panel["age"] is None
    assert any("no sample date column, so no age is derived" in line for line in run.report)


@pytest.mark.parametrize(
    ("age", "derived", "disagrees"),
    [("63", "63", False), ("64", "63", False), ("62,5", "63", False), ("65", "63", True), ("40", "63", True),
     ("", "63", False), ("onbekend", "63", False), ("63", "", False)],
)
def test_an_age_column_and_a_birth_date_more_than_a_year_apart_disagree(age, derived, disagrees):
    from levlab.exports.ages import disagreement

    assert (disagreement(age, derived) is not None) is disagrees


@pytest.mark.parametrize(
    "text",
    ["patient,sex,age,birth date,date,GGT (U/L)\nP1,M,40,12-03-1960,01-02-2024,60\nP2,M,63,12-03-1960,01-02-2024,60\n",
     "patient;geslacht;leeftijd;geboortedatum;datum;test;uitslag;eenheid\n"
     "1;M;40;12-03-1960;01-02-2024;GGT;60;U/L\n2;M;63;12-03-1960;01-02-2024;GGT;60;U/L\n"],
    ids=["wide-comma", "long-semicolon"],
)
def test_an_age_the_birth_date_contradicts_is_unknown_never_a_guess_between_them(text):
    """GGT 60 U/L in a man is judged by age band: with age 40 said and 63 from the birth date, neither is taken."""
    from export_runs import run_jsonl

    _, (contradicted, agreeing) = run_jsonl(text)
    assert contradicted["age"] is None and contradicted["analytes"]["ggt"]["flag"] == "?"
    assert "differs from 63, the age at the sample from the birth date" in contradicted["errors"][0]["message"]
    assert agreeing["age"] == 63 and agreeing["analytes"]["ggt"]["flag"] == "N" and not agreeing["errors"]
