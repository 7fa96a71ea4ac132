"""ranges.py: sourced default intervals, a laboratory's own range, and which interval holds."""

from __future__ import annotations

import pytest

from levlab.catalog import analytes, get_analyte
from levlab.errors import RangeError, UnitError
from levlab.model import Bounds, Patient
from levlab.ranges import (
    candidate_intervals,
    default_intervals,
    describe_interval,
    interval_from_text,
    load_interval_file,
    parse_sex,
)

ALT = get_analyte("alt")


def lab_interval(text: str, unit: str = "U/L", analyte=ALT):
    return interval_from_text(analyte, text, unit, "test laboratory")


# --- a laboratory's range: which bound is inclusive -------------------------------------


@pytest.mark.parametrize(
    ("range_text", "value", "flag"),
    [
        pytest.param("< 45", 45, "H", id="less-45-makes-45-raised"),
        pytest.param("<45", 45, "H", id="less-45-nospace-makes-45-raised"),
        pytest.param("< 45", 44.99, "N", id="less-45-44.99-inside"),
        pytest.param("0 - 45", 45, "N", id="hyphen-keeps-45-inside"),
        pytest.param("0–45", 45, "N", id="en-dash-keeps-45-inside"),
        pytest.param("<= 45", 45, "N", id="less-equal-keeps-45-inside"),
        pytest.param("≤45", 45, "N", id="unicode-less-equal-keeps-45-inside"),
        pytest.param("0 - 45", 45.01, "H", id="hyphen-45.01-raised"),
        pytest.param("≤45", 45.01, "H", id="less-equal-45.01-raised"),
        pytest.param("10 - 45", 10, "N", id="lower-limit-inclusive"),
        pytest.param("10 - 45", 9.99, "L", id="below-lower-limit"),
        pytest.param("> 10", 10, "L", id="greater-10-makes-10-low"),
        pytest.param(">= 10", 10, "N", id="greater-equal-keeps-10"),
    ],
)
def test_lab_range_bounds(range_text, value, flag):
    assert lab_interval(range_text).flag(Bounds.of(value, None)) == flag


@pytest.mark.parametrize(
    ("range_text", "value", "comparator", "flag"),
    [
        pytest.param("< 45", 5, "<", "N", id="lt5-under-lt45-inside"),
        pytest.param("< 45", 1000, ">", "H", id="gt1000-raised"),
        pytest.param("< 45", 50, "<", "?", id="lt50-straddles-45"),
        pytest.param("< 45", 45, "<", "N", id="lt45-under-lt45-inside"),
        pytest.param("< 45", 45, "<=", "?", id="le45-under-lt45-could-be-45"),
        pytest.param("<= 45", 45, "<=", "N", id="le45-under-le45-inside"),
        pytest.param("<= 45", 45, ">", "H", id="gt45-under-le45-raised"),
        pytest.param("<= 45", 45, ">=", "?", id="ge45-under-le45-could-be-45"),
        pytest.param("< 45", 45, ">=", "H", id="ge45-under-lt45-raised"),
        pytest.param("35 - 50", 35, "<", "L", id="lt35-under-35-50-low"),
        pytest.param("35 - 50", 40, "<", "?", id="lt40-under-35-50-could-be-low"),
        pytest.param("35 - 50", 40, ">", "?", id="gt40-under-35-50-could-be-high"),
    ],
)
def test_censored_values_are_decided_only_when_the_bound_settles_it(range_text, value, comparator, flag):
    assert lab_interval(range_text).flag(Bounds.of(value, comparator)) == flag


def test_lab_range_in_another_unit_is_converted_to_canonical():
    bilirubin = get_analyte("bilirubin")
    interval = lab_interval("< 1.2", "mg/dL", bilirubin)
    assert interval.unit == "µmol/L"
    assert interval.high == pytest.approx(1.2 * 10 * 1000 / 584.66)


def test_lab_range_with_its_own_unit_text():
    interval = lab_interval("< 45 U/L")
    assert interval.high == 45
    assert interval.text.count("U/L") == 1


def test_lab_range_naming_its_own_unit_wins_over_the_result_unit():
    interval = lab_interval("< 0.75 ukat/L", "U/L")
    assert interval.high == pytest.approx(0.75 * 60)


@pytest.mark.parametrize(
    ("range_text", "unit", "error"),
    [
        pytest.param("< 45 mmol/L", "U/L", UnitError, id="unit-not-for-analyte"),
        pytest.param("45", "U/L", RangeError, id="bare-number"),
        pytest.param("50 - 45", "U/L", RangeError, id="reversed"),
    ],
)
def test_lab_range_errors(range_text, unit, error):
    with pytest.raises(error):
        lab_interval(range_text, unit)


