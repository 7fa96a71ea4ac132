"""Shared helpers of the FHIR tests: Observations and Bundles as plain dicts, runs through levlab."""

from __future__ import annotations

import io
import json
from typing import Any

from levlab.exports import CsvOptions, ExportRun, JsonlSink, open_records

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
#: the five normal-panel analytes: LOINC code, UCUM unit
PANEL_CODES = {"bilirubin": ("14631-6", "umol/L"), "alp": ("6768-6", "U/L"), "ldh": (None, "U/L"),
               "ast": ("1920-8", "U/L"), "alt": ("1742-6", "U/L")}


def observation(id: str, code: str | None = None, value: Any = None, ucum: str | None = None, *, text: str | None = None,
                subject: str = "Patient/p1", when: str | None = "2024-03-01T08:30:00+01:00", low: Any = None,
                high: Any = None, comparator: str | None = None, status: str = "final", **extra: Any) -> dict[str, Any]:
    """An Observation with a LOINC code (or a text), a valueQuantity in a UCUM unit, a range."""
    resource: dict[str, Any] = {"resourceType": "Observation", "id": id, "status": status, "code": {}}
    if code is not None:
        resource["code"]["coding"] = [{"system": LOINC, "code": code}]
    if text is not None:
        resource["code"]["text"] = text
    if subject:
        resource["subject"] = {"reference": subject}
    if when:
        resource["effectiveDateTime"] = when
    if value is not None:
        quantity: dict[str, Any] = {"value": value}
        if ucum:
            quantity.update(system=UCUM, code=ucum, unit=ucum)
        if comparator:
            quantity["comparator"] = comparator
        resource["valueQuantity"] = quantity
    if low is not None or high is not None:
        limits = {}
        for side, limit in (("low", low), ("high", high)):
            if limit is not None:
                limits[side] = {"value": limit, "system": UCUM, "code": ucum, "unit": ucum}
        resource["referenceRange"] = [limits]
    resource.update(extra)
    return resource


def patient(id: str = "p1", gender: str = "female", birth: str = "1960-05-01") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": id, "gender": gender, "birthDate": birth}


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind,
            "entry": [{"fullUrl": f"urn:uuid:{r['resourceType'].lower()}-{r['id']}", "resource": r} for r in resources]}


def panel_observations(values: dict[str, float], **options: Any) -> list[dict[str, Any]]:
    """The five-analyte panel as Observations (LDH by its text: it has no LOINC code in the catalogue)."""
    found = []
    for analyte, value in values.items():
        code, ucum = PANEL_CODES[analyte]
        found.append(observation(f"o-{analyte}", code, value, ucum, text=None if code else "LD", **options))
    return found


def run_fhir(document: dict[str, Any] | str, **options: Any) -> tuple[ExportRun, list[dict[str, Any]]]:
    """A Bundle (dict) or NDJSON (text) through levlab; the panels as JSONL objects."""
    data = (document if isinstance(document, str) else json.dumps(document)).encode()
    run = ExportRun(open_records(io.BytesIO(data), CsvOptions(**options)).records, CsvOptions(**options))
    out = io.StringIO()
    run.run(JsonlSink(out))
    return run, [json.loads(line) for line in out.getvalue().splitlines()]
