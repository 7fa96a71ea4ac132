"""The CSV rule columns (rule ids met, normal-panel status), decided per row from judged cells.

`RuleBook` makes the same decisions as `interpret_results`, cached on what each rule reads
(see its docstring); `JudgedColumn` is how the wide panels hand it a chunk's cells, column by
column.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from levlab.exports.layout import has_liver_test
from levlab.exports.memo import Judged
from levlab.model import AnalyteResult
from levlab.rule_projections import FLAG_CONDITIONS, LEAD_OVER_RIVALS, PROJECTIONS, REQUIRED_FLAGS, decide, rule_inputs
from levlab.rules import SERIAL_EVALUATORS, Rule, normal_panel_status, rule_subjects, rules

if TYPE_CHECKING:
    from levlab.exports.sinks import Sink


class Decision:
    """What RuleBook decided for one distinct row signature."""

    __slots__ = ("cell_errors", "keyed", "liver", "status", "text", "texts")

    def __init__(self, keyed: tuple[str, ...], status: str, text: str, cell_errors: bool, liver: bool = True) -> None:
        self.liver = liver  # whether a liver test is among the measured cells
        self.keyed = keyed  # keyed rule ids met
        self.status = status  # normal-panel status
        self.text = text  # PANEL_COLUMNS as sink text when no value-reading rule fires
        self.texts: dict[tuple[str, ...], str] = {}  # the same when these value-reading rules fire
        self.cell_errors = cell_errors  # whether a cell of such a row carries an error


_TEXT = operator.attrgetter("text")
_CELL_ERRORS = operator.attrgetter("cell_errors")


_NO_RIVAL = float("-inf")  # the rival key when there is none
SIGNATURES_KEPT = 20_000  # cell signatures, and row signatures with their Decision; past it they start again


class FreeRule(NamedTuple):
    """A rule RuleBook decides on every row, from exact values."""

    rule: Rule
    positions: tuple[int, ...]  # its rivals (lead given), else its subjects: one must be measured
    lead: int | None = None  # the lead of a rule_projections.LEAD_OVER_RIVALS condition
    gate: int | None = None  # the analyte whose flag must be one of `flags` (rule_projections.REQUIRED_FLAGS)
    flags: frozenset[str] = frozenset()


class JudgedColumn(NamedTuple):
    """One analyte column of a chunk, an entry per row: what each judged cell carries, taken
    apart in one `zip` (cheaper than reading each attribute of every cell)."""

    fragments: tuple[str, ...]
    signatures: tuple[int | None, ...]
    lead_keys: tuple[float, ...]
    rival_keys: tuple[float, ...]
    judged: tuple[Judged, ...]  # the stand-in with result None where not measured


def column_entry(judged: Judged) -> tuple[str | None, int | None, float, float, Judged]:
    """A judged cell as a JudgedColumn entry: what the wide panels keep of it per row."""
    return judged.fragment, judged.signature, judged.lead_key, judged.rival_key, judged


def _row_cells(columns: list[JudgedColumn], row: int) -> list[Judged | None]:
    """One row's cells from a chunk's columns, None where not measured (a numeric-lane cell is
    measured: its segment's long-way cell says so without making its own result)."""
    return [None if column.judged[row].signed.result is None else column.judged[row] for column in columns]

class RuleBook:
    """Rule ids and normal-panel status for CSV columns, decided per row without messages.

    The same decisions as `interpret_results`, cached on what each rule reads. Each judged cell
    gets a signature once: a number for its flag, whether it has an error, and its
    rule_projections.PROJECTIONS. Rules of a flag condition type, normal-panel and rules with a projection
    depend on a row only through the tuple of its cells' signatures, so they are decided together
    once per distinct tuple (a Decision). The rest (ratios, dominance) read exact values and are
    decided afresh on each row, by comparing keys (rule_projections.LEAD_OVER_RIVALS) where they can:
    a cache keyed on values would only grow. Serial rules never fire in a stream.
    """

    def __init__(self, analyte_ids: Sequence[str], new_cache: Callable[[], dict[Any, Any]]) -> None:
        position = {analyte_id: index for index, analyte_id in enumerate(analyte_ids)}
        self.analyte_ids = tuple(analyte_ids)
        self.keyed: list[Rule] = []  # decided once per distinct row signature
        self.free: list[FreeRule] = []  # rules that read exact values, decided on every row
        self.normal_rule: Rule | None = None
        self.projections: list[list[tuple[Rule, Any]]] = [[] for _ in self.analyte_ids]
        for rule in rules():
            kind = rule.when["type"]
            if kind in SERIAL_EVALUATORS:
                continue
            if kind == "panel_in_range":
                self.normal_rule = rule
            elif not any(a in position for a in rule_subjects(rule)):
                continue  # none of the analytes it is about is in the file: it can never be met
            elif kind in FLAG_CONDITIONS:
                self.keyed.append(rule)
            elif kind in PROJECTIONS:
                self.keyed.append(rule)
                for analyte_id in rule_inputs(rule):
                    if analyte_id in position:
                        self.projections[position[analyte_id]].append((rule, PROJECTIONS[kind]))
            elif kind in LEAD_OVER_RIVALS:
                lead, rivals = LEAD_OVER_RIVALS[kind](rule.when)
                self.free.append(FreeRule(rule, tuple(position[a] for a in rivals if a in position), position[lead]))
            else:  # gated by REQUIRED_FLAGS, or else by its subjects: with none measured it cannot be met
                gate = REQUIRED_FLAGS[kind](rule.when) if kind in REQUIRED_FLAGS else None
                if gate is None:
                    self.free.append(FreeRule(rule, tuple(position[a] for a in rule_subjects(rule) if a in position)))
                elif gate[0] in position:
                    self.free.append(FreeRule(rule, (), gate=position[gate[0]], flags=gate[1]))
        self.order = {rule.id: index for index, rule in enumerate(rules())}
        #: each value-reading rule's id and `_holds` as a function of a row's cells (`_check`)
        self.checks = [(free.rule.id, self._check(free)) for free in self.free]
        self._numbers = itertools.count(1)  # signature numbers, never reused (caches are cleared)
        # kept across the Judge's clears (their entries are few and small, and a Decision costs the
        # rule evaluators' words to make again), bounded on their own at SIGNATURES_KEPT
        self.numbers: dict[tuple[Any, ...], int] = {}  # cell signature -> its number
        self.by_signature: dict[tuple[Any, ...], Decision] = {}  # row signature (numbers) -> Decision
        self.texts = new_cache()  # (keyed ids, free ids, status) -> levlab's panel fields as output text

    def _results(self, judged: Iterable[Judged | None]) -> dict[str, AnalyteResult]:
        return {analyte_id: j.result for analyte_id, j in zip(self.analyte_ids, judged, strict=True)
                if j is not None and j.result is not None}

    def sign(self, position: int, judged: Judged) -> int:
        """What the keyed rules read of one cell, as a number: its flag, whether it has an
        error, and its projections (made once per cell)."""
        analyte_id = self.analyte_ids[position]
        signature = (judged.flag, judged.error is None, *(project(rule.when, analyte_id, judged.result)
                                                          for rule, project in self.projections[position]))
        number = self.numbers.get(signature)
        if number is None:
            if len(self.numbers) >= SIGNATURES_KEPT:
                self.numbers.clear()
                self.by_signature.clear()
            number = self.numbers[signature] = next(self._numbers)
        judged.signature = number
        return number

    def signatures(self, judged: Sequence[Judged | None]) -> tuple[Any, ...]:
        """The row's signature: each cell's (None where not measured)."""
        return tuple([None if j is None else self.sign(i, j) if j.signature is None else j.signature
                      for i, j in enumerate(judged)])

    def _text(self, keyed: tuple[str, ...], free: tuple[str, ...], status: str, sink: Sink) -> str:
        key = (keyed, free, status)
        text = self.texts.get(key)
        if text is None:
            ids = " ".join(sorted((*keyed, *free), key=self.order.__getitem__))
            text = self.texts[key] = sink.fragment([ids, status])
        return text

    def _decision(self, judged: Sequence[Judged | None], sink: Sink) -> Decision:
        if len(self.by_signature) >= SIGNATURES_KEPT:  # (the caller adds the new one)
            self.by_signature.clear()
        # decided from the signatures alone: any cell of the same signature gives the same Decision
        judged = [None if j is None else j.signed for j in judged]
        results = self._results(judged)
        status = "" if self.normal_rule is None else normal_panel_status(self.normal_rule, results).status
        keyed = tuple(r.id for r in self.keyed if decide(r, results))
        return Decision(keyed, status, self._text(keyed, (), status, sink),
                        any(j is not None and j.error is not None for j in judged), has_liver_test(results))

    def _holds(self, free: FreeRule, judged: Sequence[Judged | None]) -> bool:
        """Whether one value-reading rule is met by one row's cells (None: not measured)."""
        if free.lead is not None:  # rule_projections.LEAD_OVER_RIVALS
            lead = judged[free.lead]
            if lead is None or lead.lead_key == _NO_RIVAL:  # no key is below it: never dominant
                return False
            return lead.lead_key > max([judged[p].rival_key for p in free.positions if judged[p] is not None],
                                       default=_NO_RIVAL)
        if free.gate is not None and (judged[free.gate] is None or judged[free.gate].flag not in free.flags):
            return False  # cannot be met on this row
        if free.positions:
            for position in free.positions:
                cell = judged[position]
                if cell is not None and cell.result is not None:
                    break
            else:
                return False  # none of its subjects measured
        return bool(decide(free.rule, self._results(judged)))

    def _check(self, free: FreeRule) -> Callable[[Sequence[Judged | None]], bool]:
        """`_holds(free, ·)` as a function of a row's cells, with what it reads of `free` taken
        out once (panel_text asks it of every panel)."""
        lead_at, positions, rule = free.lead, free.positions, free.rule
        if lead_at is not None:
            def lead_holds(judged: Sequence[Judged | None]) -> bool:
                lead = judged[lead_at]
                if lead is None or lead.lead_key == _NO_RIVAL:  # no key is below it: never dominant
                    return False
                return lead.lead_key > max([judged[p].rival_key for p in positions if judged[p] is not None],
                                           default=_NO_RIVAL)
            return lead_holds
        if free.gate is None and positions:
            def subject_holds(judged: Sequence[Judged | None]) -> bool:
                for position in positions:
                    cell = judged[position]
                    if cell is not None and cell.result is not None:
                        return bool(decide(rule, self._results(judged)))
                return False  # none of its subjects measured
            return subject_holds
        return functools.partial(self._holds, free)

    def panel_text(self, judged: Sequence[Judged | None], signatures: tuple[Any, ...], sink: Sink,
                   serial: tuple[str, ...] = (), *, withhold: str = "") -> str:
        """One panel's PANEL_COLUMNS (rule ids in rules.toml order, normal-panel) as sink text;
        `serial`: the serial rules met against the patient's previous sample (exports.followup);
        `withhold`: "met" when the panel may not be whole or is suspect (split over a stream, rows of
        several dates), so `met` becomes `incomplete`; "all" for a fragment of a sample whose panel
        was written before (exports.grouping): any outcome becomes `incomplete`."""
        decision = self.by_signature.get(signatures)
        if decision is None:
            decision = self.by_signature[signatures] = self._decision(judged, sink)
        fired = tuple([rule_id for rule_id, holds in self.checks if holds(judged)]) + serial if self.checks else serial
        status = ("incomplete" if withhold == "all" or (withhold == "met" and decision.status == "met")
                  else decision.status)
        return self._text(decision.keyed, fired, status, sink) if fired or status != decision.status else decision.text

    def status(self, judged: Sequence[Judged | None], sink: Sink) -> str:
        """The normal-panel status of one panel's judged cells."""
        signatures = self.signatures(judged)
        decision = self.by_signature.get(signatures)
        if decision is None:
            decision = self.by_signature[signatures] = self._decision(judged, sink)
        return decision.status

    def panel_ids(self, judged: Sequence[Judged | None], sink: Sink) -> tuple[tuple[str, ...], str]:
        """One panel's rule ids met (rules.toml order) and normal-panel status: what
        `interpret_results` decides, without its words (the table summary counts these)."""
        signatures = self.signatures(judged)
        decision = self.by_signature.get(signatures)
        if decision is None:
            decision = self.by_signature[signatures] = self._decision(judged, sink)
        return self.ids(decision, tuple(free.rule.id for free in self.free if self._holds(free, judged))), decision.status

    def ids(self, decision: Decision, fired: tuple[str, ...] | None) -> tuple[str, ...]:
        """The rule ids met of a row: its Decision's keyed ones and the value-reading ones that fired."""
        return tuple(sorted((*decision.keyed, *fired), key=self.order.__getitem__)) if fired else decision.keyed

    def panel_texts(self, columns: list[JudgedColumn], count: int, sink: Sink
                    ) -> tuple[list[str], list[Decision], dict[int, tuple[str, ...]]]:
        """PANEL_COLUMNS text of each of `count` rows, its Decision, and the value-reading rules
        that fired by row, from the rows' cells given column by column."""
        keys = list(zip(*[column.signatures for column in columns], strict=True))
        decisions = list(map(self.by_signature.get, keys))
        if None in decisions:
            for row, decision in enumerate(decisions):
                if decision is None:
                    decision = self.by_signature.get(keys[row])
                    if decision is None:
                        decision = self.by_signature[keys[row]] = self._decision(_row_cells(columns, row), sink)
                    decisions[row] = decision
        texts = list(map(_TEXT, decisions))
        fired: dict[int, tuple[str, ...]] = {}
        if not self.free:
            return texts, decisions, fired
        for free in self.free:
            if free.lead is not None:  # the lead's key against the largest of its rivals', column by column
                rivals = [columns[p].rival_keys for p in free.positions]
                highest = map(max, *rivals) if len(rivals) > 1 else rivals[0] if rivals else itertools.repeat(_NO_RIVAL)
                rows: Iterable[int] = itertools.compress(range(count), map(operator.gt, columns[free.lead].lead_keys, highest))
            else:
                rows = [row for row in range(count) if self._holds(free, _row_cells(columns, row))]
            for row in rows:
                fired[row] = (*fired.get(row, ()), free.rule.id)
        for row, ids in fired.items():
            decision = decisions[row]
            text = decision.texts.get(ids)
            if text is None:
                text = decision.texts[ids] = self._text(decision.keyed, ids, decision.status, sink)
            texts[row] = text
        return texts, decisions, fired
