"""hyslaw.py: Hy's law over a series, the legs tied together within a window of days."""

from __future__ import annotations

import pytest

from levlab.hyslaw import hys_law_over_time, spec
from levlab.interpret import interpret_panel
from levlab.model import Patient
from levlab.serial import Sample, parse_datetime
from levlab.tokens import read_tokens

WOMAN = Patient(sex="F", age=60)  # ALT ULN 45 (3x = 135), bilirubin ULN 25 µmol/L (2x = 50), ALP ULN 105 (2x = 210)

INJURY = ("alt=160", "ast=30", "bili=20umol/L", "alp=90")  # ALT 3.6 x ULN, bilirubin and ALP normal
JAUNDICE = ("alt=60", "ast=30", "bili=60umol/L", "alp=90")  # bilirubin 2.4 x ULN


def sample(date_text: str, *tokens: str) -> Sample:
    return Sample("P1", date_text, parse_datetime(date_text), interpret_panel(read_tokens(tokens), WOMAN))


@pytest.mark.parametrize(
    ("bilirubin_date", "window", "status"),
    [
        ("2024-03-31", 30, "met"),  # exactly 30 calendar days after 1 March: at the window's edge
        ("2024-04-01", 30, "not-met"),  # one day beyond
        ("2024-03-01", 0, "met"),  # same day with a window of 0
        ("2024-03-02", 0, "not-met"),
        ("2024-03-08", 7, "met"),
        ("2024-03-09", 7, "not-met"),
    ],
)
def test_window_edges(bilirubin_date, window, status):
    found = hys_law_over_time([sample("2024-03-01 09:00", *INJURY), sample(f"{bilirubin_date} 23:00", *JAUNDICE)], window)
    assert found.status == status
    assert found.window_days == window


def test_default_window_is_the_documented_one():
    assert spec().window_days == 30
    found = hys_law_over_time([sample("2024-03-01", *INJURY), sample("2024-03-31", *JAUNDICE)])
    assert found.status == "met" and found.window_days == 30


def test_bilirubin_before_the_transaminase_rise_does_not_count():
    assert hys_law_over_time([sample("2024-03-01", *JAUNDICE), sample("2024-03-05", *INJURY)], 30).status == "not-met"


def test_the_samples_that_met_it_are_named():
    found = hys_law_over_time([sample("2024-01-01", "alt=20", "bili=10umol/L", "alp=80"),
                               sample("2024-03-01", *INJURY), sample("2024-03-20", *JAUNDICE)], 30)
    (pair,) = found.met
    assert (pair.transaminase.label, pair.bilirubin.label, pair.days) == ("2024-03-01", "2024-03-20", 19)
    assert [s.label for s in found.samples_met] == ["2024-03-01", "2024-03-20"]


@pytest.mark.parametrize(
    ("alp_first", "alp_second", "status"),
    [
        ("alp=209", "alp=90", "met"),  # 1.99 x ULN
        ("alp=210", "alp=90", "not-met"),  # exactly 2 x ULN: not < 2 x ULN
        ("alp=90", "alp=210", "not-met"),  # ALP must hold at the bilirubin sample too
    ],
)
def test_alp_must_be_below_twice_uln_on_both_samples(alp_first, alp_second, status):
    found = hys_law_over_time([sample("2024-03-01", "alt=160", "ast=30", "bili=20umol/L", alp_first),
                               sample("2024-03-10", "alt=60", "ast=30", "bili=60umol/L", alp_second)], 30)
    assert found.status == status


def test_a_missing_leg_makes_it_undecided_never_met():
    found = hys_law_over_time([sample("2024-03-01", "alt=160", "ast=30", "bili=20umol/L"),  # no ALP
                               sample("2024-03-10", *JAUNDICE)], 30)
    assert found.status == "undecided" and len(found.undecided) == 1 and not found.met


def test_peaks_far_apart_are_not_a_case():
    # the eDISH peaks would put this patient in the Hy's law quadrant; the series check does not
    found = hys_law_over_time([sample("2024-01-01", *INJURY), sample("2024-05-01", *JAUNDICE)], 30)
    assert found.status == "not-met"


def test_undated_samples_take_no_part():
    undated = Sample("P1", "(no date)", None, interpret_panel(read_tokens(JAUNDICE), WOMAN))
    assert hys_law_over_time([sample("2024-03-01", *INJURY), undated], 30).status == "not-met"


def test_an_unmeasured_ast_leaves_the_transaminase_leg_open():
    # ALT 60 is below 3 x ULN, but AST was not measured and could be: undecided, not "not met"
    found = hys_law_over_time([sample("2024-03-01", "alt=60", "bili=60umol/L", "alp=90")], 30)
    assert found.status == "undecided"
