"""grading.py and the conventions on the engine: CTCAE v5.0 grades, Hy's law, the R ratio.

Every expected value here is written from the CTCAE v5.0 text (../shared/REFERENCE.md §5, the
GRADE_1..4 text in admiral's ncictcaev5.json) or worked out by hand, never copied from
levlab's output. Rows marked "admiral" are boundary rows of pharmaverse admiral's
tests/testthat/test-derive_var_atoxgr.R (tests 12a, 14a, 16a, 18a, 30a, 68a: CTCAE v5,
ANRHI/ANRLO 40, BASE 40 with ANRHI 39 for an abnormal baseline).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from levlab.catalog import get_analyte
from levlab.cli import main
from levlab.data import load_toml
from levlab.grading import COMPARATORS, compare, criteria, grade, r_ratio_pattern, settle, settled
from levlab.interpret import assess, interpret_results, read_measurement, unusable
from levlab.model import AnalyteResult, Bounds, Patient

ADULT_F = Patient(sex="F", age=50)
CHILD = Patient(age=10)  # no default interval holds for a child: ULN and LLN unknown
UNIT = {"bilirubin": "µmol/L", "albumin": "g/L"}


def judged(analyte: str, text: str, lab_range: str | None = None, patient: Patient = ADULT_F, unit: str | None = None) -> AnalyteResult:
    """`text` for `analyte` judged against the laboratory's range `lab_range` (in the same unit)."""
    measurement = read_measurement(get_analyte(analyte), text, unit_text=unit or UNIT.get(analyte, "U/L"), lab_range=lab_range)
    return assess(measurement, patient)


def graded(analyte: str, text: str, uln: float = 40, baseline: str | None = None, baseline_uln: float = 39):
    result = judged(analyte, text, f"0 - {uln}")
    base = None if baseline is None else judged(analyte, baseline, f"0 - {baseline_uln}")
    return grade(result, base)


# --- the data ----------------------------------------------------------------------------------


def test_ctcae_data_names_its_version_and_source():
    table = criteria()
    assert table.version == "5.0"
    assert "CTCAE" in table.source and "v5.0" in table.source and "admiral" in table.source
    assert set(table.terms) == {"alt", "ast", "alp", "ggt", "bilirubin", "albumin"}
    assert table.terms["alt"].term == "Alanine aminotransferase increased"
    assert table.terms["albumin"].term == "Hypoalbuminemia"


def test_ctcae_data_says_where_it_differs_from_admiral():
    notes = {entry["analyte"]: entry.get("note", "") for entry in load_toml("ctcae.toml")["term"]}
    assert "admiral" in notes["ggt"] and "2*BASE" in notes["ggt"]


def test_every_term_has_grades_1_to_4_except_hypoalbuminemia():
    for analyte_id, term in criteria().terms.items():
        grades = sorted(bound.grade for bound in term.bounds)
        assert grades == ([1, 2, 3] if analyte_id == "albumin" else [1, 2, 3, 4])
        if analyte_id != "albumin":
            assert sorted(bound.grade for bound in term.bounds_baseline_abnormal) == [1, 2, 3, 4]


# --- baseline normal (or none given): multiples of ULN ------------------------------------------

# admiral tests 12a/16a (ALT, AST), 14a/30a (ALP, GGT), 18a (bilirubin): ANRHI 40, BASE normal.
TRANSAMINASE_ULN_ROWS = [(801, 4), (800, 3), (201, 3), (200, 2), (121, 2), (120, 1), (41, 1), (40, 0)]
ALP_GGT_ULN_ROWS = [(801, 4), (800, 3), (201, 3), (200, 2), (101, 2), (100, 1), (41, 1), (40, 0)]
BILIRUBIN_ULN_ROWS = [(401, 4), (400, 3), (121, 3), (120, 2), (61, 2), (60, 1), (41, 1), (40, 0)]


