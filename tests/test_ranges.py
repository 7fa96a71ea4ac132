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


# --- a range needs a unit where a value does; a limit implausible in its unit is refused --------

BILIRUBIN = get_analyte("bilirubin")


def _entry(**keys: object) -> str:
    """One [[interval]] entry in TOML."""
    def value(item: object) -> str:
        return str(item).lower() if isinstance(item, bool) else (f'"{item}"' if isinstance(item, str) else str(item))

    return "[[interval]]\n" + "".join(f"{key} = {value(item)}\n" for key, item in keys.items())


@pytest.mark.parametrize(
    "analyte",
    ["bilirubin", "albumin", "globulin", "haemoglobin", "glucose"],
)
def test_a_ranges_entry_of_a_unit_required_analyte_needs_a_unit(analyte):
    with pytest.raises(RangeError, match=f"{analyte} needs a unit"):
        load_interval_file(_entry(analyte=analyte, range="< 1.2", source="lab"), "lab.toml")


@pytest.mark.parametrize(
    ("keys", "high"),
    [
        pytest.param({"range": "< 1.2", "unit": "mg/dL"}, 20.52, id="unit-key"),
        pytest.param({"range": "< 1.2 mg/dL"}, 20.52, id="unit-in-the-range"),
        pytest.param({"range": "< 21", "unit": "µmol/L"}, 21, id="canonical-unit-key"),
    ],
)
def test_a_ranges_entry_with_its_unit_is_read_in_it(keys, high):
    (interval,) = load_interval_file(_entry(analyte="bilirubin", source="lab", **keys), "lab.toml").for_analyte("bilirubin")
    assert interval.high == pytest.approx(high, rel=1e-3)


@pytest.mark.parametrize(
    ("analyte", "text", "unit", "hint"),
    [
        pytest.param(BILIRUBIN, "< 1.2", "µmol/L", "did you mean mg/dL", id="bilirubin-mg/dL-as-µmol/L"),
        pytest.param(BILIRUBIN, "0.2 - 1.2", "µmol/L", "did you mean mg/dL", id="two-sided-bilirubin"),
        pytest.param(ALT, "< 0.75", "U/L", "did you mean µkat/L", id="alt-µkat/L-as-U/L"),
        pytest.param(ALT, "< 45", "µkat/L", "implausible", id="alt-U/L-as-µkat/L"),
        pytest.param(get_analyte("albumin"), "3.5 - 5.0", "g/L", "did you mean g/dL", id="albumin-g/dL-as-g/L"),
        pytest.param(get_analyte("glucose"), "70 - 110", "mmol/L", "did you mean mg/dL", id="glucose-mg/dL-as-mmol/L"),
    ],
)
def test_a_lab_limit_implausible_in_its_unit_is_refused_with_the_hint(analyte, text, unit, hint):
    with pytest.raises(RangeError, match=hint):
        lab_interval(text, unit, analyte)


@pytest.mark.parametrize(
    ("text", "unit", "says", "never"),
    [
        pytest.param("< 1.2", "µmol/L", "write the unit in the range", "the range says", id="range-without-unit"),
        pytest.param("2.0 - 7.0 mg/dL", "µmol/L", "the range says mg/dL, but its numbers fit mg/L",
                     "write the unit", id="range-naming-its-unit"),
        pytest.param("< 1.2 µmol/L", "mg/dL", "the range says µmol/L, but its numbers fit mg/dL",
                     "write the unit", id="range-unit-beside-another-value-unit"),
    ],
)
def test_the_hint_for_an_implausible_limit_fits_how_its_unit_came(text, unit, says, never):
    """A range that names its unit is not told to write it (the US Core example's 2.0-7.0 mg/dL)."""
    with pytest.raises(RangeError) as refused:
        lab_interval(text, unit, BILIRUBIN)
    assert says in str(refused.value) and never not in str(refused.value)


@pytest.mark.parametrize(
    ("analyte", "text", "unit"),
    [
        pytest.param(BILIRUBIN, "< 17", "µmol/L", id="dutch-bilirubin"),
        pytest.param(BILIRUBIN, "0 - 21", "µmol/L", id="zero-lower-limit"),
        pytest.param(BILIRUBIN, "0.3 - 1.2", "mg/dL", id="bilirubin-in-mg/dL"),
        pytest.param(get_analyte("alp"), "< 420", "U/L", id="a-child's-alp"),
        pytest.param(ALT, "< 0.75", "µkat/L", id="alt-in-µkat/L"),
        pytest.param(get_analyte("cea"), "< 2.5", "µg/L", id="cea-one-unit"),
    ],
)
def test_a_plausible_lab_limit_is_read(analyte, text, unit):
    assert lab_interval(text, unit, analyte).analyte == analyte.id


