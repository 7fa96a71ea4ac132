"""cumulative.py: the cumulative report model, reference change values, worst grade after baseline."""

from __future__ import annotations

import math
from datetime import date

import pytest

from levlab.cumulative import build, change, exceeds, rcv, variation_table, worst_grade
from levlab.interpret import interpret_panel
from levlab.model import Patient
from levlab.serial import Sample, link, order, parse_datetime
from levlab.tokens import read_tokens

WOMAN = Patient(sex="F", age=60)  # NORIP: ALT < 45, AST <= 35, ALP 35-105 U/L, bilirubin 5-25 µmol/L


def sample(date_text: str, *tokens: str, patient: str = "P1") -> Sample:
    return Sample(patient, date_text, parse_datetime(date_text), interpret_panel(read_tokens(tokens), WOMAN))


def series(*samples: Sample) -> list[Sample]:
    return link(order(samples)["P1"])


def result(token: str):
    return interpret_panel(read_tokens([token]), WOMAN).results[0]


# --- reference change values -----------------------------------------------------------------

def test_rcv_is_z_sqrt2_and_the_root_sum_of_squares_of_cva_and_cvi():
    # ALT: CVi 9.3 % (EuBIVAS), CVa = 0.5 x CVi = 4.65 %: 1.96 x 1.4142 x 10.398 = 28.82 %
    assert rcv("alt") == pytest.approx(1.96 * math.sqrt(2) * math.sqrt(9.3**2 + 4.65**2))
    assert rcv("alt") == pytest.approx(28.82, abs=0.01)
    assert rcv("ldh") == pytest.approx(16.11, abs=0.01)  # CVi 5.2 %


def test_every_rcv_figure_names_its_source_and_unverified_analytes_get_none():
    table = variation_table()
    assert table.by_analyte and all(v.source and v.cva_source for v in table.by_analyte.values())
    for analyte_id in table.unverified:
        assert rcv(analyte_id) is None
    assert rcv("bilirubin") is None  # its CVi could not be verified: no number is used


@pytest.mark.parametrize(
    ("percent_of_rcv", "expected"),
    [
        (1.0, False),  # exactly the RCV: does not exceed
        (-1.0, False),
        (0.999, False),
        (1.001, True),
        (-1.001, True),  # a fall counts as much as a rise
    ],
)
def test_rcv_boundary(percent_of_rcv, expected):
    limit = rcv("alt")
    assert exceeds(percent_of_rcv * limit, limit) is expected


@pytest.mark.parametrize(("factor", "expected"), [(0.9995, False), (1.0005, True)])
def test_a_change_just_within_or_just_beyond_the_rcv_read_from_values(factor, expected):
    limit = rcv("alt")
    after = 100 * (1 + factor * limit / 100)
    found = change(result("alt=100"), result(f"alt={after:.6f}"))
    assert found.exceeds is expected


def test_change_is_undecided_for_censored_values_and_unknown_without_rcv_data():
    assert change(result("alt=<5U/L"), result("alt=40")).exceeds is None
    bili = change(result("bili=10umol/L"), result("bili=20umol/L"))
    assert bili.percent == pytest.approx(100.0) and bili.rcv is None and bili.exceeds is None
    assert "no RCV" in bili.reason
    assert change(None, result("alt=40")) is None


# --- worst CTCAE grade after baseline ---------------------------------------------------------

def test_worst_grade_with_a_normal_baseline_is_graded_against_uln():
    samples = series(sample("2024-01-10", "alt=30"), sample("2024-05-08", "alt=250"), sample("2024-09-04", "alt=100"))
    worst = worst_grade(samples, "alt", 0)
    # 250 = 5.6 x ULN 45: grade 3; 100 = 2.2 x ULN: grade 1
    assert (worst.grade, worst.samples, worst.basis) == (3, ("2024-05-08",), "ULN")
    assert "not above ULN" in worst.rule and "against ULN" in worst.rule


def test_worst_grade_with_a_baseline_above_uln_is_graded_against_the_baseline():
    samples = series(sample("2024-01-10", "alt=100"), sample("2024-05-08", "alt=250"), sample("2024-09-04", "alt=140"))
    worst = worst_grade(samples, "alt", 0)
    # 250 = 2.5 x baseline 100: grade 1 (not 5.6 x ULN -> 3); 140 = 1.4 x baseline: grade 0
    assert (worst.grade, worst.samples, worst.basis) == (1, ("2024-05-08",), "baseline")
    assert "above ULN" in worst.rule and "multiples of the baseline" in worst.rule


