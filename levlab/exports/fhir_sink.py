"""The FHIR sink: `--format fhir` — a Bundle (collection) of interpreted Observations, with a
DiagnosticReport per panel and a Patient per patient key.

Each analyte levlab judged becomes an Observation coded with the LOINC code of a result in
levlab's canonical unit (data/analytes.toml `reported_loinc`, where one says exactly that) beside
levlab's own analyte id: its value in that unit (UCUM code from data/ucum.toml),
`interpretation` (HL7 v3 ObservationInterpretation: L, N, H, IND), the `referenceRange` levlab
used (the lab's own or the default, with its source; every candidate when sex or age is
unknown), levlab's reason as a note. Each panel becomes a
DiagnosticReport whose `result` lists them and whose `conclusion` states the rules met (each
with its source), the normal-panel outcome and the disclaimer.

Ids are stable: UUIDs (version 5) of the patient key, the panel's key and first row, and the
analyte, so the same input gives the same Bundle. Every reference is a `urn:uuid:` fullUrl of
an entry in the same Bundle. Entries are written as panels come (memory stays flat).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import IO, Any

from levlab import __version__
from levlab.catalog import analytes
from levlab.exports.fhir_records import ucum_units
from levlab.exports.fields import PanelOut
from levlab.exports.layout import Layout
from levlab.exports.provenance import DISCLAIMER, rule_source
from levlab.exports.sinks import Sink
from levlab.model import HL7_INTERPRETATION, AnalyteResult, Interval

NAMESPACE = uuid.UUID("6f1c4a52-1d1e-4f55-9a53-6c6576c61b00")  # levlab's namespace for its stable ids
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
INTERPRETATION_DISPLAY = {"L": "Low", "N": "Normal", "H": "High", "IND": "Indeterminate"}
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
ANALYTE_SYSTEM = "urn:levlab:analyte"  # levlab's analyte ids (catalog), beside the analyte's name as text
_FHIR_DATETIME = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}))?)?)?")
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def stable_id(*parts: str) -> str:
    """A UUID (version 5) of the parts: the same parts, the same id."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def fhir_datetime(text: str) -> tuple[str | None, str | None]:
    """(a valid FHIR dateTime for a sample's date text, a note when only its date could be kept).

    FHIR needs seconds and a time zone with a time: a time without them keeps only its date, and says so."""
    text = text.strip()
    if not text:
        return None, None
    if _FHIR_DATETIME.fullmatch(text):
        return text, None
    from levlab.serial import parse_datetime

    moment = parse_datetime(text)
    if moment is None:
        return None, f"sample time as given: {text} (not a date levlab reads)"
    written = _ISO_DATE.match(text)  # the date as written (parse_datetime moves a zoned time to UTC)
    date = written.group(1) if written else moment.date().isoformat()
    return date, (f"sample time as given: {text} (FHIR needs a time zone: only its date is kept)" if ":" in text else None)


