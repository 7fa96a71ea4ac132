"""levlab.exports.formats: one panel, three formats (CSV, xlsx, FHIR), one interpretation."""

from __future__ import annotations

import io
import json

import pytest
from export_runs import run_jsonl
from fhir_bundles import bundle, panel_observations, patient, run_fhir
from workbooks import workbook

from levlab.exports import CsvOptions, ExportRun, JsonlSink, open_records

RAISED = {"bilirubin": 50, "alp": 410, "ldh": 620, "ast": 95, "alt": 120}
NORMAL = {"bilirubin": 12, "alp": 90, "ldh": 200, "ast": 30, "alt": 35}
LOW_ALT = {"bilirubin": 12, "alp": 90, "ldh": 200, "ast": 30, "alt": "<5"}
HEADERS = {"bilirubin": "Bilirubin (umol/L)", "alp": "ALP (U/L)", "ldh": "LDH (U/L)", "ast": "AST (U/L)",
           "alt": "ALT (U/L)"}


def outcome(panel: dict) -> tuple:
    """What must not depend on the format: rules met, flags per analyte, normal-panel."""
    return (panel["flags"], {a: r["flag"] for a, r in panel["analytes"].items()}, panel["normal_panel"]["status"],
            panel["sex"], panel["age"])


def from_csv(values: dict) -> dict:
    header = ["patient", "sex", "age", "date", *HEADERS.values()]
    row = ["p1", "F", "63", "2024-03-01", *(str(values[a]) for a in HEADERS)]
    _, (panel,) = run_jsonl(",".join(header) + "\n" + ",".join(row) + "\n")
    return panel


def from_xlsx(values: dict) -> dict:
    data = workbook(("Lab", [["patient", "sex", "age", "date", *HEADERS.values()],
                             ["p1", "F", 63, "2024-03-01", *(values[a] for a in HEADERS)]]))
    run = ExportRun(open_records(io.BytesIO(data), CsvOptions()).records, CsvOptions())
    out = io.StringIO()
    run.run(JsonlSink(out))
    (line,) = out.getvalue().splitlines()
    return json.loads(line)


def from_fhir(values: dict) -> dict:
    numbers = {a: v for a, v in values.items() if not isinstance(v, str)}
    resources = panel_observations(numbers)
    for analyte, text in values.items():  # a censored value as FHIR has it: comparator + value
        if isinstance(text, str):
            (censored,) = panel_observations({analyte: float(text[1:])})
            censored["valueQuantity"]["comparator"] = text[0]
            resources.append(censored)
    _, (panel,) = run_fhir(bundle(patient(birth="1960-05-01"), *resources))
    return panel


@pytest.mark.parametrize(
    ("values", "rules", "status"),
    [(RAISED, ["bilirubin-over-2", "alp-or-ldh-raised", "transaminases-raised"], "not-met"), (NORMAL, [], "met"),
     (LOW_ALT, [], "met")],
    ids=["raised", "normal", "censored"],
)
def test_the_same_panel_gives_the_same_outcome_as_csv_xlsx_or_fhir(values: dict, rules: list[str], status: str) -> None:
    csv_panel = from_csv(values)
    assert [rule["id"] for rule in csv_panel["flags"]] == rules
    assert csv_panel["normal_panel"]["status"] == status
    assert outcome(from_xlsx(values)) == outcome(csv_panel)
    assert outcome(from_fhir(values)) == outcome(csv_panel)
