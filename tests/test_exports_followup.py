"""levlab.exports.followup: follow-up inside `levlab csv` (issue 10.3).

A long export with a patient and a sample date column: each panel is compared with the patient's
previous sample (`new-abnormal`, the change since) and graded for CTCAE against the patient's first
sample, as `levlab trend` does; samples out of time order are said, never compared.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from export_runs import column

from levlab.cli import main
from levlab.exports import CsvOptions, CsvRun, CsvSink, followup
from levlab.exports.fields import SEPARATOR

ANALYTES = {  # test name, unit, values that fall on either side of the default intervals
    "alt": ("ALT", "U/L", ["20", "30", "60", "100", "250", "<5"]),
    "ast": ("AST", "U/L", ["20", "30", "50", "140"]),
    "alp": ("ALP", "U/L", ["80", "150", "400"]),
    "bilirubin": ("Bilirubin", "umol/L", ["10", "20", "40", "90"]),
}


def _export(seed: int, *, dutch: bool = False, in_order: bool = True) -> str:
    """A random long export: a few patients, each with samples on distinct days; each patient's
    samples in time order (patients interleaved), or shuffled when not `in_order`."""
    rng = random.Random(seed)
    panels: list[list[list[str]]] = []
    per_patient: list[list[list[list[str]]]] = []
    for number in range(rng.randint(1, 4)):
        patient, sex = f"P{number + 1}", rng.choice("FM")
        days = sorted(rng.sample(range(0, 900), rng.randint(1, 5)))
        samples = []
        for day in days:
            when = date(2023, 1, 2) + timedelta(days=day)
            shown = when.strftime("%d-%m-%Y") if dutch else when.isoformat()
            rows = []
            for analyte in rng.sample(sorted(ANALYTES), rng.randint(1, len(ANALYTES))):
                test, unit, values = ANALYTES[analyte]
                value = rng.choice(values)
                rows.append([patient, "V" if dutch and sex == "F" else sex, "61", shown, test,
                             value.replace(".", ",") if dutch else value, unit])
            samples.append(rows)
        if not in_order:
            rng.shuffle(samples)
        per_patient.append(samples)
    while any(per_patient):  # interleave the patients, each keeping its own order
        samples = rng.choice([s for s in per_patient if s])
        panels.append(samples.pop(0))
    delimiter = ";" if dutch else ","
    header = (["Patiëntnummer", "Geslacht", "Leeftijd", "Afnamedatum", "Bepaling", "Uitslag", "Eenheid"] if dutch
              else ["patient", "sex", "age", "date", "test", "value", "unit"])
    return "".join(delimiter.join(row) + "\n" for row in [header, *[row for rows in panels for row in rows]])


def _invoke(*args: str, text: str) -> Any:
    result = CliRunner().invoke(main, list(args), input=text)
    assert result.exit_code == 0, result.output
    return result


def _summary(panel: dict[str, Any]) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    """What follow-up decides of a panel: new-abnormal, each analyte's CTCAE grade, and what it was before."""
    return ("new-abnormal" in [hit["id"] for hit in panel["flags"]],
            {a: (v["ctcae"] or {}).get("grade") for a, v in panel["analytes"].items()},
            {a: v["since_previous"] for a, v in panel["analytes"].items()})


def _csv_and_trend(text: str, date_header: str, patient_header: str) -> tuple[dict, dict, list[list[str]], Any]:
    delimiter = ";" if ";" in text.splitlines()[0] else ","
    csv_result = _invoke("csv", "-", "--format", "jsonl", text=text)
    by_csv = {(p["key"][patient_header], p["key"][date_header]): p for p in map(json.loads, csv_result.stdout.splitlines())}
    trend = json.loads(_invoke("trend", "-", "--format", "json", text=text).stdout)
    by_trend = {(group["patient"], sample["date"]): sample for group in trend for sample in group["samples"]}
    rows = list(csv.reader(io.StringIO(_invoke("csv", "-", text=text).stdout), delimiter=delimiter))
    return by_csv, by_trend, rows, csv_result


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("dutch", [False, True], ids=["en-comma", "nl-semicolon"])
def test_csv_and_trend_agree_on_panels_and_new_abnormal(seed: int, dutch: bool) -> None:
    """The same export through `levlab csv` (JSONL and CSV) and `levlab trend`: the same panels,
    and for each the same new-abnormal, CTCAE grades (against the first sample) and previous values."""
    text = _export(seed, dutch=dutch)
    keys = ("Afnamedatum", "Patiëntnummer") if dutch else ("date", "patient")
    by_csv, by_trend, rows, result = _csv_and_trend(text, *keys)
    assert sorted(by_csv) == sorted(by_trend)
    for key, panel in by_csv.items():
        assert _summary(panel) == _summary(by_trend[key]), key
        assert panel["warnings"] == by_trend[key]["warnings"]
    assert "out of time order" not in result.stderr
    # the CSV columns say what the JSONL says, row by row
    patient_at, date_at = rows[0].index(keys[1]), rows[0].index(keys[0])
    for row in rows[1:]:
        panel = by_csv[(row[patient_at], row[date_at])]
        analyte = panel["analytes"][row[rows[0].index("levlab_analyte")]]
        new_abnormal, _, _ = _summary(panel)
        assert ("new-abnormal" in row[rows[0].index("levlab_flags")].split()) == new_abnormal
        grade = analyte["ctcae"]["grade"] if analyte["ctcae"] else None
        assert row[rows[0].index("levlab_ctcae")] == ("?" if grade is None and analyte["ctcae"] else str(grade) if grade is not None else "")
        before = analyte["since_previous"]
        assert row[rows[0].index("levlab_previous_flag")] == (before["flag"] if before else "")
        assert row[rows[0].index("levlab_previous_date")] == (panel["follow_up"]["previous_date"] or "")


