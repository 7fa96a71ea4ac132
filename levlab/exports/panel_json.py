"""A panel's JSONL line put together from parts, without interpreting the whole panel each time.

`json.dumps` of `render.panel_json` (plus the export's rows, key and errors) is what a JSONL line
is; `JsonlSink` gives the panels that carry no follow-up here. Three kinds of part:

* per judged result (a `Piece`, once per result object): its analyte object as JSON text, its
  phrase in the rule messages (`rules.shown_phrase`, JSON-escaped), and a *token*: everything
  else the panel's words read of it — analyte, flag, the projections of the rules that read
  more than flags (`rules.PROJECTIONS`), default interval, unit note, warnings, and the reason of
  an indeterminate result;
* per *shape* (the tuple of its results' tokens, a `Plan`): the panel interpreted once by the
  core itself (`interpret.interpret_results`) with a marker in place of each result's phrase
  (`rules.phrases_marked`), dumped as JSON and cut at the markers: the flags, undecided, normal
  panel, default intervals, notes and warnings as constant text with a hole per phrase;
* per panel: the phrases put in the holes; the rules whose messages read exact values (above,
  below, ratio, dominance) evaluated by their own evaluator (one of one result once per result),
  the R-ratio pattern and the relation note by their own functions; rows, key and errors.

The messages' words are the core's (nothing here writes a rule text); a property test checks
every line against `json.dumps` of the whole document on random panels. JSON string escaping
is per character, so escaped parts joined are the escaped whole.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
from collections.abc import Sequence
from typing import Any

from levlab.catalog import analytes
from levlab.grading import grade, r_ratio_pattern, relation_note
from levlab.interpret import interpret_results, uses_default_interval
from levlab.language import Msg
from levlab.model import AnalyteResult, Patient, RuleHit
from levlab.render import analyte_json, panel_json_head, pattern_json
from levlab.rules import (
    EVALUATORS,
    FLAG_CONDITIONS,
    PROJECTIONS,
    Rule,
    phrases_marked,
    rule_inputs,
    rule_subjects,
    rules,
    shown_phrase,
)

#: condition types whose message reads the results only through their flags, their projections
#: and their phrases: made once per shape with holes for the phrases
TEMPLATED = FLAG_CONDITIONS | {"x_uln_all"}
#: pieces kept (one per judged result); past this many they start again
PIECES_KEPT = 8_192
#: plans kept (one per distinct shape of panel); past this many they start again
PLANS_KEPT = 2_048

_NONCE = secrets.token_hex(8)
_dumps = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(value, ensure_ascii=False)
_HOLE = re.compile(re.escape(_dumps(f"\x00{_NONCE}:")[1:-1]) + r"(\d+)" + re.escape(_dumps("\x00")[1:-1]))


def _escaped(text: str) -> str:
    """`text` as inside a JSON string."""
    return _dumps(text)[1:-1]


def _template(text: str) -> str | tuple[str | int, ...]:
    """JSON text with holes cut at the phrase markers: constant text and result positions, or
    the text itself when it has none."""
    parts = _HOLE.split(text)
    if len(parts) == 1:
        return text
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts) if part or index % 2)


class _PatientOnly:
    """What `render.panel_json_head` reads of a panel."""

    __slots__ = ("patient",)

    def __init__(self, patient: Patient) -> None:
        self.patient = patient


class Piece:
    """One judged result's parts (see the module text)."""

    __slots__ = ("analyte", "order", "phrase", "result", "text", "token", "values")

    def __init__(self, result: AnalyteResult, order: int, token: int) -> None:
        self.result = result
        self.analyte = result.analyte
        self.order = order  # its analyte's place in the catalogue: the panel's order
        self.token = token
        self.text = (_dumps(result.analyte) + ": "
                     + _dumps(analyte_json(result, grade(result))))  # `"alt": {...}`, as in panel_json
        self.phrase: str | None = None  # JSON-escaped `shown_phrase`, made on first use
        self.values: dict[str, tuple[Any, Any]] = {}  # one-result rule id -> (outcome, its JSON text)


class Plan:
    """The parts of one shape of panel (see the module text)."""

    __slots__ = ("after", "normal", "slots")

    def __init__(self, slots: list[tuple[str, Any]], normal: str | tuple[str | int, ...], after: str) -> None:
        #: in rules.toml order: ("hit" | "undecided", (rule id, template)) for a templated rule, or
        #: ("value", rule) for a rule decided on each panel
        self.slots = slots
        self.normal = normal  # `"normal_panel": {...}` with holes
        self.after = after  # `"default_intervals": ..., "notes": ..., "warnings": [...` (open: a panel may add)