# --- the defaults -------------------------------------------------------------------------


def test_every_default_interval_names_its_source_and_an_age_span():
    table = default_intervals()
    assert table.all()
    for interval in table.all():
        assert interval.source.strip()
        assert interval.age_min is not None, f"{interval.analyte} {interval.text} holds for children too"
        assert interval.unit == analytes()[interval.analyte].canonical_unit


@pytest.mark.parametrize(
    ("analyte", "sex", "low", "high", "high_inclusive"),
    [
        pytest.param("alt", "F", 10, 45, True, id="alt-F-10-45-inclusive"),
        pytest.param("alt", "M", 10, 70, True, id="alt-M-10-70-inclusive"),
        pytest.param("ast", "F", 15, 35, True, id="ast-F-15-35"),
        pytest.param("ast", "M", 15, 45, True, id="ast-M-15-45"),
        pytest.param("leukocytes", None, 3.5, 8.8, True, id="wbc-nordin-3.5-8.8"),
        pytest.param("haemoglobin", "F", 7.5, 10.0, True, id="hb-F-sanquin-7.5-10.0-mmol"),
        pytest.param("haemoglobin", "M", 8.5, 11.0, True, id="hb-M-sanquin-8.5-11.0-mmol"),
        pytest.param("alp", None, 35, 105, True, id="alp-35-105"),
        pytest.param("albumin", None, 35, 50, True, id="albumin-35-50"),
    ],
)
def test_reference_section_4_figures(analyte, sex, low, high, high_inclusive):
    certain, possible = candidate_intervals(default_intervals(), analyte, Patient(sex=sex, age=50))
    assert not possible
    assert len(certain) == 1
    interval = certain[0]
    assert (interval.low, interval.high, interval.high_inclusive) == (low, high, high_inclusive)


@pytest.mark.parametrize(
    ("age", "high"),
    [
        pytest.param(18, 205, id="18-first-adult-year"),
        pytest.param(69, 205, id="69-last-year-of-band"),
        pytest.param(69.9, 205, id="69.9-completed-years"),
        pytest.param(70, 255, id="70-older-band"),
        pytest.param(95, 255, id="95"),
    ],
)
def test_ldh_age_bands(age, high):
    certain, possible = candidate_intervals(default_intervals(), "ldh", Patient(age=age))
    assert not possible
    assert [interval.high for interval in certain] == [high]


@pytest.mark.parametrize("age", [4, 17, 17.99])
def test_adult_intervals_never_apply_to_children(age):
    for analyte in ("alp", "ldh", "bilirubin", "alt"):
        certain, possible = candidate_intervals(default_intervals(), analyte, Patient(sex="F", age=age))
        assert certain == possible == ()


def test_unknown_sex_makes_both_sex_intervals_possible():
    certain, possible = candidate_intervals(default_intervals(), "alt", Patient(age=50))
    assert certain == ()
    assert sorted(interval.sex for interval in possible) == ["F", "M"]


def test_unknown_age_makes_both_ldh_bands_possible():
    certain, possible = candidate_intervals(default_intervals(), "ldh", Patient())
    assert certain == ()
    assert sorted(interval.high for interval in possible) == [205, 255]


# --- sex ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sex"),
    [
        pytest.param("F", "F", id="F"),
        pytest.param("f", "F", id="f"),
        pytest.param("V", "F", id="dutch-V"),
        pytest.param("vrouw", "F", id="vrouw"),
        pytest.param("female", "F", id="female"),
        pytest.param("W", "F", id="german-W"),
        pytest.param("M", "M", id="M"),
        pytest.param("m", "M", id="m"),
        pytest.param("man", "M", id="man"),
        pytest.param("male", "M", id="male"),
    ],
)
def test_parse_sex(text, sex):
    assert parse_sex(text) == sex


@pytest.mark.parametrize("text", ["X", "", "unknown", "FM"])
def test_parse_sex_refused(text):
    with pytest.raises(RangeError, match="F or M"):
        parse_sex(text)


# --- --ranges FILE --------------------------------------------------------------------------


GLOBULIN_FILE = """
[[interval]]
analyte = "globulin"
range = "20 - 35"
unit = "g/L"
source = "test laboratory"
"""


def test_ranges_file_adds_an_analyte_without_default():
    table = load_interval_file(GLOBULIN_FILE, "lab.toml")
    (interval,) = table.for_analyte("globulin")
    assert (interval.low, interval.high, interval.source) == (20, 35, "test laboratory")
    # the other defaults stay
    assert table.for_analyte("alt") == default_intervals().for_analyte("alt")


