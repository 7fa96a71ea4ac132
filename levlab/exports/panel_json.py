"""A panel's JSONL line put together from parts, without interpreting the whole panel each time.

`json.dumps` of `render.panel_json` (plus the export's rows, key and errors) is what a JSONL line
is; `JsonlSink` gives the panels that carry no follow-up here. Three kinds of part:

* per judged result (a `Piece`, once per result object, `exports.result_pieces`): its analyte object as JSON text, its
  phrase in the rule messages (`rules.shown_phrase`, JSON-escaped), and a *token*: everything
  else the panel's words read of it — analyte, flag, the projections of the rules that read
  more than flags (`rule_projections.PROJECTIONS`), default interval, unit note, warnings, and the reason of
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

import math
import operator
import re
from collections.abc import Sequence
from typing import Any

from levlab.exports.json_text import NONCE as _NONCE
from levlab.exports.json_text import dumps as _dumps
from levlab.exports.json_text import escaped as _escaped
from levlab.exports.json_text import string as _string
from levlab.exports.result_pieces import TOKENS_KEPT, Piece, ResultPieces
from levlab.grading import classified_pattern, relation_note
from levlab.interpret import interpret_results
from levlab.language import Msg
from levlab.model import AnalyteResult, Patient, RuleHit
from levlab.render import panel_json_head, pattern_json
from levlab.rule_projections import FLAG_CONDITIONS, rule_inputs
from levlab.rules import EVALUATORS, Rule, phrases_marked, rule_subjects, rules, shown_phrase

#: condition types whose message reads the results only through their flags, their projections
#: and their phrases: made once per shape with holes for the phrases
TEMPLATED = FLAG_CONDITIONS | {"x_uln_all"}
#: flag and undecided entries of the rules that read values, kept per account (they repeat only
#: where values do)
ENTRIES_KEPT = 1_024
#: plans kept (one per distinct shape of panel); past this many they start again
PLANS_KEPT = 2_048
_HOLE = re.compile(re.escape(_dumps(f"\x00{_NONCE}:")[1:-1]) + r"(\d+)" + re.escape(_dumps("\x00")[1:-1]))


def _template(text: str, holes: set[int]) -> tuple[bool, str]:
    """JSON text with a hole at each phrase marker: (whether it has one, the text as a format
    string whose fields are result positions, `{2}`); the positions are added to `holes`."""
    parts = _HOLE.split(text)
    if len(parts) == 1:
        return False, text
    holes.update(int(part) for part in parts[1::2])
    return True, "".join("{" + part + "}" if index % 2 else part.replace("{", "{{").replace("}", "}}")
                         for index, part in enumerate(parts))


class _PatientOnly:
    """What `render.panel_json_head` reads of a panel."""

    __slots__ = ("patient",)

    def __init__(self, patient: Patient) -> None:
        self.patient = patient


#: what a plan's slot is: a templated rule met or undecided, or a rule decided on each panel
HIT, UNDECIDED, VALUE = 0, 1, 2


class Plan:
    """The parts of one shape of panel (see the module text)."""

    __slots__ = ("after", "holes", "normal", "slots")

    def __init__(self, slots: list[tuple[int, Any, Any, Any]], normal: tuple[bool, str], after: str,
                 holes: tuple[int, ...]) -> None:
        #: in rules.toml order: (HIT | UNDECIDED, rule id, whether it has holes, its JSON text or
        #: format string) for a templated rule, (VALUE, rule, its one input's position or None, its inputs)
        self.slots = slots
        self.normal = normal  # `"normal_panel": {...}`, with holes or not
        self.after = after  # `"default_intervals": ..., "notes": ..., "warnings": [...` (open: a panel may add)
        self.holes = holes  # the positions of the results whose phrase a hole takes


class PanelJson(ResultPieces):
    """JSONL lines of panels from their judged results (each result's parts: `ResultPieces`);
    caches bounded."""

    def __init__(self) -> None:
        self.rules = rules()
        self.templated = [rule for rule in self.rules if rule.when["type"] in TEMPLATED]
        super().__init__(self.templated)
        self.serial = {rule.id for rule in self.rules if rule.when["type"] not in EVALUATORS}
        self.inputs = {rule.id: rule_inputs(rule) for rule in self.rules}  # what each rule's condition reads
        self.plans: dict[tuple[int, ...], Plan | None] = {}  # shape -> plan (None: not put together from parts)
        self.heads: dict[Patient, str] = {}
        self.entries: dict[tuple[str, bool, str], str] = {}  # (rule id, met, account) -> its flags / undecided entry
        self.relations: dict[tuple[tuple[str, ...], bool], str] = {}  # (rule ids met, no pattern) -> relation text
        self.disclaimer = ', "disclaimer": ' + _dumps(_disclaimer())

    def line(self, results: Sequence[AnalyteResult], patient: Patient, rows: list[int], key: dict[str, str],
             errors: list[dict[str, Any]], warnings: Sequence[str] = (), follow_up: Any = None) -> str | None:
        """The panel's JSON line (without its line end), or None when it is not put together from
        parts (two results of one analyte)."""
        # (a piece holds its result, so no other object can have its id while it is kept)
        pieces = list(map(self.pieces.get, map(id, results)))
        if None in pieces:
            self.lines_new += 1
            pieces = list(map(self.piece, results))
        else:
            self.lines_kept += 1
        pieces.sort(key=_ORDER)
        shape = tuple(map(_TOKEN, pieces))
        plan = self.plans.get(shape, _MISSING)
        if plan is _MISSING:
            plan = self._plan(shape, pieces, patient)
        if plan is None:
            return None
        head = self.heads.get(patient)
        if head is None:
            if len(self.heads) >= TOKENS_KEPT:
                self.heads.clear()
            head = self.heads[patient] = _dumps(panel_json_head(_PatientOnly(patient)))[:-1]  # type: ignore[arg-type]
        for position in plan.holes:
            piece = pieces[position]
            if piece.phrase is None:
                piece.phrase = _escaped(shown_phrase(piece.result))
        phrases = [piece.phrase for piece in pieces]
        hits, undecided, hit_ids = self._rules(plan, pieces, phrases)
        pattern = None
        if any([piece.classifies for piece in pieces]):
            pattern = classified_pattern({piece.analyte: piece.result for piece in pieces})
        known = (tuple(hit_ids), pattern is None)  # all `relation_note` reads of them
        relation = self.relations.get(known)
        if relation is None:
            if len(self.relations) >= PLANS_KEPT:
                self.relations.clear()
            found = relation_note(hit_ids, pattern)
            relation = self.relations[known] = "null" if found is None else _dumps(found)
        normal = plan.normal[1].format(*phrases) if plan.normal[0] else plan.normal[1]
        after = plan.after
        if warnings:
            after += (", " if not after.endswith("[") else "") + ", ".join(map(_dumps, warnings))
        return (f'{head}, "analytes": {{{", ".join([piece.text for piece in pieces])}}}, "baseline": {{}}, '
                f'"pattern": {"null" if pattern is None else _flat(pattern_json(pattern))}, '
                f'"relation": {relation}, '
                f'"flags": [{", ".join(hits)}], "undecided": [{", ".join(undecided)}], {normal}, {after}]'
                f'{self.disclaimer}, {_rest(rows, key, errors, follow_up)}}}')

    def _rules(self, plan: Plan, pieces: list[Piece], phrases: list[str | None]
               ) -> tuple[list[str], list[str], list[str]]:
        """The panel's `flags` and `undecided` entries as JSON texts, and the rule ids met."""
        hits: list[str] = []
        undecided: list[str] = []
        hit_ids: list[str] = []
        by_id: dict[str, AnalyteResult] | None = None
        for kind, name, holed, text in plan.slots:
            if kind == HIT:
                hit_ids.append(name)
                hits.append(text.format(*phrases) if holed else text)
            elif kind == UNDECIDED:
                undecided.append(text.format(*phrases) if holed else text)
            else:
                if holed is not None:  # a rule of one result: decided once per result
                    piece = pieces[holed]
                    found = piece.values.get(name.id)
                    if found is None:
                        found = piece.values[name.id] = self._evaluated(name, {piece.analyte: piece.result})
                    outcome, entry = found
                else:
                    if by_id is None:
                        by_id = {piece.analyte: piece.result for piece in pieces}
                    outcome, entry = self._evaluated(name, by_id)
                if outcome:
                    hit_ids.append(name.id)
                    hits.append(entry)
                elif entry is not None:
                    undecided.append(entry)
        return hits, undecided, hit_ids

    def _evaluated(self, rule: Rule, by_id: dict[str, AnalyteResult]) -> tuple[Any, str | None]:
        """A rule that reads exact values, as `rules.evaluate_rules` decides it: (outcome, the JSON
        text of its flag or undecided entry, None when neither); the text made once per account."""
        outcome, account = EVALUATORS[rule.when["type"]](rule.when, by_id)
        if not outcome and (outcome is not None or not any(name in by_id for name in rule_subjects(rule))):
            return outcome, None
        key = (rule.id, bool(outcome), account)
        text = self.entries.get(key)
        if text is None:
            if len(self.entries) >= ENTRIES_KEPT:
                self.entries.clear()
            text = self.entries[key] = (
                _hit_json(RuleHit(rule.id, rule.kind, Msg("{account}: {statement}", account=account,
                                                          statement=rule.statement), rule.source, rule.section))
                if outcome else _dumps(Msg("{rule}: {account}", rule=rule.id, account=account)))
        return outcome, text

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
        place = {piece.analyte: index for index, piece in enumerate(pieces)}
        hits = {hit.rule_id: hit for hit in panel.hits}
        undecided = {entry.fields["rule"]: entry for entry in panel.undecided}  # type: ignore[attr-defined]
        holes: set[int] = set()
        slots: list[tuple[int, Any, Any, Any]] = []
        for rule in self.rules:
            kind = rule.when["type"]
            if rule.id in self.serial or kind == "panel_in_range":
                continue  # no previous sample here; normal-panel below
            inputs = rule_inputs(rule)
            if kind in TEMPLATED or not place.keys() & set(inputs):  # (none of its inputs: constant)
                if rule.id in hits:
                    slots.append((HIT, rule.id, *_template(_hit_json(hits[rule.id]), holes)))
                elif rule.id in undecided:
                    slots.append((UNDECIDED, rule.id, *_template(_dumps(undecided[rule.id]), holes)))
            elif place.keys() & set(rule_subjects(rule)) or rule.id in hits:
                slots.append((VALUE, rule, place[inputs[0]] if len(inputs) == 1 else None, inputs))
            # else: none of the analytes it is about is given: never met nor said undecided (rules.rule_subjects)
        normal = panel.normal_panel
        normal_text = _template('"normal_panel": ' + _dumps({
            "status": normal.status, "reason": normal.reason, "statement": normal.statement,
            "default_intervals": list(panel.normal_panel_defaults)}), holes)
        after = (f'"default_intervals": {_dumps(list(panel.default_intervals))}, "notes": {_dumps(list(panel.notes))}, '
                 f'"warnings": {_dumps(list(panel.warnings))[:-1]}')
        if _HOLE.search(after):
            self.plans[shape] = None  # (never: no phrase there)
            return None
        plan = self.plans[shape] = Plan(slots, normal_text, after, tuple(sorted(holes)))
        return plan


_MISSING: Any = object()


_ORDER = operator.attrgetter("order")
_TOKEN = operator.attrgetter("token")


def _rest(rows: list[int], key: dict[str, str], errors: list[dict[str, Any]], follow_up: Any) -> str:
    """The fields JsonlSink adds after `disclaimer`: rows, key, errors and follow-up (when followed)."""
    rest = (f'"rows": [{", ".join(map(str, rows))}], '
            f'"key": {{{", ".join([_string(name) + ": " + _string(value) for name, value in key.items()])}}}, '
            f'"errors": {_dumps(errors) if errors else "[]"}')
    if follow_up is not None:
        rest += ', "follow_up": ' + _dumps(follow_up)
    return rest


def _flat(mapping: dict[str, Any]) -> str:
    """`json.dumps(mapping, ensure_ascii=False)` of a dict of texts, floats and None, made directly
    (json.dumps sets up an encoder on each call); any other value through json.dumps."""
    parts = []
    for name, value in mapping.items():
        if isinstance(value, str):
            text = _string(value)
        elif value is None:
            text = "null"
        elif value.__class__ is float and math.isfinite(value):
            text = float.__repr__(value)
        else:
            text = _dumps(value)
        parts.append(f"{_string(name)}: {text}")
    return "{" + ", ".join(parts) + "}"


def _hit_json(hit: RuleHit) -> str:
    """A rule met, as an entry of `flags` in render.panel_json_tail."""
    return _flat({"id": hit.rule_id, "kind": hit.kind, "message": hit.message, "source": hit.source,
                   "section": hit.section})


def _disclaimer() -> str:
    from levlab import DISCLAIMER

    return DISCLAIMER
