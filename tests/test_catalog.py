"""catalog.py: every name, abbreviation and LOINC code seen in exports finds its analyte."""

from __future__ import annotations

import pytest

from levlab.catalog import analytes, find_analyte, get_analyte, near_miss, normalise_name, typing_slips
from levlab.errors import UnknownAnalyteError
from levlab.units import units

IDS = ["bilirubin", "alp", "ggt", "ldh", "ast", "alt", "cea", "albumin", "globulin", "ascites_ldh",
       "leukocytes", "haemoglobin", "glucose"]


def test_catalogue_holds_exactly_the_public_ids_in_order():
    assert list(analytes()) == IDS


@pytest.mark.parametrize("analyte_id", IDS)
def test_every_analyte_is_coherent(analyte_id):
    analyte = analytes()[analyte_id]
    assert analyte.canonical_unit in analyte.units
    assert set(analyte.units) <= set(units())
    assert 0 <= analyte.plausible_low < analyte.plausible_high
    assert analyte.plausible_basis
    kinds = {units()[unit].kind for unit in analyte.units}
    if {"mass", "molar"} <= kinds:
        assert analyte.molar_mass, f"{analyte_id} mixes mass and molar units without a molar mass"


@pytest.mark.parametrize(
    ("name", "analyte_id"),
    [
        # English, Dutch, German names and abbreviations
        pytest.param("ALAT", "alt", id="ALAT"),
        pytest.param("SGPT", "alt", id="SGPT"),
        pytest.param("GPT", "alt", id="GPT"),
        pytest.param("Alanine Aminotransferase", "alt", id="alt-full-name"),
        pytest.param("ASAT", "ast", id="ASAT"),
        pytest.param("SGOT", "ast", id="SGOT"),
        pytest.param("GOT", "ast", id="GOT"),
        pytest.param("AF", "alp", id="AF-dutch"),
        pytest.param("AP", "alp", id="AP-german"),
        pytest.param("alk phos", "alp", id="alk-phos"),
        pytest.param("alkalische fosfatase", "alp", id="alkalische-fosfatase"),
        pytest.param("LD", "ldh", id="LD"),
        pytest.param("lactaatdehydrogenase", "ldh", id="lactaatdehydrogenase"),
        pytest.param("gamma-GT", "ggt", id="gamma-GT"),
        pytest.param("γGT", "ggt", id="greek-gamma-GT"),
        pytest.param("γ-GT", "ggt", id="greek-gamma-hyphen-GT"),
        pytest.param("y-GT", "ggt", id="y-GT"),
        pytest.param("GGTP", "ggt", id="GGTP"),
        pytest.param("bilirubine totaal", "bilirubin", id="bilirubine-totaal"),
        pytest.param("Bilirubin gesamt", "bilirubin", id="Bilirubin-gesamt"),
        pytest.param("TBIL", "bilirubin", id="TBIL"),
        pytest.param("bili", "bilirubin", id="bili"),
        pytest.param("CEA", "cea", id="CEA"),
        pytest.param("albumine", "albumin", id="albumine"),
        pytest.param("globulines", "globulin", id="globulines"),
        pytest.param("LD ascites", "ascites_ldh", id="LD-ascites"),
        pytest.param("ascites LDH", "ascites_ldh", id="ascites-LDH"),
        pytest.param("WBC", "leukocytes", id="WBC"),
        pytest.param("leuco's", "leukocytes", id="leucos-apostrophe"),
        pytest.param("leukocyten", "leukocytes", id="leukocyten"),
        pytest.param("Hb", "haemoglobin", id="Hb"),
        pytest.param("hemoglobine", "haemoglobin", id="hemoglobine"),
        pytest.param("Hämoglobin", "haemoglobin", id="Haemoglobin-umlaut"),
        pytest.param("glucose nuchter", "glucose", id="glucose-nuchter"),
        # LOINC codes
        pytest.param("1742-6", "alt", id="loinc-alt"),
        pytest.param("1920-8", "ast", id="loinc-ast"),
        pytest.param("6768-6", "alp", id="loinc-alp"),
        pytest.param("2324-2", "ggt", id="loinc-ggt"),
        pytest.param("2532-0", "ldh", id="loinc-ldh"),
        pytest.param("1975-2", "bilirubin", id="loinc-bilirubin-mass"),
        pytest.param("14631-6", "bilirubin", id="loinc-bilirubin-molar"),
        pytest.param("2039-6", "cea", id="loinc-cea"),
        pytest.param("1751-7", "albumin", id="loinc-albumin"),
        pytest.param("718-7", "haemoglobin", id="loinc-hb"),
        # specimen prefixes
        pytest.param("S-ALAT", "alt", id="S-ALAT"),
        pytest.param("s-alat", "alt", id="s-alat"),
        pytest.param("P-ASAT", "ast", id="P-ASAT"),
        pytest.param("serum ALAT", "alt", id="serum-ALAT"),
        pytest.param("plasma LDH", "ldh", id="plasma-LDH"),
        # case, accent, space and punctuation
        pytest.param("alat", "alt", id="lower-case"),
        pytest.param("  ALAT  ", "alt", id="padded"),
        pytest.param("A.L.A.T.", "alt", id="dotted"),
        pytest.param("BILIRUBINE TOTAAL", "bilirubin", id="upper-case-words"),
        pytest.param("bilirubine-totaal", "bilirubin", id="hyphen-for-space"),
        pytest.param("bilirubinetotaal", "bilirubin", id="no-space"),
        pytest.param("Bilirubín", "bilirubin", id="accent"),
        pytest.param("GAMMA GT", "ggt", id="gamma-space-GT"),
    ],
)
def test_alias_families(name, analyte_id):
    found = find_analyte(name)
    assert found is not None, f"{name!r} found no analyte"
    assert found.id == analyte_id


