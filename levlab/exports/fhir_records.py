"""The FHIR R4 reader: Observations of a Bundle or of NDJSON as a long table (a `RecordReader`).

Plain `json`, no FHIR library. The input is a Bundle (searchset, collection, transaction,
batch...), a single resource, or NDJSON (FHIR Bulk Data: one resource per line). Each
Observation becomes one record of a long table the reader makes itself (`HEADER`), so the
run detects a long layout and goes through the same engine as a CSV export:

* `code.coding`: a LOINC code levlab's catalogue knows names the analyte (the `test` cell is
  then that code). Without any LOINC code the display text (`code.text`, a coding's `display`)
  is read as the analyte's name; with only LOINC codes levlab does not list, the text is not
  read (the code may be another specimen: 2339-0 glucose in blood) and the detection report
  counts them. Unknown codes pass through, not judged.
* `valueQuantity`: `comparator` + `value` (the number's JSON text, unchanged), unit from the UCUM
  `code` (data/ucum.toml) before the display `unit`; `valueString` as its text.
* `referenceRange` (type normal or none): low and high as the lab's range, inclusive, one-sided
  when only one is given (`<= 7`, `>= 2`); its unit must be the value's.
* `subject` as the patient; `effectiveDateTime` (or `effectivePeriod.start`, `effectiveInstant`)
  as the sample time; Patient resources in the input give sex (`gender`) and age at the sample
  (from a full `birthDate`).
* Panels: one subject and one sample — the DiagnosticReport that lists the Observation in its
  `result` (or lists the panel Observation that has it as a `hasMember`), else the effective
  time; an Observation with neither is a panel of its own. Subject and time a member does not
  state come from its panel Observation or report.
* `interpretation` (the laboratory's own H, L, N...) as the `flag` column.

Observations with status entered-in-error or cancelled are left out (and counted). An
Observation that cannot be read is a record with no value and an error naming its id.
The whole input is read into memory (its records sorted by patient and sample).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

from levlab.catalog import find_analyte
from levlab.data import load_toml
from levlab.errors import UsageError
from levlab.exports.dialect import Dialect
from levlab.exports.records import RecordChunk
from levlab.exports.settings import CsvOptions

HEADER = ["resource", "patient", "sample", "date", "code", "test", "display", "value", "unit", "reference range",
          "sex", "age", "flag"]
CHUNK_ROWS = 1_024
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LEFT_OUT = {"entered-in-error", "cancelled"}
COMPARATORS = {"<", "<=", ">=", ">"}
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class JsonNumber(str):
    """A JSON number kept as its text (`8.60` stays `8.60`), told apart from a JSON string."""

    __slots__ = ()


def load_json(text: str) -> Any:
    """JSON with its numbers kept as `JsonNumber` text."""
    return json.loads(text, parse_float=JsonNumber, parse_int=JsonNumber)


def ucum_units() -> dict[str, str]:
    """UCUM code -> levlab unit key (data/ucum.toml)."""
    return load_toml("ucum.toml")["codes"]


class ObservationError(Exception):
    """Why one Observation cannot be read."""


def resources_of(text: str) -> tuple[str, list[tuple[Any, str]], list[str]]:
    """(what the input is, [(resource, fullUrl)], errors of lines that are no JSON) of a Bundle,
    a single resource or NDJSON."""
    stripped = text.lstrip("\ufeff \t\r\n")
    try:
        document = load_json(stripped)
    except json.JSONDecodeError as error:
        if error.msg != "Extra data":
            raise UsageError(f"the input is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
        document = None
    if document is not None:
        if not isinstance(document, dict):
            raise UsageError("the JSON input is no FHIR resource (an object with a resourceType)")
        if document.get("resourceType") == "Bundle":
            entries = document.get("entry") or []
            found = [(entry.get("resource"), str(entry.get("fullUrl") or "")) for entry in entries
                     if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)]
            return f"FHIR Bundle ({document.get('type', 'no type')})", found, []
        return f"FHIR {document.get('resourceType')}", [(document, "")], []
    found, errors = [], []
    for number, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            resource = load_json(line)
        except json.JSONDecodeError as error:
            errors.append(f"NDJSON line {number}: not JSON ({error.msg})")
            continue
        if not isinstance(resource, dict):
            errors.append(f"NDJSON line {number}: not a FHIR resource")
            continue
        found.append((resource, ""))
    return "FHIR NDJSON", found, errors


def _reference_keys(resource: dict[str, Any], full_url: str) -> list[str]:
    keys = [f"{resource.get('resourceType')}/{resource.get('id')}"] if resource.get("id") else []
    if full_url:
        keys.append(full_url)
    return keys


def _local(reference: str) -> str:
    """`Patient/1` of `https://server/fhir/Patient/1` (a reference's last two parts)."""
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def _effective(resource: dict[str, Any]) -> str:
    """A resource's time: effectiveDateTime, effectiveInstant or the start of effectivePeriod."""
    return _text(resource.get("effectiveDateTime") or resource.get("effectiveInstant")
                 or (resource.get("effectivePeriod") or {}).get("start"))


def _lab_flag(resource: dict[str, Any]) -> str:
    """The laboratory's own interpretation code (HL7 v3 / v2 0078: H, L, N, A...), for the `flag` column."""
    concepts = resource.get("interpretation")
    concepts = concepts if isinstance(concepts, list) else [concepts] if isinstance(concepts, dict) else []
    codes = [_text(c.get("code")) for concept in concepts if isinstance(concept, dict)
             for c in concept.get("coding") or [] if isinstance(c, dict) and c.get("code")]
    return codes[0] if len(set(codes)) == 1 else ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def birth_age(birth_date: str, moment: str) -> str:
    """Whole years from a full birthDate to a sample's date; "" when either is partial or missing."""
    if not _FULL_DATE.match(birth_date) or not _FULL_DATE.match(moment):
        return ""
    try:
        born, on = dt.date.fromisoformat(birth_date[:10]), dt.date.fromisoformat(moment[:10])
    except ValueError:
        return ""
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return str(years) if years >= 0 else ""


class Quantity:
    """A Quantity's unit as levlab spells it: the UCUM code where known, else the display unit."""

    def __init__(self) -> None:
        self.codes = ucum_units()

    def unit(self, quantity: dict[str, Any]) -> str:
        code, system = quantity.get("code"), quantity.get("system")
        if isinstance(code, str) and (system in (None, UCUM)) and code in self.codes:
            return self.codes[code]
        unit = quantity.get("unit")
        if isinstance(unit, str) and unit.strip():
            return unit
        return code if isinstance(code, str) else ""

    def number(self, quantity: dict[str, Any], where: str) -> str:
        value = quantity.get("value")
        if not isinstance(value, JsonNumber):
            raise ObservationError(f"{where}.value is {'missing' if value is None else 'not a number'}")
        return str(value)


class FhirRecords:
    """FHIR Observations as long records (a `RecordReader`; see the module text)."""

    grouped = True  # a panel's rows together already: no second pass (levlab.exports.grouping)

    def __init__(self, binary: IO[bytes], options: CsvOptions, name: str = "the input") -> None:
        raw = binary.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise UsageError(f"{name}: FHIR JSON must be UTF-8; byte {error.start} is not") from None
        kind, resources, line_errors = resources_of(text)
        self.header = list(HEADER)
        self.dialect = Dialect(",", ".", "\n", "CSV output", "JSON numbers")
        self.skipped = 0
        self.quantity = Quantity()
        self.unlisted: Counter[tuple[str, str, str]] = Counter()  # (LOINC, text, analyte the text names)
        patients: dict[str, dict[str, Any]] = {}
        self.reports: dict[str, dict[str, Any]] = {}  # Observation reference -> the DiagnosticReport listing it
        self.parents: dict[str, dict[str, Any]] = {}  # Observation reference -> the panel Observation it is a member of
        counts: Counter[str] = Counter()
        observations = []
        for resource, full_url in resources:
            kind_of = str(resource.get("resourceType"))
            counts[kind_of] += 1
            if kind_of == "Patient":
                for key in _reference_keys(resource, full_url):
                    patients[key] = resource
            elif kind_of == "DiagnosticReport":
                self._link(resource.get("result"), resource, self.reports)
            elif kind_of == "Observation":
                observations.append((resource, full_url))
                members = [*(resource.get("hasMember") or []),  # R4; STU3 wrote related.type has-member
                           *(r.get("target") for r in resource.get("related") or []
                             if isinstance(r, dict) and r.get("type") == "has-member")]
                self._link(members, resource, self.parents)
        left_out = 0
        rows: list[tuple[list[str], str | None]] = []
        for resource, full_url in observations:
            if resource.get("status") in LEFT_OUT:
                left_out += 1
                continue
            rows.append(self._record(resource, full_url, patients))
        for line_error in line_errors:  # a line that is no resource: a record of its own, carrying the error
            where = line_error.partition(":")[0]
            rows.append(([where, "", where, *[""] * (len(HEADER) - 3)], line_error))
        # a panel's rows together; panels per patient in time order (a panel's time: its earliest)
        first_time: dict[tuple[str, str], str] = {}
        for row, _ in rows:
            key = (row[1], row[2])
            first_time[key] = min(first_time.get(key, row[3]), row[3])
        rows.sort(key=lambda item: (item[0][1], first_time[item[0][1], item[0][2]], item[0][2]))
        self.rows = [row for row, _ in rows]
        self.bad_rows: dict[int, str] = {number: error for number, (_, error) in enumerate(rows, start=1) if error}
        if not observations and not line_errors:
            raise UsageError(f"{name} holds no Observation ({kind}: "
                             f"{', '.join(f'{n} {t}' for t, n in counts.items()) or 'no resources'})")
        described = self._described(kind, counts, left_out, len(line_errors))
        self.encoding = f"utf-8 ({described})"  # FHIR JSON is UTF-8

    def _described(self, kind: str, counts: Counter[str], left_out: int, unreadable_lines: int) -> str:
        """What the input held, for the detection report: resources read, skipped, left out, passed through."""
        other = {t: n for t, n in counts.items() if t not in ("Observation", "Patient", "DiagnosticReport")}
        parts = [f"{counts['Observation']} Observation{'s' * (counts['Observation'] != 1)}"]
        parts += [f"{counts[t]} {t}" for t in ("Patient", "DiagnosticReport") if counts[t]]
        described = f"{kind}: {', '.join(parts)}"
        if other:
            described += f"; skipped {', '.join(f'{n} {t}' for t, n in sorted(other.items()))}"
        if left_out:
            described += f"; {left_out} entered-in-error or cancelled left out"
        if unreadable_lines:
            described += f"; {unreadable_lines} NDJSON lines unreadable"
        if self.unlisted:
            described += ("; passed through, a LOINC code levlab does not list for the analyte their text names "
                          "(another specimen or property): " + ", ".join(
                              f"{n} x {code} '{text}' (not {analyte})" for (code, text, analyte), n in self.unlisted.items()))
        return described

    @staticmethod
    def _link(references: Any, holder: dict[str, Any], links: dict[str, dict[str, Any]]) -> None:
        """Remember `holder` for each referenced Observation (by the reference as written and its local form)."""
        for item in references or []:
            if isinstance(item, dict) and isinstance(item.get("reference"), str):
                links.setdefault(item["reference"], holder)
                links.setdefault(_local(item["reference"]), holder)

    def _context(self, resource: dict[str, Any], full_url: str) -> list[dict[str, Any]]:
        """The Observation, the panel Observation it is a member of (hasMember), and the
        DiagnosticReport listing either: where its subject, time and sample come from, nearest first."""
        keys = [*_reference_keys(resource, full_url), _local(full_url)] if full_url else _reference_keys(resource, "")
        parent = next((self.parents[k] for k in keys if k in self.parents), None)
        chain = [resource] + ([parent] if parent is not None and parent is not resource else [])
        report = next((self.reports[k] for item in chain for k in _reference_keys(item, "") if k in self.reports),
                      None) or next((self.reports[k] for k in keys if k in self.reports), None)
        return chain + ([report] if report is not None else [])

    def _record(self, resource: dict[str, Any], full_url: str,
                patients: dict[str, dict[str, Any]]) -> tuple[list[str], str | None]:
        """One Observation's cells, and the error that made it unreadable (its cells then carry no value).

        A member of a panel Observation (hasMember) or of a DiagnosticReport takes the sample, time
        and subject it does not state itself from them (the FHIR R4 spec's general health panel
        gives them only on the report and the panel)."""
        name = f"Observation/{resource.get('id')}" if resource.get("id") else (full_url or "Observation (no id)")
        context = self._context(resource, full_url)
        subject = next((item["subject"] for item in context if isinstance(item.get("subject"), dict)), {})
        reference = _text(subject.get("reference"))
        patient_text = reference or _text((subject.get("identifier") or {}).get("value")) or _text(subject.get("display"))
        effective = next((time for time in map(_effective, context) if time), "")
        report = context[-1] if context[-1].get("resourceType") == "DiagnosticReport" else None
        sample = f"DiagnosticReport/{report.get('id') or 'without id'}" if report is not None else (effective or name)
        patient = patients.get(reference) or patients.get(_local(reference)) if reference else None
        sex = {"male": "M", "female": "F"}.get(_text((patient or {}).get("gender")), "")
        age = birth_age(_text((patient or {}).get("birthDate")), effective) if patient else ""
        row = [name, patient_text, sample, effective, "", "", "", "", "", "", sex, age, _lab_flag(resource)]
        try:
            code, test, display = self._code(resource)
            row[4], row[5], row[6] = code, test, display
            row[7], row[8] = self._value(resource)
            row[9] = self._range(resource, row[8])
        except ObservationError as error:
            row[7] = row[8] = row[9] = ""
            return row, f"{name}: {error}"
        return row, None

    def _code(self, resource: dict[str, Any]) -> tuple[str, str, str]:
        """(LOINC or first code, what levlab reads as the analyte, display text).

        A LOINC code is more precise than a name: when the Observation has LOINC codes and none is
        one levlab lists, its text is not read as an analyte (2339-0 "Glucose" is glucose in blood,
        not the serum glucose levlab judges); it passes through, and the detection report counts it."""
        concept = resource.get("code")
        if not isinstance(concept, dict):
            raise ObservationError("no code")
        codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
        loinc = [_text(c.get("code")) for c in codings if c.get("system") == LOINC and c.get("code")]
        display = _text(concept.get("text")) or next((_text(c.get("display")) for c in codings if c.get("display")), "")
        known = next((code for code in loinc if find_analyte(code) is not None), None)
        first = loinc[0] if loinc else next((_text(c.get("code")) for c in codings if c.get("code")), "")
        if not first and not display:
            raise ObservationError("its code has neither a coding nor a text")
        if loinc and not known:
            named = find_analyte(display) if display else None
            if named is not None:
                self.unlisted[(first, display, named.id)] += 1
            return first, first, display
        return (known or first), (known or display or first), display

    def _value(self, resource: dict[str, Any]) -> tuple[str, str]:
        """(value text with its comparator, unit)."""
        quantity = resource.get("valueQuantity")
        if quantity is not None:
            if not isinstance(quantity, dict):
                raise ObservationError("valueQuantity is not an object")
            comparator = quantity.get("comparator") or ""
            if comparator and comparator not in COMPARATORS:
                raise ObservationError(f"valueQuantity.comparator {comparator!r} is not one of < <= >= >")
            return comparator + self.quantity.number(quantity, "valueQuantity"), self.quantity.unit(quantity)
        for key in ("valueString", "valueInteger"):
            if key in resource:
                return _text(resource[key]), ""
        concept = resource.get("valueCodeableConcept")
        if isinstance(concept, dict):  # a coded result (e.g. "negative"): read as text, no number
            codings = concept.get("coding") or [{}]
            return _text(concept.get("text") or codings[0].get("display") or codings[0].get("code")), ""
        return "", ""  # no value (dataAbsentReason): not measured

    def _range(self, resource: dict[str, Any], unit: str) -> str:
        """The lab's range as text levlab reads (`2.0 - 7.0`, `<= 7`, `>= 2`), "" for none."""
        ranges = [r for r in resource.get("referenceRange") or [] if isinstance(r, dict)]
        normal = [r for r in ranges if not r.get("type") or any(
            c.get("code") == "normal" for c in (r["type"].get("coding") or []) if isinstance(c, dict))]
        if len(normal) > 1:
            general = [r for r in normal if not r.get("appliesTo") and not r.get("age")]
            if len(general) != 1:
                raise ObservationError(f"{len(normal)} reference ranges for different groups (appliesTo, age): "
                                       "levlab cannot tell which one applies")
            normal = general
        if not normal:
            return ""
        chosen = normal[0]
        low, high = chosen.get("low"), chosen.get("high")
        limits = {}
        stated = ""  # the limits' own unit, written into the range: a stated unit, not one assumed
        for side, quantity in (("low", low), ("high", high)):
            if quantity is None:
                continue
            if not isinstance(quantity, dict):
                raise ObservationError(f"referenceRange.{side} is not a Quantity")
            limits[side] = self.quantity.number(quantity, f"referenceRange.{side}")
            range_unit = self.quantity.unit(quantity)
            if range_unit and unit and range_unit != unit:
                raise ObservationError(f"referenceRange.{side} is in {range_unit}, the value in {unit}: "
                                       "levlab does not guess which to convert")
            stated = stated or range_unit
        suffix = f" {stated}" if stated else ""
        if "low" in limits and "high" in limits:
            return f"{limits['low']} - {limits['high']}{suffix}"
        if "high" in limits:
            return f"<= {limits['high']}{suffix}"
        if "low" in limits:
            return f">= {limits['low']}{suffix}"
        return _text(chosen.get("text"))

    def chunks(self) -> Iterator[RecordChunk]:
        """The records, CHUNK_ROWS at a time; no original text (every original is None)."""
        for start in range(0, len(self.rows), CHUNK_ROWS):
            rows = self.rows[start:start + CHUNK_ROWS]
            yield RecordChunk(start + 1, rows, [None] * len(rows))
