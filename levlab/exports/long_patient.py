"""The patient of a long panel: its sex and age, as its rows give them.

Every row of a long export repeats the patient's sex and age (or birth date). A panel is judged
with one sex and one age:

* the same text on every row, as usual: that one (a missing-value marker: unknown);
* rows that give two: an error on the row that differs, and the panel is judged with that one
  unknown — never on a guess of which row is right;
* a birth date column: the age at the sample (`exports.ages`) where no age is given; an age the
  birth date contradicts by more than a year is unknown, with an error;
* a sex or age that cannot be read: an error on its row (`exports.memo.Judge.patient`).

The usual panel — one sex and one age text on every row, both readable, no birth date column —
takes a shortcut: its entry is looked up by those texts (`KNOWN_PATIENTS`), so the rows are read
once, column by column, and the checks above cost nothing (a test holds it to the long way).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from levlab.errors import shown
from levlab.exports.ages import age_at_sample, disagreement
from levlab.exports.fields import RowError

if TYPE_CHECKING:
    from levlab.exports.layout import Layout
    from levlab.exports.memo import Judge, PatientEntry

Errors = dict[int, list[RowError]]  # data-row number -> its errors
KNOWN_PATIENTS = 4_096  # (sex, age) texts whose entry the shortcut keeps; 0: no shortcut (the long way)


class PanelPatient:
    """A long panel's `PatientEntry` from its rows, its row errors added to the panel's."""

    def __init__(self, layout: Layout, judge: Judge) -> None:
        self.judge, self.header = judge, layout.header
        self.roles = layout.roles
        self.sex_at, self.age_at = layout.roles.get("sex"), layout.roles.get("age")
        self.birth_at, self.date_at = layout.roles.get("birth"), layout.roles.get("date")
        self.texts_of = self._texts_getter()  # the shortcut's key: a row's sex and age texts
        self.known: dict[Any, PatientEntry] = judge.new_cache()  # those texts -> their entry, without errors

    def of(self, rows: list[list[str]], numbers: Sequence[int], errors: Errors) -> PatientEntry:
        """The panel's patient; rows that give two sexes or ages, or an unreadable one, add errors."""
        texts_of = self.texts_of
        if texts_of is None:
            return self._long_way(rows, numbers, errors)
        texts = set(map(texts_of, rows))
        if len(texts) == 1:  # one text of each on every row, as usual
            (found,) = texts
            entry = self.known.get(found)
            if entry is None:
                entry = self._long_way(rows, numbers, errors)
                if not entry.errors:  # readable: the same texts give this entry, without errors
                    if len(self.known) >= KNOWN_PATIENTS:
                        self.known.clear()
                    self.known[found] = entry
            return entry
        return self._long_way(rows, numbers, errors)

    def _texts_getter(self) -> Callable[[list[str]], Any] | None:
        """A row's sex and age texts (the columns there are), or None when the shortcut does not
        apply: a birth date column derives the age, or no sex or age column."""
        columns = [at for at in (self.sex_at, self.age_at) if at is not None]
        if self.birth_at is not None or not columns or not KNOWN_PATIENTS:
            return None
        return operator.itemgetter(*columns)

    def _long_way(self, rows: list[list[str]], numbers: Sequence[int], errors: Errors) -> PatientEntry:
        """The panel's patient, every check made."""
        sex = self._one_text("sex", self.sex_at, rows, numbers, errors)
        age = self._one_text("age", self.age_at, rows, numbers, errors)
        if self.birth_at is not None:
            age = self._age_from_birth(rows[0], age, numbers[0], errors)
        entry = self.judge.patient(sex, age)
        if entry.errors:
            texts = {"sex": sex, "age": age}
            for role, message in entry.errors:
                at = self.roles[role]
                offset = next(i for i, row in enumerate(rows) if row[at] == texts[role])
                errors.setdefault(numbers[offset], []).append(RowError(numbers[offset], self.header[at], message))
        return entry

    def _one_text(self, role: str, at: int | None, rows: list[list[str]], numbers: Sequence[int], errors: Errors) -> str:
        """The one text the rows give for `role` ("" when none, or when they give two: an error)."""
        if at is None:
            return ""
        na = self.judge.na
        text = rows[0][at]
        if all(row[at] == text for row in rows):  # the same on every row, as usual
            return "" if text.strip().casefold() in na else text
        found, differ = "", False
        for offset, row in enumerate(rows):
            text = row[at]
            if text.strip().casefold() in na:
                continue
            if not found:
                found = text
            elif text.strip() != found.strip():
                differ = True
                errors.setdefault(numbers[offset], []).append(RowError(
                    numbers[offset], self.header[at], f"{role} {shown(text.strip())} differs from {shown(found.strip())} "
                    f"earlier in this panel; the panel is judged with {role} unknown"))
        return "" if differ else found

    def _age_from_birth(self, row: list[str], age: str, number: int, errors: Errors) -> str:
        """The age at the sample from the birth date (exports.ages) where no age is given; an age
        the birth date contradicts is unknown, with an error."""
        assert self.birth_at is not None
        derived, problem = age_at_sample(row[self.birth_at], row[self.date_at] if self.date_at is not None else "")
        if problem and not age:
            errors.setdefault(number, []).append(RowError(number, self.header[self.birth_at], problem))
        disagree = disagreement(age, derived) if age and derived else None
        if disagree:
            errors.setdefault(number, []).append(RowError(number, self.header[self.roles["age"]], disagree))
            return ""
        return age or derived