def test_a_range_column_without_a_unit_beside_a_umol_column_is_refused():
    """The range takes the value's unit; `< 1.2` as µmol/L would call bilirubin 10 µmol/L 8 x ULN."""
    from levlab.interpret import read_measurement

    with pytest.raises(RangeError, match=r"1\.2 mg/dL = 20\.52"):
        read_measurement(BILIRUBIN, "10", unit_text="µmol/L", lab_range="< 1.2")


# --- a ranges file: its keys, its shape, and entries that cannot both hold --------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param(_entry(analyte="alt", sexe="M", range="< 45", source="x"),
                     "unknown key 'sexe'; the keys are analyte, range, unit, source, sex", id="typo-sexe"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x", ages=18), "unknown key 'ages'", id="typo-ages"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x") + "[extra]\nsex = 'M'\n", "unknown key 'extra'",
                     id="unknown-table"),
        pytest.param("interval = [1, 2]\n", "is a table of keys, not int", id="list-of-numbers"),
        pytest.param('interval = "alt < 45"\n', "interval is the text", id="text-for-the-list"),
        pytest.param("[interval]\nanalyte = 'alt'\n", "interval is a table", id="table-for-the-list"),
        pytest.param('[[interval]]\nanalyte = "alt"\nrange = {a = 1}\nsource = "x"\n', "range is a text, not a table",
                     id="table-for-range"),
        pytest.param('[[interval]]\nanalyte = ["alt"]\nrange = "< 45"\nsource = "x"\n', "analyte is a text, not a list",
                     id="list-for-analyte"),
        pytest.param('[[interval]]\nanalyte = "alt"\nrange = 45\nsource = "x"\n', "range is a text, not int",
                     id="number-for-range"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x", smoker="no"), "smoker is true or false",
                     id="text-for-smoker"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x", age_min=True), "age_min is in whole years",
                     id="bool-for-age"),
        pytest.param("x = " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply", id="1000-deep-lists"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x") + "note = " + "{a=" * 1000 + "1" + "}" * 1000,
                     "nested too deeply", id="1000-deep-tables"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x", age_min=70, age_max=10),
                     "age_min = 70 is above age_max = 10", id="inverted-age-span"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x") + _entry(analyte="ALAT", range="< 35", source="y"),
                     "interval 2: alt < 35 U/L holds for the same patients as interval 1", id="two-unrestricted"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x", sex="F")
                     + _entry(analyte="alt", range="< 35", source="y", age_min=60),
                     "holds for the same patients", id="women-and-the-over-60s"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x", age_max=60)
                     + _entry(analyte="alt", range="< 35", source="y", age_min=60),
                     "holds for the same patients", id="age-60-in-both"),
    ],
)
def test_a_ranges_file_of_the_wrong_shape_or_keys_is_refused(text, match):
    with pytest.raises(RangeError, match=match) as caught:
        load_interval_file(text, "lab.toml")
    assert str(caught.value).startswith("lab.toml")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_entry(analyte="alt", range="< 45", source="x", sex="F")
                     + _entry(analyte="alt", range="< 70", source="x", sex="M"), id="by-sex"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x", age_max=59)
                     + _entry(analyte="alt", range="< 35", source="y", age_min=60), id="by-age"),
        pytest.param(_entry(analyte="cea", range="< 5", source="x", smoker=True)
                     + _entry(analyte="cea", range="< 3", source="x", smoker=False), id="by-smoking"),
        pytest.param(_entry(analyte="alt", range="< 45", source="x") + _entry(analyte="ast", range="< 35", source="x"),
                     id="two-analytes"),
    ],
)
def test_entries_for_different_patients_are_accepted(text):
    assert load_interval_file(text, "lab.toml").all()


def test_the_default_intervals_pass_the_checks_of_a_ranges_file():
    from levlab.data import data_path

    with open(data_path("ranges.toml"), encoding="utf-8") as handle:
        text = handle.read()
    load_interval_file(text, "ranges.toml")

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