@pytest.mark.parametrize("analyte_id", IDS)
def test_every_id_and_alias_finds_itself(analyte_id):
    analyte = analytes()[analyte_id]
    for name in (analyte.id, *analyte.aliases, *analyte.loinc):
        assert find_analyte(name).id == analyte_id, name


def test_no_two_analytes_share_a_folded_alias():
    seen: dict[str, str] = {}
    for analyte in analytes().values():
        for name in (analyte.id, *analyte.aliases, *analyte.loinc):
            key = normalise_name(name)
            assert seen.setdefault(key, analyte.id) == analyte.id, f"{name!r} is ambiguous"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        pytest.param("Bilirubine Totaal", "bilirubinetotaal", id="case-and-space"),
        pytest.param("γ-GT", "γgt", id="greek-gamma-kept"),
        pytest.param("Hämoglobin", "hamoglobin", id="umlaut-stripped"),
        pytest.param("leuco's", "leucos", id="apostrophe"),
        pytest.param("1742-6", "17426", id="loinc"),
    ],
)
def test_normalise_name(text, folded):
    assert normalise_name(text) == folded


@pytest.mark.parametrize("name", ["foo", "S-foo", "", "ALT2", "sodium", "1742-7"])
def test_unknown_names(name):
    assert find_analyte(name) is None


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("direct bilirubin", id="direct-bilirubin-is-not-total"),
        pytest.param("bilirubine direct", id="dutch-direct-bilirubin"),
        pytest.param("geconjugeerd bilirubine", id="conjugated-bilirubin-nl"),
        pytest.param("U-glucose", id="urine-glucose-prefix"),
        pytest.param("urine glucose", id="urine-glucose"),
        pytest.param("CSF glucose", id="csf-glucose"),
        pytest.param("albumin urine", id="urine-albumin"),
        pytest.param("HbA1c", id="hba1c-is-not-haemoglobin"),
        pytest.param("LDH-1", id="ldh-isoenzyme"),
    ],
)
def test_look_alike_tests_are_not_mistaken_for_an_analyte(name):
    assert find_analyte(name) is None


