"""Make the Excel and FHIR examples: examples/liver_panel.xlsx and examples/fhir_bundle.json.

    python examples/make_examples.py      (needs openpyxl: pip install 'levlab[excel]')

The workbook is what a data manager's export looks like: a title row, a merged "Patiënt" header
cell, date cells and one serial date, numbers, a decimal comma stored as text, `<5`, an empty
cell and one formula. The Bundle holds one Patient, a DiagnosticReport and its Observations
(LOINC codes, UCUM units, the lab's reference ranges, a censored ALT), and one Observation of a
second sample. The same data are fictitious.
"""

from __future__ import annotations

import datetime as dt
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"


def make_workbook(path: str) -> None:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Lab"
    sheet.append(["Patiënt", "Leverpanel export (fictief), afdeling oncologie"])
    sheet.append([None, "Geslacht", "Leeftijd", "Afnamedatum", "Bilirubine (umol/L)", "AF (U/L)", "LD (U/L)",
                  "ASAT (U/L)", "ALAT (U/L)", "GGT (U/L)", "Opmerking"])
    sheet.merge_cells("A1:A2")  # "Patiënt" stands over the title row and the header row
    rows = [
        ["1001", "V", 64, dt.datetime(2024, 3, 4, 8, 12), 12, 98, 212, 24, 19, 31, None],
        ["1002", "M", 71, dt.datetime(2024, 3, 4, 9, 40), 48, 410, 620, 95, 120, 380, "icterisch"],
        ["1003", "V", 58, 45356, "9,5", 88, 190, 22, "<5", 20, "datum als serienummer"],
        ["1004", "M", 66, dt.datetime(2024, 3, 6, 7, 55), 14, None, 230, 30, 28, 40, "AF niet bepaald"],
        ["1005", "M", 49, dt.datetime(2024, 3, 7, 10, 5), 0.1 + 0.2 + 9.7, 120, 240, "=H7*2", 35, 60,
         "formule: niet geëvalueerd"],
    ]
    for row in rows:
        sheet.append(row)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    sheet["A1"].font = Font(bold=True)
    book.save(path)


def observation(id: str, loinc: str | None, text: str, value: float, ucum: str, *, low: float | None = None,
                high: float | None = None, comparator: str | None = None,
                when: str = "2024-03-04T08:12:00+01:00") -> dict:
    resource: dict = {"resourceType": "Observation", "id": id, "status": "final",
                      "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                                "code": "laboratory"}]}],
                      "code": {"text": text}, "subject": {"reference": "Patient/1001"}, "effectiveDateTime": when,
                      "valueQuantity": {"value": value, "unit": ucum, "system": UCUM, "code": ucum}}
    if loinc:
        resource["code"]["coding"] = [{"system": LOINC, "code": loinc, "display": text}]
    if comparator:
        resource["valueQuantity"]["comparator"] = comparator
    limits = {side: {"value": limit, "unit": ucum, "system": UCUM, "code": ucum}
              for side, limit in (("low", low), ("high", high)) if limit is not None}
    if limits:
        resource["referenceRange"] = [limits]
    return resource


def make_bundle(path: str) -> None:
    panel = [
        observation("bili-1", "14631-6", "Bilirubine totaal", 12, "umol/L", high=17),
        observation("alp-1", "6768-6", "Alkalische fosfatase", 98, "U/L", low=40, high=120),
        observation("ldh-1", None, "LD", 212, "U/L", high=248),
        observation("ast-1", "1920-8", "ASAT", 24, "U/L", high=31),
        observation("alt-1", "1742-6", "ALAT", 5, "U/L", high=34, comparator="<"),
    ]
    later = observation("alp-2", "6768-6", "Alkalische fosfatase", 188, "U/L", low=40, high=120,
                        when="2024-06-03T08:30:00+02:00")
    report = {"resourceType": "DiagnosticReport", "id": "lab-1001-20240304", "status": "final",
              "code": {"text": "Leverpanel"}, "subject": {"reference": "Patient/1001"},
              "effectiveDateTime": "2024-03-04T08:12:00+01:00",
              "result": [{"reference": f"Observation/{o['id']}"} for o in panel]}
    patient = {"resourceType": "Patient", "id": "1001", "gender": "female", "birthDate": "1959-11-20"}
    resources = [patient, report, *panel, later]
    bundle = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"fullUrl": f"https://fhir.example.org/{r['resourceType']}/{r['id']}", "resource": r}
                        for r in resources]}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(bundle, handle, indent=1, ensure_ascii=False)
        handle.write("\n")


if __name__ == "__main__":
    make_workbook(os.path.join(HERE, "liver_panel.xlsx"))
    make_bundle(os.path.join(HERE, "fhir_bundle.json"))