@pytest.mark.parametrize(
    ("analyte", "value", "expected"),
    [("alt", v, g) for v, g in TRANSAMINASE_ULN_ROWS]
    + [("ast", v, g) for v, g in TRANSAMINASE_ULN_ROWS]
    + [("alp", v, g) for v, g in ALP_GGT_ULN_ROWS]
    + [("ggt", v, g) for v, g in ALP_GGT_ULN_ROWS]
    + [("bilirubin", v, g) for v, g in BILIRUBIN_ULN_ROWS],
)
def test_admiral_rows_baseline_normal(analyte, value, expected):
    # without a baseline, and with a baseline at (not above) the ULN: both are graded against ULN
    for baseline in (None, "40"):
        result = graded(analyte, str(value), baseline=baseline, baseline_uln=40)
        assert (result.grade, result.basis, result.version) == (expected, "ULN", "5.0")


@pytest.mark.parametrize(
    ("analyte", "uln", "value", "expected"),
    [
        # ALT/AST, ULN 45: grade 1 is > ULN - 3.0 x ULN, so exactly 3.0 x ULN (135) is grade 1
        ("alt", 45, "45", 0), ("alt", 45, "45.1", 1), ("alt", 45, "135", 1), ("alt", 45, "135.1", 2),
        ("alt", 45, "225", 2), ("alt", 45, "225.1", 3), ("alt", 45, "900", 3), ("alt", 45, "900.1", 4),
        ("ast", 35, "105", 1), ("ast", 35, "105.1", 2), ("ast", 35, "175", 2), ("ast", 35, "700.5", 4),
        # ALP/GGT, ULN 105 / 38: 2.5, 5.0 and 20.0 x ULN
        ("alp", 105, "262.5", 1), ("alp", 105, "262.6", 2), ("alp", 105, "525", 2), ("alp", 105, "525.1", 3),
        ("alp", 105, "2100", 3), ("alp", 105, "2100.1", 4),
        ("ggt", 38, "95", 1), ("ggt", 38, "95.1", 2), ("ggt", 38, "190", 2), ("ggt", 38, "760", 3), ("ggt", 38, "761", 4),
        # bilirubin, ULN 17 µmol/L: 1.5, 3.0 and 10.0 x ULN
        ("bilirubin", 17, "17", 0), ("bilirubin", 17, "25.5", 1), ("bilirubin", 17, "25.6", 2),
        ("bilirubin", 17, "51", 2), ("bilirubin", 17, "51.1", 3), ("bilirubin", 17, "170", 3), ("bilirubin", 17, "170.1", 4),
    ],
)
def test_exact_multiples_of_uln_belong_to_the_lower_grade(analyte, uln, value, expected):
    assert graded(analyte, value, uln=uln).grade == expected


def test_multiples_survive_unit_conversion():
    # 1.8 mg/dL is exactly 1.5 x a ULN of 1.2 mg/dL: grade 1, although both are converted to µmol/L
    at = judged("bilirubin", "1.8", "0 - 1.2", unit="mg/dL")
    above = judged("bilirubin", "1.81", "0 - 1.2", unit="mg/dL")
    assert (grade(at).grade, grade(above).grade) == (1, 2)
    # 2.1 µkat/L is exactly 3 x a ULN of 0.7 µkat/L (x 60 U/L per µkat/L)
    assert grade(judged("alt", "2.1", "0 - 0.7", unit="µkat/L")).grade == 1
    assert grade(judged("alt", "2.11", "0 - 0.7", unit="µkat/L")).grade == 2


def test_grade_1_is_strictly_above_uln_even_when_the_range_excludes_it():
    # a laboratory range "< 45" flags 45 as raised, but CTCAE grade 1 is "> ULN"
    result = judged("alt", "45", "< 45")
    assert result.flag == "H"
    assert grade(result).grade == 0


# --- baseline abnormal: multiples of the baseline ----------------------------------------------

# admiral tests 12a/16a/14a/30a/18a: BASE 40, ANRHI 39 (baseline above ULN)
TRANSAMINASE_BL_ROWS = [(801, 4), (800, 3), (201, 3), (200, 2), (121, 2), (120, 1), (60, 1), (59, 0)]
ALP_BL_ROWS = [(801, 4), (800, 3), (201, 3), (200, 2), (101, 2), (100, 1), (80, 1), (79, 0)]
# GGT: admiral's test 30a has (81, 1), (80, 0) because its code says AVAL > 2*BASE; the CTCAE text
# says "2.0 - 2.5 x baseline", so levlab grades 80 (= 2.0 x 40) as 1 and 79 as 0.
GGT_BL_ROWS = [(801, 4), (800, 3), (201, 3), (200, 2), (101, 2), (100, 1), (81, 1), (80, 1), (79, 0)]
BILIRUBIN_BL_ROWS = [(401, 4), (400, 3), (121, 3), (120, 2), (61, 2), (60, 1), (41, 1), (40, 0)]


