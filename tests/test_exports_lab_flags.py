"""exports/lab_flags.py: the laboratory's own flag is evidence; levlab never contradicts it silently."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from levlab.cli import main
from levlab.exports.lab_flags import agrees, lab_flag

HEADER = "patient;sex;age;date;test;result;unit;vlag\n"
IN_RANGE = [("bilirubine", "10", "umol/L"), ("ALAT", "20", "U/L"), ("ASAT", "20", "U/L"), ("AF", "80", "U/L"),
            ("LD", "150", "U/L")]


def export(flags: list[str]) -> str:
    """One patient's panel, levlab-normal values, with the laboratory's flag per row."""
    return HEADER + "".join(f"1;V;60;01-02-2024;{test};{value};{unit};{flag}\n"
                            for (test, value, unit), flag in zip(IN_RANGE, flags, strict=True))


def outcome(text: str) -> dict:
    result = CliRunner().invoke(main, ["csv", "-", "--format", "jsonl"], input=text)
    assert result.exit_code == 0, result.stderr
    (panel,) = [json.loads(line) for line in result.stdout.splitlines()]
    return panel


@pytest.mark.parametrize(
    ("text", "flag"),
    [("H", "H"), ("hh", "H"), (" hoog ", "H"), ("↑", "H"), ("L", "L"), ("verlaagd", "L"), ("N", "N"),
     ("normaal", "N"), ("A", "A"), ("afwijkend", "A"), ("", None), ("see comment", None), ("x" * 500, None)],
)
def test_lab_flag_words(text, flag):
    assert lab_flag(text) == flag


@pytest.mark.parametrize(("lab", "levlab", "same"), [("H", "H", True), ("A", "H", True), ("A", "L", True),
                                                      ("A", "N", False), ("H", "N", False), ("N", "H", False)])
def test_agrees(lab, levlab, same):
    assert agrees(lab, levlab) is same


def test_all_five_flagged_high_by_the_lab_is_never_met():
    """Issue 19.2: with all five flagged H by the laboratory and no range column, levlab said met."""
    panel = outcome(export(["H"] * 5))
    assert panel["normal_panel"]["status"] == "incomplete"
    assert panel["normal_panel"]["statement"] is None
    assert {a["flag"] for a in panel["analytes"].values()} == {"?"}


@pytest.mark.parametrize("position", range(5))
def test_one_lab_flag_against_levlab_makes_that_analyte_indeterminate(position):
    flags = ["N"] * 5
    flags[position] = "H"
    panel = outcome(export(flags))
    assert panel["normal_panel"]["status"] == "incomplete"
    flagged = [a for a in panel["analytes"].values() if a["flag"] == "?"]
    assert len(flagged) == 1 and "the laboratory flags it 'H'" in flagged[0]["reason"]


def test_lab_flags_that_agree_or_are_blank_change_nothing():
    assert outcome(export(["N", "", "normaal", "N", ""]))["normal_panel"]["status"] == "met"


def test_the_csv_columns_say_what_the_jsonl_says():
    result = CliRunner().invoke(main, ["csv", "-"], input=export(["N", "N", "H", "N", "N"]))
    header, *rows = [line.split(";") for line in result.stdout.splitlines()]
    assert {row[header.index("levlab_normal_panel")] for row in rows} == {"incomplete"}  # every row
    assert [row[header.index("levlab_flag")] for row in rows] == ["N", "N", "?", "N", "N"]


def test_a_result_the_lab_flags_against_levlab_has_no_ctcae_grade_nor_multiple_of_uln():
    """ALT 20 U/L that the laboratory flags H: the upper limit in force is unknown, so no CTCAE grade
    0 ("not > ULN") and no x ULN of 0.4 may contradict the laboratory, in the JSONL or the CSV columns."""
    text = export(["N", "H", "N", "N", "N"])
    alt = outcome(text)["analytes"]["alt"]
    assert alt["flag"] == "?"
    assert alt["x_uln"] is None and alt["high"] is None
    assert alt["ctcae"]["grade"] is None
    assert "< 45 U/L" in alt["reason"] or "45" in alt["reason"]  # levlab's interval is still named
    result = CliRunner().invoke(main, ["csv", "-"], input=text)
    header, *rows = [line.split(";") for line in result.stdout.splitlines()]
    assert rows[1][header.index("levlab_ctcae")] == "?"