def test_unknown_analyte_error_lists_the_ids():
    with pytest.raises(UnknownAnalyteError) as caught:
        get_analyte("sodium")
    message = str(caught.value)
    assert "'sodium'" in message
    for analyte_id in IDS:
        assert analyte_id in message


def test_specimen_prefix_needs_a_separator():
    # "S" glued to a name is not a prefix: "SGOT" is AST by alias, "SALAT" is nothing.
    assert find_analyte("SGOT").id == "ast"
    assert find_analyte("SALAT") is None


@pytest.mark.parametrize("name", ["ALT (%)", "ALT %", "ALT(%)", "CEA (%)", "ALAT %", "ALT (‰)"])
def test_a_name_with_a_percent_sign_is_not_the_bare_name(name):
    """`%` is a unit, not punctuation: `ALT (%)` must not fold to `alt` and be read in U/L."""
    assert find_analyte(name) is None


@pytest.mark.parametrize(
    ("code", "analyte_id"),
    [
        pytest.param("14749-6", "glucose", id="glucose-molar-serum"),
        pytest.param("1743-4", "alt", id="alt-with-p5p"),
        pytest.param("1744-2", "alt", id="alt-without-p5p"),
        pytest.param("30239-8", "ast", id="ast-with-p5p"),
        pytest.param("61151-7", "albumin", id="albumin-bcg"),
        pytest.param("61152-5", "albumin", id="albumin-bcp"),
        pytest.param("26464-8", "leukocytes", id="leukocytes-blood"),
    ],
)
def test_verified_loinc_codes_name_their_analyte(code, analyte_id):
    assert find_analyte(code).id == analyte_id


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("42719-5", id="bilirubin-in-whole-blood-not-serum"),
        pytest.param("2531-2", id="ascites-ldh-unverified"),
    ],
)
def test_unverified_or_other_specimen_codes_are_not_taken(code):
    assert find_analyte(code) is None


# --- headers that nearly match (the Indian Liver Patient Dataset's header, and guards) -------------

@pytest.mark.parametrize(
    ("header", "kind", "analyte", "map_option"),
    [
        pytest.param("Alkaline_Phosphotase", "typo", "alp", '--map "Alkaline_Phosphotase=alp"', id="ilpd-alp-sic"),
        pytest.param("Alamine_Aminotransferase", "typo", "alt", '--map "Alamine_Aminotransferase=alt"', id="ilpd-alt-sic"),
        pytest.param("Aspartate_Aminotransferase", None, None, None, id="ilpd-ast-is-an-alias"),
        pytest.param("Total_Bilirubin", None, None, None, id="ilpd-total-bilirubin-is-an-alias"),
        pytest.param("Direct_Bilirubin", "other-meaning", None, None, id="ilpd-direct-bilirubin-refused"),
        pytest.param("Total_Protiens", None, None, None, id="ilpd-total-protein-not-an-analyte"),
        pytest.param("Albumin", None, None, None, id="ilpd-albumin-is-an-alias"),
        pytest.param("Albumin_and_Globulin_Ratio", "other-meaning", None, None, id="ilpd-ag-ratio-refused"),
        pytest.param("Bilirubn", "typo", "bilirubin", '--map "Bilirubn=bilirubin:<µmol/L or mg/dL>"', id="unit-required-asks-for-the-unit"),
        pytest.param("AlkalinePhosphatse", "typo", "alp", '--map "AlkalinePhosphatse=alp"', id="camel-case"),
        pytest.param("Alkalnie Phosphotase", "typo", "alp", '--map "Alkalnie Phosphotase=alp"', id="two-slips-one-a-swap"),
        pytest.param("Pleural LDH", "other-meaning", None, None, id="other-specimen"),
    ],
)
def test_near_miss_on_real_headers(header, kind, analyte, map_option):
    found = near_miss(header)
    if kind is None:
        assert found is None
        return
    assert (found.kind, found.analyte, found.map_option) == (kind, analyte, map_option)
    assert header in found.reason and "not taken" in found.reason


