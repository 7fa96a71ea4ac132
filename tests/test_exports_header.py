"""levlab.exports.header: what a column name says, and the --map / --col options."""

from __future__ import annotations

import pytest

from levlab.errors import UsageError
from levlab.exports.header import companion_of, parse_col, parse_map, split_header

# --- headers and options -------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "analyte", "unit"), [
    ("ALAT (U/L)", "alt", "U/L"),
    ("Total Bilirubin (mg/dL)", "bilirubin", "mg/dL"),
    ("bilirubin_umol_L", "bilirubin", "µmol/L"),
    ("ALT [IU/L]", "alt", "U/L"),
    ("Bili mg/dl", "bilirubin", "mg/dL"),
    ("GGT", "ggt", None),
    ("gamma-GT", "ggt", None),
    ("AST (GOT)", "ast", None),
    ("Natrium (mmol/L)", None, None),
    ("Sodium", None, None),
])
def test_split_header(header: str, analyte: str | None, unit: str | None) -> None:
    found, found_unit = split_header(header)
    assert (found.id if found else None, found_unit) == (analyte, unit)


def test_bracketed_unit_that_is_not_the_analytes_is_an_error() -> None:
    with pytest.raises(UsageError, match=r"'ALT \(mmol/L\)'.*--map"):
        split_header("ALT (mmol/L)")


@pytest.mark.parametrize(("header", "role", "analyte"), [
    ("ALT ref", "range", "alt"),
    ("ALAT normaalwaarde", "range", "alt"),
    ("ref ALT", "range", "alt"),
    ("ALT unit", "unit", "alt"),
    ("LDH eenheid", "unit", "ldh"),
])
def test_companion_columns(header: str, role: str, analyte: str) -> None:
    found = companion_of(header)
    assert found is not None and (found[0], found[1].id) == (role, analyte)


def test_map_option() -> None:
    option = parse_map("Total_Bilirubin=bilirubin:mg/dL")
    assert (option.header, option.analyte.id, option.unit) == ("Total_Bilirubin", "bilirubin", "mg/dL")
    assert parse_map("TBIL=ignore").analyte is None


@pytest.mark.parametrize(("text", "part"), [
    ("=bilirubin", "header is missing"),
    ("X=", "analyte is missing"),
    ("X=bilirubinn", "unknown analyte 'bilirubinn'"),
    ("X=bilirubin:mmol/dL", "unit 'mmol/dL'"),
    ("X=bilirubin:U/L", "unit 'U/L'"),
])
def test_bad_map_names_the_wrong_part(text: str, part: str) -> None:
    with pytest.raises(UsageError, match=part):
        parse_map(text)


def test_bad_col_names_the_role() -> None:
    with pytest.raises(UsageError, match="unknown role 'tset'"):
        parse_col("tset=Bepaling")
