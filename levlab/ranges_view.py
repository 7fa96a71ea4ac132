"""What `levlab ranges` says beyond its table: why no interval applies to a patient, and how an
interval's ages are written, in the reader's language."""

from __future__ import annotations

from typing import Any

from levlab.language import language


def uncovered(table: Any, patient: Any, covered: set[str], lang: Any = None) -> list[str]:
    """Why nothing is listed for an analyte whose intervals all exclude the patient (`ranges --age 17`)."""
    from levlab.catalog import analytes

    lang = lang or language("en")
    _ = lang.gettext
    too_young: dict[int, list[str]] = {}
    other = []
    for analyte_id in analytes():
        intervals = table.for_analyte(analyte_id)
        if not intervals or analyte_id in covered:
            continue
        youngest = min(i.age_min or 0 for i in intervals)
        if patient.age is not None and patient.age < youngest:
            too_young.setdefault(youngest, []).append(analyte_id)
        else:
            who = "; ".join(sorted({f"{_(i.sex) if i.sex else _('F') + '/' + _('M')} {age_span(i.age_min, i.age_max, lang)}"
                                    + ("" if i.smoker is None else " " + (_("smoker") if i.smoker else _("non-smoker")))
                                    for i in intervals}))
            other.append(_("{analyte}: no interval applies to this patient; its intervals hold for {who} only.").format(
                analyte=analyte_id, who=who))
    lines = []
    if too_young:
        which = "; ".join(_("{analytes} (from age {age})").format(analytes=", ".join(ids), age=age)
                          for age, ids in sorted(too_young.items()))
        lines.append(_("No interval applies at age {age} for {which}.").format(age=lang.number(patient.age), which=which))
        lines.append(_("An interval holds only for the ages its reference population covered (levlab's defaults: "
                       "adults) and is never applied to a younger patient, whose ranges differ (ALP above all); "
                       "give the laboratory's own ranges with --ranges FILE."))
    return lines + other


def age_span(age_min: int | None, age_max: int | None, lang: Any = None) -> str:
    _ = (lang or language("en")).gettext
    if age_min is None and age_max is None:
        return _("any age")
    if age_max is None:
        return _("age {low}+").format(low=age_min)
    return _("age {low}-{high}").format(low=age_min or 0, high=age_max)
