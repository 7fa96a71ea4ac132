"""exports/specimens.py: only serum or plasma results make the panel (issue 19 item 4)."""

from __future__ import annotations

import pytest
from export_runs import column, run_csv, run_jsonl

from levlab.catalog import analytes
from levlab.exports.settings import NA_MARKERS
from levlab.exports.specimens import place, specimen_kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [("Serum", "serum"), ("plasma", "serum"), ("S", "serum"), ("P", "serum"), ("Bloed", "serum"),
     ("Li-hep plasma", "serum"), ("SER/PLAS", "serum"), ("Ascites", "ascites"), ("ascitesvocht", "ascites"),
     ("Peritoneal fluid", "ascites"), ("Urine", "other"), ("24-uurs urine", "other"), ("Liquor", "other"),
     ("CSF", "other"), ("Pleuravocht", "other"), ("Speeksel", "other"), ("weird tube", None), ("S123", None),
     ("Volbloed", "whole_blood"), ("whole blood", "whole_blood"), ("arterieel bloed", "whole_blood")],
)
def test_specimen_words(text, kind):
    assert specimen_kind(text) == kind


@pytest.mark.parametrize(
    ("analyte", "specimen", "placed", "passed", "error"),
    [("ldh", "Serum", "ldh", False, False), ("ldh", "", "ldh", False, False), ("ldh", "NA", "ldh", False, False),
     ("ldh", "Ascites", "ascites_ldh", False, False), ("albumin", "Ascites", None, True, False),
     ("glucose", "Urine", None, True, False), ("alt", "CSF", None, True, False), ("alt", "vial 3", None, True, True),
     # whole blood: the blood count is measured in it; a chemistry result on it is not the serum result
     ("haemoglobin", "Volbloed", "haemoglobin", False, False), ("leukocytes", "whole blood", "leukocytes", False, False),
     ("bilirubin", "Volbloed", None, True, False), ("alt", "capillary blood", None, True, False),
     ("bilirubin", "Bloed", "bilirubin", False, False)],
)
def test_place(analyte, specimen, placed, passed, error):
    found, why = place(analytes()[analyte], specimen, NA_MARKERS)
    assert (found.id if found else None) == placed
    assert (why is not None) is passed
    assert why is None or why.error is error


LONG_NL = ("Patiëntnummer;Geslacht;Leeftijd;Monsternummer;Materiaal;Bepaling;Uitslag;Eenheid\n"
           "1;V;60;S1;Serum;Bilirubine;10;umol/L\n"
           "1;V;60;S1;Serum;AF;80;U/L\n"
           "1;V;60;S1;Serum;LD;150;U/L\n"
           "1;V;60;S1;Serum;ASAT;20;U/L\n"
           "1;V;60;S1;Serum;ALAT;20;U/L\n"
           "1;V;60;S1;Ascites;LD;900;U/L\n"
           "1;V;60;S1;Urine;Glucose;2,0;mmol/L\n")
LONG_EN = ("patient,sex,age,sample id,specimen type,test,result,unit\n"
           "1,F,60,S1,serum,bilirubin,10,umol/L\n"
           "1,F,60,S1,serum,ALP,80,U/L\n"
           "1,F,60,S1,serum,LDH,150,U/L\n"
           "1,F,60,S1,serum,AST,20,U/L\n"
           "1,F,60,S1,serum,ALT,20,U/L\n"
           "1,F,60,S1,ascitic fluid,LDH,900,U/L\n"
           "1,F,60,S1,urine,glucose,2.0,mmol/L\n")


@pytest.mark.parametrize("text", [LONG_NL, LONG_EN], ids=["nl-semicolon", "en-comma"])
def test_ascitic_ldh_is_ascites_ldh_and_urine_glucose_passes_through(text):
    """Issue 19.4: ascitic LD 900 was read as serum LDH; urine glucose 2.0 fired hypoglycaemia."""
    run, (panel,) = run_jsonl(text)
    assert panel["analytes"]["ldh"]["value"] == 150
    assert panel["analytes"]["ascites_ldh"]["value"] == 900
    assert "glucose" not in panel["analytes"]
    fired = {flag["id"] for flag in panel["flags"]}
    assert "ascites-ldh-ratio" in fired
    assert not fired & {"hypoglycaemia", "alp-or-ldh-raised", "ldh-dominant"}
    assert panel["normal_panel"]["status"] == "met"
    assert any("row 7" in note and "not serum or plasma" in note for note in panel["notes"])
    assert run.summary.rows_with_errors == 0
    _, rows = run_csv(text)
    assert column(rows, "levlab_analyte")[5:] == ["ascites_ldh", ""]
    assert "glucose passed through, not in the panel" in column(rows, "levlab_error")[6]


