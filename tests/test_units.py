"""units.py: spellings map to accepted units, each analyte has a whitelist, pint's factors are right.

Expected conversion factors are written from the physical definitions (REFERENCE §3), never
copied from levlab's own output.
"""

from __future__ import annotations

import threading

import pytest

from levlab.catalog import get_analyte
from levlab.errors import UnitError
from levlab.units import convert, factor, lookup_unit, to_canonical_factor, unit_for_analyte, units

BILIRUBIN_MOLAR_MASS = 584.66  # g/mol, C33H36N4O6
GLUCOSE_MOLAR_MASS = 180.16  # g/mol, C6H12O6
HB_MONOMER_MOLAR_MASS = 64458 / 4  # g/mol, one haem-carrying chain


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        # enzyme activity: U/L and its many spellings
        pytest.param("U/L", "U/L", id="U/L"),
        pytest.param("U/l", "U/L", id="U/l"),
        pytest.param(" U / L ", "U/L", id="spaced"),
        pytest.param("IU/L", "U/L", id="IU/L"),
        pytest.param("iu/l", "U/L", id="iu/l"),
        pytest.param("IE/l", "U/L", id="IE/l-dutch-german"),
        pytest.param("E/l", "U/L", id="E/l-dutch-eenheden"),
        pytest.param("[IU]/L", "U/L", id="ucum-[IU]/L"),
        pytest.param("units/L", "U/L", id="units/L"),
        pytest.param("µkat/L", "µkat/L", id="µkat/L-micro-sign"),
        pytest.param("μkat/L", "µkat/L", id="μkat/L-greek-mu"),
        pytest.param("ukat/L", "µkat/L", id="ukat/L-ucum"),
        pytest.param("mckat/L", "µkat/L", id="mckat/L"),
        pytest.param("Âµkat/L", "µkat/L", id="Âµkat/L-mojibake"),
        # molar concentrations
        pytest.param("µmol/L", "µmol/L", id="µmol/L-micro-sign"),
        pytest.param("μmol/L", "µmol/L", id="μmol/L-greek-mu"),
        pytest.param("umol/L", "µmol/L", id="umol/L-ucum"),
        pytest.param("umol/l", "µmol/L", id="umol/l"),
        pytest.param("UMOL/L", "µmol/L", id="UMOL/L-upper"),
        pytest.param("mcmol/L", "µmol/L", id="mcmol/L"),
        pytest.param("micromol/L", "µmol/L", id="micromol/L"),
        pytest.param("Âµmol/L", "µmol/L", id="Âµmol/L-mojibake"),
        pytest.param("mmol/L", "mmol/L", id="mmol/L"),
        pytest.param("MMOL/L", "mmol/L", id="MMOL/L"),
        # mass concentrations
        pytest.param("mg/dL", "mg/dL", id="mg/dL"),
        pytest.param("mg/dl", "mg/dL", id="mg/dl"),
        pytest.param("MG/DL", "mg/dL", id="MG/DL"),
        pytest.param("mg%", "mg/dL", id="mg%"),
        pytest.param("mg/100mL", "mg/dL", id="mg/100mL"),
        pytest.param("mg/L", "mg/L", id="mg/L"),
        pytest.param("g/L", "g/L", id="g/L"),
        pytest.param("g/dl", "g/dL", id="g/dl"),
        pytest.param("g%", "g/dL", id="g%"),
        pytest.param("µg/L", "µg/L", id="µg/L"),
        pytest.param("ug/L", "µg/L", id="ug/L"),
        pytest.param("mcg/L", "µg/L", id="mcg/L"),
        pytest.param("Âµg/L", "µg/L", id="Âµg/L-mojibake"),
        pytest.param("ng/mL", "ng/mL", id="ng/mL"),
        pytest.param("ng/ml", "ng/mL", id="ng/ml"),
        # cell counts
        pytest.param("10^9/L", "10^9/L", id="10^9/L"),
        pytest.param("10*9/L", "10^9/L", id="10*9/L-ucum"),
        pytest.param("x10^9/L", "10^9/L", id="x10^9/L"),
        pytest.param("x10*9/l", "10^9/L", id="x10*9/l"),
        pytest.param("10^3/µL", "10^9/L", id="10^3/µL"),
        pytest.param("/nL", "10^9/L", id="/nL"),
        pytest.param("/µL", "/µL", id="/µL"),
        pytest.param("/ul", "/µL", id="/ul"),
        pytest.param("/mm3", "/µL", id="/mm3"),
        pytest.param("/mm³", "/µL", id="/mm-superscript-3"),
        pytest.param("10⁹/L", "10^9/L", id="10-superscript-9/L"),
        pytest.param("x10⁹/l", "10^9/L", id="x10-superscript-9/l"),
        pytest.param("×10^9/L", "10^9/L", id="times-sign-10^9/L"),
    ],
)
def test_unit_spellings(spelling, key):
    assert lookup_unit(spelling).key == key


