"""levlab.exports.fhir_sink: `--format fhir` — a valid R4 Bundle, interpreted Observations, a report per panel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fhir_bundles import bundle, observation, panel_observations, patient

from levlab.cli import main
from levlab.exports.fhir_sink import fhir_datetime

RAISED = "patient,sex,age,date,Bilirubin (umol/L),ALP (U/L),LDH (U/L),AST (U/L),ALT (U/L)\n" \
         "P1,F,63,2024-03-01,50,410,620,95,120\n" \
         "P2,M,70,2024-03-02,12,90,200,30,35\n"


def to_fhir(tmp_path: Path, name: str, text: str, *args: str) -> dict[str, Any]:
    source = tmp_path / name
    source.write_text(text)
    result = CliRunner().invoke(main, ["csv", str(source), "--format", "fhir", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def resources(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in document["entry"] if entry["resource"]["resourceType"] == kind]


def test_the_bundle_is_valid_fhir_r4(tmp_path: Path) -> None:
    r4b = pytest.importorskip("fhir.resources.R4B.bundle")
    document = to_fhir(tmp_path, "in.csv", RAISED)
    assert document["type"] == "collection"
    parsed = r4b.Bundle.model_validate(document)
    kinds = [entry.resource.__class__.__name__ for entry in parsed.entry]
    assert kinds.count("Patient") == 2 and kinds.count("DiagnosticReport") == 2 and kinds.count("Observation") == 10


def strict_r4(document: dict[str, Any]) -> Any:
    """The document through fhirclient's FHIR 4.0.1 (R4) models in strict mode: a wrong type,
    an unknown element or a missing required one is an error."""
    r4 = pytest.importorskip("fhirclient.models.bundle")
    return r4.Bundle(document, strict=True)


def test_the_bundle_is_strict_fhir_r4_not_only_r4b(tmp_path: Path) -> None:
    parsed = strict_r4(to_fhir(tmp_path, "in.csv", RAISED))
    kinds = [entry.resource.resource_type for entry in parsed.entry]
    assert kinds.count("Patient") == 2 and kinds.count("DiagnosticReport") == 2 and kinds.count("Observation") == 10


def test_each_observation_is_coded_with_the_loinc_of_its_reported_unit(tmp_path: Path) -> None:
    document = to_fhir(tmp_path, "in.csv", RAISED)
    codes = {}
    for resource in resources(document, "Observation"):
        loinc = [c for c in resource["code"]["coding"] if c["system"] == "http://loinc.org"]
        levlab = [c["code"] for c in resource["code"]["coding"] if c["system"] == "urn:levlab:analyte"]
        codes[levlab[0]] = (loinc[0]["code"], resource["valueQuantity"]["code"])
    # bilirubin is reported in µmol/L: the LOINC of a molar concentration (14631-6), not the mass one (1975-2)
    assert codes == {"bilirubin": ("14631-6", "umol/L"), "alp": ("6768-6", "U/L"), "ldh": ("2532-0", "U/L"),
                     "ast": ("1920-8", "U/L"), "alt": ("1742-6", "U/L")}


def test_a_real_bundle_read_and_written_again_is_strict_r4(tmp_path: Path) -> None:
    """The public Synthea R4 Bundle (tests/data/fhir/README.md) in, levlab's Bundle out: strict R4, and
    read back by levlab it gives every panel the same flags and normal-panel outcome."""
    real = (Path(__file__).parent / "data" / "fhir" / "synthea-r4-bundle-thanh-considine.json").read_text()
    written = to_fhir(tmp_path, "real.json", real)
    strict_r4(written)

    def outcomes(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
        source = tmp_path / "again.json"
        source.write_text(text)
        result = CliRunner().invoke(main, ["csv", str(source), "--format", "jsonl"])
        panels = [json.loads(line) for line in result.stdout.splitlines()]
        # (an analyte levlab could not read is written with a dataAbsentReason, and read back as absent)
        return sorted((p["normal_panel"]["status"],
                       sorted((a, r["flag"]) for a, r in p["analytes"].items() if r["value"] is not None))
                      for p in panels if p["analytes"])

    assert outcomes(json.dumps(written)) == outcomes(real)


def test_every_reference_resolves_inside_the_bundle_and_ids_are_stable(tmp_path: Path) -> None:
    first = to_fhir(tmp_path, "in.csv", RAISED)
    again = to_fhir(tmp_path, "in.csv", RAISED)
    assert first == again
    urls = [entry["fullUrl"] for entry in first["entry"]]
    assert len(set(urls)) == len(urls)
    assert all(entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}" for entry in first["entry"])
    references = [ref["reference"] for r in resources(first, "DiagnosticReport") for ref in r["result"]]
    references += [r["subject"]["reference"] for kind in ("Observation", "DiagnosticReport") for r in resources(first, kind)]
    assert references and set(references) <= set(urls)


@pytest.mark.parametrize(
    ("alt", "code"), [("120", "H"), ("35", "N"), ("<5", "L"), ("abc", "IND")],
)
def test_each_observation_carries_its_hl7_interpretation(tmp_path: Path, alt: str, code: str) -> None:
    document = to_fhir(tmp_path, "in.csv", f"patient,sex,age,ALT (U/L)\nP1,F,63,{alt}\n")
    (alt_observation,) = resources(document, "Observation")
    coding = alt_observation["interpretation"][0]["coding"][0]
    assert coding["system"] == "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
    assert coding["code"] == code
    if code == "IND":
        assert alt_observation["dataAbsentReason"]["coding"][0]["code"] == "error"
        assert "valueQuantity" not in alt_observation


def test_the_reference_range_levlab_used_the_labs_or_the_default_with_its_source(tmp_path: Path) -> None:
    lab = bundle(observation("o1", "1742-6", 50, "U/L", high=45))
    (from_lab,) = resources(to_fhir(tmp_path, "b.json", json.dumps(lab)), "Observation")
    assert from_lab["referenceRange"][0]["high"] == {"value": 45.0, "unit": "U/L", "system": "http://unitsofmeasure.org",
                                                     "code": "U/L"}
    assert "low" not in from_lab["referenceRange"][0]  # the lab's one-sided range stays one-sided
    assert "laboratory's own range" in from_lab["referenceRange"][0]["text"]
    document = to_fhir(tmp_path, "in.csv", "patient,sex,age,ALT (U/L)\nP1,F,63,35\nP2,,,35\n")
    known, unknown = resources(document, "Observation")
    assert len(known["referenceRange"]) == 1 and "source: NORIP" in known["referenceRange"][0]["text"]
    assert len(unknown["referenceRange"]) == 2  # sex unknown: every interval that may apply, each with whom it is for
    assert {"women", "men"} <= {word for r in unknown["referenceRange"] for word in r["text"].replace("(", " ").replace(",", " ").split()}


def test_the_report_concludes_rules_with_sources_normal_panel_and_disclaimer(tmp_path: Path) -> None:
    raised, normal = resources(to_fhir(tmp_path, "in.csv", RAISED), "DiagnosticReport")
    assert "- alp-or-ldh-raised: " in raised["conclusion"]
    assert "(source: iLive, Uitzaaiingen naar de lever, Biochemische indicatoren)" in raised["conclusion"]
    assert "Normal panel: not-met" in raised["conclusion"]
    assert "Rules met: none." in normal["conclusion"]
    assert "Normal panel: met" in normal["conclusion"] and "98%" in normal["conclusion"]
    for report in (raised, normal):
        assert report["conclusion"].endswith("liver tests are not specific for metastases, imaging confirms.")


def test_fhir_in_fhir_out(tmp_path: Path) -> None:
    document = bundle(patient(), *panel_observations({"bilirubin": 12, "alp": 90, "ldh": 200, "ast": 30, "alt": 35}))
    out = to_fhir(tmp_path, "b.json", json.dumps(document))
    (report,) = resources(out, "DiagnosticReport")
    assert report["effectiveDateTime"] == "2024-03-01T08:30:00+01:00"
    (person,) = resources(out, "Patient")
    assert person["gender"] == "female" and person["identifier"][0]["value"] == "Patient/p1"


@pytest.mark.parametrize(
    ("text", "effective", "noted"),
    [
        ("2024-03-01", "2024-03-01", False),
        ("2024-03-01T08:30:00+01:00", "2024-03-01T08:30:00+01:00", False),
        ("2024-03-01T08:30:00Z", "2024-03-01T08:30:00Z", False),
        ("2024-03-01 08:30", "2024-03-01", True),  # no time zone: FHIR cannot hold the time
        ("01-03-2024", "2024-03-01", False),
        ("02-03-2024 23:30", "2024-03-02", True),
        ("gisteren", None, True),
        ("", None, False),
    ],
)
def test_sample_times_become_valid_fhir_datetimes(text: str, effective: str | None, noted: bool) -> None:
    found, note = fhir_datetime(text)
    assert found == effective
    assert (note is not None) is noted
