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
from typing import TYPE_CHECKING

from levlab.errors import shown
from levlab.exports.roles import date_like

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
