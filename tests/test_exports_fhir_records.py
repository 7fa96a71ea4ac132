"""levlab.exports.fhir_records: FHIR R4 Observations (Bundle, NDJSON) read as a long table, on the CSV engine."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fhir_bundles import bundle, observation, panel_observations, patient, run_fhir

from levlab.cli import main
from levlab.errors import UsageError
from levlab.exports import CsvOptions, open_records
from levlab.exports.fhir_records import Quantity, birth_age

DATA = Path(__file__).parent / "data" / "fhir"
NORMAL = {"bilirubin": 12, "alp": 90, "ldh": 200, "ast": 30, "alt": 35}


def test_a_real_us_core_observation_is_read() -> None:
    # HL7 US Core example (tests/data/fhir/README.md): bilirubin 8.6 mg/dL with the value's unit only as
    # display text (no UCUM code), and a placeholder lab range 2.0-7.0 mg/dL (34-120 µmol/L)
    example = json.loads((DATA / "us-core-observation-serum-total-bilirubin.json").read_text())
    run, (panel,) = run_fhir(json.dumps(example))
    assert run.layout.kind == "long"
    assert panel["key"] == {"patient": "Patient/example", "sample": "2005-07-07", "date": "2005-07-07"}
    # that range is far from any bilirubin range and reads as mg/L would: refused with why, never taken silently
    bilirubin = panel["analytes"]["bilirubin"]
    assert bilirubin["flag"] == "?"
    assert "range '2.0 - 7.0 mg/dL'" in panel["errors"][0]["message"]
    # without it, the value is read in its stated unit and judged against the defaults
    del example["referenceRange"]
    run, (panel,) = run_fhir(json.dumps(example))
    bilirubin = panel["analytes"]["bilirubin"]
    assert (bilirubin["input"], bilirubin["input_unit"], bilirubin["flag"]) == ("8.6", "mg/dL", "H")
    assert round(bilirubin["value"]) == 147
    assert panel["normal_panel"]["status"] == "not-met"  # a raised bilirubin: not a normal panel
    assert run.summary.rows_with_errors == 0


SYNTHEA = DATA / "synthea-r4-bundle-thanh-considine.json"


def test_a_real_synthea_r4_bundle_gives_one_panel_per_metabolic_report() -> None:
    """A public Synthea R4 transaction Bundle (tests/data/fhir/README.md): one man, 159 Observations."""
    run, panels = run_fhir(SYNTHEA.read_text(encoding="utf-8"))
    assert "FHIR Bundle (transaction): 159 Observations, 1 Patient, 14 DiagnosticReport" in run.report[0]
    liver = [p for p in panels if "alt" in p["analytes"]]
    assert [p["key"]["date"][:10] for p in liver] == ["2016-11-15", "2017-12-06", "2018-12-06", "2019-12-06",
                                                       "2020-12-05"]
    # sex and age at each sample from the Patient (male, born 1970-10-27)
    assert [(p["sex"], p["age"]) for p in liver] == [("M", 46), ("M", 47), ("M", 48), ("M", 49), ("M", 50)]
    first = liver[0]["analytes"]
    # bilirubin 0.5751720237564211 mg/dL (UCUM mg/dL) is 9.838 µmol/L (x 17.104)
    assert (first["bilirubin"]["input_unit"], round(first["bilirubin"]["value"], 2)) == ("mg/dL", 9.84)
    assert round(first["albumin"]["value"], 2) == 36.16  # 3.616 g/dL
    # glucose is coded 2339-0 (glucose in blood), a code levlab does not list: passed through, said, not judged
    assert all("glucose" not in p["analytes"] for p in panels)
    assert "5 x 2339-0 'Glucose' (not glucose)" in run.report[0]
    # Synthea writes no LDH: the 98 % statement is never made, and the panel says why
    assert {p["normal_panel"]["status"] for p in liver} == {"incomplete", "not-met"}
    assert all("not measured: LDH" in p["normal_panel"]["reason"] for p in liver)
    raised = liver[3]
    assert (raised["analytes"]["alp"]["flag"], raised["normal_panel"]["status"]) == ("H", "not-met")
    assert "alp-or-ldh-raised" in [flag["id"] for flag in raised["flags"]]
    # the globulin is written 2.188 with UCUM g/L: impossible in g/L, so an error that names g/dL, never a value
    globulin = first["globulin"]
    assert (globulin["value"], globulin["flag"]) == (None, "?")
    (error,) = [e["message"] for e in liver[0]["errors"]]
    assert "globulin '2.1882074454438576' is implausible in g/L" in error and "did you mean g/dL" in error


def test_the_fhir_r4_spec_general_health_panel_is_one_panel() -> None:
    """The R4 spec's example (tests/data/fhir/README.md): results reach the report through the panel
    Observation's hasMember and carry neither time nor report of their own; they are one sample."""
    run, panels = run_fhir((DATA / "fhir-r4-spec-diagnosticreport-example-ghp.json").read_text(encoding="utf-8"))
    (panel,) = [p for p in panels if p["analytes"]]
    assert panel["key"] == {"patient": "Patient/pat2", "sample": "DiagnosticReport/ghp", "date": "2015-08-16T06:40:17Z"}
    found = {a: (r["value"], r["flag"], r["range_source"]) for a, r in panel["analytes"].items()}
    assert {a: found[a][:2] for a in ("bilirubin", "alp", "ldh", "ast", "alt")} == {
        "bilirubin": (7.0, "N"), "alp": (108.0, "N"), "ldh": (131.0, "N"), "ast": (30.0, "N"), "alt": (54.0, "H")}
    assert found["alt"][2].startswith("laboratory's own range")  # ALT 54 against the lab's 0-45
    assert (panel["normal_panel"]["status"], panel["normal_panel"]["reason"]) == ("not-met", "raised: ALT 54 U/L (1.2x ULN)")
    assert run.summary.rows_with_errors == 0


