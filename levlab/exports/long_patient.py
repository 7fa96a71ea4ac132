"""The patient of a long panel: its sex and age, as its rows give them.

Every row of a long export repeats the patient's sex and age (or birth date). A panel is judged
with one sex and one age:

* the same text on every row, as usual: that one (a missing-value marker: unknown);
* rows that give two: an error on the row that differs, and the panel is judged with that one
  unknown — never on a guess of which row is right;
* a birth date column: the age at the sample (`exports.ages`) where no age is given; an age the
  birth date contradicts by more than a year is unknown, with an error;
* a sex or age that cannot be read: an error on its row (`exports.memo.Judge.patient`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from levlab.errors import shown
from levlab.exports.ages import age_at_sample, disagreement
from levlab.exports.fields import RowError

if TYPE_CHECKING:
    from levlab.exports.layout import Layout
    from levlab.exports.memo import Judge, PatientEntry

Errors = dict[int, list[RowError]]  # data-row number -> its errors


class PanelPatient:
    """A long panel's `PatientEntry` from its rows, its row errors added to the panel's."""

    def __init__(self, layout: Layout, judge: Judge) -> None:
        self.judge, self.header = judge, layout.header
        self.roles = layout.roles
        self.sex_at, self.age_at = layout.roles.get("sex"), layout.roles.get("age")
        self.birth_at, self.date_at = layout.roles.get("birth"), layout.roles.get("date")

    def of(self, rows: list[list[str]], numbers: Sequence[int], errors: Errors) -> PatientEntry:
        """The panel's patient; rows that give two sexes or ages, or an unreadable one, add errors."""
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