@pytest.mark.parametrize(("text", "smoker"), [("yes", True), (" JA ", True), ("1", True), ("nee", False), ("n", False),
                                              ("false", False)])
def test_parse_smoker(text, smoker):
    from levlab.ranges import parse_smoker

    assert parse_smoker(text) is smoker


@pytest.mark.parametrize("text", ["maybe", "", "yess"])
def test_parse_smoker_refuses_other_words(text):
    from levlab.ranges import parse_smoker

    with pytest.raises(RangeError, match="use yes or no"):
        parse_smoker(text)


# --- Dutch defaults where verified, the Nordic figures kept as alternatives (issue 17 item 2) ---

DUTCH_SOURCES = ("NUMBER", "Sanquin")


@pytest.mark.parametrize("analyte_id", ["bilirubin", "alp", "ggt", "alt", "ast", "ldh", "albumin"])
def test_each_liver_default_is_dutch_or_says_the_dutch_figure_was_not_verified(analyte_id):
    """A default is the NUMBER figure, or its note says why not (no figure is written unverified)."""
    for interval in default_intervals().for_analyte(analyte_id):
        if not interval.source.startswith(DUTCH_SOURCES):
            assert interval.note and "NUMBER" in interval.note and "not verified" in interval.note, interval


def _nordic_table():
    from levlab.data import data_path

    with open(data_path("ranges_nordic.toml"), encoding="utf-8") as handle:
        return load_interval_file(handle.read(), "ranges_nordic.toml")


def test_the_nordic_alternatives_are_a_ranges_file_for_every_dutch_default():
    """ranges_nordic.toml passes every check of a --ranges file, and holds a Nordic interval for each
    analyte whose default is Dutch (and only for those: the others' default is Nordic already)."""
    table = _nordic_table()
    dutch = {i.analyte for i in default_intervals().all() if i.source.startswith(DUTCH_SOURCES)}
    from levlab.data import load_toml

    replaced = {entry["analyte"] for entry in load_toml("ranges_nordic.toml")["interval"]}
    assert replaced == dutch == {"ggt", "haemoglobin"}
    for analyte_id in replaced:
        assert all(not i.source.startswith(DUTCH_SOURCES) for i in table.for_analyte(analyte_id))


@pytest.mark.parametrize(
    ("table", "sex", "age", "value", "flag"),
    [
        pytest.param("nordic", "F", 39, 45, "N", id="F-39-upper-limit-inside"),
        pytest.param("nordic", "F", 39, 46, "H", id="F-39-above"),
        pytest.param("nordic", "F", 40, 75, "N", id="F-40-older-band"),
        pytest.param("nordic", "M", 39, 80, "N", id="M-39-upper-limit-inside"),
        pytest.param("nordic", "M", 40, 116, "H", id="M-40-above-115"),
        pytest.param("default", "M", 60, 116, "N", id="dutch-default-M-51-65-reaches-117"),
    ],
)
def test_the_nordic_ggt_alternative_judges_as_its_table_says(table, sex, age, value, flag):
    from levlab.interpret import assess, read_measurement

    chosen = _nordic_table() if table == "nordic" else default_intervals()
    result = assess(read_measurement(get_analyte("ggt"), f"{value} U/L"), Patient(sex, age), chosen)
    assert result.flag == flag


def test_a_lab_range_read_again_is_the_same_interval_and_a_bad_one_is_refused_each_time() -> None:
    from levlab.errors import LevlabError
    from levlab.ranges import _interval_from_text, interval_from_text

    alt = analytes()["alt"]
    first = interval_from_text(alt, "< 45", "U/L", "lab")
    assert interval_from_text(alt, "< 45", "U/L", "lab") is first  # kept: one object for one text
    assert first == _interval_from_text(alt, "< 45", "U/L", "lab", decimal=None, sex=None, age_min=None,
                                        age_max=None, smoker=None, note=None, check_limits=True)
    assert interval_from_text(alt, "< 45", "U/L", "other source").source == "other source"
    assert interval_from_text(alt, "< 45", "U/L", "lab", sex="F").sex == "F"  # (not the kept one)
    for _ in range(2):
        with pytest.raises(LevlabError):
            interval_from_text(analytes()["bilirubin"], "< 1.2", "µmol/L", "lab")