@pytest.mark.parametrize(
    ("header", "reason_words"),
    [
        pytest.param("Direct_Bilirubin", ["bilirubin", "fraction"], id="direct"),
        pytest.param("Albumin_and_Globulin_Ratio", ["albumin and globulin", "ratio"], id="ratio"),
    ],
)
def test_near_miss_says_why_a_header_with_an_analyte_word_is_refused(header, reason_words):
    reason = near_miss(header).reason
    for word in reason_words:
        assert word in reason


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Salt", id="short-alias-alt-needs-an-exact-match"),
        pytest.param("Apt", id="short-alias-ap"),
        pytest.param("Age", id="age"),
        pytest.param("Gender", id="gender"),
        pytest.param("Dataset", id="dataset"),
        pytest.param("Alkaline_Phosphotasexx", id="three-slips-too-many"),
        pytest.param("x" * 500, id="long-text"),
    ],
)
def test_near_miss_guards_against_chance_matches(header):
    assert near_miss(header) is None


@pytest.mark.parametrize(
    ("a", "b", "slips"),
    [
        ("protiens", "proteins", 1),  # a swap of neighbours is one slip
        ("phosphotase", "phosphatase", 1),
        ("alamine", "alanine", 1),
        ("abc", "abc", 0),
        ("abcdef", "ab", 3),  # beyond the limit of 2: limit + 1
    ],
)
def test_typing_slips(a, b, slips):
    assert typing_slips(a, b, 2) == slips


#: what the LOINC "property" of a result in each canonical unit is
PROPERTY_OF_UNIT = {"µmol/L": "[Moles/volume]", "mmol/L": "[Moles/volume]", "g/L": "[Mass/volume]",
                    "µg/L": "[Mass/volume]", "U/L": "[Enzymatic activity/volume]", "10^9/L": "[#/volume]"}


@pytest.mark.parametrize("analyte_id", [a for a in analytes() if analytes()[a].reported_loinc])
def test_the_reported_loinc_is_a_listed_code_of_the_canonical_units_property(analyte_id):
    """FHIR output codes a value in the canonical unit: its LOINC must say that unit's property, no method."""
    analyte = get_analyte(analyte_id)
    code, display = analyte.reported_loinc
    assert code in analyte.loinc
    assert PROPERTY_OF_UNIT[analyte.canonical_unit] in display
    assert " by " not in display  # no method: levlab does not know how the laboratory measured


def test_analytes_without_a_reported_loinc_are_the_ones_no_listed_code_fits():
    assert [a for a in analytes() if not analytes()[a].reported_loinc] == ["globulin", "ascites_ldh"]

@pytest.mark.parametrize(
    ("name", "analyte"),
    [("Alanine Aminotransferase (ALT)", "alt"), ("Lactate Dehydrogenase (LD)", "ldh"),
     ("Lactic dehydrogenase (LD)", "ldh"), ("Aspartate aminotransferase (AST/SGOT)", "ast"),
     ("Gamma Glutamyltransferase [GGT]", "ggt"), ("Bilirubin, Total (TBIL)", "bilirubin"),
     # the name and the abbreviation disagree, or the name makes it another quantity or specimen
     ("Alanine Aminotransferase (AST)", None), ("Urine LD (LD)", None), ("Direct bilirubin (BILI)", None),
     ("Bilirubin (direct)", None), ("ALT (U/L)", None), ("Ratio (ALT/AST)", None)],
)
def test_a_name_with_its_abbreviation_in_brackets(name, analyte):
    found = find_analyte(name)
    assert (found.id if found else None) == analyte