@pytest.mark.parametrize(
    ("analyte", "value", "expected"),
    [("alt", v, g) for v, g in TRANSAMINASE_BL_ROWS]
    + [("ast", v, g) for v, g in TRANSAMINASE_BL_ROWS]
    + [("alp", v, g) for v, g in ALP_BL_ROWS]
    + [("ggt", v, g) for v, g in GGT_BL_ROWS]
    + [("bilirubin", v, g) for v, g in BILIRUBIN_BL_ROWS],
)
def test_admiral_rows_baseline_abnormal(analyte, value, expected):
    result = graded(analyte, str(value), uln=39, baseline="40", baseline_uln=39)
    assert (result.grade, result.basis) == (expected, "baseline")


@pytest.mark.parametrize(
    ("analyte", "value", "expected"),
    [
        # baseline 100 U/L above a ULN of 40: ALT grade 1 from 1.5 x baseline (150), included
        ("alt", "149.9", 0), ("alt", "150", 1), ("alt", "300", 1), ("alt", "300.1", 2), ("alt", "500", 2),
        ("alt", "500.1", 3), ("alt", "2000", 3), ("alt", "2000.1", 4),
        # ALP and GGT from 2.0 x baseline (200), included
        ("alp", "199.9", 0), ("alp", "200", 1), ("alp", "250", 1), ("alp", "250.1", 2),
        ("ggt", "199.9", 0), ("ggt", "200", 1), ("ggt", "250", 1), ("ggt", "250.1", 2),
        # bilirubin (µmol/L) from > 1.0 x baseline (100), excluded
        ("bilirubin", "100", 0), ("bilirubin", "100.1", 1), ("bilirubin", "150", 1), ("bilirubin", "150.1", 2),
        ("bilirubin", "300", 2), ("bilirubin", "300.1", 3), ("bilirubin", "1000", 3),
    ],
)
def test_baseline_abnormal_boundaries(analyte, value, expected):
    assert graded(analyte, value, uln=40, baseline="100", baseline_uln=40).grade == expected


def test_above_uln_but_below_the_baseline_multiple_is_grade_0():
    # baseline 100 (abnormal, ULN 40): 120 is raised but only 1.2 x baseline
    result = graded("alt", "120", uln=40, baseline="100", baseline_uln=40)
    assert (result.grade, result.basis) == (0, "baseline")


def test_baseline_exactly_at_uln_is_normal():
    result = graded("alt", "130", uln=40, baseline="40", baseline_uln=40)
    assert (result.grade, result.basis) == (2, "ULN")  # 130 > 3 x 40


def test_the_baseline_sample_itself_is_graded_against_uln():
    baseline = judged("alt", "100", "0 - 40")
    assert (grade(baseline).grade, grade(baseline).basis) == (1, "ULN")


def test_censored_abnormal_baseline_gives_no_multiple():
    result = graded("alt", "500", uln=40, baseline=">100", baseline_uln=40)
    assert result.grade is None and result.basis == "baseline"


def test_censored_normal_baseline_is_normal():
    assert graded("alt", "130", uln=40, baseline="<5", baseline_uln=40).basis == "ULN"


def test_baseline_straddling_its_uln_leaves_the_grade_open():
    result = graded("alt", "130", uln=40, baseline=">35", baseline_uln=40)
    assert result.grade is None and result.basis is None


# --- hypoalbuminemia ----------------------------------------------------------------------------