@pytest.mark.parametrize(
    ("interpretation", "status"),
    [
        pytest.param(None, "met", id="no-flag"),
        pytest.param("N", "met", id="the-lab-agrees"),
        pytest.param("H", "incomplete", id="the-lab-calls-it-raised"),
    ],
)
def test_the_laboratorys_interpretation_code_is_its_flag(interpretation: str | None, status: str) -> None:
    """ALT 40 U/L with no range: N against the default; the lab's own H says its interval differs."""
    resources = panel_observations(NORMAL | {"alt": 40})
    if interpretation:
        alt = next(r for r in resources if r["code"].get("coding", [{}])[0].get("code") == "1742-6")
        alt["interpretation"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                              "code": interpretation}]}]
    _, (panel,) = run_fhir(bundle(patient(), *resources))
    assert panel["normal_panel"]["status"] == status


@pytest.mark.parametrize("kind", ["searchset", "collection", "transaction"])
def test_bundles_of_every_kind_give_the_same_panel(kind: str) -> None:
    _, panels = run_fhir(bundle(patient(), *panel_observations(NORMAL), kind=kind))
    (panel,) = panels
    assert sorted(panel["analytes"]) == sorted(NORMAL)
    assert panel["normal_panel"]["status"] == "met"
    assert (panel["sex"], panel["age"]) == ("F", 63)


def test_ndjson_one_resource_per_line_and_an_unreadable_line_named() -> None:
    lines = [json.dumps(patient()), *map(json.dumps, panel_observations(NORMAL)), "{not json"]
    run, panels = run_fhir("\n".join(lines) + "\n")
    met = [p for p in panels if p["normal_panel"]["status"] == "met"]
    assert len(met) == 1
    errors = [e["message"] for p in panels for e in p["errors"]]
    assert errors == ["NDJSON line 7: not JSON (Expecting property name enclosed in double quotes)"]
    assert run.summary.rows_with_errors == 1
    assert "FHIR NDJSON: 5 Observations, 1 Patient" in run.report[0]


@pytest.mark.parametrize(
    ("quantity", "unit"),
    [
        ({"system": "http://unitsofmeasure.org", "code": "U/L"}, "U/L"),
        ({"system": "http://unitsofmeasure.org", "code": "umol/L"}, "µmol/L"),
        ({"system": "http://unitsofmeasure.org", "code": "ukat/L"}, "µkat/L"),
        ({"system": "http://unitsofmeasure.org", "code": "mg/dL"}, "mg/dL"),
        ({"system": "http://unitsofmeasure.org", "code": "g/L"}, "g/L"),
        ({"system": "http://unitsofmeasure.org", "code": "10*9/L"}, "10^9/L"),
        ({"system": "http://unitsofmeasure.org", "code": "[IU]/L", "unit": "IU/L"}, "U/L"),
        ({"system": "http://unitsofmeasure.org", "code": "ukat/L", "unit": "U/L"}, "µkat/L"),  # the code wins
        ({"unit": "µmol/l"}, "µmol/l"),  # no code: the display unit, read as any unit text
        ({"system": "http://example.org/units", "code": "UPL", "unit": "U/L"}, "U/L"),  # not UCUM: the display
    ],
)
def test_the_ucum_code_is_preferred_over_the_display_unit(quantity: dict, unit: str) -> None:
    assert Quantity().unit(quantity) == unit


@pytest.mark.parametrize(
    ("low", "high", "value", "flag", "range_text"),
    [
        (None, 45, 50, "H", "<= 45"),
        (None, 45, 45, "N", "<= 45"),  # FHIR's limits are inclusive
        (10, None, 5, "L", ">= 10"),
        (10, None, 500, "N", ">= 10"),  # one-sided stays one-sided: no default upper limit added
        (10, 45, 46, "H", "10 - 45"),
    ],
)
def test_the_reference_range_is_the_labs_one_sided_or_not(low, high, value, flag, range_text) -> None:
    obs = observation("o1", "1742-6", value, "U/L", low=low, high=high)
    records = open_records(io.BytesIO(json.dumps(bundle(obs)).encode()), CsvOptions()).records
    assert next(records.chunks()).rows[0][9] == range_text + " U/L"
    _, (panel,) = run_fhir(bundle(obs))
    assert panel["analytes"]["alt"]["flag"] == flag


