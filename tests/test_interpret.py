"""interpret.py: reading one measurement, judging it against the interval(s) that may apply."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levlab.catalog import analytes, get_analyte
from levlab.errors import ImplausibleValueError, LevlabError, UnitError, UsageError, ValueParseError
from levlab.interpret import assess, check_assumed_units, interpret_panel, read_measurement
from levlab.model import HL7_INTERPRETATION, Patient
from levlab.ranges import candidate_intervals, default_intervals
from levlab.tokens import read_tokens
from levlab.values import format_number

BILIRUBIN_MG_DL = 10 * 1000 / 584.66  # µmol/L per mg/dL


def judged(token: str, **patient):
    measurements = read_tokens([token])
    (measurement,) = measurements.values()
    return assess(measurement, Patient(**patient))


# --- reading a measurement ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("analyte", "text", "value", "unit", "assumed"),
    [
        pytest.param("alt", "35", 35.0, "U/L", True, id="enzyme-no-unit-assumes-U/L"),
        pytest.param("alt", "35 U/L", 35.0, "U/L", False, id="enzyme-U/L"),
        pytest.param("alt", "35 IE/l", 35.0, "U/L", False, id="enzyme-IE/l"),
        pytest.param("alt", "0.5 µkat/L", 30.0, "µkat/L", False, id="enzyme-µkat"),
        pytest.param("alt", "0,5 ukat/L", 30.0, "µkat/L", False, id="enzyme-µkat-decimal-comma"),
        pytest.param("bilirubin", "2.4mg/dL", 2.4 * BILIRUBIN_MG_DL, "mg/dL", False, id="bilirubin-mg/dL"),
        pytest.param("bilirubin", "1,2 mg/dL", 1.2 * BILIRUBIN_MG_DL, "mg/dL", False, id="bilirubin-decimal-comma"),
        pytest.param("bilirubin", "2 mg%", 2 * BILIRUBIN_MG_DL, "mg/dL", False, id="bilirubin-mg%"),
        pytest.param("bilirubin", "40 umol/L", 40.0, "µmol/L", False, id="bilirubin-umol/L"),
        pytest.param("albumin", "3.5 g/dL", 35.0, "g/dL", False, id="albumin-g/dL"),
        pytest.param("leukocytes", "7.5 x10^9/L", 7.5, "10^9/L", False, id="wbc-x10^9/L"),
        pytest.param("leukocytes", "7.5 10*9/L", 7.5, "10^9/L", False, id="wbc-ucum"),
        pytest.param("leukocytes", "7500 /µL", 7.5, "/µL", False, id="wbc-per-µL"),
        pytest.param("cea", "12 ng/mL", 12.0, "ng/mL", False, id="cea-ng/mL"),
        pytest.param("haemoglobin", "8 mmol/L", 8.0, "mmol/L", False, id="hb-mmol"),
        pytest.param("glucose", "90 mg/dL", 90 * 10 / 180.16, "mg/dL", False, id="glucose-mg/dL"),
    ],
)
def test_read_measurement(analyte, text, value, unit, assumed):
    measurement = read_measurement(get_analyte(analyte), text)
    assert measurement.value == pytest.approx(value, rel=1e-9)
    assert measurement.unit == unit
    assert measurement.unit_assumed is assumed


def test_unit_column_and_unit_in_text_must_agree():
    alt = get_analyte("alt")
    assert read_measurement(alt, "0.5", unit_text="ukat/L").value == pytest.approx(30.0)
    with pytest.raises(UnitError, match="given as"):
        read_measurement(alt, "35 U/L", unit_text="µkat/L")


def test_comma_dialect_reads_1_234_as_a_decimal():
    measurement = read_measurement(get_analyte("alt"), "1,234", unit_text="µkat/L", decimal=",")
    assert measurement.value == pytest.approx(1.234 * 60)
    with pytest.raises(ValueParseError, match="ambiguous"):
        read_measurement(get_analyte("alt"), "1.234", unit_text="µkat/L", decimal=",")


@pytest.mark.parametrize(
    ("analyte", "text", "names"),
    [
        pytest.param("bilirubin", "2.5", ["µmol/L", "mg/dL"], id="bili-2.5"),
        pytest.param("albumin", "35", ["g/L", "g/dL"], id="albumin-35"),
        pytest.param("haemoglobin", "8", ["mmol/L", "g/dL"], id="hb-8"),
        pytest.param("glucose", "5", ["mmol/L", "mg/dL"], id="glucose-5"),
        pytest.param("globulin", "30", ["g/L", "g/dL"], id="globulin-30"),
    ],
)
def test_analytes_with_two_customary_units_need_one(analyte, text, names):
    with pytest.raises(UnitError, match="needs a unit") as caught:
        read_measurement(get_analyte(analyte), text)
    for name in names:
        assert name in str(caught.value)


@pytest.mark.parametrize(
    ("analyte", "text", "suggested"),
    [
        pytest.param("albumin", "3.5 g/L", "g/dL", id="albumin-3.5-g/L-means-g/dL"),
        pytest.param("albumin", "35 g/dL", "35 g/L", id="albumin-35-g/dL-means-g/L"),
        pytest.param("bilirubin", "100 mg/dL", "100 µmol/L", id="bilirubin-100-mg/dL-means-µmol"),
        pytest.param("leukocytes", "7500 10^9/L", "/µL", id="wbc-7500-giga-means-per-µL"),
    ],
)
def test_impossible_values_name_the_likely_unit(analyte, text, suggested):
    with pytest.raises(ImplausibleValueError, match="impossible whatever the unit") as caught:
        read_measurement(get_analyte(analyte), text)
    assert f"did you mean {suggested}" in str(caught.value)


@pytest.mark.parametrize(
    ("analyte", "text", "suggested"),
    [
        pytest.param("alt", "0.5", "µkat/L", id="alt-0.5-no-unit-may-be-µkat"),
        pytest.param("ast", "0.4", "µkat/L", id="ast-0.4"),
        pytest.param("ldh", "3.5", "µkat/L", id="ldh-3.5"),
        pytest.param("alp", "6", "µkat/L (6 µkat/L = 360 U/L)", id="alp-6-may-be-360-U/L"),
        pytest.param("leukocytes", "7500", "/µL", id="wbc-7500-means-per-µL"),
        pytest.param("leukocytes", "300", "/µL (300 /µL = 0.3 10^9/L)", id="wbc-300-leukopenic-per-µL"),
    ],
)
def test_a_bare_number_believable_in_another_unit_is_asked(analyte, text, suggested):
    with pytest.raises(ImplausibleValueError, match="has no unit") as caught:
        read_measurement(get_analyte(analyte), text)
    assert f"may be {suggested}" in str(caught.value)
    assert "does not guess" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("1.4 mg/dL", "did you mean 1.4 mmol/L?", id="glucose-canonical-hint-has-no-self-conversion"),
        pytest.param("1.4 mmol/L", "did you mean mmol/L", id="never-suggests-the-given-unit"),
    ],
)
def test_a_hint_never_converts_a_unit_into_itself(text, message):
    glucose = get_analyte("glucose")
    if text == "1.4 mg/dL":
        with pytest.raises(ImplausibleValueError) as caught:
            read_measurement(glucose, text)
        assert message in str(caught.value)
        assert "1.4 mmol/L = 1.4 mmol/L" not in str(caught.value)
    else:
        assert read_measurement(glucose, text).warnings == ()


def test_a_hint_skips_a_unit_that_gives_the_same_number():
    with pytest.raises(ImplausibleValueError) as caught:
        read_measurement(get_analyte("cea"), "200000 µg/L")
    assert "ng/mL" not in str(caught.value)


@pytest.mark.parametrize(
    ("analyte", "text", "bare_ok"),
    [
        pytest.param("alt", "3 U/L", False, id="alt-usual-low"),
        pytest.param("alt", "30000", True, id="alt-usual-high"),
        pytest.param("alt", "10.01", True, id="alt-bare-just-above-µkat-zone"),
        pytest.param("alp", "35.01", True, id="alp-bare-just-above-µkat-zone"),
        pytest.param("ldh", "115.01", True, id="ldh-bare-just-above-µkat-zone"),
        pytest.param("leukocytes", "99.9", True, id="wbc-bare-just-below-per-µL-zone"),
        pytest.param("bilirubin", "1000 µmol/L", False, id="bilirubin-usual-high"),
        pytest.param("bilirubin", "0 µmol/L", False, id="bilirubin-zero"),
    ],
)
def test_usual_span_is_inclusive_and_unwarned(analyte, text, bare_ok):
    measurement = read_measurement(get_analyte(analyte), text)
    assert measurement.warnings == ()
    assert measurement.unit_assumed is bare_ok


@pytest.mark.parametrize(
    ("analyte", "text"),
    [
        pytest.param("alt", "10", id="alt-10-is-asked"),
        pytest.param("alp", "25", id="alp-25-is-asked"),
        pytest.param("ldh", "60", id="ldh-60-is-asked"),
        pytest.param("ast", "10", id="ast-10-is-asked"),
        pytest.param("ggt", "10", id="ggt-10-is-asked"),
        pytest.param("leukocytes", "100", id="wbc-100-is-asked"),
    ],
)
def test_the_bare_number_zone_includes_its_limits(analyte, text):
    with pytest.raises(ImplausibleValueError, match="has no unit"):
        read_measurement(get_analyte(analyte), text)


@pytest.mark.parametrize(
    ("analyte", "text", "direction"),
    [
        pytest.param("ldh", "20 U/L", "low", id="ldh-20-U/L"),
        pytest.param("alt", "2 U/L", "low", id="alt-2-U/L"),
        pytest.param("alt", "0.9 U/L", "low", id="alt-0.9-U/L"),
        pytest.param("alp", "6 U/L", "low", id="alp-6-U/L"),
        pytest.param("albumin", "9 g/L", "low", id="albumin-9-g/L"),
        pytest.param("leukocytes", "300 10^9/L", "high", id="wbc-300-giga-stated"),
        pytest.param("bilirubin", "1200 µmol/L", "high", id="bilirubin-1200"),
    ],
)
def test_an_unusual_value_in_a_stated_unit_is_read_with_a_warning(analyte, text, direction):
    measurement = read_measurement(get_analyte(analyte), text)
    assert len(measurement.warnings) == 1
    assert f"unusually {direction}" in measurement.warnings[0]
    assert "check value and unit" in measurement.warnings[0]


@pytest.mark.parametrize(
    ("analyte", "text"),
    [
        pytest.param("albumin", "82 g/L", id="albumin-82"),
        pytest.param("albumin", "4.9 g/L", id="albumin-below-5"),
        pytest.param("bilirubin", "1501 µmol/L", id="bilirubin-above-1500"),
        pytest.param("leukocytes", "1001 10^9/L", id="wbc-above-1000"),
        pytest.param("haemoglobin", "16 mmol/L", id="hb-16-mmol"),
    ],
)
def test_an_impossible_value_is_an_error_whatever_the_unit(analyte, text):
    with pytest.raises(ImplausibleValueError, match="impossible whatever the unit"):
        read_measurement(get_analyte(analyte), text)


def test_a_bare_value_unusual_for_the_assumed_unit_is_an_error_not_a_warning():
    # 150 x10^9/L stated is a warning (hyperleukocytosis); bare 150 is asked (may be /µL)
    assert read_measurement(get_analyte("leukocytes"), "150 10^9/L").warnings
    with pytest.raises(ImplausibleValueError):
        read_measurement(get_analyte("leukocytes"), "150")


# --- tokens ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "analyte", "value"),
    [
        pytest.param("bili=2.4mg/dL", "bilirubin", 2.4 * BILIRUBIN_MG_DL, id="bili-mg/dL"),
        pytest.param("ALAT=35", "alt", 35, id="ALAT"),
        pytest.param("ldh=480 U/L", "ldh", 480, id="spaced-unit"),
        pytest.param("alt=<5U/L", "alt", 5, id="censored"),
        pytest.param("1742-6=35U/L", "alt", 35, id="loinc"),
        pytest.param("S-ALAT=35", "alt", 35, id="specimen-prefix"),
        pytest.param(" gamma-GT = 40 ", "ggt", 40, id="padded"),
    ],
)
def test_read_tokens(token, analyte, value):
    measurements = read_tokens([token])
    assert list(measurements) == [analyte]
    assert measurements[analyte].value == pytest.approx(value)


@pytest.mark.parametrize(
    ("tokens", "error", "match"),
    [
        pytest.param(["alt"], UsageError, "ANALYTE=VALUE", id="no-equals"),
        pytest.param(["=35"], UsageError, "ANALYTE=VALUE", id="no-name"),
        pytest.param(["alt="], UsageError, "ANALYTE=VALUE", id="no-value"),
        pytest.param(["alt=35", "ALAT=40"], UsageError, "twice", id="duplicate-by-alias"),
        pytest.param(["alt=abc"], ValueParseError, "token 'alt=abc'", id="bad-value-names-token"),
        pytest.param(["alt=35 u/L"], UnitError, "U/L", id="lower-case-u"),
    ],
)
def test_read_tokens_errors(tokens, error, match):
    with pytest.raises(error, match=match):
        read_tokens(tokens)


# --- judging against intervals ----------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "flag"),
    [
        pytest.param("alt=<5U/L", "L", id="lt5-below-10"),
        pytest.param("alt=>1000", "H", id="gt1000-raised"),
        pytest.param("alt=<50", "?", id="lt50-straddles-45"),
        pytest.param("alt=>=45", "?", id="ge45-could-be-45-inside"),
        pytest.param("alt=>45", "H", id="gt45-raised"),
        pytest.param("alt=<=45", "?", id="le45-could-be-below-10"),
        pytest.param("alt=<45", "?", id="lt45-could-be-below-10"),
    ],
)
def test_censored_alt_for_a_woman(token, flag):
    result = judged(token, sex="F", age=50)
    assert result.flag == flag
    assert result.x_uln is None  # a censored value has no single multiple of the ULN
    if flag == "?":
        assert "censored" in result.reason


@pytest.mark.parametrize(
    ("token", "flag"),
    [
        pytest.param("alt=20", "N", id="alt-20-N-under-both"),
        pytest.param("alt=44", "N", id="alt-44-N-under-both"),
        pytest.param("alt=45", "N", id="alt-45-inside-both-limits-included"),
        pytest.param("alt=45.1", "?", id="alt-45.1-raised-for-F-normal-for-M"),
        pytest.param("alt=60", "?", id="alt-60-between-45-and-70"),
        pytest.param("alt=69", "?", id="alt-69-between"),
        pytest.param("alt=70", "?", id="alt-70-raised-for-F-inside-for-M"),
        pytest.param("alt=70.1", "H", id="alt-70.1-raised-under-both"),
        pytest.param("alt=100", "H", id="alt-100-H-under-both"),
    ],
)
def test_sex_unknown(token, flag):
    result = judged(token, age=50)
    assert result.flag == flag
    assert result.interval is None
    assert result.x_uln is None
    assert {interval.sex for interval in result.candidates} == {"F", "M"}


def test_sex_unknown_reason_names_both_intervals():
    result = judged("alt=60", age=50)
    assert "sex" in result.reason
    assert "10 - 45 U/L" in result.reason
    assert "10 - 70 U/L" in result.reason


@pytest.mark.parametrize(
    ("sex", "flag", "high"),
    [pytest.param("F", "H", 45, id="F"), pytest.param("M", "N", 70, id="M")],
)
def test_sex_known_picks_one_interval(sex, flag, high):
    result = judged("alt=60", sex=sex, age=50)
    assert result.flag == flag
    assert result.interval.high == high
    assert result.x_uln == pytest.approx(60 / high)


@pytest.mark.parametrize(
    ("token", "flag"),
    [
        pytest.param("ldh=100U/L", "L", id="below-both-lower-limits"),
        pytest.param("ldh=110U/L", "?", id="between-105-and-115"),
        pytest.param("ldh=150", "N", id="inside-both"),
        pytest.param("ldh=205", "N", id="205-inside-both-inclusive"),
        pytest.param("ldh=210", "?", id="between-205-and-255"),
        pytest.param("ldh=256", "H", id="above-both"),
    ],
)
def test_age_unknown_with_ldh_bands(token, flag):
    result = judged(token)
    assert result.flag == flag
    assert result.interval is None
    assert result.x_uln is None


def test_age_unknown_reason_names_both_ldh_bands():
    result = judged("ldh=210")
    assert "age" in result.reason
    assert "105 - 205 U/L" in result.reason
    assert "115 - 255 U/L" in result.reason


def test_a_four_year_olds_alp_is_not_judged_against_adult_intervals():
    result = judged("alp=200", age=4)
    assert result.flag == "?"
    assert result.interval is None
    assert "age 4" in result.reason
    assert "laboratory's range" in result.reason


def test_a_lab_range_wins_over_the_defaults_even_for_a_child():
    measurement = read_measurement(get_analyte("alp"), "200", lab_range="< 420")
    result = assess(measurement, Patient(age=4))
    assert result.flag == "N"
    assert result.interval.source == "laboratory's own range"


def test_dutch_v_is_female():
    from levlab.ranges import parse_sex

    assert judged("alt=60", sex=parse_sex("V"), age=50).flag == "H"


@pytest.mark.parametrize(
    ("token", "patient", "flag", "x_uln"),
    [
        pytest.param("alp=210", {"age": 50}, "H", 2.0, id="alp-2x"),
        pytest.param("alp=105", {"age": 50}, "N", 1.0, id="alp-at-uln"),
        pytest.param("ast=35", {"sex": "F", "age": 50}, "N", 1.0, id="ast-F-35-inclusive"),
        pytest.param("ast=36", {"sex": "F", "age": 50}, "H", 36 / 35, id="ast-F-36"),
        pytest.param("bili=50umol/L", {"age": 50}, "H", 2.0, id="bilirubin-2x"),
    ],
)
def test_x_uln(token, patient, flag, x_uln):
    result = judged(token, **patient)
    assert result.flag == flag
    assert result.x_uln == pytest.approx(x_uln)


@pytest.mark.parametrize("flag", ["L", "N", "H", "?"])
def test_hl7_interpretation_codes(flag):
    assert HL7_INTERPRETATION[flag] == {"L": "L", "N": "N", "H": "H", "?": "IND"}[flag]


def test_interpret_panel_orders_by_catalogue_and_notes_assumed_units():
    panel = interpret_panel(read_tokens(["alt=20", "bili=10umol/L", "ldh=150"]), Patient(sex="F", age=50))
    assert [result.analyte for result in panel.results] == ["bilirubin", "ldh", "alt"]
    assert any("alt" in note and "U/L assumed" in note for note in panel.notes)
    assert not any(note.startswith("bilirubin") for note in panel.notes)


def test_unreadable_result_is_indeterminate_with_its_reason():
    panel = interpret_panel({"alt": "'x' is not a number"}, Patient(sex="F", age=50))
    result = panel.result("alt")
    assert result.flag == "?"
    assert result.measurement is None
    assert "not a number" in result.reason


F_ONLY_ALT = '[[interval]]\nanalyte = "alt"\nsex = "F"\nrange = "< 35"\nsource = "own lab"\n'


@pytest.mark.parametrize(
    ("sex", "value", "flag"),
    [
        pytest.param(None, "50", "?", id="sex-unknown-high-value-not-assumed-female"),
        pytest.param(None, "20", "?", id="sex-unknown-low-value-never-counts-as-normal"),
        pytest.param("F", "50", "H", id="female-judged"),
        pytest.param("F", "20", "N", id="female-normal"),
        pytest.param("M", "20", "?", id="male-has-no-interval"),
    ],
)
def test_an_interval_for_one_sex_only_is_not_assumed_when_sex_is_unknown(sex, value, flag):
    from levlab.ranges import load_interval_file

    table = load_interval_file(F_ONLY_ALT, "lab.toml")
    result = assess(read_measurement(get_analyte("alt"), value), Patient(sex=sex, age=50), table)
    assert result.flag == flag
    if sex is None:
        assert "sex" in result.reason
        assert "< 35 U/L" in result.reason


def test_unknown_age_assumes_the_adult_span_and_says_so():
    result = judged("bili=40umol/L")
    assert result.flag == "H"
    assert result.interval.age_min == 18
    assert "age unknown" in result.reason


@pytest.mark.parametrize(
    ("text", "patient", "span"),
    [
        pytest.param("90", Patient(age=50), (90 / 70, 90 / 45), id="sex-unknown-both-limits"),
        pytest.param("90", Patient(sex="F", age=50), (2.0, 2.0), id="one-interval"),
        pytest.param("<90", Patient(sex="F", age=50), None, id="censored-no-span"),
    ],
)
def test_x_uln_span_covers_every_interval_that_may_apply(text, patient, span):
    result = assess(read_measurement(get_analyte("alt"), text), patient)
    if span is None:
        assert result.x_uln_span is None
    else:
        assert result.x_uln_span == pytest.approx(span)


def test_unit_required_message_stays_on_one_line_whatever_the_text():
    # found by hypothesis: the example in the message repeated the raw text, newline included
    with pytest.raises(UnitError) as error:
        read_measurement(get_analyte("bilirubin"), "<\n0")
    assert "\n" not in str(error.value).split("write e.g.")[1]


@pytest.mark.parametrize("sex", ["F", "M", None])
@pytest.mark.parametrize("age", [None, 4.0, 17.0, 60.0])
def test_assess_given_the_candidate_intervals_judges_as_without_them(sex: str | None, age: float | None) -> None:
    """`levlab csv` passes the intervals it found for a context; the judgement must not change."""
    table = default_intervals()
    patient = Patient(sex, age)
    judged = 0
    for analyte in analytes().values():
        for text in ("0.5", "5", "50", "500"):
            try:
                measurement = read_measurement(analyte, text, unit_text=analyte.canonical_unit)
            except LevlabError:  # implausible for this analyte
                continue
            given = candidate_intervals(table, analyte.id, patient)
            assert assess(measurement, patient, table, given) == assess(measurement, patient, table), analyte.id
            judged += 1
    assert judged > len(analytes())


# --- safety: a bare enzyme number that may be µkat/L never yields the 98% statement ----------

_NORMAL_PANEL_TEXTS = {"bilirubin": "10 µmol/L", "alp": "70 U/L", "ldh": "150 U/L", "ast": "20 U/L", "alt": "20 U/L"}
_PATIENTS = [Patient(sex, age) for sex in ("F", "M", None) for age in (18, 45, 69, 70, 90, None)]


def _bare_grid(cap: float) -> list[float]:
    """Every hundredth up to cap and 50% beyond it (exhaustive at the display precision)."""
    return [n / 100 for n in range(0, int(cap * 150) + 1)]


def _raised_in_µkat(analyte_id: str, number: float) -> bool:
    """Would `number` µkat/L be raised (above the ULN) for some patient?"""
    measurement = read_measurement(get_analyte(analyte_id), f"{number} µkat/L")
    return any(assess(measurement, patient).flag == "H" for patient in _PATIENTS)


@pytest.mark.parametrize("analyte_id", ["alp", "ldh", "ast", "alt"])
def test_no_bare_enzyme_value_raised_if_read_in_µkat_can_yield_met(analyte_id):
    analyte = get_analyte(analyte_id)
    ((other, _, cap),) = analyte.believable
    assert other == "µkat/L"
    checked = 0
    for number in _bare_grid(cap):
        text = f"{number:g}"
        if number <= cap:  # a believable µkat/L result: it must never be taken as U/L
            with pytest.raises(ImplausibleValueError, match="has no unit"):
                read_measurement(analyte, text)
            checked += _raised_in_µkat(analyte_id, number)
            continue
        # beyond the zone a bare number is read in U/L (as µkat/L it would exceed every believable result)
        assert read_measurement(analyte, text).unit_assumed
    assert checked > 0  # the grid does cross values that are raised in µkat/L


@settings(max_examples=300, deadline=None)
@given(analyte_id=st.sampled_from(["alp", "ldh", "ast", "alt"]), number=st.floats(0, 100, allow_nan=False),
       patient=st.sampled_from(_PATIENTS))
def test_a_bare_enzyme_met_panel_means_the_number_is_no_believable_µkat_result(analyte_id, number, patient):
    analyte = get_analyte(analyte_id)
    texts = dict(_NORMAL_PANEL_TEXTS, **{analyte_id: format_number(number)})
    try:
        measurements = {a: read_measurement(get_analyte(a), t) for a, t in texts.items()}
    except LevlabError:
        return
    panel = interpret_panel(measurements, patient)
    if panel.normal_panel.status == "met":
        shown = measurements[analyte_id].number
        assert not any(low <= shown <= high for _, low, high in analyte.believable)


@pytest.mark.parametrize("analyte_id", ["alp", "ldh", "ast", "alt", "ggt"])
def test_a_bare_enzyme_taken_as_u_per_l_is_never_below_a_default_lower_limit(analyte_id):
    """Low values do not block normal-panel, so a bare number that would be low in U/L (ALP 30) but is
    raised as µkat/L (1800 U/L) must be asked: the bare-number zone reaches every default lower limit."""
    analyte = get_analyte(analyte_id)
    ((_, _, cap),) = analyte.believable
    lows = [i.low for i in default_intervals().for_analyte(analyte_id) if i.low is not None]
    assert lows, "the enzyme has default lower limits"
    assert cap >= max(lows)
    for number in _bare_grid(cap):
        if number <= cap:
            continue
        measurement = read_measurement(analyte, f"{number:g}")
        assert all(assess(measurement, patient).flag != "L" for patient in _PATIENTS)


@pytest.mark.parametrize(("token", "ukat"), [("alp=30", "1800 U/L"), ("ldh=100", "6000 U/L"), ("ast=12", "720 U/L"),
                                              ("ggt=11", "660 U/L")])
def test_a_bare_enzyme_low_in_u_per_l_but_raised_in_µkat_is_asked(token, ukat):
    with pytest.raises(ImplausibleValueError, match=ukat):
        read_tokens(["bili=10umol/L", token])


def test_a_panel_whose_bare_enzymes_all_look_like_µkat_is_asked_not_guessed():
    with pytest.raises(ImplausibleValueError, match="has no unit"):
        read_tokens(["bili=10umol/L", "alp=1.2", "ldh=3", "ast=0.4", "alt=0.5"])


def test_issue_example_alp_6_bare_is_asked():
    with pytest.raises(ImplausibleValueError, match="6 µkat/L = 360 U/L"):
        read_tokens(["bili=10umol/L", "alp=6", "ldh=150", "ast=20", "alt=20"])


def test_a_warned_value_counts_toward_met_and_the_reason_says_what_to_check():
    texts = dict(_NORMAL_PANEL_TEXTS, alp="6 U/L")
    panel = interpret_panel({a: read_measurement(get_analyte(a), t) for a, t in texts.items()}, Patient("F", 60))
    assert panel.normal_panel.status == "met"
    assert "check value and unit: ALP 6 U/L" in panel.normal_panel.reason
    assert panel.warnings and panel.warnings[0].startswith("alp: 6 U/L is unusually low")
    assert panel.result("alp").warnings == panel.result("alp").measurement.warnings


@pytest.mark.parametrize(
    ("tokens", "refused"),
    [
        pytest.param(["alp=1.2ukat/L", "alt=20"], True, id="bare-alt-beside-µkat-alp"),
        pytest.param(["ldh=3ukat/L", "ast=25", "alt=30U/L"], True, id="bare-ast-beside-µkat-ldh"),
        pytest.param(["alp=1.2ukat/L", "alt=20U/L"], False, id="both-stated"),
        pytest.param(["alp=70", "alt=20"], False, id="both-bare-above-the-µkat-zone"),
        pytest.param(["alp=70U/L", "alt=20"], False, id="U/L-stated-beside-bare"),
        pytest.param(["cea=5ng/mL", "alt=20"], False, id="a-unit-that-does-not-change-the-number"),
    ],
)
def test_a_bare_enzyme_beside_one_in_µkat_is_asked(tokens, refused):
    measurements = read_tokens(tokens).values()
    if refused:
        with pytest.raises(UnitError, match="does not assume U/L beside µkat/L"):
            check_assumed_units(measurements)
    else:
        check_assumed_units(measurements)


# --- a unit from the settings file (units = "si"): not a guess, checked as a stated unit -----------


@pytest.mark.parametrize(
    ("analyte_id", "text", "configured", "unit", "warned"),
    [
        pytest.param("bilirubin", "4.9", "µmol/L", "µmol/L", "4.9 mg/dL would be 83.81 µmol/L",
                     id="bilirubin-just-below-the-lowest-default-limit"),
        pytest.param("bilirubin", "5", "µmol/L", "µmol/L", None, id="bilirubin-at-the-lowest-default-limit"),
        pytest.param("bilirubin", "<2", "µmol/L", "µmol/L", "2 mg/dL would be 34.21 µmol/L", id="censored-low"),
        pytest.param("bilirubin", "300", "µmol/L", "µmol/L", None, id="raised-no-other-reading"),
        pytest.param("bilirubin", "2.5 mg/dL", "µmol/L", "mg/dL", None, id="a-written-unit-wins"),
        pytest.param("albumin", "25", "g/L", "g/L", None, id="albumin-low-but-250-g/L-is-no-reading"),
        pytest.param("haemoglobin", "6", "mmol/L", "mmol/L", None, id="hb-low-in-every-unit"),
    ],
)
def test_a_configured_unit_reads_a_bare_value_and_warns_where_another_unit_would_not_make_it_low(
        analyte_id, text, configured, unit, warned):
    measurement = read_measurement(analytes()[analyte_id], text, configured_unit=configured)
    assert measurement.unit == unit
    written = any(c.isalpha() for c in text)  # a unit written in the text wins over the settings
    assert measurement.unit_from_settings is not written
    assert not measurement.unit_assumed
    if warned is None:
        assert measurement.warnings == ()
    else:
        (warning,) = measurement.warnings
        assert warned in warning and "the unit from settings" in warning


def test_a_configured_unit_does_not_reach_an_analyte_it_is_not_given_for():
    with pytest.raises(UnitError, match="bilirubin needs a unit"):
        read_measurement(analytes()["bilirubin"], "17")


@pytest.mark.parametrize(
    ("bilirubin", "status"),
    [
        pytest.param("2.5", "incomplete", id="low-in-µmol/L-but-raised-as-mg/dL"),
        pytest.param("1.2", "incomplete", id="low-in-µmol/L-but-normal-as-mg/dL"),
        pytest.param("12", "met", id="a-plain-µmol/L-value"),
        pytest.param("2.5 umol/L", "met", id="the-unit-written-is-a-statement"),
    ],
)
def test_a_unit_from_settings_in_doubt_never_carries_the_98_percent_statement(bilirubin, status):
    """`units = "si"`: bare 2.5 reads as 2.5 µmol/L (low, which would not block `met`), but 2.5 mg/dL
    is 42.76 µmol/L: the warning alone is not enough, the outcome is incomplete."""
    tokens = [f"bili={bilirubin}", "alp=80U/L", "ldh=200U/L", "ast=25U/L", "alt=20U/L"]
    panel = interpret_panel(read_tokens(tokens, {"bilirubin": "µmol/L"}), Patient(sex="F", age=60))
    assert panel.normal_panel.status == status
    if status == "incomplete":
        assert "unit from settings in doubt" in panel.normal_panel.reason and panel.normal_panel.statement is None
