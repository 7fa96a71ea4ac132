"""levlab.exports.long_patient: a long panel's sex and age from its rows, never a guess."""

from __future__ import annotations

import pytest
from export_runs import run_jsonl


@pytest.mark.parametrize(
    ("first", "others", "value", "status"),
    [
        ("M", "F", "50", "incomplete"),  # ALT 50: normal for a man (< 70), raised for a woman (< 45)
        ("F", "M", "50", "incomplete"),
        ("M", "F", "30", "met"),  # in range whichever sex: the conflict does not matter
        ("M", "M", "50", "met"),
    ],
)
def test_a_panel_whose_rows_disagree_on_sex_is_judged_with_sex_unknown(first, others, value, status):
    """Rows of one panel giving two sexes: neither is used (not the first row's), so ALT between the
    female and male limits is indeterminate and the panel is never `met` on a guessed sex."""
    text = "patient;sex;age;date;test;value;unit\n" + "".join(
        f"1;{first if test == 'ALT' else others};50;2024-01-01;{test};{v};{unit}\n"
        for test, v, unit in [("ALT", value, "U/L"), ("AST", "20", "U/L"), ("ALP", "80", "U/L"),
                              ("LDH", "150", "U/L"), ("bilirubin", "10", "umol/L")])
    _, (panel,) = run_jsonl(text)
    assert panel["normal_panel"]["status"] == status
    if first != others:
        assert panel["sex"] is None
        assert any("sex" in error["message"] and "unknown" in error["message"] for error in panel["errors"])


def test_a_panel_whose_rows_disagree_on_age_is_judged_with_age_unknown():
    """LDH 230 U/L is raised at 50 (105-205) and in range at 75 (115-255): rows saying both leave it undecided."""
    text = "patient;sex;age;date;test;value;unit\n" + "".join(
        f"1;M;{75 if test == 'LDH' else 50};2024-01-01;{test};{v};{unit}\n"
        for test, v, unit in [("ALT", "30", "U/L"), ("AST", "20", "U/L"), ("ALP", "80", "U/L"),
                              ("LDH", "230", "U/L"), ("bilirubin", "10", "umol/L")])
    _, (panel,) = run_jsonl(text)
    assert panel["age"] is None
    assert panel["analytes"]["ldh"]["flag"] == "?"
    assert panel["normal_panel"]["status"] == "incomplete"


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("decimal", [".", ","])
def test_the_patient_of_a_usual_panel_from_its_texts_is_the_long_way(monkeypatch, seed, decimal):
    """The shortcut (one sex and age text on every row: the entry looked up by those texts)
    against reading every row's sex and age, on random panels that disagree now and then."""
    from long_panels import outputs, random_long_export

    from levlab.exports import long_patient

    text = random_long_export(seed, decimal=decimal)
    shortcut = outputs(text)
    monkeypatch.setattr(long_patient, "KNOWN_PATIENTS", 0)
    assert outputs(text) == shortcut
    assert "differs from" in shortcut[0]