def test_ranges_file_replaces_the_defaults_of_its_analytes():
    text = '[[interval]]\nanalyte = "ALAT"\nrange = "<= 40"\nunit = "U/L"\nsource = "own lab"\n'
    table = load_interval_file(text, "lab.toml")
    (interval,) = table.for_analyte("alt")
    assert (interval.high, interval.high_inclusive, interval.sex) == (40, True, None)


def test_ranges_file_sex_accepts_dutch_v():
    text = '[[interval]]\nanalyte = "alt"\nsex = "V"\nrange = "< 35"\nsource = "own lab"\n'
    (interval,) = load_interval_file(text, "lab.toml").for_analyte("alt")
    assert interval.sex == "F"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("x = [", "not valid TOML", id="bad-toml"),
        pytest.param("title = 'no intervals'", "no \\[\\[interval\\]\\]", id="no-entries"),
        pytest.param('[[interval]]\nanalyte = "alt"\nrange = "< 45"\n', "missing key 'source'", id="no-source"),
        pytest.param('[[interval]]\nanalyte = "alt"\nsource = "x"\n', "missing key 'range'", id="no-range"),
        pytest.param('[[interval]]\nanalyte = "sodium"\nrange = "< 45"\nsource = "x"\n', "unknown analyte", id="unknown-analyte"),
        pytest.param('[[interval]]\nanalyte = "alt"\nrange = "45"\nsource = "x"\n', "not understood", id="bad-range"),
        pytest.param('[[interval]]\nanalyte = "alt"\nrange = "< 45"\nunit = "mg/dL"\nsource = "x"\n', "not accepted",
                     id="bad-unit"),
        pytest.param('[[interval]]\nanalyte = "alt"\nsex = "X"\nrange = "< 45"\nsource = "x"\n', "F or M", id="bad-sex"),
        pytest.param('[[interval]]\nanalyte = "alt"\nage_min = 18.5\nrange = "< 45"\nsource = "x"\n', "whole years",
                     id="fractional-age"),
    ],
)
def test_ranges_file_errors_name_the_file(text, match):
    with pytest.raises(RangeError, match=match) as caught:
        load_interval_file(text, "lab.toml")
    assert "lab.toml" in str(caught.value)


@pytest.mark.parametrize(
    ("range_text", "shown"),
    [
        pytest.param("< 45", "< 45 U/L", id="strict-upper"),
        pytest.param("<= 45", "<= 45 U/L", id="inclusive-upper"),
        pytest.param("35 - 105", "35 - 105 U/L", id="two-sided"),
        pytest.param("> 3", "> 3 U/L", id="strict-lower"),
    ],
)
def test_describe_interval(range_text, shown):
    assert describe_interval(lab_interval(range_text)) == shown


@pytest.mark.parametrize(
    ("sex", "age", "low", "high"),
    [
        pytest.param("M", 13, 7, 36, id="M-13-first-year-of-band"),
        pytest.param("M", 18, 7, 36, id="M-18-no-longer-a-gap"),
        pytest.param("F", 18.9, 6, 35, id="F-18.9-completed-years"),
        pytest.param("M", 19, 9, 102, id="M-19-adult-band"),
        pytest.param("F", 19, 6, 62, id="F-19-adult-band"),
    ],
)
def test_ggt_has_a_number_band_for_13_to_18(sex, age, low, high):
    certain, possible = candidate_intervals(default_intervals(), "ggt", Patient(sex=sex, age=age))
    assert not possible and len(certain) == 1
    assert (certain[0].low, certain[0].high) == (low, high)


def test_ggt_under_13_is_still_not_judged():
    certain, possible = candidate_intervals(default_intervals(), "ggt", Patient(sex="M", age=12))
    assert not certain and not possible


@pytest.mark.parametrize(
    ("analyte", "smoker", "cited", "not_cited"),
    [
        pytest.param("cea", False, "StatPearls", "MedlinePlus", id="cea-non-smoker-3.0-statpearls-only"),
        pytest.param("cea", True, "MedlinePlus", None, id="cea-smoker-5.0-both"),
        pytest.param("leukocytes", None, "Nordin", "Rustad", id="wbc-cites-nordin"),
        pytest.param("haemoglobin", None, "Sanquin", "Rustad", id="hb-cites-sanquin"),
    ],
)
def test_each_interval_cites_only_a_source_that_gives_its_figure(analyte, smoker, cited, not_cited):
    intervals = [i for i in default_intervals().for_analyte(analyte) if smoker is None or i.smoker is smoker]
    assert intervals
    for interval in intervals:
        assert cited in interval.source
        if not_cited:
            assert not_cited not in interval.source


def test_the_nordic_haemoglobin_alternative_is_documented_beside_the_default():
    for interval in default_intervals().for_analyte("haemoglobin"):
        assert "Nordin" in interval.note and "--ranges" in interval.note
        assert interval.unit == "mmol/L"