# admiral test 68a: LLN 40 g/L; without an LLN only grades 2 and 3 can be given
@pytest.mark.parametrize(
    ("value", "lab_range", "expected"),
    [
        (19, "40 - 50", 3), (20, "40 - 50", 2), (29, "40 - 50", 2), (30, "40 - 50", 1), (39, "40 - 50", 1), (40, "40 - 50", 0),
        (19, None, 3), (20, None, 2), (29, None, 2), (30, None, None), (39, None, None), (40, None, None),
    ],
)
def test_admiral_rows_hypoalbuminemia(value, lab_range, expected):
    result = judged("albumin", str(value), lab_range, patient=ADULT_F if lab_range else CHILD)
    g = grade(result)
    assert (g.grade, g.term) == (expected, "Hypoalbuminemia")


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [("3.0", "g/dL", 1), ("2.99", "g/dL", 2), ("2.0", "g/dL", 2), ("1.99", "g/dL", 3), ("34.9", "g/L", 1), ("35", "g/L", 0)],
)
def test_hypoalbuminemia_in_g_dl(text, unit, expected):
    assert grade(judged("albumin", text, None, unit=unit)).grade == expected  # default LLN 35 g/L


def test_hypoalbuminemia_is_never_graded_4():
    assert grade(judged("albumin", "5", "35 - 50")).grade == 3


# --- censored values, unknown intervals --------------------------------------------------------


@pytest.mark.parametrize(
    ("analyte", "text", "expected"),
    [
        ("alt", "<5", 0), ("alt", "<=40", 0), ("alt", "<41", None), ("alt", ">1000", 4),
        ("alt", ">800", 4), ("alt", ">=800", None), ("alt", ">100", None),
        ("albumin", "<20", 3), ("albumin", "<25", None), ("albumin", ">50", 0),
    ],
)
def test_censored_values_grade_only_when_the_bound_settles_it(analyte, text, expected):
    lab_range = "0 - 40" if analyte == "alt" else "35 - 50"
    assert grade(judged(analyte, text, lab_range)).grade == expected


def test_no_uln_no_grade():
    result = grade(judged("alt", "100", None, patient=CHILD))
    assert result.grade is None and "ULN" in result.reason


def test_unknown_sex_grades_only_when_every_interval_agrees():
    # NORIP ALT: < 45 U/L (F), < 70 U/L (M)
    assert grade(judged("alt", "100", None, patient=Patient(age=50))).grade == 1  # 1 under both
    # 200 U/L: 4.4 x 45 (grade 2) but 2.9 x 70 (grade 1)
    assert grade(judged("alt", "200", None, patient=Patient(age=50))).grade is None
    assert grade(judged("alt", "200", None, patient=Patient(sex="M", age=50))).grade == 1


def test_unreadable_and_ungraded_analytes():
    assert grade(unusable("alt", "not a number")).grade is None
    assert grade(judged("ldh", "300", "0 - 250")) is None  # CTCAE has no LDH term


# independent oracle, from the CTCAE v5.0 table in REFERENCE.md §5
MULTIPLES = {"alt": (3, 5, 20), "ast": (3, 5, 20), "alp": (2.5, 5, 20), "ggt": (2.5, 5, 20), "bilirubin": (1.5, 3, 10)}
FIRST_BL = {"alt": 1.5, "ast": 1.5, "alp": 2.0, "ggt": 2.0}  # inclusive; bilirubin: > 1.0 x baseline


def expected_grade(analyte: str, value: int, uln: int, base: int | None) -> int:
    m2, m3, m4 = MULTIPLES[analyte]
    reference = uln if base is None else base
    if value > m4 * reference:
        return 4
    if value > m3 * reference:
        return 3
    if value > m2 * reference:
        return 2
    if base is None:
        return 1 if value > uln else 0
    if analyte == "bilirubin":
        return 1 if value > base else 0
    return 1 if value >= FIRST_BL[analyte] * base else 0


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(MULTIPLES)),
    st.integers(min_value=5, max_value=900),
    st.integers(min_value=10, max_value=60),
    st.one_of(st.none(), st.integers(min_value=5, max_value=200)),
)
def test_grades_match_the_ctcae_table(analyte, value, uln, base):
    result = judged(analyte, str(value), f"0 - {uln}")
    base_result = None if base is None else judged(analyte, str(base), f"0 - {uln}")
    abnormal = base is not None and base > uln
    assert grade(result, base_result).grade == expected_grade(analyte, value, uln, base if abnormal else None)


# --- Hy's law ------------------------------------------------------------------------------------

RANGES = {"alt": "0 - 40", "ast": "0 - 40", "bilirubin": "0 - 20", "alp": "0 - 100"}