def test_the_change_is_written_in_the_files_decimal_mark_and_a_fall_is_a_plain_negative_number() -> None:
    text = ("Patiëntnummer;Afnamedatum;Bepaling;Uitslag;Eenheid\n"
            "1;05-01-2024;Bilirubine;20,5;umol/L\n1;05-03-2024;Bilirubine;12;umol/L\n")
    rows = list(csv.reader(io.StringIO(_invoke("csv", "-", text=text).stdout), delimiter=";"))
    assert column(rows, "levlab_previous_value") == ["", "20,5"]
    assert column(rows, "levlab_change") == ["", "-8,5"]
    assert column(rows, "levlab_previous_date") == ["", "05-01-2024"]


UNSORTED = ("patient,sex,date,test,value,unit\n"
            "P1,M,2024-01-05,ALT,100,U/L\n"
            "P1,M,2024-03-05,ALT,250,U/L\n"
            "P1,M,2024-02-05,ALT,20,U/L\n"  # earlier than the sample before it
            "P2,F,2024-01-05,ALT,20,U/L\n"
            "P2,F,2024-02-05,ALT,80,U/L\n")


def test_a_sample_out_of_time_order_is_said_and_never_compared() -> None:
    result = _invoke("csv", "-", text=UNSORTED)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    flags = column(rows, "levlab_flags")
    assert "new-abnormal" not in flags[2].split() and "new-abnormal" in flags[4].split()  # P2 is in order
    assert column(rows, "levlab_previous_date") == ["", "2024-01-05", "", "", "2024-01-05"]
    warnings = column(rows, "levlab_warnings")
    assert "out of time order" in warnings[2] and "levlab trend" in warnings[2]
    assert [bool(w) for w in warnings] == [False, False, True, False, False]
    assert column(rows, "levlab_error") == [""] * 5  # a warning, not an error: exit 0 (checked by _invoke)
    closing = [line for line in result.stderr.splitlines() if "out of time order" in line]
    assert len(closing) == 1 and closing[0].startswith("levlab csv: 1 sample came out of time order")
    assert "patient 'P1', sample '2024-02-05'" in closing[0] and "sort the file" in closing[0] and "levlab trend" in closing[0]
    jsonl = [json.loads(line) for line in _invoke("csv", "-", "--format", "jsonl", text=UNSORTED).stdout.splitlines()]
    assert "out of time order" in jsonl[2]["warnings"][0] and jsonl[2]["follow_up"]["previous_date"] is None
    assert jsonl[2]["analytes"]["alt"]["since_previous"] is None


def test_the_ctcae_column_uses_the_first_sample_as_baseline_and_says_which() -> None:
    """P1's first ALT (100 U/L, above a man's ULN of 70) is the baseline: the later 250 is graded
    as 2.5 × baseline (grade 1), not as 3.6 × ULN (grade 2), as `trend` grades it."""
    text = UNSORTED.replace("P1,M,2024-02-05,ALT,20,U/L\n", "")
    rows = list(csv.reader(io.StringIO(_invoke("csv", "-", text=text).stdout)))
    assert column(rows, "levlab_ctcae")[:2] == ["1", "1"]
    assert column(rows, "levlab_ctcae_baseline") == ["", "2024-01-05", "", "2024-01-05"]
    trend = json.loads(_invoke("trend", "-", "--format", "json", text=text).stdout)
    assert trend[0]["samples"][1]["analytes"]["alt"]["ctcae"]["grade"] == 1
    assert trend[0]["samples"][1]["analytes"]["alt"]["ctcae"]["basis"] == "baseline"
    # without follow-up (no date column) the same value is graded against ULN
    plain = text.replace("date,", "label,")
    rows = list(csv.reader(io.StringIO(_invoke("csv", "-", "--group-by", "patient", "--group-by", "label", text=plain).stdout)))
    assert "levlab_ctcae_baseline" not in rows[0] and column(rows, "levlab_ctcae")[1] == "2"