def test_an_unknown_specimen_word_is_never_put_into_the_panel_silently():
    text = LONG_EN.replace("1,F,60,S1,serum,ALT,20,U/L", "1,F,60,S1,tube 7,ALT,20,U/L")
    run, (panel,) = run_jsonl(text)
    assert "alt" not in panel["analytes"]
    assert panel["normal_panel"]["status"] == "incomplete"
    (error,) = panel["errors"]
    assert error["column"] == "specimen type" and "is not known as serum or plasma" in error["message"]
    assert run.summary.rows_with_errors == 1


def test_the_report_names_the_specimen_column():
    run, _ = run_jsonl(LONG_NL)
    assert "  'Materiaal' -> specimen" in run.report
    assert any("serum or plasma results make the panel" in line for line in run.report)


def test_a_wide_row_of_another_specimen_is_not_interpreted():
    text = ("patient;Materiaal;ALAT (U/L);Glucose (mmol/L)\n"
            "1;Serum;30;5,0\n"
            "2;Urine;;2,0\n"
            "3;buis 7;30;5,0\n"
            "4;;300;5,0\n")
    run, rows = run_csv(text)
    assert column(rows, "levlab_glucose_value") == ["5", "", "", "5"]
    assert column(rows, "levlab_alt_value") == ["30", "", "", "300"]
    errors = column(rows, "levlab_error")
    assert "not serum or plasma" in errors[1] and "is not known as serum or plasma" in errors[2]
    assert "hypoglycaemia" not in column(rows, "levlab_flags")[1]
    assert run.summary.rows_with_errors == 1  # the unknown word only
    assert any("rows of other specimens pass through" in line for line in run.report)


WHOLE_BLOOD = ("patient;date;Materiaal;test;value;unit\n"
               "1;2024-01-01;Volbloed;Bilirubine;60;umol/L\n"
               "1;2024-01-01;Serum;AF;80;U/L\n"
               "1;2024-01-01;Serum;LD;180;U/L\n"
               "1;2024-01-01;Serum;ALAT;30;U/L\n"
               "1;2024-01-01;Serum;ASAT;25;U/L\n"
               "1;2024-01-01;Volbloed;Hemoglobine;8,5;mmol/L\n")


def test_a_chemistry_result_on_whole_blood_never_completes_the_panel():
    """Bilirubin from a blood gas analyser is not the serum bilirubin the interval and the 98 % rule are for."""
    _, (panel,) = run_jsonl(WHOLE_BLOOD)
    assert "bilirubin" not in panel["analytes"] and panel["analytes"]["haemoglobin"]["value"] == 8.5
    assert panel["normal_panel"]["status"] == "incomplete"
    assert "whole blood" in panel["notes"][0]


def test_a_wide_row_on_whole_blood_keeps_only_the_blood_count():
    text = "patient,specimen,Bilirubin (umol/L),ALT (U/L),Hb (mmol/L)\nP1,whole blood,10,30,8.5\nP2,serum,10,30,8.5\n"
    _, rows = run_csv(text)
    assert column(rows, "levlab_bilirubin_value") == ["", "10"] and column(rows, "levlab_haemoglobin_value") == ["8.5", "8.5"]
    _, (first, second) = run_jsonl(text)
    assert sorted(first["analytes"]) == ["haemoglobin"] and "whole blood" in json_text(first)
    assert sorted(second["analytes"]) == ["alt", "bilirubin", "haemoglobin"]


def json_text(panel: dict) -> str:
    import json

    return json.dumps(panel, ensure_ascii=False)