@pytest.mark.parametrize("spelling", ["u/L", "u/l", "µ/L", "μ/L", "Âµ/L", "u", "u / L"])
def test_lower_case_u_is_never_atomic_mass_units(spelling):
    with pytest.raises(UnitError, match="U/L"):
        lookup_unit(spelling)


@pytest.mark.parametrize("spelling", ["u/L", "u/l", "µ/L"])
def test_lower_case_u_refused_for_an_enzyme_too(spelling):
    with pytest.raises(UnitError, match="write U/L") as caught:
        unit_for_analyte(get_analyte("alt"), spelling)
    assert "µkat/L" in str(caught.value)


@pytest.mark.parametrize(
    ("analyte", "spelling"),
    [
        pytest.param("alt", "foo", id="nonsense"),
        pytest.param("alt", "UI/L", id="french-order"),
        pytest.param("alt", "mg**9**9**9", id="power-tower"),
        pytest.param("alt", "10**10**10", id="power-tower-10"),
        pytest.param("alt", "m" * 40, id="overlong"),
        pytest.param("bilirubin", "mol", id="no-volume"),
        pytest.param("glucose", "mg/mL", id="unlisted-mass-unit"),
    ],
)
def test_unknown_units_are_errors_listing_the_accepted_ones(analyte, spelling):
    item = get_analyte(analyte)
    outcome: dict = {}

    def target() -> None:
        try:
            unit_for_analyte(item, spelling)
        except UnitError as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "unit lookup hung"
    assert "error" in outcome, f"{spelling!r} was accepted"
    for accepted in item.units:
        assert accepted in str(outcome["error"])


@pytest.mark.parametrize(
    ("analyte", "spelling"),
    [
        pytest.param("alt", "mmol/L", id="molar-for-enzyme"),
        pytest.param("alt", "mg/dL", id="mass-for-enzyme"),
        pytest.param("bilirubin", "U/L", id="activity-for-bilirubin"),
        pytest.param("bilirubin", "mmol/L", id="mmol-for-bilirubin"),
        pytest.param("albumin", "µmol/L", id="molar-for-albumin"),
        pytest.param("leukocytes", "U/L", id="activity-for-count"),
        pytest.param("cea", "U/L", id="activity-for-cea"),
    ],
)
def test_known_unit_not_on_the_analytes_whitelist(analyte, spelling):
    item = get_analyte(analyte)
    with pytest.raises(UnitError, match="not accepted") as caught:
        unit_for_analyte(item, spelling)
    for accepted in item.units:
        assert accepted in str(caught.value)


# --- factors, from the definitions --------------------------------------------------------