def panel(**values: str):
    results = [judged(analyte, text, RANGES[analyte]) for analyte, text in values.items()]
    return interpret_results(results, ADULT_F)


def hys(**values: str) -> str:
    result = panel(**values)
    if any(hit.rule_id == "hys-law" for hit in result.hits):
        return "met"
    return "undecided" if any(line.startswith("hys-law:") for line in result.undecided) else "not met"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # ALT exactly 3 x ULN (>=), bilirubin just above 2 x ULN, ALP just below 2 x ULN
        ({"alt": "120", "ast": "30", "bilirubin": "40.1", "alp": "199"}, "met"),
        ({"alt": "30", "ast": "120", "bilirubin": "40.1", "alp": "199"}, "met"),  # AST instead of ALT
        # each leg failing alone
        ({"alt": "119", "ast": "30", "bilirubin": "40.1", "alp": "199"}, "not met"),
        ({"alt": "120", "ast": "30", "bilirubin": "40", "alp": "199"}, "not met"),  # bilirubin exactly 2 x ULN
        ({"alt": "120", "ast": "30", "bilirubin": "40.1", "alp": "200"}, "not met"),  # ALP exactly 2 x ULN
        # missing or censored inputs leave it undecided, unless another leg already fails
        ({"alt": "120", "ast": "30", "alp": "199"}, "undecided"),
        ({"alt": "120", "ast": "30", "bilirubin": "40.1"}, "undecided"),
        ({"alt": ">100", "ast": "30", "bilirubin": "40.1", "alp": "199"}, "undecided"),
        ({"alt": ">100", "ast": "130", "bilirubin": "40.1", "alp": "199"}, "met"),
        ({"alt": "120", "bilirubin": "20"}, "not met"),
    ],
)
def test_hys_law(values, expected):
    assert hys(**values) == expected


def test_hys_law_is_a_labelled_convention_with_its_source():
    hit = next(h for h in panel(alt="200", ast="30", bilirubin="50", alp="90").hits if h.rule_id == "hys-law")
    assert hit.kind == "convention"
    assert "FDA" in hit.source and "2009" in hit.source


# --- R ratio -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alt", "alp", "expected"),
    [
        ("200", "100", "hepatocellular"),  # (200/40)/(100/100) = 5.0 exactly
        ("199", "100", "mixed"),  # 4.975
        ("120", "100", "mixed"),  # 3.0
        ("120", "200", "cholestatic"),  # 3.0 / 2.0 = 1.5, ALP at 2 x ULN
        ("200", "200", "mixed"),  # 5 / 2 = 2.5
        ("30", "300", "cholestatic"),  # 0.25, only ALP raised
        ("400", "200", "hepatocellular"),  # 10 / 2 = 5.0 exactly, both raised
    ],
)
def test_r_ratio_bands(alt, alp, expected):
    result = r_ratio_pattern({"alt": judged("alt", alt, "0 - 40"), "alp": judged("alp", alp, "0 - 100")})
    assert result is not None
    assert result.type == expected
    assert result.r_ratio == pytest.approx((float(alt) / 40) / (float(alp) / 100))
    assert "FDA" in result.source


@pytest.mark.parametrize(
    ("alt", "alp"),
    [("40", "100"), ("30", "90"), (">500", "100"), ("200", None),
     ("80", "100"), ("119", "199"), ("119.9", "150")],  # ALT < 3 x ULN and ALP < 2 x ULN: a mild rise
)
def test_r_ratio_only_when_alt_or_alp_raised_and_both_exact(alt, alp):
    results = {"alt": judged("alt", alt, "0 - 40")}
    if alp is not None:
        results["alp"] = judged("alp", alp, "0 - 100")
    assert r_ratio_pattern(results) is None


# --- the command line -----------------------------------------------------------------------------


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    return result


