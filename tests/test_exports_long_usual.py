"""levlab.exports.long_usual: the usual long panel decided and written in one go, held to the long way."""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner
from long_panels import random_long_export

from levlab.cli import main
from levlab.exports import long_usual
from levlab.exports.long_usual import UsualPanels


def _csv(path, *options: str) -> tuple[str, str]:
    """(stdout, stderr) of `levlab csv` on a file (grouped by the file's index)."""
    result = CliRunner().invoke(main, ["csv", str(path), *options])
    return result.stdout, result.stderr


def _shuffled(text: str, seed: int) -> str:
    """The rows of a long export in another order: samples split over the file."""
    header, *rows = text.splitlines(keepends=True)
    random.Random(seed).shuffle(rows)
    return header + "".join(rows)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize(("decimal", "shuffle"), [(".", False), (",", False), (".", True)])
def test_the_usual_panels_in_one_go_give_what_the_long_way_gives(monkeypatch, tmp_path, seed, decimal, shuffle):
    """Random panels (unknown or differing sex and age, the same analyte twice, missing and
    unreadable values, unknown tests, samples split over the file) with the shortcut on and off."""
    text = random_long_export(seed, decimal=decimal, panels=120)
    path = tmp_path / "long.csv"
    path.write_text(_shuffled(text, seed) if shuffle else text, encoding="utf-8", newline="")
    taken = []
    write = UsualPanels.write

    def counted(self, *arguments):
        taken.append(write(self, *arguments))
        return taken[-1]

    monkeypatch.setattr(UsualPanels, "write", counted)
    shortcut = _csv(path)
    monkeypatch.setattr(long_usual, "USUAL", False)
    taken_before = len(taken)
    assert _csv(path) == shortcut
    assert len(taken) == taken_before  # off: never asked
    assert True in taken and False in taken  # some panels took the shortcut, some the long way
    assert "met" in shortcut[0] and ("given twice" in shortcut[0] or "differs from" in shortcut[0])


@pytest.mark.parametrize(("flags", "specimens", "options"), [
    (True, False, ()), (False, True, ()), (False, False, ("--format", "jsonl")),
    (False, False, ("--format", "table"))])
def test_runs_the_shortcut_does_not_know_go_the_long_way(monkeypatch, tmp_path, flags, specimens, options):
    """A laboratory flag or specimen column, panel output or the table summary: no panel takes the
    shortcut, and the output is the long way's."""
    text = random_long_export(3, flags=flags, specimens=specimens)
    path = tmp_path / "long.csv"
    path.write_text(text, encoding="utf-8", newline="")
    asked = []
    monkeypatch.setattr(UsualPanels, "write", lambda self, *arguments: asked.append(arguments))
    shortcut = _csv(path, *options)
    assert asked == []
    monkeypatch.setattr(long_usual, "USUAL", False)
    assert _csv(path, *options) == shortcut


def test_rows_the_reader_marks_go_the_long_way_and_give_what_it_gives(monkeypatch, tmp_path):
    """A row with more fields than the header (folded, an error), a short row, a blank line,
    a repeated header and bytes that do not decode in a file of usual panels: the output with the shortcut is the long way's."""
    header, *rows = random_long_export(5, panels=80).splitlines()
    rows[10] += ",extra,fields"
    rows[20] = ",".join(rows[20].split(",")[:5])
    rows[30:30] = ["", header]
    path = tmp_path / "long.csv"
    text = ("\n".join([header, *rows]) + "\n").encode("utf-8")
    for sample in range(60, 80):  # bytes that do not decode, in the sample ids of the last panels
        text = text.replace(b",S%d," % sample, b",S%d\xff," % sample)
    path.write_bytes(text)
    shortcut = _csv(path)
    assert "row has 10 fields, the header 8" in shortcut[0] and "repeats the header" in shortcut[1]
    assert "cannot be read as utf-8" in shortcut[0]
    monkeypatch.setattr(long_usual, "USUAL", False)
    assert _csv(path) == shortcut


def test_a_reading_is_kept_for_the_next_panels_only_when_it_is_judged_alike_for_every_patient(monkeypatch, tmp_path):
    """The same value texts in many panels, with the lab's own range (patient-free: kept, and
    taken again) and without one (judged by the patient's sex and age: never kept), for patients
    of both sexes and several ages: what the shortcut writes is the long way's."""
    header = "patient,geslacht,leeftijd,monsternummer,bepaling,uitslag,eenheid,referentiewaarde"
    lines = [header]
    for sample in range(40):
        sex, age = ("M", "V")[sample % 2], ("17", "50", "80")[sample % 3]
        for name, value, lab_range in (("ALAT", "40", "< 45"), ("ASAT", "34", ""), ("LD", "240", ""),
                                       ("AF", "110", "35 - 105"), ("GGT", "41", ""),
                                       ("Bilirubine totaal", "16", "< 17")):
            lines.append(f"P{sample // 2},{sex},{age},S{sample},{name},{value},U/L,{lab_range}".replace(
                "U/L,< 17", "umol/L,< 17"))
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen = []
    write = UsualPanels.write

    def kept(self, *arguments):
        seen.append(self)
        return write(self, *arguments)

    monkeypatch.setattr(UsualPanels, "write", kept)
    shortcut = _csv(path)
    prepared = seen[0].prepared
    assert len(prepared) == 3 and all(reading.patient_free for reading in prepared)  # ALAT, AF, bilirubin
    monkeypatch.setattr(long_usual, "USUAL", False)
    assert _csv(path) == shortcut
