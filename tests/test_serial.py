"""serial.py: a patient's samples ordered by date-time, each knowing the previous one."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from levlab.interpret import interpret_panel
from levlab.model import Patient
from levlab.serial import Sample, link, order, parse_datetime, since
from levlab.tokens import read_tokens

WOMAN = Patient(sex="F", age=60)  # NORIP: ALT < 45 U/L, bilirubin 5 - 25 µmol/L


def sample(patient: str, date: str, *tokens: str) -> Sample:
    return Sample(patient, date, parse_datetime(date), interpret_panel(read_tokens(tokens), WOMAN))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-08", datetime(2024, 5, 8)),
        ("2024-05-08 09:30", datetime(2024, 5, 8, 9, 30)),
        ("2024-05-08T09:30:15", datetime(2024, 5, 8, 9, 30, 15)),
        ("2024-05-08T09:30:00+02:00", datetime(2024, 5, 8, 7, 30)),  # to UTC
        ("2024-05-08T09:30:00Z", datetime(2024, 5, 8, 9, 30)),
        ("08-05-2024", datetime(2024, 5, 8)),  # day first, as in Dutch exports
        ("8/5/2024 9:30", datetime(2024, 5, 8, 9, 30)),
        ("08.05.2024 09:30:00", datetime(2024, 5, 8, 9, 30)),
        ("31/12/2024", datetime(2024, 12, 31)),
        ("12/31/2024", None),  # month first is not read (there is no 31st month)
        ("2024-02-30", None),
        ("gisteren", None),
        ("", None),
    ],
)
def test_parse_datetime(text, expected):
    assert parse_datetime(text) == expected


def test_order_is_by_date_time_whatever_the_row_order():
    samples = [
        sample("P1", "2024-09-02", "alt=30"),
        sample("P2", "2024-01-01", "alt=30"),
        sample("P1", "10-01-2024", "alt=30"),
        sample("P1", "onbekend", "alt=30"),
        sample("P1", "2024-05-08 08:00", "alt=30"),
    ]
    ordered = order(samples)
    assert list(ordered) == ["P1", "P2"]
    assert [s.label for s in ordered["P1"]] == ["10-01-2024", "2024-05-08 08:00", "2024-09-02", "onbekend"]


def test_link_gives_each_panel_its_previous_sample():
    samples = order([
        sample("P1", "2024-09-02", "alt=200"),
        sample("P1", "2024-01-10", "alt=30"),
        sample("P1", "2024-05-08", "alt=40"),
    ])["P1"]
    first, second, third = link(samples)
    assert first.panel.previous == ()
    assert second.panel.previous[0].measurement.value == 30
    assert third.panel.previous[0].measurement.value == 40
    # 40 -> 200 U/L: in range (< 45) -> raised
    assert "new-abnormal" in {hit.rule_id for hit in third.panel.hits}
    assert "new-abnormal" not in {hit.rule_id for hit in second.panel.hits}


def test_link_uses_the_earliest_sample_as_ctcae_baseline():
    samples = order([
        sample("P1", "2024-01-10", "alt=100"),  # baseline above ULN 45
        sample("P1", "2024-05-08", "alt=160"),  # 1.6 x baseline: grade 1 against baseline (3.6 x ULN would be 2)
    ])["P1"]
    first, second = link(samples)
    assert (first.panel.grade("alt").grade, first.panel.grade("alt").basis) == (1, "ULN")
    assert (second.panel.grade("alt").grade, second.panel.grade("alt").basis) == (1, "baseline")


def test_undated_samples_are_not_compared():
    samples = order([sample("P1", "2024-01-10", "alt=30"), sample("P1", "?", "alt=200")])["P1"]
    _dated, undated = link(samples)
    assert undated.panel.previous == ()
    assert "new-abnormal" not in {hit.rule_id for hit in undated.panel.hits}


@pytest.mark.parametrize(
    ("earlier", "later", "expected"),
    [
        (datetime(2024, 1, 10), datetime(2024, 5, 8), "119 d"),  # 21 + 29 + 31 + 30 + 8
        (datetime(2024, 1, 10, 8), datetime(2024, 1, 10, 13, 30), "5 h"),
        (datetime(2024, 1, 10), datetime(2024, 1, 11), "1 d"),
        (None, datetime(2024, 1, 11), "?"),
    ],
)
def test_since(earlier, later, expected):
    assert since(earlier, later) == expected


# --- the command line: trend, and the ctcae column of levlab csv ----------------------------------

# rows deliberately out of date order: the May sample comes first
EXPORT = """patient;sex;age;date;sample;test;result;unit;reference range
P1;F;60;08-05-2024 09:00;S2;ALAT;200;U/L;< 45
P1;F;60;08-05-2024 09:00;S2;bilirubine;10;µmol/L;5 - 25
P1;F;60;10-01-2024 08:00;S1;ALAT;40;U/L;< 45
P1;F;60;10-01-2024 08:00;S1;bilirubine;9;µmol/L;5 - 25
P2;M;70;11-01-2024 08:00;S3;ALAT;30;U/L;< 70
"""


def invoke(tmp_path, *args: str, text: str = EXPORT):
    from click.testing import CliRunner

    from levlab.cli import main

    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(main, [args[0], str(path), *args[1:]])


def test_trend_orders_by_date_and_flags_new_abnormal(tmp_path):
    result = invoke(tmp_path, "trend")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "patient P1: 2 samples, 2024-01-10 to 2024-05-08" in lines
    header = next(line for line in lines if line.strip().startswith("analyte"))
    assert header.index("2024-01-10") < header.index("2024-05-08")
    alt = next(line for line in lines if line.strip().startswith("alt"))
    # 200 / 45 = 4.4 x ULN: grade 2; +400% exceeds ALT's reference change value (arrow)
    assert "40 N" in alt and "200 H↑ G2" in alt
    assert "2024-05-08: transaminases-raised, new-abnormal" in result.output
    assert "patient P2: 1 sample, 2024-01-11" in result.output


def test_trend_one_patient_as_json(tmp_path):
    import json

    result = invoke(tmp_path, "trend", "--patient", "P1", "--format", "json")
    assert result.exit_code == 0, result.output
    (patient,) = json.loads(result.stdout)
    first, second = patient["samples"]
    assert (first["date"], second["date"]) == ("10-01-2024 08:00", "08-05-2024 09:00")
    assert second["since_previous"] == "119 d"
    assert second["analytes"]["alt"]["since_previous"] == {"input": "40", "value": 40.0, "flag": "N", "change": 160.0}
    assert "new-abnormal" in {flag["id"] for flag in second["flags"]}


def test_trend_needs_a_date_column(tmp_path):
    text = "patient;test;result;unit\nP1;ALAT;40;U/L\n"
    result = invoke(tmp_path, "trend", text=text)
    assert result.exit_code == 2
    assert "--col date=" in result.output


def test_trend_unknown_patient(tmp_path):
    result = invoke(tmp_path, "trend", "--patient", "P9")
    assert result.exit_code == 2 and "P9" in result.output


def test_csv_has_a_ctcae_column(tmp_path):
    import csv as csv_module
    import io

    result = invoke(tmp_path, "csv")
    assert result.exit_code == 0, result.output
    body = result.output[result.output.index("patient;"):]
    rows = list(csv_module.DictReader(io.StringIO(body), delimiter=";"))
    grades = {(row["sample"], row["levlab_analyte"]): row["levlab_ctcae"] for row in rows}
    # streamed panels are graded against ULN: 200 U/L = 4.4 x 45 (grade 2); 40 U/L (grade 0)
    assert grades[("S2", "alt")] == "2" and grades[("S1", "alt")] == "0"
    assert grades[("S1", "bilirubin")] == "0"


def _alt_grades(linked):
    return [s.panel.grade("alt").grade for s in linked]


def test_baseline_is_the_earliest_sample_by_default():
    # ALT ULN 45: 100 is an abnormal baseline, so 250 is graded as 2.5 x baseline (grade 1), not 5.6 x ULN (3)
    samples = order([sample("P1", "2024-01-10", "alt=100"), sample("P1", "2024-05-08", "alt=250")])["P1"]
    assert _alt_grades(link(samples)) == [1, 1]  # 100 = 2.2 x ULN -> 1


def test_baseline_date_picks_the_last_sample_on_or_before_it():
    samples = order([
        sample("P1", "2024-01-10", "alt=30"),
        sample("P1", "2024-03-01 14:00", "alt=100"),  # treatment starts: the baseline
        sample("P1", "2024-05-08", "alt=250"),
    ])["P1"]
    linked = link(samples, baseline_on=datetime(2024, 3, 1).date())
    # before and at the baseline: against ULN (30 -> 0; 100 = 2.2 x ULN -> 1); after: 250 = 2.5 x baseline -> 1
    assert _alt_grades(linked) == [0, 1, 1]
    assert _alt_grades(link(samples)) == [0, 1, 3]  # earliest (normal) baseline: 250 = 5.6 x ULN -> 3


def test_baseline_date_before_every_sample_falls_back_to_the_earliest():
    samples = order([sample("P1", "2024-01-10", "alt=100"), sample("P1", "2024-05-08", "alt=250")])["P1"]
    assert _alt_grades(link(samples, baseline_on=datetime(2023, 1, 1).date())) == [1, 1]


# --- rows without a patient: never linked (issue 17, item 1) -----------------------------------

STRANGERS = """patient,sex,date,ALP (U/L)
,F,2024-01-10,80
,M,2024-05-10,300
P1,F,2024-01-10,80
P1,F,2024-05-10,300
"""


def test_trend_never_links_samples_without_a_patient_id(tmp_path):
    result = invoke(tmp_path, "trend", text=STRANGERS)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # the blank-id woman (ALP 80) and man (ALP 300, four months later) are strangers
    assert "patient (no patient id, row 1: compared with no other sample): 1 sample, 2024-01-10 to 2024-01-10" in lines
    assert "patient (no patient id, row 2: compared with no other sample): 1 sample, 2024-05-10 to 2024-05-10" in lines
    assert "  2024-05-10: alp-or-ldh-raised" in lines  # the blank-id man: raised, but new to nobody
    assert lines.count("  2024-05-10: alp-or-ldh-raised, new-abnormal") == 1  # P1's own second sample only
    summary = [line for line in result.stderr.splitlines() if line.startswith("levlab trend: 4 rows")]
    assert summary == ["levlab trend: 4 rows, 4 panels, 0 rows with errors; 1 patient followed, "
                       "2 rows without a patient id (2 samples compared with no other)"]


def test_trend_json_gives_each_sample_without_a_patient_on_its_own(tmp_path):
    import json

    result = invoke(tmp_path, "trend", "--format", "json", text=STRANGERS)
    entries = json.loads(result.stdout)
    assert [(e["patient"], e.get("rows"), len(e["samples"])) for e in entries] == [
        ("P1", None, 2), (None, [1], 1), (None, [2], 1)]
    assert all("new-abnormal" not in {f["id"] for f in s["flags"]} for e in entries[1:] for s in e["samples"])


def test_trend_gives_the_detection_report_like_csv(tmp_path):
    result = invoke(tmp_path, "trend", text=STRANGERS)
    assert result.stderr.startswith("levlab trend: wide layout;")
    assert "  'patient' -> patient" in result.stderr


@pytest.mark.parametrize("header", ["sex,date,ALP (U/L)", "Kenmerk,date,ALP (U/L)"])
def test_trend_without_a_patient_column_refuses_to_compare(tmp_path, header):
    # no patient column, or one that was not recognised: samples of unknown people are never linked
    text = f"{header}\nF,2024-01-10,80\nM,2024-05-10,300\n"
    result = invoke(tmp_path, "trend", text=text)
    assert result.exit_code == 2
    assert "--col patient=HEADER" in result.output and "--one-patient" in result.output
    assert "new-abnormal" not in result.output


def test_trend_one_patient_says_the_whole_file_is_one_patient(tmp_path):
    text = "date,ALP (U/L)\n2024-01-10,80\n2024-05-10,300\n"
    result = invoke(tmp_path, "trend", "--one-patient", text=text)
    assert result.exit_code == 0, result.output
    assert "patient (whole file, --one-patient): 2 samples" in result.output
    assert "2024-05-10: alp-or-ldh-raised, new-abnormal" in result.output


def test_trend_one_patient_is_refused_beside_a_patient_column(tmp_path):
    result = invoke(tmp_path, "trend", "--one-patient", text=STRANGERS)
    assert result.exit_code == 2 and "--one-patient" in result.output


LONG_STRANGERS = """patient;date;test;result;unit
;2024-01-10;ALAT;30;U/L
;2024-01-10;ASAT;200;U/L
P1;2024-01-10;ALAT;30;U/L
P1;2024-01-10;ASAT;200;U/L
"""


def test_long_rows_without_a_patient_id_or_sample_id_are_each_a_panel(tmp_path):
    import json

    result = invoke(tmp_path, "csv", "--format", "jsonl", text=LONG_STRANGERS)
    assert result.exit_code == 0, result.output
    panels = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(p["rows"], sorted(p["analytes"])) for p in panels] == [([1], ["alt"]), ([2], ["ast"]), ([3, 4], ["alt", "ast"])]
    assert "a row without a patient id is a panel of its own" in result.stderr
    trend = invoke(tmp_path, "trend", text=LONG_STRANGERS)
    assert "2 rows without a patient id (2 samples compared with no other)" in trend.stderr


def test_long_rows_without_a_patient_id_but_with_a_sample_id_stay_one_panel(tmp_path):
    import json

    text = "patient;sample;date;test;result;unit\n;S1;2024-01-10;ALAT;30;U/L\n;S1;2024-01-10;ASAT;200;U/L\n"
    result = invoke(tmp_path, "csv", "--format", "jsonl", text=text)
    (panel,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert panel["rows"] == [1, 2]


# --- dates outside a plausible span (issue 16, item 8) -------------------------------------------


@pytest.mark.parametrize("bad_date", ["0001-01-01", "1899-12-31", "2999-01-01"])
def test_an_implausible_date_is_never_ordered_compared_or_a_baseline(tmp_path, bad_date):
    import json

    text = f"patient,date,ALT (U/L)\n1,{bad_date},300\n1,2024-01-10,30\n1,2024-05-10,200\n"
    result = invoke(tmp_path, "trend", "--format", "json", text=text)
    assert result.exit_code == 0, result.stderr
    (patient,) = json.loads(result.stdout)
    samples = {s["date"]: s for s in patient["samples"]}
    assert f"{bad_date} (implausible date)" in samples
    assert samples["2024-01-10"]["analytes"]["alt"]["ctcae"]["reason"].endswith("graded against ULN")  # the baseline
    assert "new-abnormal" in {f["id"] for f in samples["2024-05-10"]["flags"]}  # compared with 2024-01-10 only
    assert "new-abnormal" not in {f["id"] for f in samples[f"{bad_date} (implausible date)"]["flags"]}
    assert "1 samples dated before 1900 or after today" in result.stderr


def test_a_plausible_sample_date_spans_1900_to_today():
    from datetime import datetime, timedelta

    from levlab.exports.sinks import plausible_sample_date

    assert plausible_sample_date(datetime(1900, 1, 1))
    assert not plausible_sample_date(datetime(1899, 12, 31, 23, 59))
    assert plausible_sample_date(datetime.now())
    assert not plausible_sample_date(datetime.now() + timedelta(days=2))


def test_trend_leaves_out_panels_with_no_analyte_of_levlabs_and_says_how_many():
    """A real Synthea R4 Bundle: vital signs, lipids and questionnaires are panels too, but no samples to follow."""
    from pathlib import Path

    from click.testing import CliRunner

    from levlab.cli import main

    real = Path(__file__).parent / "data" / "fhir" / "synthea-r4-bundle-thanh-considine.json"
    result = CliRunner().invoke(main, ["trend", str(real), "--format", "json"])
    document = json.loads(result.stdout)
    (patient,) = document
    samples = patient["samples"]
    assert len(samples) == 6  # five metabolic panels and one blood count, of 20 panels
    assert all(sample["analytes"] for sample in samples)
    assert "14 panels with no analyte levlab reads (other tests only) left out of the view" in result.stderr


def test_link_keeps_a_normal_panel_the_export_withheld():
    """An export may withhold `met` from a panel (its rows differ in date, its sample was split over
    a stream): linking re-interprets the panel with its previous sample, and must not make it `met` again."""
    from dataclasses import replace

    from levlab.exports.panel_checks import withheld
    from levlab.model import NormalPanel

    earlier = sample("P1", "2024-01-10", "bili=10umol/L", "alp=80", "ldh=150", "ast=20", "alt=30")
    later = sample("P1", "2024-05-08", "bili=10umol/L", "alp=80", "ldh=150", "ast=20", "alt=30")
    assert later.panel.normal_panel.status == "met"
    why = "this panel's rows differ in 'date': they may be several samples"
    later = replace(later, panel=withheld(later.panel, why))
    linked = link([earlier, later])
    assert linked[0].panel.normal_panel.status == "met"
    assert linked[1].panel.normal_panel == NormalPanel("incomplete", why, None)
    assert why in linked[1].panel.notes
