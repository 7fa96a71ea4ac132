"""What the rows of one long panel say about the panel itself: signs that it is not one sample.

* `MissingSample`: with no sample id and no sample time, a patient's rows giving one analyte
  twice with different results are the signal of a missing sample column (issue 10): said once
  at the end, naming the passed-through columns that tell those rows apart and the `--col` /
  `--group-by` to write. The results themselves are already row errors (never dropped silently).
* `DateSpread`: the rows of a panel that differ in a date-like column (the sample time when the
  panel is keyed by a sample id, or a date column levlab did not take as the sample time) are
  probably several samples: the panel is suspect, said on its row, and never `met` (issue 19).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

from levlab.errors import shown
from levlab.exports.fields import RowError
from levlab.exports.roles import date_like
from levlab.model import NormalPanel, PanelResult

if TYPE_CHECKING:
    from levlab.exports.layout import Layout
    from levlab.exports.run import Summary


def passed_through(layout: Layout) -> list[int]:
    """The indexes of the columns the layout passes through (no role, no analyte)."""
    ignored = set(layout.ignored)
    return [index for index, name in enumerate(layout.header) if name.strip() in ignored]


class MissingSample:
    """Counts the panels that hold one analyte twice with different results in a long export
    without a sample id or sample time, and which passed-through columns told those rows apart."""

    def __init__(self, layout: Layout) -> None:
        roles = layout.roles
        self.layout = layout
        # only when nothing says which rows are one sample (a --group-by is the user's own word)
        self.wanted = "sample" not in roles and "date" not in roles and not layout.grouped_by_option
        self.columns = passed_through(layout)

    def note(self, rows: Sequence[Sequence[str]], doubles: list[tuple[int, int]], summary: Summary) -> None:
        """One panel with doubled analytes (pairs of row offsets): counted, and the line said at the end made."""
        summary.doubled_panels += 1
        header = self.layout.header
        apart = {header[index].strip() for earlier, later in doubles for index in self.columns
                 if index < min(len(rows[earlier]), len(rows[later]))
                 and rows[earlier][index].strip() != rows[later][index].strip()}
        for name in apart:
            summary.telling_apart[name] = summary.telling_apart.get(name, 0) + 1
        summary.missing_sample_line = self.line(summary)

    def line(self, summary: Summary) -> str:
        header, roles = self.layout.header, self.layout.roles
        count = summary.doubled_panels
        said = (f"levlab csv: {count} panel{'s' if count > 1 else ''} hold{'s' if count == 1 else ''} one analyte twice "
                "with different results (row errors, neither result used), and no sample id or sample time column "
                "was recognised: the rows are probably several samples")
        if not summary.telling_apart:
            return said + "; no passed-through column tells them apart: name the panel key with --group-by COL"
        order = [name.strip() for name in header]
        ranked = sorted(summary.telling_apart, key=lambda name: (-summary.telling_apart[name], order.index(name)))[:5]
        named = ", ".join(f"{shown(name)} ({summary.telling_apart[name]})" for name in ranked)
        best = ranked[0]
        datey = next((name for name in ranked if date_like(name)), None)
        key = [header[roles["patient"]].strip()] if "patient" in roles else []
        group = " ".join(f'--group-by "{name}"' for name in (*key, best))
        advice = (f'--col date="{datey}" (the sample time) or {group}' if datey else
                  f'--col sample="{best}" (the sample id) or {group}')
        return f"{said}. Columns that tell those rows apart (panels): {named}; write {advice}"


class DateSpread:
    """The date-like columns that must not differ within one long panel: the sample time (and its
    time column) when a sample id keys the panel, and the date columns not taken as the sample time."""

    def __init__(self, layout: Layout) -> None:
        roles, header = layout.roles, layout.header
        self.header = header
        self.columns = [roles[role] for role in ("date", "time") if role in roles and roles[role] not in layout.group]
        self.columns += [index for index in passed_through(layout) if date_like(header[index])]

    def check(self, rows: Sequence[Sequence[str]], numbers: Sequence[int]) -> RowError | None:
        """The first row whose date-like cell differs from the panel's first (as a day, when both read
        as dates; as text otherwise), as an error on that row; None when the rows agree. `numbers`:
        the rows' data-row numbers."""
        for index in self.columns:
            if all(len(row) > index for row in rows) and len({row[index] for row in rows}) == 1:
                continue  # one text on every row, as usual
            seen: tuple[int, str, object] | None = None  # the first row with a value: its offset, text, day
            for offset, row in enumerate(rows):
                text = row[index].strip() if index < len(row) else ""
                if not text:
                    continue
                day = _day(text)
                if seen is None:
                    seen = (offset, text, day)
                elif day != seen[2]:
                    name = self.header[index].strip()
                    message = (f"this panel's rows differ in {shown(name)}: {shown(seen[1])} (row {numbers[seen[0]]}) and "
                               f"{shown(text)} (row {numbers[offset]}): they may be several samples, so normal-panel is "
                               "never met; say which rows are one sample (--col sample=HEADER, --col date=HEADER or --group-by)")
                    return RowError(numbers[offset], name, message)
        return None


@lru_cache(maxsize=4096)
def _day(text: str) -> object:
    """The day a date-like cell says (its text when it is no date), parsed once per distinct text."""
    from levlab.serial import parse_datetime  # only for exports with a date-like column

    when = parse_datetime(text)
    return when.date() if when is not None else text


def withheld(panel: PanelResult, why: str) -> PanelResult:
    """A suspect panel: `met` becomes `incomplete` with the reason (the 98% statement withheld)."""
    if panel.normal_panel.status != "met":
        return replace(panel, notes=(*panel.notes, why))
    return replace(panel, normal_panel=NormalPanel("incomplete", why, None), notes=(*panel.notes, why))