class FhirSink(Sink):
    """Panels as Bundle entries, written as they come; `finish` closes the Bundle."""

    wants_panels = True

    def __init__(self, stream: IO[str], layout: Layout) -> None:
        self.stream = stream
        header = [cell.strip() for cell in layout.header]
        roles = layout.roles
        self.patient_name = header[roles["patient"]] if "patient" in roles else None
        self.date_name = header[roles["date"]] if "date" in roles else None
        self.units = {key: code for code, key in reversed(list(ucum_units().items()))}  # unit key -> UCUM code
        self.patients: set[str] = set()
        self.entries = 0
        self.stream.write('{"resourceType": "Bundle", "type": "collection", "meta": {"tag": [{"system": '
                          f'"urn:levlab:version", "code": "{__version__}"}}]}}, "entry": [')

    def _entry(self, resource: dict[str, Any]) -> str:
        """The resource's fullUrl, after writing its entry."""
        full_url = f"urn:uuid:{resource['id']}"
        self.stream.write(("," if self.entries else "") + "\n"
                          + json.dumps({"fullUrl": full_url, "resource": resource}, ensure_ascii=False))
        self.entries += 1
        return full_url

    def panel(self, out: PanelOut) -> None:
        key = {name.strip(): value for name, value in out.key.items()}
        panel = out.panel
        patient_text = key.get(self.patient_name, "").strip() if self.patient_name else ""
        date_text = key.get(self.date_name, "").strip() if self.date_name else ""
        panel_seed = (patient_text, json.dumps(key, sort_keys=True, ensure_ascii=False), str(out.rows[0]))
        patient_id = stable_id("patient", patient_text)
        subject = {"reference": f"urn:uuid:{patient_id}"}
        if patient_id not in self.patients:
            self.patients.add(patient_id)
            resource: dict[str, Any] = {"resourceType": "Patient", "id": patient_id}
            if patient_text:
                resource["identifier"] = [{"system": "urn:levlab:patient-key", "value": patient_text}]
            if panel.patient.sex in ("F", "M"):
                resource["gender"] = "female" if panel.patient.sex == "F" else "male"
            self._entry(resource)
        effective, time_note = fhir_datetime(date_text)
        results = []
        for result in panel.results:
            observation = self._observation(result, stable_id("observation", *panel_seed, result.analyte), subject,
                                             effective, time_note)
            results.append({"reference": self._entry(observation)})
        report: dict[str, Any] = {
            "resourceType": "DiagnosticReport", "id": stable_id("report", *panel_seed), "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB",
                                      "display": "Laboratory"}]}],
            "code": {"text": "levlab interpretation of the liver panel"},
            "subject": subject,
            "conclusion": self._conclusion(out),
        }
        if effective:
            report["effectiveDateTime"] = effective
        if results:
            report["result"] = results
        self._entry(report)

    def _observation(self, result: AnalyteResult, id: str, subject: dict[str, str], effective: str | None,
                     time_note: str | None) -> dict[str, Any]:
        analyte = analytes()[result.analyte]
        code = HL7_INTERPRETATION[result.flag]
        resource: dict[str, Any] = {
            "resourceType": "Observation", "id": id, "status": "final",
            "category": [{"coding": [{"system": CATEGORY, "code": "laboratory", "display": "Laboratory"}]}],
            "code": {"coding": [*self._loinc(analyte.reported_loinc),
                                {"system": ANALYTE_SYSTEM, "code": analyte.id, "display": analyte.name}],
                     "text": analyte.name},
            "subject": subject,
        }
        if effective:
            resource["effectiveDateTime"] = effective
        measurement = result.measurement
        if measurement is not None:
            quantity: dict[str, Any] = {"value": round(measurement.value, 6), "unit": analyte.canonical_unit,
                                        "system": UCUM, "code": self.units.get(analyte.canonical_unit, analyte.canonical_unit)}
            if measurement.comparator:
                quantity["comparator"] = measurement.comparator
            resource["valueQuantity"] = quantity
        else:
            resource["dataAbsentReason"] = {"coding": [{"system": DATA_ABSENT, "code": "error", "display": "Error"}]}
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": code,
                                                   "display": INTERPRETATION_DISPLAY[code]}]}]
        ranges = [result.interval] if result.interval is not None else list(result.candidates)
        if ranges:
            resource["referenceRange"] = [self._range(interval, analyte.canonical_unit) for interval in ranges]
        notes = [text for text in (result.reason, *result.warnings, time_note) if text]
        if notes:
            resource["note"] = [{"text": text} for text in notes]
        return resource

    @staticmethod
    def _loinc(reported: tuple[str, str] | None) -> list[dict[str, str]]:
        """The LOINC coding of a result in levlab's canonical unit (data/analytes.toml `reported_loinc`), if any."""
        return [{"system": LOINC, "code": reported[0], "display": reported[1]}] if reported else []

    def _range(self, interval: Interval, unit: str) -> dict[str, Any]:
        """The interval as a referenceRange: low/high where given, its text with source and who it is for."""
        found: dict[str, Any] = {}
        code = self.units.get(unit, unit)
        for side, limit in (("low", interval.low), ("high", interval.high)):
            if limit is not None:
                found[side] = {"value": round(limit, 6), "unit": unit, "system": UCUM, "code": code}
        applies = []
        if interval.sex:
            applies.append("women" if interval.sex == "F" else "men")
        if interval.age_min is not None or interval.age_max is not None:
            applies.append(f"age {interval.age_min or 0}+ y" if interval.age_max is None
                           else f"age {interval.age_min or 0}-{interval.age_max} y")
        found["text"] = f"{interval.text}{' (' + ', '.join(applies) + ')' if applies else ''}; source: {interval.source}"
        return found

    @staticmethod
    def _conclusion(out: PanelOut) -> str:
        """Rules met with their sources, the normal-panel outcome, errors, the disclaimer."""
        panel = out.panel
        lines = []
        if panel.hits:
            lines.append("Rules met:")
            lines.extend(f"- {hit.rule_id}: {hit.message} (source: {hit.source}, {hit.section})" for hit in panel.hits)
        else:
            lines.append("Rules met: none.")
        normal = panel.normal_panel
        lines.append(f"Normal panel: {normal.status} — {normal.reason}")
        if normal.statement:
            lines.append(f"{normal.statement} (source: {rule_source('normal-panel')})")
        if panel.undecided:
            lines.append(f"Undecided (values missing or indeterminate): {', '.join(panel.undecided)}.")
        if panel.normal_panel_defaults:
            lines.append("Judged against levlab's default intervals, not the laboratory's own: "
                         f"{', '.join(panel.normal_panel_defaults)}.")
        if out.errors:
            lines.append("Errors: " + "; ".join(f"row {e.row}: {e.message}" for e in out.errors))
        lines.append(DISCLAIMER)
        return "\n".join(lines)

    def finish(self) -> None:
        """Close the Bundle."""
        self.stream.write("\n]}\n")