def test_interpret_json_has_ctcae_and_pattern():
    result = run("interpret", "alt=200", "alp=100", "bili=10umol/L", "ldh=200", "--sex", "F", "--age", "50", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    # ALT 200 U/L against the NORIP ULN of 45 (women): 4.4 x ULN is grade 2
    assert document["analytes"]["alt"]["ctcae"] == {
        "version": "5.0", "grade": 2, "term": "Alanine aminotransferase increased", "basis": "ULN",
        "reason": document["analytes"]["alt"]["ctcae"]["reason"],
    }
    assert document["analytes"]["ldh"]["ctcae"] is None
    # R = (200/45)/(100/105) = 4.67: mixed
    assert document["pattern"]["type"] == "mixed"
    assert document["pattern"]["r_ratio"] == pytest.approx((200 / 45) / (100 / 105), abs=1e-3)


def test_interpret_baseline_option():
    result = run("interpret", "alt=200", "--sex", "F", "--age", "50", "--baseline", "alt=100", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    ctcae = document["analytes"]["alt"]["ctcae"]
    # baseline 100 > ULN 45: abnormal; 200 = 2.0 x baseline is within 1.5 - 3.0 x baseline: grade 1
    assert (ctcae["grade"], ctcae["basis"]) == (1, "baseline")
    assert document["baseline"]["alt"]["value"] == 100


def test_interpret_baseline_bad_token_is_a_usage_error():
    result = run("interpret", "alt=200", "--baseline", "alt=abc")
    assert result.exit_code == 2
    assert "--baseline" in result.output


def test_interpret_table_has_a_ctcae_column():
    result = run("interpret", "alt=200", "--sex", "F", "--age", "50", "--baseline", "alt=100")
    assert result.exit_code == 0, result.output
    assert "CTCAE" in result.output
    row = next(line for line in result.output.splitlines() if line.startswith("alt "))
    assert "1 BL" in row


def test_rules_lists_hys_law():
    result = run("rules", "--format", "json")
    rules = {rule["id"]: rule for rule in json.loads(result.output)}
    assert rules["hys-law"]["kind"] == "convention"


# --- serial results: new-abnormal ----------------------------------------------------------------


def serial(now: dict[str, str], before: dict[str, str] | None):
    current = [judged(analyte, text, RANGES.get(analyte, "35 - 50")) for analyte, text in now.items()]
    previous = [judged(analyte, text, RANGES.get(analyte, "35 - 50")) for analyte, text in (before or {}).items()]
    result = interpret_results(current, ADULT_F, previous=previous)
    if any(hit.rule_id == "new-abnormal" for hit in result.hits):
        return "met"
    return "undecided" if any(line.startswith("new-abnormal:") for line in result.undecided) else "not met"


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        ({"alt": "41"}, {"alt": "40"}, "met"),  # in range (40 <= ULN 40) -> raised
        ({"albumin": "34"}, {"albumin": "35"}, "met"),  # in range -> low
        ({"alt": "40"}, {"alt": "41"}, "not met"),  # raised -> in range
        ({"alt": "200"}, {"alt": "41"}, "not met"),  # raised -> raised: not new
        ({"alt": "40"}, {"alt": "30"}, "not met"),  # in range -> in range
        ({"alt": "41"}, None, "not met"),  # no previous sample
        ({"alt": "41"}, {"ast": "30"}, "not met"),  # ALT not on the previous sample
        ({"alt": ">30"}, {"alt": "30"}, "undecided"),  # now censored across the ULN
        ({"alt": "50"}, {"alt": ">30"}, "undecided"),  # before censored across the ULN
        ({"alt": "50", "ast": "50"}, {"alt": ">30", "ast": "30"}, "met"),  # AST settles it
        # decided: only the direction that matters counts (rules.toml, new-abnormal interpretation)
        ({"ggt": "34"}, {"ggt": "40"}, "not met"),  # in range -> low (range 35 - 50): no bearing
        ({"ggt": "51"}, {"ggt": "34"}, "met"),  # low -> raised: newly raised
        ({"ggt": "34"}, {"ggt": "51"}, "not met"),  # raised -> low: not raised now
        ({"albumin": "51"}, {"albumin": "40"}, "not met"),  # albumin rising above range: not watched
        ({"albumin": "34"}, {"albumin": "51"}, "met"),  # albumin from above range to low
        ({"albumin": "34"}, {"albumin": "<40"}, "undecided"),  # before censored across the LLN
    ],
)
def test_new_abnormal(now, before, expected):
    assert serial(now, before) == expected


