"""rules.py: the 14 documented rules of REFERENCE §1, each firing and not firing, at its boundaries."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from levlab import rules as rules_module
from levlab.interpret import interpret_panel
from levlab.model import Bounds, Patient
from levlab.ranges import load_interval_file
from levlab.rule_projections import dominance_keys
from levlab.rules import EVALUATORS, dominance, ratio_bounds, rules
from levlab.tokens import read_tokens

RULE_IDS = [
    "normal-panel", "bilirubin-over-2", "alp-or-ldh-raised", "transaminases-raised", "alp-ggt-raised",
    "ldh-dominant", "cea-raised", "cea-over-200", "albumin-low", "globulins-raised", "ascites-ldh-ratio",
    "leukocytosis", "anaemia", "hypoglycaemia",
]

ADULT_WOMAN = {"sex": "F", "age": 50}
NORMAL = ["bili=10umol/L", "alp=70", "ldh=150", "ast=20", "alt=20"]  # inside every default interval

GLOBULIN_RANGES = """
[[interval]]
analyte = "globulin"
range = "20 - 35"
unit = "g/L"
source = "test laboratory"
"""


def panel(*tokens: str, table=None, **patient):
    return interpret_panel(read_tokens(tokens), Patient(**patient), table)


def fired(*tokens: str, table=None, **patient) -> set[str]:
    return {hit.rule_id for hit in panel(*tokens, table=table, **patient).hits}


def undecided(*tokens: str, **patient) -> set[str]:
    return {line.split(":", 1)[0] for line in panel(*tokens, **patient).undecided}


# --- the rule set itself ---------------------------------------------------------------------


def test_the_14_documented_rules_in_reference_order():
    assert [rule.id for rule in rules() if rule.kind == "documented"] == RULE_IDS


def test_rule_ids_are_unique():
    ids = [rule.id for rule in rules()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule.id)
def test_every_rule_is_cited(rule):
    assert rule.kind in ("documented", "convention")
    assert rule.condition and rule.statement and rule.source and rule.section
    assert rule.when["type"] in {*EVALUATORS, *getattr(rules_module, "SERIAL_EVALUATORS", {})}


def test_normal_panel_records_why_a_low_value_does_not_block_it():
    (rule,) = [rule for rule in rules() if rule.id == "normal-panel"]
    assert "low" in rule.interpretation


# --- bilirubin-over-2: strict, in the reported unit ------------------------------------------


@pytest.mark.parametrize(
    ("token", "fires"),
    [
        pytest.param("bili=2.00mg/dL", False, id="2.00-mg/dL-not-above-2"),
        pytest.param("bili=2mg/dL", False, id="2-mg/dL"),
        pytest.param("bili=2.01mg/dL", True, id="2.01-mg/dL"),
        pytest.param("bili=1.99mg/dL", False, id="1.99-mg/dL"),
        pytest.param("bili=2,01 mg%", True, id="2.01-mg%-decimal-comma"),
        pytest.param("bili=34.0umol/L", False, id="34.0-µmol/L-not-above-34"),
        pytest.param("bili=34umol/L", False, id="34-µmol/L"),
        pytest.param("bili=34.1umol/L", True, id="34.1-µmol/L"),
        pytest.param("bili=34.1 µmol/l", True, id="34.1-µmol/l-spelling"),
        pytest.param("bili=20mg/L", False, id="20-mg/L-is-2-mg/dL"),
        pytest.param("bili=20.1mg/L", True, id="20.1-mg/L"),
        pytest.param("bili=>2mg/dL", True, id="gt2-mg/dL"),
        pytest.param("bili=>=2.01mg/dL", True, id="ge2.01-mg/dL"),
        pytest.param("bili=<2mg/dL", False, id="lt2-mg/dL"),
        pytest.param("bili=<=2mg/dL", False, id="le2-mg/dL"),
        pytest.param("bili=<=34umol/L", False, id="le34-µmol/L"),
        pytest.param("bili=>34umol/L", True, id="gt34-µmol/L"),
    ],
)
def test_bilirubin_over_2(token, fires):
    assert ("bilirubin-over-2" in fired(token, **ADULT_WOMAN)) is fires


def test_mass_threshold_is_2_mg_dl_even_where_34_µmol_would_differ():
    # 2.00 mg/dL = 34.2 µmol/L: above 34 µmol/L, but the source's mass figure is 2 mg/dL.
    assert 2.00 * 10 * 1000 / 584.66 > 34
    assert "bilirubin-over-2" not in fired("bili=2.00mg/dL")


@pytest.mark.parametrize("token", ["bili=>=2mg/dL", "bili=<3mg/dL", "bili=>=34umol/L", "bili=<40umol/L"])
def test_bilirubin_over_2_undecided_for_censored_values_across_the_threshold(token):
    assert "bilirubin-over-2" not in fired(token, **ADULT_WOMAN)
    assert "bilirubin-over-2" in undecided(token, **ADULT_WOMAN)


# --- alp-or-ldh-raised, transaminases-raised, alp-ggt-raised --------------------------------


@pytest.mark.parametrize(
    ("tokens", "fires"),
    [
        pytest.param(["alp=106", "ldh=150"], True, id="alp-raised"),
        pytest.param(["alp=70", "ldh=206"], True, id="ldh-raised"),
        pytest.param(["alp=105", "ldh=205"], False, id="both-at-uln-inclusive"),
        pytest.param(["alp=30U/L", "ldh=100U/L"], False, id="both-low"),
        pytest.param(["alp=106"], True, id="alp-alone"),
    ],
)
def test_alp_or_ldh_raised(tokens, fires):
    assert ("alp-or-ldh-raised" in fired(*tokens, **ADULT_WOMAN)) is fires


@pytest.mark.parametrize(
    ("tokens", "patient", "fires"),
    [
        pytest.param(["ast=36", "alt=20"], ADULT_WOMAN, True, id="ast-36-F"),
        pytest.param(["ast=35", "alt=20"], ADULT_WOMAN, False, id="ast-35-F-inclusive"),
        pytest.param(["ast=20", "alt=45"], ADULT_WOMAN, False, id="alt-45-F-inclusive-as-NORIP-writes-it"),
        pytest.param(["ast=20", "alt=45.1"], ADULT_WOMAN, True, id="alt-45.1-F"),
        pytest.param(["alt=70"], {"sex": "M", "age": 50}, False, id="alt-70-M-inclusive"),
        pytest.param(["alt=70.1"], {"sex": "M", "age": 50}, True, id="alt-70.1-M"),
        pytest.param(["alt=100"], {"age": 50}, True, id="alt-100-sex-unknown-raised-for-both"),
        pytest.param(["alt=60"], {"age": 50}, False, id="alt-60-sex-unknown-undecided"),
    ],
)
def test_transaminases_raised(tokens, patient, fires):
    assert ("transaminases-raised" in fired(*tokens, **patient)) is fires


@pytest.mark.parametrize(
    ("tokens", "fires"),
    [
        pytest.param(["alp=200", "ggt=100"], True, id="both-raised"),
        pytest.param(["alp=200", "ggt=62"], False, id="ggt-at-uln-inclusive"),
        pytest.param(["alp=200", "ggt=30"], False, id="ggt-normal"),
        pytest.param(["alp=70", "ggt=100"], False, id="alp-normal"),
        pytest.param(["alp=200"], False, id="ggt-missing"),
    ],
)
def test_alp_ggt_raised(tokens, fires):
    assert ("alp-ggt-raised" in fired(*tokens, **ADULT_WOMAN)) is fires


def test_alp_ggt_raised_is_undecided_when_ggt_is_missing():
    assert "alp-ggt-raised" in undecided("alp=200", **ADULT_WOMAN)


# --- ldh-dominant --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "patient", "fires"),
    [
        pytest.param(["ldh=500", "alp=200", "ast=30", "alt=30"], ADULT_WOMAN, True,
                     id="ldh-2.4x-over-alp-1.9x"),
        pytest.param(["ldh=300", "alp=300"], ADULT_WOMAN, False, id="ldh-1.5x-under-alp-2.9x"),
        pytest.param(["ldh=410", "alp=210"], ADULT_WOMAN, False, id="ldh-2x-equal-alp-2x-not-exceeding"),
        pytest.param(["ldh=412", "alp=210"], ADULT_WOMAN, True, id="ldh-just-over-alp"),
        pytest.param(["ldh=300"], ADULT_WOMAN, True, id="ldh-only-raised-enzyme"),
        pytest.param(["ldh=300", "alp=70", "ast=20", "alt=20", "ggt=20"], ADULT_WOMAN, True,
                     id="others-normal"),
        pytest.param(["ldh=200", "alp=300"], ADULT_WOMAN, False, id="ldh-not-raised"),
        pytest.param(["ldh=500", "ggt=200"], ADULT_WOMAN, False, id="ggt-3.2x-over-ldh-2.4x"),
        pytest.param(["ldh=500", "ast=100"], ADULT_WOMAN, False, id="ast-2.9x-over-ldh-2.4x"),
        pytest.param(["ldh=500", "alt=100"], {"age": 50}, True, id="alt-sex-unknown-at-most-2.2x"),
        pytest.param(["ldh=400", "alt=100"], {"age": 50}, False, id="alt-sex-unknown-1.4x-to-2.2x-undecided"),
    ],
)
def test_ldh_dominant(tokens, patient, fires):
    assert ("ldh-dominant" in fired(*tokens, **patient)) is fires


def test_ldh_dominant_undecided_when_the_multiples_overlap():
    assert "ldh-dominant" in undecided("ldh=400", "alt=100", age=50)


# --- CEA ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "fires"),
    [
        pytest.param("cea=200", False, id="200-not-above"),
        pytest.param("cea=200 ng/mL", False, id="200-ng/mL"),
        pytest.param("cea=200.1", True, id="200.1"),
        pytest.param("cea=200,1 ng/mL", True, id="200.1-ng/mL-decimal-comma"),
        pytest.param("cea=>200", True, id="gt200"),
        pytest.param("cea=<=200", False, id="le200"),
        pytest.param("cea=50", False, id="50"),
    ],
)
def test_cea_over_200(token, fires):
    assert ("cea-over-200" in fired(token, **ADULT_WOMAN)) is fires


@pytest.mark.parametrize(
    ("token", "patient", "fires"),
    [
        pytest.param("cea=3.0", {"age": 50, "smoker": False}, False, id="3.0-non-smoker-inclusive"),
        pytest.param("cea=3.0 ng/mL", {"age": 50, "smoker": False}, False, id="3.0-ng/mL-non-smoker-inclusive"),
        pytest.param("cea=3.1", {"age": 50, "smoker": False}, True, id="3.1-non-smoker"),
        pytest.param("cea=4", {"age": 50, "smoker": True}, False, id="4-smoker"),
        pytest.param("cea=5.1", {"age": 50, "smoker": True}, True, id="5.1-smoker"),
        pytest.param("cea=6", {"age": 50}, True, id="6-smoking-unknown-raised-either-way"),
        pytest.param("cea=4", {"age": 50}, False, id="4-smoking-unknown-undecided"),
    ],
)
def test_cea_raised(token, patient, fires):
    assert ("cea-raised" in fired(token, **patient)) is fires


# --- albumin-low, globulins-raised, anaemia, leukocytosis ---------------------------------------


@pytest.mark.parametrize(
    ("token", "fires"),
    [
        pytest.param("albumin=34g/L", True, id="34-g/L"),
        pytest.param("albumin=35g/L", False, id="35-g/L-inclusive"),
        pytest.param("albumin=3.4g/dL", True, id="3.4-g/dL"),
        pytest.param("albumin=3.5 g/dl", False, id="3.5-g/dL"),
        pytest.param("albumin=<35g/L", True, id="lt35"),
        pytest.param("albumin=45g/L", False, id="45"),
    ],
)
def test_albumin_low(token, fires):
    assert ("albumin-low" in fired(token, **ADULT_WOMAN)) is fires


@pytest.mark.parametrize(
    ("token", "fires"),
    [
        pytest.param("globulin=36g/L", True, id="36-g/L"),
        pytest.param("globulin=35g/L", False, id="35-g/L-inclusive"),
        pytest.param("globulin=3.6g/dL", True, id="3.6-g/dL"),
        pytest.param("globulin=25g/L", False, id="25"),
    ],
)
def test_globulins_raised_with_a_laboratory_range(token, fires):
    table = load_interval_file(GLOBULIN_RANGES, "lab.toml")
    assert ("globulins-raised" in fired(token, table=table, **ADULT_WOMAN)) is fires


def test_globulins_raised_never_fires_without_a_range():
    result = panel("globulin=60g/L", **ADULT_WOMAN)
    assert "globulins-raised" not in {hit.rule_id for hit in result.hits}
    assert result.result("globulin").flag == "?"


@pytest.mark.parametrize(
    ("token", "patient", "fires"),
    [
        pytest.param("hb=7.4mmol/L", ADULT_WOMAN, True, id="F-7.4-mmol/L"),
        pytest.param("hb=7.5mmol/L", ADULT_WOMAN, False, id="F-7.5-mmol/L-inclusive"),
        pytest.param("hb=7.3mmol/L", ADULT_WOMAN, True, id="F-7.3-mmol/L-flagged-by-the-Dutch-limit"),
        pytest.param("hb=12.0g/dL", ADULT_WOMAN, True, id="F-12.0-g/dL-is-7.45-mmol/L"),
        pytest.param("hb=12.1g/dL", ADULT_WOMAN, False, id="F-12.1-g/dL-is-7.51-mmol/L"),
        pytest.param("hb=8.4mmol/L", {"sex": "M", "age": 50}, True, id="M-8.4"),
        pytest.param("hb=8.5mmol/L", {"sex": "M", "age": 50}, False, id="M-8.5-inclusive"),
        pytest.param("hb=8mmol/L", {"age": 50}, False, id="sex-unknown-between-limits"),
        pytest.param("hb=7.4mmol/L", {"age": 50}, True, id="sex-unknown-below-both"),
    ],
)
def test_anaemia(token, patient, fires):
    assert ("anaemia" in fired(token, **patient)) is fires


@pytest.mark.parametrize(
    ("token", "fires"),
    [
        pytest.param("wbc=8.9", True, id="8.9-above-nordin-8.8"),
        pytest.param("wbc=8.8", False, id="8.8-inclusive"),
        pytest.param("wbc=7.5 x10^9/L", False, id="7.5-x10^9/L"),
        pytest.param("leukocyten=45 10*9/L", True, id="45-ucum"),
        pytest.param("wbc=8900 /µL", True, id="8900-per-µL"),
        pytest.param("wbc=8800 /µL", False, id="8800-per-µL-inclusive"),
        pytest.param("wbc=3", False, id="low"),
    ],
)
def test_leukocytosis(token, fires):
    assert ("leukocytosis" in fired(token, **ADULT_WOMAN)) is fires


# --- ascites-ldh-ratio --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "fires"),
    [
        pytest.param(["ascites_ldh=600", "ldh=200"], True, id="ratio-3.0-inclusive"),
        pytest.param(["ascites_ldh=599", "ldh=200"], False, id="ratio-2.995"),
        pytest.param(["ascites_ldh=900", "ldh=200"], True, id="ratio-4.5"),
        pytest.param(["ascites_ldh=10ukat/L", "ldh=200"], True, id="ascites-µkat-ratio-3.0"),
        pytest.param(["ascites_ldh=600", "ldh=3.3ukat/L"], True, id="ratio-3.03-serum-µkat"),
        pytest.param(["ascites_ldh=600"], False, id="serum-missing"),
        pytest.param(["ldh=200"], False, id="ascites-missing"),
        pytest.param(["ascites_ldh=>600", "ldh=200"], True, id="censored-above"),
        pytest.param(["ascites_ldh=<600", "ldh=200"], False, id="censored-below"),
        pytest.param(["ascites_ldh=<900", "ldh=200"], False, id="censored-straddling"),
    ],
)
def test_ascites_ldh_ratio(tokens, fires):
    assert ("ascites-ldh-ratio" in fired(*tokens, **ADULT_WOMAN)) is fires


def test_ascites_ratio_undecided_when_censored_across_3():
    assert "ascites-ldh-ratio" in undecided("ascites_ldh=<900", "ldh=200", **ADULT_WOMAN)


@pytest.mark.parametrize(
    ("tokens", "outcome"),
    [
        pytest.param(["ascites_ldh=600", "ldh=<200"], "fired", id="serum-below-200-ratio-over-3"),
        pytest.param(["ascites_ldh=600", "ldh=<=200"], "fired", id="serum-at-most-200-ratio-at-least-3"),
        pytest.param(["ascites_ldh=>600", "ldh=<200"], "fired", id="both-censored-outward"),
        pytest.param(["ascites_ldh=500", "ldh=<200"], "undecided", id="serum-below-200-ratio-over-2.5"),
        pytest.param(["ascites_ldh=<600", "ldh=<200"], "undecided", id="both-censored-toward-zero"),
        pytest.param(["ascites_ldh=600", "ldh=>200"], "not", id="serum-over-200-ratio-under-3"),
        pytest.param(["ascites_ldh=600", "ldh=>100U/L"], "undecided", id="serum-over-100-ratio-under-6"),
        pytest.param(["ascites_ldh=<600", "ldh=>200"], "not", id="ratio-surely-under-3"),
    ],
)
def test_ascites_ratio_with_a_censored_serum_ldh_is_settled_by_interval_arithmetic(tokens, outcome):
    assert {"fired": "ascites-ldh-ratio" in fired(*tokens, **ADULT_WOMAN),
            "undecided": "ascites-ldh-ratio" in undecided(*tokens, **ADULT_WOMAN),
            "not": "ascites-ldh-ratio" not in fired(*tokens, **ADULT_WOMAN)
            and "ascites-ldh-ratio" not in undecided(*tokens, **ADULT_WOMAN)}[outcome]


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        pytest.param(("600", None), ("200", "<"), Bounds(3.0, math.inf, True, True), id="600-over-below-200"),
        pytest.param(("600", None), ("200", "<="), Bounds(3.0, math.inf, False, True), id="600-over-at-most-200"),
        pytest.param(("600", "<"), ("200", ">"), Bounds(0.0, 3.0, False, True), id="below-600-over-above-200"),
        pytest.param(("600", None), ("200", None), Bounds(3.0, 3.0), id="exact"),
    ],
)
def test_ratio_bounds(numerator, denominator, expected):
    def bounds(pair):
        return Bounds.of(float(pair[0]), pair[1])

    assert ratio_bounds(bounds(numerator), bounds(denominator)) == expected


# --- hypoglycaemia: strict, 3.9 mmol/L or 70 mg/dL ----------------------------------------------


@pytest.mark.parametrize(
    ("token", "fires"),
    [
        pytest.param("glucose=3.9mmol/L", False, id="3.9-mmol/L-not-below"),
        pytest.param("glucose=3.89mmol/L", True, id="3.89-mmol/L"),
        pytest.param("glucose=3,8 mmol/l", True, id="3.8-decimal-comma"),
        pytest.param("glucose=70mg/dL", False, id="70-mg/dL-not-below"),
        pytest.param("glucose=69.9mg/dL", True, id="69.9-mg/dL"),
        pytest.param("glucose=<3.9mmol/L", True, id="lt3.9"),
        pytest.param("glucose=<=3.9mmol/L", False, id="le3.9-undecided"),
        pytest.param("glucose=5.5mmol/L", False, id="normal"),
    ],
)
def test_hypoglycaemia(token, fires):
    assert ("hypoglycaemia" in fired(token, **ADULT_WOMAN)) is fires


# --- normal-panel -------------------------------------------------------------------------------


def test_normal_panel_met():
    result = panel(*NORMAL, **ADULT_WOMAN).normal_panel
    assert result.status == "met"
    assert "98%" in result.statement


def test_normal_panel_met_with_sex_unknown_when_inside_every_interval():
    assert panel(*NORMAL, age=50).normal_panel.status == "met"


@pytest.mark.parametrize(
    ("low_token", "analyte"),
    [
        pytest.param("alp=30U/L", "ALP", id="alp-low"),
        pytest.param("ldh=100U/L", "LDH", id="ldh-low"),
        pytest.param("bili=3umol/L", "bilirubin", id="bilirubin-low"),
    ],
)
def test_a_low_value_does_not_block_normal_panel(low_token, analyte):
    name = low_token.split("=")[0]
    tokens = [token for token in NORMAL if not token.startswith(name)] + [low_token]
    result = panel(*tokens, **ADULT_WOMAN)
    assert "L" in {r.flag for r in result.results}
    assert result.normal_panel.status == "met"
    assert analyte in result.normal_panel.reason
    assert "98%" in result.normal_panel.statement


@pytest.mark.parametrize(
    ("raised_token", "analyte"),
    [
        pytest.param("bili=26umol/L", "bilirubin", id="bilirubin"),
        pytest.param("alp=106", "ALP", id="alp"),
        pytest.param("ldh=206", "LDH", id="ldh"),
        pytest.param("ast=36", "AST", id="ast"),
        pytest.param("alt=45.1", "ALT", id="alt-just-above-45"),
    ],
)
def test_normal_panel_not_met_names_the_raised_analyte(raised_token, analyte):
    name = raised_token.split("=")[0]
    tokens = [token for token in NORMAL if not token.startswith(name)] + [raised_token]
    result = panel(*tokens, **ADULT_WOMAN).normal_panel
    assert result.status == "not-met"
    assert result.statement is None
    assert "raised" in result.reason
    assert analyte in result.reason


@pytest.mark.parametrize(
    ("missing", "analyte"),
    [
        pytest.param("bili", "bilirubin", id="bilirubin"),
        pytest.param("alp", "ALP", id="alp"),
        pytest.param("ldh", "LDH", id="ldh"),
        pytest.param("ast", "AST", id="ast"),
        pytest.param("alt", "ALT", id="alt"),
    ],
)
def test_normal_panel_incomplete_names_the_missing_analyte(missing, analyte):
    tokens = [token for token in NORMAL if not token.startswith(missing)]
    result = panel(*tokens, **ADULT_WOMAN).normal_panel
    assert result.status == "incomplete"
    assert result.statement is None
    assert "not measured" in result.reason
    assert analyte in result.reason


@pytest.mark.parametrize(
    ("tokens", "patient", "analyte"),
    [
        pytest.param(["alt=60"], {"age": 50}, "ALT", id="alt-sex-unknown"),
        pytest.param(["ldh=210"], {"sex": "F"}, "LDH", id="ldh-age-unknown"),
        pytest.param(["alt=<50"], ADULT_WOMAN, "ALT", id="alt-censored-straddling"),
        pytest.param(["alp=70"], {"sex": "F", "age": 4}, "ALP", id="child-no-interval"),
    ],
)
def test_normal_panel_incomplete_names_the_indeterminate_analyte(tokens, patient, analyte):
    name = tokens[0].split("=")[0]
    all_tokens = [token for token in NORMAL if not token.startswith(name)] + tokens
    result = panel(*all_tokens, **patient).normal_panel
    assert result.status == "incomplete"
    assert result.statement is None
    assert "indeterminate" in result.reason
    assert analyte in result.reason


def test_raised_wins_over_missing():
    result = panel("alp=300", "ast=20", **ADULT_WOMAN).normal_panel
    assert result.status == "not-met"
    assert "ALP" in result.reason
    assert "not measured" in result.reason  # and says what else is missing


def test_normal_panel_incomplete_for_an_unreadable_result():
    measurements = read_tokens([token for token in NORMAL if not token.startswith("alt")])
    result = interpret_panel({**measurements, "alt": "'??' is not a number"}, Patient(**ADULT_WOMAN))
    assert result.normal_panel.status == "incomplete"
    assert "ALT" in result.normal_panel.reason
    assert result.normal_panel.statement is None


def test_normal_panel_is_never_a_flag():
    assert "normal-panel" not in fired(*NORMAL, **ADULT_WOMAN)


def test_a_fully_normal_panel_fires_no_rule():
    assert fired(*NORMAL, "ggt=30", "cea=2", "albumin=40g/L", "hb=8.5mmol/L", "wbc=6", "glucose=5mmol/L",
                 sex="F", age=50, smoker=False) == set()


def test_rule_hits_carry_source_and_section():
    (hit,) = panel("bili=40umol/L", **ADULT_WOMAN).hits
    assert hit.rule_id == "bilirubin-over-2"
    assert "iLive" in hit.source
    assert hit.section
    assert "40" in hit.message


class _Cell:
    """What dominance reads of a result."""

    def __init__(self, flag: str | None, span: tuple[float, float] | None) -> None:
        self.flag, self.x_uln_span = flag, span


_cells = st.one_of(
    st.none(),
    st.builds(
        _Cell,
        st.sampled_from(["H", "N", "L", "?", None]),
        st.one_of(st.none(), st.tuples(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]), st.sampled_from([0.0, 0.5, 1.0]))
                  .map(lambda pair: (pair[0], pair[0] + pair[1]))),
    ),
)


@given(lead=_cells, rivals=st.lists(_cells, max_size=4))
def test_dominance_keys_say_met_exactly_when_the_evaluator_does(lead: _Cell | None, rivals: list[_Cell | None]) -> None:
    """The bulk form (keys compared, rule_projections.LEAD_OVER_RIVALS) and the evaluator agree on 'met'."""
    by_keys = dominance_keys(lead)[0] > max((dominance_keys(rival)[1] for rival in rivals), default=float("-inf"))
    assert by_keys == (dominance(lead, *rivals)[0] is True)


# --- wording checked against the Dutch source (iLive, Uitzaaiingen naar de lever) ---------------


@pytest.mark.parametrize(
    ("rule_id", "says", "never_says"),
    [
        pytest.param("bilirubin-over-2", "points to impaired patency", "are obstructed", id="bilirubin-points-to"),
        pytest.param("cea-over-200", "three conditions together", "only for patients", id="cea-three-conditions"),
        pytest.param("albumin-low", "a marked fall is not what it describes", "usually normal or only slightly", id="albumin-marked-fall"),
    ],
)
def test_rule_statements_say_what_the_source_says(rule_id, says, never_says):
    rule = next(r for r in rules() if r.id == rule_id)
    assert says in rule.statement
    assert never_says not in rule.statement


def test_albumin_9_is_not_described_as_normal_or_slightly_decreased():
    panel = interpret_panel(read_tokens(["albumin=9g/L"]), Patient("F", 50))
    hit = next(h for h in panel.hits if h.rule_id == "albumin-low")
    assert "a marked fall is not what it describes" in hit.message
    assert panel.result("albumin").warnings  # and 9 g/L is unusual for g/L: check value and unit


def test_new_abnormal_records_its_decision_on_falls():
    rule = next(r for r in rules() if r.id == "new-abnormal")
    assert "bilirubin 6 -> 4" in rule.interpretation
    assert rule.when["low_analytes"] == ["albumin"]
    assert "albumin" not in rule.when["analytes"]
