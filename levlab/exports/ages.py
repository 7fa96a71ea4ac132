"""The age at the sample from a birth date column and the sample date (completed years).

Dutch exports rarely carry an age; they carry a birth date (`Geboortedatum`) and the sample
date. The age is the number of completed years from the one to the other, as a person states
their age; a birth date after the sample date is an error on the row. Pure functions: the
panels (`levlab.exports.long`, `levlab.exports.wide`) call them with a row's cells.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from levlab.errors import shown


def completed_years(birth: datetime, sample: datetime) -> int:
    """Whole years from birth to sample: 2000-03-05 -> 2024-03-04 is 23, -> 2024-03-05 is 24
    (a birthday on 29 February is reached on 1 March in a year without one)."""
    return sample.year - birth.year - ((sample.month, sample.day) < (birth.month, birth.day))


@lru_cache(maxsize=4096)
def age_at_sample(birth_text: str, sample_text: str) -> tuple[str, str | None]:
    """(the age text for the patient, an error or None) from a birth date and a sample date text.

    A blank birth date gives no age and no error; an unreadable birth date, or one after the
    sample date, is an error; without a readable sample date no age is given (it is not guessed
    from today's date)."""
    from levlab.serial import parse_datetime  # only when a birth date column is read

    birth_text, sample_text = birth_text.strip(), sample_text.strip()
    if not birth_text:
        return "", None
    birth = parse_datetime(birth_text)
    if birth is None:
        return "", f"birth date {shown(birth_text)} is not a date (write 1960-03-04 or 04-03-1960)"
    sample = parse_datetime(sample_text)
    if sample is None:
        return "", None
    if birth.date() > sample.date():
        return "", f"birth date {shown(birth_text)} is after the sample date {shown(sample_text)}"
    return str(completed_years(birth, sample)), None


def disagreement(age_text: str, birth_age: str) -> str | None:
    """Why an age column and the age at the sample from the birth date cannot both be right (they
    differ by more than a year: the age column may be the age at export), or None when they agree
    or either is missing. The panel is then judged with its age unknown: never a guess between them."""
    try:
        stated = float(age_text.strip().replace(",", "."))
        derived = float(birth_age)
    except ValueError:
        return None
    if abs(stated - derived) <= 1:
        return None
    return (f"age {shown(age_text.strip())} differs from {birth_age}, the age at the sample from the birth date: "
            "the age is unknown for this sample (correct the age or the birth date)")
