"""Each long row's panel key: the rows with one key are one panel.

The key is the `--group-by` columns, or the patient and sample columns (`Layout.group`). Its date
part is the parsed date-time, not its text, so one day written 05-01-2026 or 2026-01-05 is one
sample. A row without a patient id is a key of its own (`LONE` with its row number): it is
linked to no other row.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from levlab.exports.layout import Layout

LONE = object()  # the panel key of a long row without a patient id (with its row number)
DATES_KEPT = 100_000  # distinct date texts whose parse is kept

KeysOf = Callable[[int, list[list[str]]], list[Any]]  # (first row number, rows) -> each row's key


def panel_keys(layout: Layout, implausible: list[str]) -> KeysOf:
    """(first row number, rows) -> each row's panel key: the `--group-by` or patient and sample
    columns, the date part read as a date; a row without a patient id its own key. Dates before
    1900 or after today are added to `implausible`."""
    group = layout.group
    key_of: Callable[[list[str]], Any] = operator.itemgetter(*group) if group else (lambda row: ())
    date_at = layout.roles.get("date")
    if date_at is not None and date_at in group:  # one day written 05-01-2026 or 2026-01-05 is one sample
        key_of = _with_parsed_date(key_of, group.index(date_at), len(group), implausible)
    lone_at = layout.lone_without  # a row without a patient id is linked to no other row
    patient_of = operator.itemgetter(lone_at) if lone_at is not None else None

    def keys(first: int, rows: list[list[str]]) -> list[Any]:
        found = list(map(key_of, rows))
        if lone_at is None or not rows:
            return found
        if min(map(len, rows)) > lone_at and all(map(str.strip, map(patient_of, rows))):
            return found  # every row has a patient id, as usual: looked at in one go
        return [(LONE, first + index) if len(row) <= lone_at or not row[lone_at].strip() else key
                for index, (row, key) in enumerate(zip(rows, found, strict=True))]

    return keys


def _with_parsed_date(key_of: Callable[[list[str]], Any], position: int, size: int,
                      implausible: list[str]) -> Callable[[list[str]], Any]:
    """A panel key whose date part is the parsed date-time (ISO), not its text, when it parses;
    each distinct text is parsed once (while DATES_KEPT parses are kept; past that, a text not kept
    is parsed again, never left unread). A date before 1900 or after today is added to `implausible`."""
    from levlab.exports.sinks import plausible_sample_date
    from levlab.serial import parse_datetime

    parsed: dict[str, str] = {}
    said: set[str] = set()  # the implausible date texts added (a text past the limit is read again)

    def moment(text: str) -> str:
        found = parsed.get(text)
        if found is None:
            when = parse_datetime(text)  # read past the limit too: only keeping the parse is bounded
            found = when.isoformat() if when is not None else text
            if when is not None and not plausible_sample_date(when) and text not in said and len(said) < DATES_KEPT:
                said.add(text)
                implausible.append(text)
            if len(parsed) < DATES_KEPT:
                parsed[text] = found
        return found

    def key(row: list[str]) -> Any:
        found = key_of(row)
        if size == 1:
            return moment(found)
        return (*found[:position], moment(found[position]), *found[position + 1:])

    return key
