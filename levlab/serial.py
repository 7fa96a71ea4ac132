"""Serial results: a patient's samples in date-time order, each knowing the previous one. Pure.

The export's row order does not matter: samples are ordered by their parsed date-time. Each
panel is re-interpreted with the patient's previous sample (for `new-abnormal` and the change
since then) and with the patient's earliest sample as the CTCAE baseline (the earliest sample
itself is graded against ULN). A sample whose date cannot be read is listed, but has no place
in the order: it has no previous sample and is nobody's previous sample. A sample without a
patient (a blank patient id) is never linked to another: it stands alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from levlab.interpret import interpret_results
from levlab.model import PanelResult

SPARK = "▁▂▃▄▅▆▇█"
_DAY_FIRST = re.compile(
    r"^(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})"
    r"(?:[ T]+(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2}))?)?$"
)


def parse_datetime(text: str) -> datetime | None:
    """A sample's date-time: ISO 8601 (2024-05-08, 2024-05-08 09:30, 2024-05-08T09:30:00+02:00) or
    day first as in Dutch and German exports (08-05-2024, 8/5/2024 9:30, 08.05.2024). None if neither.

    A time zone, when given, is converted to UTC; times without one are compared as written.
    """
    text = text.strip()
    if not text or len(text) > 40:
        return None
    match = _DAY_FIRST.match(text)
    try:
        if match:
            parts = {key: int(value) for key, value in match.groupdict().items() if value is not None}
            return datetime(parts["y"], parts["m"], parts["d"], parts.get("H", 0), parts.get("M", 0), parts.get("S", 0))
        if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
            return None
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


@dataclass(frozen=True)
class Sample:
    """One panel of one patient, with when it was taken (None: the date could not be read).

    `patient` None: the row gave no patient id, so the sample is compared with no other."""

    patient: str | None
    label: str  # the date as written (or the sample id): what the trend shows
    when: datetime | None
    panel: PanelResult
    rows: tuple[int, ...] = ()  # the export's data rows it came from


def order(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    """Samples by patient (in order of first appearance), each patient's in date-time order;
    undated samples last, in the order given. Samples without a patient are left out (see groups)."""
    by_patient: dict[str, list[Sample]] = {}
    for sample in samples:
        if sample.patient is not None:
            by_patient.setdefault(sample.patient, []).append(sample)
    return {
        patient: sorted((s for s in found if s.when is not None), key=lambda s: s.when) + [s for s in found if s.when is None]
        for patient, found in by_patient.items()
    }


def groups(samples: Sequence[Sample]) -> list[tuple[str | None, list[Sample]]]:
    """The samples to follow together: each patient's (as `order`), then every sample without a
    patient on its own, never linked to another result."""
    lone: list[tuple[str | None, list[Sample]]] = [(None, [s]) for s in samples if s.patient is None]
    return [*order(samples).items(), *lone]


def baseline_index(dated: Sequence[Sample], baseline_on: date | None = None) -> int:
    """Which of a patient's dated samples is the CTCAE baseline: the earliest, or with
    `baseline_on` the last one taken on or before that day (the earliest if none was)."""
    if baseline_on is None:
        return 0
    taken = [index for index, sample in enumerate(dated) if sample.when is not None and sample.when.date() <= baseline_on]
    return taken[-1] if taken else 0


def link(samples: Sequence[Sample], baseline_on: date | None = None) -> list[Sample]:
    """One patient's ordered samples, each panel re-interpreted with its previous sample and with
    the baseline sample (see baseline_index) as the CTCAE baseline; the baseline and any sample
    before it are graded against ULN."""
    dated = [s for s in samples if s.when is not None]
    base = baseline_index(dated, baseline_on)
    linked: list[Sample] = []
    for index, sample in enumerate(dated):
        previous = dated[index - 1].panel.results if index else ()
        baseline = dated[base].panel.results if index > base else ()
        panel = interpret_results(sample.panel.results, sample.panel.patient, baseline, previous)
        # the normal-panel outcome needs no other sample: keep the export's (it may have withheld `met`)
        kept = tuple(note for note in sample.panel.notes if note not in panel.notes)
        panel = replace(panel, normal_panel=sample.panel.normal_panel, notes=(*panel.notes, *kept))
        linked.append(replace(sample, panel=panel))
    linked.extend(s for s in samples if s.when is None)
    return linked


def since(earlier: datetime | None, later: datetime | None) -> str:
    """`121 d`, `5 h`, `0 h`, or `?` when either date is unknown."""
    if earlier is None or later is None:
        return "?"
    seconds = (later - earlier).total_seconds()
    if seconds < 86400:
        return f"{math.floor(seconds / 3600)} h"
    return f"{math.floor(seconds / 86400)} d"