def test_a_sample_earlier_than_the_baseline_ends_baseline_grading_for_that_patient() -> None:
    text = ("patient,sex,date,test,value,unit\n"
            "P1,M,2024-02-05,ALT,100,U/L\n"
            "P1,M,2024-01-05,ALT,20,U/L\n"  # before the first: the baseline was not the earliest
            "P1,M,2024-03-05,ALT,250,U/L\n")
    rows = list(csv.reader(io.StringIO(_invoke("csv", "-", text=text).stdout)))
    assert column(rows, "levlab_ctcae_baseline") == ["", "", ""]
    assert column(rows, "levlab_ctcae") == ["1", "0", "2"]  # against ULN
    assert column(rows, "levlab_previous_date") == ["", "", "2024-02-05"]


def test_samples_without_a_patient_id_or_a_readable_date_are_never_linked() -> None:
    text = ("patient,date,test,value,unit\n"
            ",2024-01-05,ALT,20,U/L\n,2024-02-05,ALT,80,U/L\n"
            "P1,2024-01-05,ALT,20,U/L\nP1,05/13/2024,ALT,80,U/L\nP1,1850-01-01,ALT,90,U/L\n")
    result = _invoke("csv", "-", text=text)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert column(rows, "levlab_previous_date") == [""] * 5
    assert not any("new-abnormal" in flags for flags in column(rows, "levlab_flags"))
    warnings = column(rows, "levlab_warnings")
    assert warnings[:3] == ["", "", ""] and all("not compared with the patient's other samples" in w for w in warnings[3:])
    assert "levlab csv: 2 samples of a patient had no readable date from 1900 to today" in result.stderr


def test_the_new_columns_come_after_the_existing_ones_and_only_when_patients_can_be_followed() -> None:
    result = _invoke("csv", "-", text=UNSORTED)
    header = next(csv.reader(io.StringIO(result.stdout)))
    assert header[6:] == ["levlab_analyte", "levlab_value", "levlab_unit", "levlab_flag", "levlab_ctcae", "levlab_flags",
                          "levlab_normal_panel", "levlab_error", "levlab_previous_date", "levlab_previous_value",
                          "levlab_previous_flag", "levlab_change", "levlab_ctcae_baseline", "levlab_warnings"]
    assert "follow-up: each panel is compared with its patient's previous sample" in result.stderr
    assert '""' not in result.stdout  # an empty cell is empty, not a quoted empty text
    no_date = _invoke("csv", "-", "--group-by", "patient", "--group-by", "label", text=UNSORTED.replace(",date,", ",label,"))
    assert next(csv.reader(io.StringIO(no_date.stdout)))[-2:] == ["levlab_error", "levlab_warnings"]
    assert "follow-up: none (no date column" in no_date.stderr


def test_per_patient_memory_is_bounded_and_forgetting_is_said() -> None:
    """At most `limit` patients are remembered (the latest and first sample of each); past it the
    least recently seen is forgotten, and patients first seen afterwards get no baseline."""
    body = "".join(f"P{n},M,2024-01-0{day},ALT,{100 + day},U/L\n" for day in (1, 2) for n in range(1, 5))
    text = "patient,sex,date,test,value,unit\n" + body
    run = CsvRun(io.StringIO(text, newline=""), CsvOptions())
    out = io.StringIO(newline="")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(followup, "PATIENT_LIMIT", 2)
        run.run(CsvSink(out, run.dialect))
    follow_up = run.follow_up
    assert follow_up is not None and len(follow_up.patients) == 2 and follow_up.forgotten > 0
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    baselines = column(rows, "levlab_ctcae_baseline")
    assert baselines[:4] == ["", "", "", ""] and not any(baselines[4:])  # nobody is graded against a guess
    assert any("patients were followed at once" in line for line in run.closing_lines())


def test_warnings_of_one_row_and_its_panel_share_the_cell() -> None:
    text = ("patient,date,test,value,unit\n"
            "P1,2024-03-05,ALT,30,U/L\nP1,2024-01-05,LDH,20,U/L\n")
    rows = list(csv.reader(io.StringIO(_invoke("csv", "-", text=text).stdout)))
    parts = column(rows, "levlab_warnings")[1].split(SEPARATOR)
    assert len(parts) == 2 and parts[0].startswith("ldh: 20 is unusually low") and "out of time order" in parts[1]


def test_the_table_shows_the_out_of_order_warning_beside_the_panel() -> None:
    result = _invoke("csv", "-", "--format", "table", text=UNSORTED)
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("── patient P1, date 2024-02-05"))
    assert lines[at + 1].startswith("! warning, sample '2024-02-05' of patient 'P1' comes after its sample '2024-03-05'")
    assert "Since the previous sample" in result.stdout  # the panels in order are compared