@pytest.mark.parametrize(
    ("analyte", "from_unit", "to_unit", "expected"),
    [
        # bilirubin: 1 mg/dL = 10 mg/L = 10/584.66 mmol/L = 10*1000/584.66 µmol/L (= 17.104)
        pytest.param("bilirubin", "mg/dL", "µmol/L", 10 * 1000 / BILIRUBIN_MOLAR_MASS, id="bilirubin-mg/dL"),
        pytest.param("bilirubin", "mg/L", "µmol/L", 1000 / BILIRUBIN_MOLAR_MASS, id="bilirubin-mg/L"),
        pytest.param("bilirubin", "µmol/L", "mg/dL", BILIRUBIN_MOLAR_MASS / (10 * 1000), id="bilirubin-back"),
        # enzymes: 1 U = 1 µmol/min, 1 kat = 1 mol/s, so 1 µkat = 60 U
        pytest.param("alt", "µkat/L", "U/L", 60.0, id="alt-µkat"),
        pytest.param("ldh", "µkat/L", "U/L", 60.0, id="ldh-µkat"),
        pytest.param("alp", "U/L", "µkat/L", 1 / 60, id="alp-U-to-µkat"),
        # 1 dL = 0.1 L
        pytest.param("albumin", "g/dL", "g/L", 10.0, id="albumin-g/dL"),
        pytest.param("globulin", "g/dL", "g/L", 10.0, id="globulin-g/dL"),
        # ng/mL = µg/L
        pytest.param("cea", "ng/mL", "µg/L", 1.0, id="cea-ng/mL"),
        # glucose: 1 mmol/L = 180.16 mg/L = 18.016 mg/dL
        pytest.param("glucose", "mmol/L", "mg/dL", GLUCOSE_MOLAR_MASS / 10, id="glucose-mmol-to-mg/dL"),
        pytest.param("glucose", "mg/dL", "mmol/L", 10 / GLUCOSE_MOLAR_MASS, id="glucose-mg/dL-to-mmol"),
        # haemoglobin (monomer): 1 mmol/L = 16114.5 mg/L = 1.61145 g/dL
        pytest.param("haemoglobin", "mmol/L", "g/dL", HB_MONOMER_MOLAR_MASS / 10000, id="hb-mmol-to-g/dL"),
        pytest.param("haemoglobin", "g/dL", "mmol/L", 10000 / HB_MONOMER_MOLAR_MASS, id="hb-g/dL-to-mmol"),
        pytest.param("haemoglobin", "g/L", "mmol/L", 1000 / HB_MONOMER_MOLAR_MASS, id="hb-g/L-to-mmol"),
        # cells: 1 /µL = 10^6 /L = 10^-3 x 10^9/L
        pytest.param("leukocytes", "/µL", "10^9/L", 1e-3, id="wbc-per-µL"),
    ],
)
def test_conversion_factors(analyte, from_unit, to_unit, expected):
    item = get_analyte(analyte)
    assert convert(item, 1.0, from_unit, to_unit) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("analyte", "value", "from_unit", "to_unit", "expected"),
    [
        pytest.param("bilirubin", 2.4, "mg/dL", "µmol/L", 2.4 * 10 * 1000 / BILIRUBIN_MOLAR_MASS, id="bili-2.4-mg/dL"),
        pytest.param("bilirubin", 2.0, "mg/dL", "µmol/L", 2.0 * 10 * 1000 / BILIRUBIN_MOLAR_MASS, id="bili-2-mg/dL"),
        pytest.param("alt", 0.75, "µkat/L", "U/L", 45.0, id="alt-0.75-µkat"),
        pytest.param("glucose", 70, "mg/dL", "mmol/L", 700 / GLUCOSE_MOLAR_MASS, id="glucose-70-mg/dL"),
        pytest.param("albumin", 3.5, "g/dL", "g/L", 35.0, id="albumin-3.5-g/dL"),
    ],
)
def test_convert_values(analyte, value, from_unit, to_unit, expected):
    assert convert(get_analyte(analyte), value, from_unit, to_unit) == pytest.approx(expected, rel=1e-9)


def test_clinical_bilirubin_factor_is_17_104():
    assert to_canonical_factor(get_analyte("bilirubin"), "mg/dL") == pytest.approx(17.104, abs=5e-4)


@pytest.mark.parametrize("analyte", ["bilirubin", "alt", "albumin", "glucose", "haemoglobin", "leukocytes", "cea"])
def test_round_trip_through_every_unit(analyte):
    item = get_analyte(analyte)
    for unit in item.units:
        there = convert(item, 7.0, item.canonical_unit, unit)
        assert convert(item, there, unit, item.canonical_unit) == pytest.approx(7.0, rel=1e-12)


def test_identity_needs_no_pint():
    assert factor("alt", "U/L", "U/L") == 1.0


def test_factor_is_computed_once_per_pair():
    factor.cache_clear()
    item = get_analyte("bilirubin")
    for _ in range(100):
        to_canonical_factor(item, "mg/dL")
    info = factor.cache_info()
    assert info.misses == 1
    assert info.hits == 99


def test_mass_to_molar_without_molar_mass_is_an_error():
    with pytest.raises(UnitError, match="molar mass"):
        factor("nothing", "mg/dL", "µmol/L", None)


def test_every_accepted_unit_has_a_kind():
    assert {unit.kind for unit in units().values()} <= {"mass", "molar", "activity", "count"}