class PanelJson:
    """JSONL lines of panels from their judged results; caches bounded."""

    def __init__(self) -> None:
        self.order = {analyte_id: index for index, analyte_id in enumerate(analytes())}
        self.rules = rules()
        self.templated = [rule for rule in self.rules if rule.when["type"] in TEMPLATED]
        self.projected = {}  # analyte id -> [(rule, projection)] of the templated rules that read more than its flag
        for rule in self.templated:
            if rule.when["type"] in PROJECTIONS:
                for analyte_id in rule_inputs(rule):
                    self.projected.setdefault(analyte_id, []).append((rule, PROJECTIONS[rule.when["type"]]))
        self.serial = {rule.id for rule in self.rules if rule.when["type"] not in EVALUATORS}
        self.pieces: dict[int, Piece] = {}  # id(result) -> its piece (holding the result: ids are not reused)
        self.tokens: dict[Any, int] = {}  # token -> its number
        self.numbers = itertools.count(1)
        self.plans: dict[tuple[int, ...], Plan | None] = {}  # shape -> plan (None: not put together from parts)
        self.heads: dict[Patient, str] = {}
        self.disclaimer = ', "disclaimer": ' + _dumps(_disclaimer())

    def piece(self, result: AnalyteResult) -> Piece:
        """The result's piece, made once per result object."""
        piece = self.pieces.get(id(result))
        if piece is None or piece.result is not result:
            if len(self.pieces) >= PIECES_KEPT:
                self.pieces.clear()
            piece = self.pieces[id(result)] = Piece(result, self.order[result.analyte], self._token(result))
        return piece

    def _token(self, result: AnalyteResult) -> int:
        """The number of what the panel's words read of the result besides its phrase."""
        m = result.measurement
        notes = (f"{result.analyte}: no unit given, {m.unit} assumed",) if m is not None and m.unit_assumed else ()
        token = (result.analyte, result.flag, uses_default_interval(result), notes, result.warnings,
                 tuple(project(rule.when, result.analyte, result) for rule, project in self.projected.get(result.analyte, ())),
                 result.reason if result.flag == "?" else None,
                 (m is None, m.unit_from_settings, m.input) if result.warnings and m is not None else None)
        number = self.tokens.get(token)
        if number is None:
            if len(self.tokens) >= PIECES_KEPT:
                self.tokens.clear()  # (numbers are never reused: a plan keyed by an old one stays true)
            number = self.tokens[token] = next(self.numbers)
        return number

    def line(self, results: Sequence[AnalyteResult], patient: Patient, rows: list[int], key: dict[str, str],
             errors: list[dict[str, Any]], warnings: Sequence[str] = (), follow_up: Any = None) -> str | None:
        """The panel's JSON line (without its line end), or None when it is not put together from
        parts (two results of one analyte)."""
        pieces = sorted(map(self.piece, results), key=_ORDER)
        shape = tuple([piece.token for piece in pieces])
        plan = self.plans.get(shape, _MISSING)
        if plan is _MISSING:
            plan = self._plan(shape, pieces, patient)
        if plan is None:
            return None
        head = self.heads.get(patient)
        if head is None:
            if len(self.heads) >= PIECES_KEPT:
                self.heads.clear()
            head = self.heads[patient] = _dumps(panel_json_head(_PatientOnly(patient)))[:-1]  # type: ignore[arg-type]
        hits: list[str] = []
        undecided: list[str] = []
        hit_ids: list[str] = []
        by_id: dict[str, AnalyteResult] | None = None
        for kind, slot in plan.slots:
            if kind == "hit":
                hit_ids.append(slot[0])
                hits.append(slot[1] if slot[1].__class__ is str else self._fill(slot[1], pieces))
            elif kind == "undecided":
                undecided.append(slot[1] if slot[1].__class__ is str else self._fill(slot[1], pieces))
            else:
                if by_id is None:
                    by_id = {piece.analyte: piece.result for piece in pieces}
                outcome, text = self._value(slot, by_id, pieces)
                if outcome:
                    hit_ids.append(slot.id)
                    hits.append(text)
                elif text is not None:
                    undecided.append(text)
        if by_id is None:
            by_id = {piece.analyte: piece.result for piece in pieces}
        pattern = r_ratio_pattern(by_id)
        relation = relation_note(hit_ids, pattern)
        normal = plan.normal if plan.normal.__class__ is str else self._fill(plan.normal, pieces)  # type: ignore[arg-type]
        after = plan.after
        if warnings:
            after += (", " if not after.endswith("[") else "") + ", ".join(map(_dumps, warnings))
        tail: dict[str, Any] = {"rows": rows, "key": key, "errors": errors}
        if follow_up is not None:
            tail["follow_up"] = follow_up
        return (f'{head}, "analytes": {{{", ".join([piece.text for piece in pieces])}}}, "baseline": {{}}, '
                f'"pattern": {"null" if pattern is None else _dumps(pattern_json(pattern))}, '
                f'"relation": {"null" if relation is None else _dumps(relation)}, '
                f'"flags": [{", ".join(hits)}], "undecided": [{", ".join(undecided)}], {normal}, {after}]'
                f'{self.disclaimer}, {_dumps(tail)[1:]}')

    def _fill(self, template: tuple[str | int, ...], pieces: list[Piece]) -> str:
        """A template with each hole given its result's phrase."""
        parts = []
        for part in template:
            if part.__class__ is int:
                piece = pieces[part]  # type: ignore[index]
                if piece.phrase is None:
                    piece.phrase = _escaped(shown_phrase(piece.result))
                parts.append(piece.phrase)
            else:
                parts.append(part)
        return "".join(parts)  # type: ignore[arg-type]

    def _value(self, rule: Rule, by_id: dict[str, AnalyteResult], pieces: list[Piece]) -> tuple[Any, str | None]:
        """A rule that reads exact values, as `rules.evaluate_rules` decides it: (outcome, the JSON
        text of its flag or undecided entry, None when neither); once per result for a rule of one result."""
        inputs = rule_inputs(rule)
        if len(inputs) == 1 and inputs[0] in by_id:
            piece = next(piece for piece in pieces if piece.analyte == inputs[0])
            found = piece.values.get(rule.id)
            if found is None:
                found = piece.values[rule.id] = self._evaluated(rule, {inputs[0]: by_id[inputs[0]]})
            return found
        return self._evaluated(rule, by_id)

    @staticmethod
    def _evaluated(rule: Rule, by_id: dict[str, AnalyteResult]) -> tuple[Any, str | None]:
        outcome, account = EVALUATORS[rule.when["type"]](rule.when, by_id)
        if outcome:
            return outcome, _hit_json(RuleHit(rule.id, rule.kind, Msg("{account}: {statement}", account=account,
                                                                      statement=rule.statement), rule.source, rule.section))
        if outcome is None and any(name in by_id for name in rule_subjects(rule)):
            return outcome, _dumps(Msg("{rule}: {account}", rule=rule.id, account=account))
        return outcome, None

    def _plan(self, shape: tuple[int, ...], pieces: list[Piece], patient: Patient) -> Plan | None:
        """The plan of a shape, from the core's interpretation of this panel with its phrases marked."""
        if len(self.plans) >= PLANS_KEPT:
            self.plans.clear()
        if len({piece.analyte for piece in pieces}) < len(pieces):
            self.plans[shape] = None
            return None
        positions = {id(piece.result): index for index, piece in enumerate(pieces)}
        with phrases_marked(lambda result: f"\x00{_NONCE}:{positions[id(result)]}\x00"):
            panel = interpret_results([piece.result for piece in pieces], patient)
        present = {piece.analyte for piece in pieces}
        hits = {hit.rule_id: hit for hit in panel.hits}
        undecided = {entry.fields["rule"]: entry for entry in panel.undecided}  # type: ignore[attr-defined]
        slots: list[tuple[str, Any]] = []
        for rule in self.rules:
            kind = rule.when["type"]
            if rule.id in self.serial or kind == "panel_in_range":
                continue  # no previous sample here; normal-panel below
            if kind in TEMPLATED or not present & set(rule_inputs(rule)):  # (none of its inputs: constant)
                if rule.id in hits:
                    slots.append(("hit", (rule.id, _template(_hit_json(hits[rule.id])))))
                elif rule.id in undecided:
                    slots.append(("undecided", (rule.id, _template(_dumps(undecided[rule.id])))))
            elif present & set(rule_subjects(rule)) or rule.id in hits:
                slots.append(("value", rule))
            # else: none of the analytes it is about is given: never met nor said undecided (rules.rule_subjects)
        normal = panel.normal_panel
        normal_text = _template('"normal_panel": ' + _dumps({
            "status": normal.status, "reason": normal.reason, "statement": normal.statement,
            "default_intervals": list(panel.normal_panel_defaults)}))
        after = (f'"default_intervals": {_dumps(list(panel.default_intervals))}, "notes": {_dumps(list(panel.notes))}, '
                 f'"warnings": {_dumps(list(panel.warnings))[:-1]}')
        if _HOLE.search(after):
            self.plans[shape] = None  # (never: no phrase there)
            return None
        plan = self.plans[shape] = Plan(slots, normal_text, after)
        return plan


_MISSING: Any = object()


def _ORDER(piece: Piece) -> int:
    return piece.order


def _hit_json(hit: RuleHit) -> str:
    """A rule met, as an entry of `flags` in render.panel_json_tail."""
    return _dumps({"id": hit.rule_id, "kind": hit.kind, "message": hit.message, "source": hit.source,
                   "section": hit.section})


def _disclaimer() -> str:
    from levlab import DISCLAIMER

    return DISCLAIMER
