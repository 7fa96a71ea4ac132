"""exports/roles.py: what a column is, from the words of its header (issue 10 item 1)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from export_runs import column, run_csv, run_jsonl

from levlab.cli import main
from levlab.data import load_toml
from levlab.exports import CsvOptions
from levlab.exports.header import role_of
from levlab.exports.layout import detect_layout
from levlab.exports.roles import date_like, header_words, role_by_words, sample_time_rank


@pytest.mark.parametrize(
    ("header", "words"),
    [("Patiëntnummer", ("patient", "nummer")), ("PatientID", ("patient", "id")), ("pat_id", ("pat", "id")),
     ("Afnamedatum", ("afname", "datum")), ("Ordernr.", ("order", "nr")), ("Ontvangstdatum", ("ontvangst", "datum")),
     ("SampleCollectionDateTime", ("sample", "collection", "date", "time")), ("sample-time", ("sample", "time")),
     ("Protrombinetijd", ("protrombinetijd",))],
)
def test_header_words_split_camel_case_separators_and_compounds(header, words):
    assert header_words(header) == words


@pytest.mark.parametrize(
    ("header", "role"),
    [
        # sample time: any date/time word, English, Dutch, German
        ("sample_time", "date"), ("Collection Date", "date"), ("collected_at", "date"), ("Date drawn", "date"),
        ("SampleCollectionDateTime", "date"), ("Afnamedatum", "date"), ("Datum afname", "date"),
        ("Afnamemoment", "date"), ("afname_dt", "date"), ("Abnahmedatum", "date"), ("Entnahmezeit", "date"),
        ("Afnametijd", "date"), ("Received date", "date"), ("Visit Date", "date"),
        # a birth date is not the sample time
        ("Geboortedatum", "birth"), ("Date of birth", "birth"), ("DOB", "birth"), ("patient_dob", "birth"),
        ("Geburtsdatum", "birth"), ("Geb.datum", "birth"), ("Birth date", "birth"),
        # ids
        ("Patiëntnummer", "patient"), ("PatientID", "patient"), ("pat_id", "patient"), ("Patient number", "patient"),
        ("Patienten-ID", "patient"), ("MRN", "patient"), ("Record ID", "patient"), ("Client ID", "patient"),
        ("Specimen ID", "sample"), ("Ordernr.", "sample"), ("order_no", "sample"), ("Labnummer", "sample"),
        ("Lab number", "sample"), ("Aanvraagnummer", "sample"), ("Probennummer", "sample"), ("buisnr", "sample"),
        # the other roles
        ("Test omschrijving", "test"), ("TestName", "test"), ("Untersuchung", "test"), ("Lab Test", "test"),
        ("test_code", "code"), ("Bepalingcode", "code"), ("Test ID", "code"), ("Analyte code", "code"),
        ("Bepalingnummer", "code"), ("ResultValue", "value"), ("Uitslag numeriek", "value"),
        ("Lab Result", "value"), ("value_num", "value"), ("ResultUnits", "unit"), ("Lab Unit", "unit"),
        ("ReferenceRange", "range"), ("Normaalwaarde", "range"), ("Referenzbereich", "range"),
        ("AbnormalFlag", "flag"), ("Vlag", "flag"), ("Geslacht", "sex"), ("M/V", "sex"), ("Age (years)", "age"),
        # what was sampled
        ("Materiaal", "specimen"), ("Monstertype", "specimen"), ("Sample type", "specimen"),
        ("specimen_type", "specimen"), ("Specimen", "specimen"), ("Material", "specimen"),
        # a public hospital lab-events extract
        ("subject_id", "patient"), ("specimen_id", "sample"), ("itemid", "code"), ("charttime", "date"),
        ("valueuom", "unit"), ("storetime", "date"),
    ],
)
def test_roles_from_header_words(header, role):
    assert role_of(header) == role


@pytest.mark.parametrize(
    "header",
    # a word outside the role's vocabulary: no role (an analyte, another quantity, another kind of name)
    ["Prothrombin time", "Protrombinetijd", "Patient type", "Patient location", "ALAT (U/L)", "Fallnummer",
     "ID", "Nr", "Lab", "Type", "Opmerking", "Time to event", "x" * 300],
)
def test_headers_whose_words_decide_no_role(header):
    assert role_of(header) is None


def test_the_exact_list_holds_only_what_the_words_cannot_decide():
    exact = load_toml("header_roles.toml")["exact"]
    redundant = [name for role, names in exact.items() for name in names if role_by_words(name) == role]
    assert redundant == []


def test_date_like_and_the_sample_time_rank():
    assert date_like("Prothrombin time") and date_like("Ontvangstdatum") and not date_like("Geboortedatum")
    assert sample_time_rank("Afnamedatum") == 2 > sample_time_rank("Datum") == 1 > sample_time_rank("Ontvangstdatum") == 0


@pytest.mark.parametrize(
    ("header", "date", "time"),
    [("Ontvangstdatum,Afnamedatum,Bepaling,Uitslag", "Afnamedatum", None),
     ("Received date,Collection date,test,result", "Collection date", None),
     ("Datum,Validatiedatum,test,result", "Datum", None),
     ("Afnamedatum;Afnametijd;Bepaling;Uitslag", "Afnamedatum", "Afnametijd"),
     ("Afnametijd;Afnamedatum;Bepaling;Uitslag", "Afnamedatum", "Afnametijd"),
     ("Collection Date,Collection Time,Test,Result", "Collection Date", "Collection Time"),
     ("SampleCollectionDateTime,Test,Result", "SampleCollectionDateTime", None),
     ("sample_time,test,value", "sample_time", None)],
)
def test_the_sample_time_is_the_surest_date_column_with_its_time_column(header, date, time):
    cells = header.split(";" if ";" in header else ",")
    layout = detect_layout(cells, CsvOptions(), ".")
    assert cells[layout.roles["date"]] == date
    assert (cells[layout.roles["time"]] if "time" in layout.roles else None) == time


LONG_SAMPLES = """patient_id,sex,age,sample_time,test,value,unit
P1,F,60,2024-01-05 08:00,ALP,80,U/L
P1,F,60,2024-01-05 08:00,ALT,20,U/L
P1,F,60,2024-03-05 08:00,ALP,300,U/L
P1,F,60,2024-03-05 08:00,ALT,22,U/L
P1,F,60,2024-06-05 08:00,ALP,90,U/L
P1,F,60,2024-06-05 08:00,ALT,21,U/L
"""


def test_a_sample_time_column_makes_each_sample_a_panel_in_csv_and_trend(tmp_path):
    """Issue 10.1: `sample_time` was passed through; three samples collided into one panel."""
    _, panels = run_jsonl(LONG_SAMPLES)
    assert [panel["analytes"]["alp"]["value"] for panel in panels] == [80, 300, 90]
    assert all(not panel["errors"] for panel in panels)
    path = tmp_path / "samples.csv"
    path.write_text(LONG_SAMPLES)
    result = CliRunner().invoke(main, ["trend", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    (patient,) = json.loads(result.stdout)
    assert len(patient["samples"]) == 3
    assert "'sample_time' -> date (the sample time)" in result.stderr


DUTCH_SPLIT = ("Patiëntnummer;Geslacht;Leeftijd;Afnamedatum;Afnametijd;Bepaling;Uitslag;Eenheid\n"
               "7;V;60;02-01-2024;08:15;ALAT;30;U/L\n"
               "7;V;60;02-01-2024;14:40;ALAT;90;U/L\n")


def test_a_date_and_a_time_column_together_make_the_sample_time(tmp_path):
    _, panels = run_jsonl(DUTCH_SPLIT)
    assert [(panel["key"]["Afnametijd"], panel["analytes"]["alt"]["value"]) for panel in panels] == [("08:15", 30), ("14:40", 90)]
    path = tmp_path / "split.csv"
    path.write_text(DUTCH_SPLIT)
    result = CliRunner().invoke(main, ["trend", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    (patient,) = json.loads(result.stdout)
    assert [sample["date"] for sample in patient["samples"]] == ["02-01-2024 08:15", "02-01-2024 14:40"]


NO_SAMPLE_COLUMN = ("patient_id;sex;Kenmerk;Buis;test;value;unit\n"
                    "P1;F;ochtend;T1;ALP;80;U/L\n"
                    "P1;F;ochtend;T1;ALT;20;U/L\n"
                    "P1;F;middag;T2;ALP;300;U/L\n"
                    "P1;F;middag;T2;ALT;22;U/L\n"
                    "P2;M;ochtend;T3;ALP;90;U/L\n"
                    "P2;M;ochtend;T3;ALP;95;U/L\n")


def test_one_analyte_twice_without_a_sample_column_is_said_once_with_the_columns_and_options():
    """Issue 10.1: no sample id and no sample time, one analyte twice with different results."""
    run, rows = run_csv(NO_SAMPLE_COLUMN)
    said = [line for line in run.closing_lines() if "no sample id or sample time column" in line]
    assert len(said) == 1
    (line,) = said
    assert "2 panels hold one analyte twice" in line
    assert "'Kenmerk' (1), 'Buis' (1)" in line  # in P2's panel no column tells the two ALP rows apart
    assert '--group-by "patient_id" --group-by "Kenmerk"' in line and '--col sample="Kenmerk"' in line
    # never dropped silently: each doubled result is an error on its row
    assert [bool(error) for error in column(rows, "levlab_error")] == [False, False, True, True, False, True]


def test_with_a_group_by_or_a_sample_time_nothing_is_said():
    run, _ = run_csv(NO_SAMPLE_COLUMN, group_by=("patient_id", "Buis"))
    assert not any("no sample id or sample time column" in line for line in run.closing_lines())
    run, _ = run_csv(NO_SAMPLE_COLUMN.replace("Kenmerk", "Afnamemoment"))
    assert not any("no sample id or sample time column" in line for line in run.closing_lines())


@pytest.mark.parametrize(
    ("date", "time", "shown"),
    [("2024-01-02", "8:15", "2024-01-02 08:15"), ("02-01-2024", "14:40", "02-01-2024 14:40"),
     ("02-01-2024 08:15", "08:15", "02-01-2024 08:15"), ("02-01-2024", "", "02-01-2024")],
)
def test_trend_joins_a_date_and_a_time_column_only_into_a_date_time(tmp_path, date, time, shown):
    path = tmp_path / "split.csv"
    path.write_text(f"patient;Afnamedatum;Afnametijd;Bepaling;Uitslag;Eenheid\n7;{date};{time};ALAT;30;U/L\n")
    result = CliRunner().invoke(main, ["trend", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    (patient,) = json.loads(result.stdout)
    assert [sample["date"] for sample in patient["samples"]] == [shown]
    assert patient["samples"][0]["datetime"] is not None


def test_a_date_word_among_unknown_words_is_said_and_not_taken():
    run, _ = run_jsonl("patient,Prothrombin time taken,test,result\n1,2024-01-01,ALT,30\n")
    assert "date" not in run.layout.roles
    assert any("'Prothrombin time taken' speaks of a date or time" in line and '--col date="Prothrombin time taken"' in line
               for line in run.report)
    assert any("must agree in 'Prothrombin time taken'" in line for line in run.report)


DUTCH_LIS = ("Patiëntnummer;Geboortedatum;Geslacht;Afnamedatum;Afnametijd;Materiaal;Bepaling;Uitslag;Eenheid\n"
             "12;14-05-1973;M;13-05-2024;08:15;Serum;GGT;110;U/L\n"
             "12;14-05-1973;M;13-05-2024;08:15;Serum;ALAT;30;U/L\n"
             "12;14-05-1973;M;13-05-2024;08:15;Urine;Glucose;2,0;mmol/L\n"
             "12;14-05-1973;M;20-05-2024;09:40;Serum;GGT;110;U/L\n"
             "12;14-05-1973;M;20-05-2024;09:40;Serum;ALAT;90;U/L\n")


def test_csv_and_trend_read_a_dutch_lis_export_alike(tmp_path):
    """Issue 10: split date and time, a birth date, a specimen column; csv and trend agree."""
    run, panels = run_jsonl(DUTCH_LIS)
    assert [(p["age"], p["analytes"]["ggt"]["flag"], sorted(p["analytes"])) for p in panels] == [
        (50, "H", ["alt", "ggt"]), (51, "N", ["alt", "ggt"])]
    path = tmp_path / "lis.csv"
    path.write_text(DUTCH_LIS, encoding="utf-8")
    result = CliRunner().invoke(main, ["trend", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    (patient,) = json.loads(result.stdout)
    assert [(s["date"], s["age"], s["analytes"]["ggt"]["flag"]) for s in patient["samples"]] == [
        ("13-05-2024 08:15", 50, "H"), ("20-05-2024 09:40", 51, "N")]
    assert run.summary.rows_with_errors == 0


WIDE_NL_SPLIT = ("Patiëntnummer;Geslacht;Leeftijd;Afnamedatum;Afnametijd;ALAT (U/L);ASAT (U/L)\n"
                 "7;V;60;02-01-2024;08:15;30;20\n"
                 "7;V;60;02-01-2024;14:40;90;20\n")


def test_a_wide_export_takes_its_sample_time_from_a_date_and_a_time_column(tmp_path):
    _, panels = run_jsonl(WIDE_NL_SPLIT)
    assert [panel["key"] for panel in panels] == [
        {"Patiëntnummer": "7", "Afnamedatum": "02-01-2024", "Afnametijd": "08:15"},
        {"Patiëntnummer": "7", "Afnamedatum": "02-01-2024", "Afnametijd": "14:40"}]
    path = tmp_path / "wide.csv"
    path.write_text(WIDE_NL_SPLIT, encoding="utf-8")
    result = CliRunner().invoke(main, ["trend", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    (patient,) = json.loads(result.stdout)
    assert [s["analytes"]["alt"]["since_previous"] is not None for s in patient["samples"]] == [False, True]
