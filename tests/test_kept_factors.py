"""kept_factors.py: pint's conversion factors kept on disk, used only as pint's own answers to the
same question with the same definitions and the same pint."""

from __future__ import annotations

import contextlib
import itertools
import os

import pytest

from levlab import kept_factors, units
from levlab.catalog import analytes
from levlab.data import keep, read_kept

ALL_PAIRS = [(analyte, source, target) for analyte in analytes().values()
             for source, target in itertools.permutations(analyte.units, 2)]


@pytest.fixture
def own_table(tmp_path, monkeypatch):
    """A kept table of this test's own (in tmp_path), read afresh; factor's in-process memo cleared."""
    monkeypatch.setattr(kept_factors, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(kept_factors, "_answers", None)
    units.factor.cache_clear()
    yield kept_factors.table_file()
    units.factor.cache_clear()


def every_factor() -> dict[tuple[str, str, str], float]:
    factors = {}
    for analyte, source, target in ALL_PAIRS:
        with contextlib.suppress(units.UnitError):  # mass <-> molar without a molar mass: refused before pint
            factors[analyte.id, source, target] = units.factor(analyte.id, source, target, analyte.molar_mass)
    return factors


def test_every_kept_factor_is_pints_own_answer(own_table, monkeypatch):
    first = every_factor()
    assert os.path.exists(own_table)
    kept = read_kept(own_table, kept_factors._made_from())
    assert len(kept) >= 10  # the distinct questions: many analytes share U/L <-> µkat/L
    assert all(answer == units.pint_factor(*question) for question, answer in kept.items())
    monkeypatch.setattr(kept_factors, "_answers", None)  # a new process: the table from disk
    units.factor.cache_clear()
    monkeypatch.setattr(units, "pint_factor", lambda *question: pytest.fail(f"pint asked again: {question}"))
    assert every_factor() == first


def test_the_kept_table_is_what_factor_answers(own_table):
    question = ("milligram / deciliter", "micromole / liter", True, 584.66)
    keep(own_table, kept_factors._made_from(), {question: 12345.0})  # planted: only the table could say it
    assert units.factor("bilirubin", "mg/dL", "µmol/L", 584.66) == 12345.0


def test_a_damaged_table_is_not_used(own_table):
    """A kept factor whose bytes changed on disk (mg/dL -> µmol/L read as 12345) is never used:
    the factor is pint's again."""
    import struct

    question = ("milligram / deciliter", "micromole / liter", True, 584.66)
    keep(own_table, kept_factors._made_from(), {question: 17.1})
    with open(own_table, "rb") as handle:
        held = handle.read()
    with open(own_table, "wb") as handle:  # the kept float's eight bytes damaged, the file still reads
        handle.write(held.replace(struct.pack("<d", 17.1), struct.pack("<d", 12345.0)))
    assert units.factor("bilirubin", "mg/dL", "µmol/L", 584.66) == pytest.approx(17.104, abs=5e-4)


OTHER_ORIGINS = {
    "other definitions": lambda definitions, pint_install: (definitions + "\nfoo = 2 * gram\n", pint_install),
    "another pint": lambda definitions, pint_install: (definitions, (*pint_install[:-1], pint_install[-1] + 1)),
    "no origin": lambda definitions, pint_install: None,
}


@pytest.mark.parametrize("made_from", OTHER_ORIGINS.values(), ids=OTHER_ORIGINS.keys())
def test_a_table_made_from_other_definitions_or_another_pint_is_not_used(own_table, made_from):
    question = ("milligram / deciliter", "micromole / liter", True, 584.66)
    keep(own_table, made_from(*kept_factors._made_from()), {question: 12345.0})
    assert units.factor("bilirubin", "mg/dL", "µmol/L", 584.66) == pytest.approx(17.104, abs=5e-4)


def test_what_the_table_depends_on_names_the_definitions_and_the_installed_pint():
    definitions, pint_install = kept_factors._made_from()
    assert "katal = mole / second" in definitions
    assert pint_install[0].endswith(os.path.join("pint", "__init__.py"))


def test_the_refusal_without_a_molar_mass_comes_before_the_table(own_table):
    with pytest.raises(units.UnitError, match="no molar mass"):
        units.factor("nothing", "mg/dL", "µmol/L", None)