def test_a_comparator_is_kept() -> None:
    _, (panel,) = run_fhir(bundle(observation("o1", "1742-6", 5, "U/L", comparator="<")))
    assert panel["analytes"]["alt"]["input"] == "<5"
    assert panel["analytes"]["alt"]["comparator"] == "<"


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [("1960-05-01", "2024-04-30", "63"), ("1960-05-01", "2024-05-01T08:00:00Z", "64"), ("1960", "2024-05-01", ""),
     ("1960-05", "2024-05-01", ""), ("", "2024-05-01", ""), ("1960-05-01", "", "")],
)
def test_age_at_the_sample_from_a_full_birth_date_only(birth: str, on: str, age: str) -> None:
    assert birth_age(birth, on) == age


def test_panels_are_one_subject_and_one_time_or_a_shared_report() -> None:
    first = panel_observations({"alt": 35, "ast": 30})
    later = [observation("o-later", "1742-6", 90, "U/L", when="2024-04-01T08:30:00+01:00")]
    other = [observation("o-other", "1742-6", 20, "U/L", subject="Patient/p2")]
    _, panels = run_fhir(bundle(*later, *other, *first))
    assert [(p["key"]["patient"], sorted(p["analytes"])) for p in panels] == [
        ("Patient/p1", ["alt", "ast"]), ("Patient/p1", ["alt"]), ("Patient/p2", ["alt"])]
    # a DiagnosticReport that lists them makes one panel, whatever their times
    report = {"resourceType": "DiagnosticReport", "id": "r1", "status": "final", "code": {"text": "liver"},
              "result": [{"reference": "Observation/o-alt"}, {"reference": "Observation/o-ast2"}]}
    split = [observation("o-alt", "1742-6", 35, "U/L"), observation("o-ast2", "1920-8", 30, "U/L", when="2024-03-01T09:00:00Z")]
    _, panels = run_fhir(bundle(*split, report))
    assert [sorted(p["analytes"]) for p in panels] == [["alt", "ast"]]


def test_unknown_codes_pass_through_and_an_unreadable_observation_names_its_id() -> None:
    resources = [observation("crea", "2160-0", 80, "umol/L"), observation("bad", "1742-6", "35", "U/L"),
                 observation("alt", "1742-6", 35, "U/L")]
    _, (panel,) = run_fhir(bundle(*resources))
    assert sorted(panel["analytes"]) == ["alt"]
    assert [e["message"] for e in panel["errors"]] == ["Observation/bad: valueQuantity.value is not a number"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"code": {"coding": [{"system": "http://loinc.org"}]}}, "its code has neither a coding nor a text"),
        ({"referenceRange": [{"high": {"value": 0.75, "system": "http://unitsofmeasure.org", "code": "ukat/L"}}]},
         "referenceRange.high is in µkat/L, the value in U/L"),
        ({"referenceRange": [{"high": {"value": 35}, "appliesTo": [{"text": "female"}]},
                             {"high": {"value": 45}, "appliesTo": [{"text": "male"}]}]},
         "2 reference ranges for different groups"),
        ({"valueQuantity": {"value": 35, "comparator": "ad"}}, "comparator 'ad' is not one of"),
    ],
)
def test_what_cannot_be_read_is_an_error_on_its_observation(extra: dict, message: str) -> None:
    obs = observation("o9", "1742-6", 35, "U/L")
    obs.update(extra)
    _, (panel,) = run_fhir(bundle(obs))
    (error,) = panel["errors"]
    assert error["message"].startswith("Observation/o9: ")
    assert message in error["message"]
    assert "alt" not in panel["analytes"] or panel["analytes"]["alt"]["value"] is None


def test_entered_in_error_is_left_out_and_said() -> None:
    run, (panel,) = run_fhir(bundle(observation("o1", "1742-6", 900, "U/L", status="entered-in-error"),
                                    observation("o2", "1920-8", 30, "U/L")))
    assert sorted(panel["analytes"]) == ["ast"]
    assert "1 entered-in-error or cancelled left out" in run.report[0]


def test_a_bundle_without_observations_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="holds no Observation"):
        open_records(io.BytesIO(json.dumps(bundle(patient())).encode()), CsvOptions())


def test_levlab_csv_reads_fhir_json(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(bundle(patient(), *panel_observations(NORMAL))))
    result = CliRunner().invoke(main, ["csv", str(path)])
    assert result.exit_code == 0, result.output
    assert "encoding utf-8 (FHIR Bundle (collection): 5 Observations, 1 Patient)" in result.stderr
    assert "output is UTF-8" not in result.stderr  # FHIR JSON is UTF-8: nothing to warn about
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[1][rows[0].index("levlab_normal_panel")] == "met" and rows[1][rows[0].index("levlab_error")] == ""