def test_new_abnormal_is_a_labelled_convention():
    current = [judged("alt", "41", "0 - 40")]
    hit = next(h for h in interpret_results(current, ADULT_F, previous=[judged("alt", "40", "0 - 40")]).hits if h.rule_id == "new-abnormal")
    assert hit.kind == "convention" and "LUMC" in hit.source


# --- how Hy's law, the pattern and bilirubin-over-2 relate ------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "shown"),
    [
        pytest.param(["alt=200", "alp=100", "bili=80umol/L"], True, id="hys-law-with-pattern-and-bilirubin"),
        pytest.param(["alt=200", "alp=100", "bili=30umol/L"], False, id="no-hys-law-bilirubin-1.2x"),
        pytest.param(["alt=200", "alp=300", "bili=80umol/L"], False, id="alp-2.9x-no-hys-law"),
    ],
)
def test_a_relation_line_when_hys_law_appears_with_a_pattern_or_bilirubin_over_2(tokens, shown):
    result = run("interpret", *tokens, "--sex", "F", "--age", "50", "--format", "json")
    document = json.loads(result.output)
    assert (document["relation"] is not None) is shown
    if shown:
        assert "Hy's law requires ALP < 2 x ULN" in document["relation"]
        assert "R ratio is a separate view" in document["relation"]
        text = run("interpret", *tokens, "--sex", "F", "--age", "50").output
        assert "note: how these relate" in text


def test_r_ratio_cites_the_convention_it_follows():
    spec = load_toml("patterns.toml")["r_ratio"]
    assert {(c["analyte"], c["op"], c["value"]) for c in spec["classify_when"]} == {("alt", ">=", 3), ("alp", ">=", 2)}
    assert "CIOMS" in spec["classify_basis"] and "CIOMS" in spec["source"]


@pytest.mark.parametrize("analyte", ["alt", "ast", "alp", "ggt", "bilirubin", "albumin", "ldh"])
@pytest.mark.parametrize("baseline_text", [None, "20", "90", "300", "<5", ">1000"])
@pytest.mark.parametrize("text", ["10", "40", "75", "150", "400", "2000", "<5", ">1000"])
def test_grade_value_with_a_baseline_is_the_grade_without_its_words(analyte: str, baseline_text: str | None, text: str) -> None:
    """`levlab csv` grades against a patient's baseline with grade_value (and grade_against): the
    same number as grade(), which `levlab trend` uses; a man and a patient of unknown sex."""
    from levlab.errors import LevlabError
    from levlab.grading import grade_value

    unit = {"bilirubin": "umol/L", "albumin": "g/L"}.get(analyte, "U/L")
    for patient in (Patient("M", 50), Patient(None, 50)):
        try:  # values impossible for the analyte (albumin 300 g/L) are refused before any grade
            result = assess(read_measurement(get_analyte(analyte), text + unit), patient)
            baseline = None if baseline_text is None else assess(read_measurement(get_analyte(analyte), baseline_text + unit), patient)
        except LevlabError:
            continue
        graded = grade(result, baseline)
        assert grade_value(result, baseline) == (graded is not None, None if graded is None else graded.grade)

@settings(max_examples=2000, deadline=None)
@given(value=st.floats(0, 1e6, allow_nan=False), threshold=st.floats(0, 1e6, allow_nan=False),
       op=st.sampled_from(COMPARATORS), comparator=st.sampled_from([None, "<", "<=", ">", ">="]))
def test_compare_of_an_exact_value_is_what_the_bounds_say(value: float, threshold: float, op: str, comparator: str | None) -> None:
    # compare() and _climb_to() decide exact values by float comparisons; Bounds.above/below are the definition
    bounds = settled(Bounds.of(value, comparator))
    limit = settle(threshold)
    expected = bounds.above(limit, inclusive=op == ">=") if op in (">", ">=") else bounds.below(limit, inclusive=op == "<=")
    assert compare(Bounds.of(value, comparator), op, threshold) == expected
    assert compare(Bounds.of(limit, comparator), op, threshold) == (
        settled(Bounds.of(limit, comparator)).above(limit, inclusive=op == ">=") if op in (">", ">=")
        else settled(Bounds.of(limit, comparator)).below(limit, inclusive=op == "<="))
