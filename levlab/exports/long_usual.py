"""The usual long panel decided and written in one go: what the long way gives, with fewer steps.

Most panels of a long CSV export are usual: every row gives one sex and one age text that was
read before without error, each analyte once, every value read without error, no row longer
than the header, nothing withheld. For those `UsualPanels.write` does in one function what
`LongDecision.decide` and `LongRows.write` do over many: the patient looked up by its texts,
each row's reading judged, the panel counted, its rule columns from the book, its rows' fields.

It applies only to a run where nothing else can touch a panel: a CSV sink (no panel sink, no
table summary), no follow-up, no laboratory flag or specimen column, no date-like column that
must agree within a panel. Any panel that is not usual (an error, a conflict, a missing value,
a patient not seen yet) goes the long way, untouched: `write` answers False before it has
changed anything. A test holds its output to the long way's (`USUAL` off).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from levlab.exports.fields import fragment_of
from levlab.exports.followup import NOT_FOLLOWED
from levlab.exports.layout import has_liver_test
from levlab.exports.memo import NOT_MEASURED, Judged, PatientEntry, Reading

if TYPE_CHECKING:
    from levlab.exports.long_cells import Cell
    from levlab.exports.long_decision import LongDecision
    from levlab.exports.long_rows import LongChunkOutput, LongRows
    from levlab.exports.run import ExportRun
    from levlab.exports.sinks import Sink

USUAL = True  # False: every panel goes the long way (the tests compare the two)


class UsualPanels:
    """Decides and writes the usual panels of a long run (see the module text)."""

    def __init__(self, run: ExportRun, sink: Sink, decision: LongDecision, rows: LongRows) -> None:
        self.run, self.sink, self.rows = run, sink, rows
        self.summary, self.layout = run.summary, run.layout
        self.book, self.judge = decision.book, run.judge
        self.patient = decision.patient
        self.width = run.layout.width
        self.position = {analyte_id: at for at, analyte_id in enumerate(self.book.analyte_ids)}
        self.analytes = len(self.position)
        self.liver_tests = frozenset(analyte_id for analyte_id in self.position if has_liver_test([analyte_id]))
        #: a patient-free reading (its lab's own range: judged alike for every patient) -> what `_judged`
        #: takes of it: (analyte id, book position, fields, id text, judged cell, signature); cleared
        #: with the judge's caches, so that a reading read again under a new rule is never taken
        self.prepared: dict[Reading, tuple[str, int, str, str, Judged, int]] = run.judge.new_cache()

    @staticmethod
    def applies(run: ExportRun, sink: Sink, decision: LongDecision) -> bool:
        """Whether this run's panels can take the shortcut at all (see the module text)."""
        roles = run.layout.roles
        return (USUAL and sink.wants_rows and not sink.wants_panels and not sink.wants_counts
                and run.follow_up is None and "flag" not in roles and "specimen" not in roles
                and not decision.spread.columns and decision.patient.texts_of is not None)

    def write(self, rows: list[list[str]], originals: list[str | None], cells: list[Cell],
              numbers: Sequence[int], out: LongChunkOutput) -> bool:
        """A usual panel decided and its rows put in `out`: True; False (nothing done) for any other."""
        patient = self.patient
        texts_of = patient.texts_of
        texts = texts_of(rows[0])
        if len(rows) > 1 and list(map(texts_of, rows)).count(texts) != len(rows):  # one sex and age text on every row?
            return False
        entry = patient.known.get(texts)
        if entry is None or self.run.records.bad_rows or max(map(len, rows)) > self.width:
            return False
        judged: dict[str, Judged] = {}
        fields: list[str] = []
        ids: list[str] = []
        panel_cells: list[Judged | None] = [None] * self.analytes
        signatures: list[int | None] = [None] * self.analytes
        if not self._judged(cells, entry, judged, fields, ids, panel_cells, signatures):
            return False
        summary = self.summary
        summary.seen.update(judged)
        summary.panels += 1
        if self.liver_tests.isdisjoint(judged):
            summary.without_liver_test += 1
        long_rows = self.rows
        warnings = (long_rows._warnings([None if analyte is None else judged[analyte.id] for analyte, _ in cells],
                                        NOT_FOLLOWED) if self.judge.warned else None)
        out.add(rows, originals, ids, fields, self.book.panel_text(panel_cells, tuple(signatures), self.sink),
                None, warnings)
        return True

    def _judged(self, cells: list[Cell], entry: PatientEntry, judged: dict[str, Judged], fields: list[str],
                ids: list[str], panel_cells: list[Judged | None], signatures: list[int | None]) -> bool:
        """The panel's judged results by analyte into `judged`, as `LongDecision._judged` gives them
        for a panel whose analytes are each read once, without error; each row's result fields
        into `fields` (as `LongRows._fields`) and its analyte id text into `ids` (as
        `LongRows.write`); the cells and their signatures at the book's positions into
        `panel_cells` and `signatures` (as `RuleBook.signatures`); False for any other panel."""
        empty, contexts, prepared, add_field, add_id = self.rows.empty_fields, entry.contexts, self.prepared, fields.append, ids.append
        for analyte, reading in cells:
            if analyte is None:
                add_field(empty)
                add_id("")
                continue
            ready = prepared.get(reading)
            if ready is None:
                if reading is NOT_MEASURED or reading.error is not None or analyte.id in judged:
                    return False
                ready = self._prepared(reading, entry, contexts)
            analyte_id, at, fragment, id_text, cell, signature = ready
            if analyte_id in judged:
                return False
            judged[analyte_id] = cell
            add_field(fragment)
            add_id(id_text)
            panel_cells[at] = cell
            signatures[at] = signature
        return True

    def _prepared(self, reading: Reading, entry: PatientEntry, contexts: dict[str, int]
                  ) -> tuple[str, int, str, str, Judged, int]:
        """What `_judged` takes of a reading read without error: its analyte id, book position,
        fields, id text, judged cell (the judge's cache read here, as `memo.Judge.judge` does on a
        hit; the judge asked on a miss) and signature; kept for a patient-free reading."""
        analyte_id = reading.analyte.id
        found = reading.judged.get(0 if reading.patient_free else contexts.get(analyte_id, -1))
        cell = found if found is not None else self.judge.judge(reading, entry)
        at = self.position[analyte_id]
        signature = cell.signature if cell.signature is not None else self.book.sign(at, cell)
        ready = (analyte_id, at, cell.fragment or fragment_of(cell, self.sink, self.judge.decimal),
                 self.rows.id_texts[analyte_id], cell, signature)
        if reading.patient_free:
            self.prepared[reading] = ready
        return ready