def test_the_baseline_itself_does_not_count_towards_the_worst_grade():
    samples = series(sample("2024-01-10", "alt=1000"), sample("2024-05-08", "alt=30"))
    assert worst_grade(samples, "alt", 0).grade == 0  # 1000 (grade 4 against ULN) is the baseline


def test_worst_grade_counts_undecided_samples():
    samples = series(sample("2024-01-10", "alt=30"), sample("2024-05-08", "alt=>100"), sample("2024-09-04", "alt=60"))
    worst = worst_grade(samples, "alt", 0)
    # >100 U/L may be grade 1 or higher: undecided, and the worst may be higher than the decided 1
    assert (worst.grade, worst.undecided) == (1, 1)


def test_worst_grade_is_none_for_an_analyte_without_a_ctcae_term():
    samples = series(sample("2024-01-10", "ldh=300"), sample("2024-05-08", "ldh=400"))
    assert worst_grade(samples, "ldh", 0) is None


# --- the table --------------------------------------------------------------------------------

def test_columns_are_in_time_order_whatever_the_input_order():
    samples = link(order([
        sample("2024-09-04", "alt=160", "bili=20umol/L"),
        sample("2024-01-10", "alt=30", "bili=10umol/L"),
        sample("2024-05-08", "alt=40", "bili=12umol/L"),
    ])["P1"])
    report = build("P1", samples)
    assert [s.label for s in report.samples] == ["2024-01-10", "2024-05-08", "2024-09-04"]
    alt = next(row for row in report.rows if row.analyte == "alt")
    assert [c.text for c in alt.cells] == ["30", "40", "160"]
    assert alt.latest_x_uln == pytest.approx(160 / 45)
    assert alt.latest_change.percent == pytest.approx(300.0) and alt.latest_change.exceeds is True
    assert alt.interval == "10 - 45 U/L"
    assert report.baseline.label == "2024-01-10"


def test_baseline_date_moves_the_baseline():
    samples = link(order([sample("2024-01-10", "alt=30"), sample("2024-03-01", "alt=100"),
                          sample("2024-05-08", "alt=250")])["P1"], date(2024, 3, 1))
    report = build("P1", samples, date(2024, 3, 1))
    assert report.baseline.label == "2024-03-01"
    assert report.baseline_choice == "the last sample on or before 2024-03-01 (the earliest if none was)"
    alt = next(row for row in report.rows if row.analyte == "alt")
    assert (alt.worst.grade, alt.worst.basis) == (1, "baseline")  # 250 = 2.5 x baseline 100


def test_per_sample_rules_take_hys_law_from_the_series():
    samples = series(
        sample("2024-01-10", "alt=30", "ast=20", "bili=10umol/L", "alp=80", "ldh=150"),
        sample("2024-09-04", "alt=160", "ast=30", "bili=20umol/L", "alp=90", "ldh=150"),  # transaminase leg
        sample("2024-09-20", "alt=60", "ast=30", "bili=60umol/L", "alp=90", "ldh=150"),  # bilirubin leg, 16 d later
    )
    report = build("P1", samples)
    assert report.hys_law.status == "met"
    by_label = {s.label: s for s in report.summaries}
    assert by_label["2024-09-04"].hys_law_with == ("2024-09-20",)
    assert by_label["2024-09-20"].hys_law_with == ("2024-09-04",)
    assert by_label["2024-01-10"].hys_law_with == ()
    assert by_label["2024-01-10"].normal_panel.status == "met"
    assert all(h.rule_id != "hys-law" for s in report.summaries for h in s.hits)


def test_latest_is_the_newest_dated_result_not_an_undated_one():
    undated = Sample("P1", "(no date)", None, interpret_panel(read_tokens(["alt=450"]), WOMAN))
    samples = link(order([sample("2024-01-10", "alt=30"), sample("2024-05-08", "alt=90"), undated])["P1"])
    alt = next(row for row in build("P1", samples).rows if row.analyte == "alt")
    assert alt.latest_x_uln == pytest.approx(2.0)  # 90 / 45, not the undated 450
    assert [c.text for c in alt.cells] == ["30", "90", "450"]  # the undated sample is shown, last
