"""A panel's JSONL line put together from parts, without interpreting the whole panel each time.

`json.dumps` of `render.panel_json` (plus the export's rows, key and errors) is what a JSONL line
is; `JsonlSink` gives the panels that carry no follow-up here. Three kinds of part:

* per judged result (a `Piece`, once per result object or numeric-lane cell,
  `exports.result_pieces`): its analyte object as JSON text, its phrase in the rule messages
  (`rules.shown_phrase`, JSON-escaped), and a *token*: everything else the panel's words read of
  it — analyte, flag, the projections of the rules that read more than flags
  (`rule_projections.PROJECTIONS`), default interval, unit note, warnings, whether it sets off
  the R-ratio pattern, and the reason of an indeterminate result;
* per *shape* (the tuple of its results' tokens, a `Plan`): each rule's entry and the normal
  panel as the core's own evaluation gives them (`rules.rule_outcome`, `normal_panel_status`)
  with a marker in place of each result's phrase (`rules.phrases_marked`), dumped as JSON and
  cut at the markers — kept per rule and the tokens of the results that rule reads (`_part`),
  so a new shape is mostly put together from parts seen before; where that does not hold the
  whole panel interpreted by `interpret.interpret_results` (`_whole_plan`, the tests' reference);
* per panel: the rules whose messages read exact values (above, below, ratio, dominance)
  decided by their own evaluator — a rule of one result once per result, or once per segment
  kind with the number put in; dominance from keys — and then one format string per plan and
  place of those rules' entries (`Plan.variant`) takes the phrases and entries; the R-ratio
  pattern from its two multiples (`panel_line.pattern_text`), the relation note by its own
  function; rows, key and errors.

The messages' words are the core's (nothing here writes a rule text); a property test checks
every line against `json.dumps` of the whole document on random panels. JSON string escaping
is per character, so escaped parts joined are the escaped whole.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from typing import Any

from levlab.exports.json_text import NONCE as _NONCE
from levlab.exports.json_text import braced
from levlab.exports.json_text import dumps as _dumps
from levlab.exports.json_text import escaped as _escaped
from levlab.exports.panel_line import HIT, LEAD, UNDECIDED, VALUE, Plan, lead_decided, pattern_text
from levlab.exports.panel_line import hit_json as _hit_json
from levlab.exports.panel_line import r_ratio as _r_ratio
from levlab.exports.panel_line import rest as _rest
from levlab.exports.panel_line import value_slot as _value_slot
from levlab.exports.result_pieces import LONG_WAY, TOKENS_KEPT, Piece, ResultPieces
from levlab.grading import classified_pattern, relation_note
from levlab.interpret import default_judged, interpret_results, panel_notes
from levlab.language import Msg
from levlab.model import AnalyteResult, Patient, Pattern, RuleHit, results_warnings
from levlab.render import panel_json_head, pattern_json
from levlab.rule_projections import FLAG_CONDITIONS, rule_inputs
from levlab.rules import (
    EVALUATORS,
    Rule,
    normal_panel_status,
    phrases_marked,
    rule_outcome,
    rule_subjects,
    rules,
    shown_phrase,
)
from levlab.values import format_number

#: condition types whose message reads the results only through their flags, their projections
#: and their phrases: made once per shape with holes for the phrases
TEMPLATED = FLAG_CONDITIONS | {"x_uln_all"}
#: flag and undecided entries of the rules that read values, kept per account (they repeat only
#: where values do)
ENTRIES_KEPT = 1_024
#: plans kept (one per distinct shape of panel); past this many they start again
PLANS_KEPT = 2_048
_HOLE = re.compile(re.escape(_dumps(f"\x00{_NONCE}:")[1:-1]) + r"(\d+)" + re.escape(_dumps("\x00")[1:-1]))


def _placed(text: str, positions: list[int]) -> str:
    """JSON text with a phrase marker per k-th result of a part (`PanelJson._part`), its markers
    renumbered to those results' positions in the panel."""
    return _HOLE.sub(lambda found: _dumps(f"\x00{_NONCE}:{positions[int(found.group(1))]}\x00")[1:-1], text)


def _template(text: str, holes: set[int]) -> tuple[bool, str]:
    """JSON text with a hole at each phrase marker: (whether it has one, the text as a format
    string whose fields are result positions, `{2}`); the positions are added to `holes`."""
    parts = _HOLE.split(text)
    if len(parts) == 1:
        return False, text
    holes.update(int(part) for part in parts[1::2])
    return True, "".join("{" + part + "}" if index % 2 else braced(part)
                         for index, part in enumerate(parts))


class _PatientOnly:
    """What `render.panel_json_head` reads of a panel."""

    __slots__ = ("patient",)

    def __init__(self, patient: Patient) -> None:
        self.patient = patient


class PanelJson(ResultPieces):
    """JSONL lines of panels from their judged results (each result's parts: `ResultPieces`);
    caches bounded."""

    def __init__(self) -> None:
        self.rules = rules()
        self.templated = [rule for rule in self.rules if rule.when["type"] in TEMPLATED]
        self.serial = {rule.id for rule in self.rules if rule.when["type"] not in EVALUATORS}
        super().__init__(self.templated, [  # the rules decided once per result (a VALUE slot of one input)
            rule for rule in self.rules if rule.when["type"] not in TEMPLATED and rule.id not in self.serial
            and rule.when["type"] != "panel_in_range" and len(rule_inputs(rule)) == 1])
        self.inputs = {rule.id: rule_inputs(rule) for rule in self.rules}  # what each rule's condition reads
        # the rules a plan has a slot for, with their type and inputs (no serial rule: no previous
        # sample here; the normal panel has its own place)
        self.planned = [(rule, rule.when["type"], self.inputs[rule.id]) for rule in self.rules
                        if rule.id not in self.serial and rule.when["type"] != "panel_in_range"]
        self.plans: dict[tuple[int, ...], Plan | None] = {}
        self.parts: dict[tuple[Any, ...], Any] = {}  # (rule id, tokens, analytes) -> its part of a plan (`_part`)
        self.placed: dict[tuple[str, tuple[int, ...]], Any] = {}  # (a part's text, positions) -> `_slot_text`
        self.normal_rule = next((rule for rule in self.rules if rule.when["type"] == "panel_in_range"), None)
        # plans are put together per rule where every rule is about results it reads (else `_whole_plan`)
        self.composable = self.normal_rule is not None and all(
            set(rule_subjects(rule)) <= set(self.inputs[rule.id]) for rule in self.rules)  # shape -> plan (None: not put together from parts)
        self.heads: dict[int, tuple[Patient, str, bytes]] = {}  # id(patient) -> (patient, its head text, in UTF-8)
        self.leads: dict[tuple[str, str, str], Any] = {}  # a dominance met: (rule id, lead, its multiple) -> (True, entry)
        self.entries: dict[tuple[str, bool, str], str] = {}  # (rule id, met, account) -> its flags / undecided entry
        self.disclaimer = ', "disclaimer": ' + _dumps(_disclaimer())

    def line(self, results: Sequence[AnalyteResult], patient: Patient, rows: list[int], key: dict[str, str],
             errors: list[dict[str, Any]], warnings: Sequence[str] = (), follow_up: Any = None) -> str | None:
        """The panel's JSON line (without its line end), or None when it is not put together from
        parts (two results of one analyte)."""
        made = self._made(results, patient, rows, key, errors, warnings, follow_up)
        if made is None:
            return None
        head, pieces, back = made
        return f'{head[1]}{", ".join([piece.text for piece in pieces])}{back}'

    def line_bytes(self, results: Sequence[AnalyteResult], patient: Patient, rows: list[int], key: dict[str, str],
                   errors: list[dict[str, Any]], warnings: Sequence[str] = (), follow_up: Any = None) -> bytes | None:
        """`line` with its line end, in UTF-8: each analyte's text (most of a line) encoded once per piece."""
        made = self._made(results, patient, rows, key, errors, warnings, follow_up)
        if made is None:
            return None
        head, pieces, back = made
        try:
            texts = b", ".join(map(_DATA, pieces))
        except TypeError:  # a piece not yet encoded
            for piece in pieces:
                if piece.data is None:
                    piece.data = piece.text.encode()
            texts = b", ".join(map(_DATA, pieces))
        return b"".join((head[2], texts, back.encode(), b"\n"))

    def _made(self, results: Sequence[AnalyteResult], patient: Patient, rows: list[int], key: dict[str, str],
              errors: list[dict[str, Any]], warnings: Sequence[str], follow_up: Any
              ) -> tuple[tuple[Patient, str, bytes], list[Piece], str] | None:
        """The line's head (its patient, and its text before the analytes, also in UTF-8), its
        pieces (in the panel's order: their texts joined by ", " come next), and its text after
        them; None as in `line`."""
        # (a piece holds its result, so no other object can have its id while it is kept)
        pieces = list(map(self.pieces.get, map(id, results)))
        if None in pieces:
            self.lines_new += 1
            pieces = list(map(self.piece, results))
        else:
            self.lines_kept += 1
        pieces.sort(key=_ORDER)
        plan = self.plans.get(tuple(map(_TOKEN, pieces)), _MISSING)
        if plan is _MISSING:
            plan = self._plan(tuple(map(_TOKEN, pieces)), pieces, patient)
        if plan is None:
            return None
        head = self.heads.get(id(patient))  # (patients are shared per sex and age: kept by identity)
        if head is None or head[0] is not patient:
            if len(self.heads) >= TOKENS_KEPT:
                self.heads.clear()
            front = _dumps(panel_json_head(_PatientOnly(patient)))[:-1] + ', "analytes": {'  # type: ignore[arg-type]
            head = self.heads[id(patient)] = (patient, front, front.encode())
        phrases = [piece.phrase for piece in pieces]
        if None in phrases:  # (a piece made the long way: its phrase made when a hole first asks for it)
            for position in plan.holes:
                piece = pieces[position]
                if piece.phrase is None:
                    piece.phrase = _escaped(shown_phrase(piece.result))
            phrases = [piece.phrase for piece in pieces]
        places, entries = self._decided(plan, pieces)
        pattern = "null"
        ratio_at = plan.ratio_at
        if ratio_at is not None:
            pattern = pattern_text(pieces[ratio_at[0]].x_uln, pieces[ratio_at[1]].x_uln,
                                   lambda: pattern_json(classified_pattern(_by_id(pieces))))
        places.append(pattern == "null")
        known = tuple(places)
        variant = plan.variants.get(known) or plan.variant(known, len(pieces), _relation)
        middle = variant.format(*phrases, *entries)
        if warnings:
            middle += (", " if not middle.endswith("[") else "") + ", ".join(map(_dumps, warnings))
        return (head, pieces,
                f'}}, "baseline": {{}}, "pattern": {pattern}, {middle}]{self.disclaimer}, {_rest(rows, key, errors, follow_up)}}}')

    def _decided(self, plan: Plan, pieces: list[Piece]) -> tuple[list[Any], list[str]]:
        """The panel's rules decided on each panel (`Plan.decided`): each one's place (0 neither,
        1 flags, 2 undecided) and its entry as JSON text ("" for neither)."""
        places: list[Any] = []
        entries: list[str] = []
        for kind, rule, holed, text in plan.decided:
            if holed is not None:  # a rule of one result: decided once per result
                piece = pieces[holed]
                found = piece.values.get(rule.id)
                if found is None:
                    found = piece.values[rule.id] = self._one_result(rule, piece)
                outcome, entry = found
            elif kind == LEAD:  # met exactly when the lead's key exceeds every rival's
                outcome, entry = lead_decided(rule, text, pieces, lambda: _by_id(pieces), self._evaluated, self.leads)
            else:
                outcome, entry = self._evaluated(rule, _by_id(pieces))
            if outcome:
                places.append(1)
                entries.append(entry)  # type: ignore[arg-type]
            elif entry is not None:
                places.append(2)
                entries.append(entry)
            else:
                places.append(0)
                entries.append("")
        return places, entries

    def _one_result(self, rule: Rule, piece: Piece) -> tuple[Any, str | None]:
        """A rule of one result (`above`, `below`) as `_evaluated` decides it for the piece's
        result; for a piece of a segment's kind (whose limits hold the rule's threshold: one
        outcome across it) from the kind's entry, its number put in (its words read the number as
        read, `values.format_number`, and nothing else that differs within a segment)."""
        kind = piece.kind
        if kind is None:
            return self._evaluated(rule, {piece.analyte: piece.result})
        made = kind.entries.get(rule.id)
        if made is None:
            made = kind.entries[rule.id] = self._entry_template(rule, piece)
        if made is LONG_WAY:
            return self._evaluated(rule, {piece.analyte: piece.result})
        outcome, template = made
        return outcome, None if template is None else template.format(format_number(piece.number))

    def _entry_template(self, rule: Rule, piece: Piece) -> Any:
        """(outcome, entry as a format string of the number's digits, or None) of a rule of one
        result for the pieces of this one's kind, from this one's entry; LONG_WAY where its digits
        are not found in it exactly once."""
        outcome, entry = self._evaluated(rule, {piece.analyte: piece.result})
        if entry is None:
            return outcome, None
        digits = format_number(piece.number)  # type: ignore[arg-type]
        if entry.count(digits) != 1:
            return LONG_WAY
        head, _, tail = entry.partition(digits)
        return outcome, braced(head) + "{0}" + braced(tail)

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
        """The plan of a shape: each templated rule's entry and the normal-panel outcome from the
        core's own evaluation of the results it reads (`rules.rule_outcome`, `normal_panel_status`,
        phrases marked), kept per rule and tokens of those results (`_part`): a new shape is mostly
        put together from parts seen before. Where that does not hold, `_whole_plan`."""
        if len(self.plans) >= PLANS_KEPT:
            self.plans.clear()
        if len({piece.analyte for piece in pieces}) < len(pieces) or not self.composable:
            return self._whole_plan(shape, pieces, patient)
        place = {piece.analyte: index for index, piece in enumerate(pieces)}
        holes: set[int] = set()
        slots: list[tuple[int, Any, Any, Any]] = []
        for rule, kind, inputs in self.planned:
            given = [analyte_id for analyte_id in inputs if analyte_id in place]
            if kind in TEMPLATED or not given:  # (none of its inputs: constant)
                made = self._part(rule, given, pieces, place)
                if made is not None:
                    slots.append((made[0], rule.id, *self._slot_text(made[1], tuple([place[i] for i in given]), holes)))
            elif place.keys() & set(rule_subjects(rule)) or rule_outcome(rule, _by_id([pieces[place[i]] for i in given]))[0] is not None:
                slots.append(_value_slot(rule, inputs, place))
            # else: none of the analytes it is about is given: never met nor said undecided (rules.rule_subjects)
        given = [analyte_id for analyte_id in self.normal_rule.when["analytes"] if analyte_id in place]  # type: ignore[union-attr]
        made = self._part(self.normal_rule, given, pieces, place)  # type: ignore[arg-type]
        assert made is not None
        normal_text = self._slot_text(made[1], tuple([place[i] for i in given]), holes)
        results = [piece.result for piece in pieces]
        return self._planned(shape, pieces, slots, normal_text, default_judged(results), panel_notes(results),
                             results_warnings(results), holes)

    def _slot_text(self, text: str, positions: tuple[int, ...], holes: set[int]) -> tuple[bool, str]:
        """A part's text (`_part`) with its k-th marker at `positions[k]`, as `_template` makes it
        (the positions it holes added to `holes`); kept per text and positions."""
        found = self.placed.get((text, positions))
        if found is None:
            if len(self.placed) >= PLANS_KEPT:
                self.placed.clear()
            used: set[int] = set()
            found = self.placed[(text, positions)] = (*_template(_placed(text, list(positions)), used), frozenset(used))
        holes.update(found[2])
        return found[0], found[1]

    def _part(self, rule: Rule, given: list[str], pieces: list[Piece], place: dict[str, int]) -> tuple[int, str] | None:
        """A rule's (HIT or UNDECIDED, its entry's JSON text with a marker per phrase of the k-th
        result of `given`), or None when neither; the normal-panel rule's (0, `"normal_panel": ...`).
        Kept per rule and the tokens of the results it reads (all its words read of them)."""
        key = (rule.id, tuple([pieces[place[analyte_id]].token for analyte_id in given]), tuple(given))
        made = self.parts.get(key, _MISSING)
        if made is not _MISSING:
            return made  # type: ignore[no-any-return]
        if len(self.parts) >= PLANS_KEPT:
            self.parts.clear()
        sub = [pieces[place[analyte_id]] for analyte_id in given]
        index = {id(piece.result): k for k, piece in enumerate(sub)}
        by_id = {piece.analyte: piece.result for piece in sub}
        with phrases_marked(lambda result: f"\x00{_NONCE}:{index[id(result)]}\x00"):
            if rule is self.normal_rule:
                normal = normal_panel_status(rule, by_id)
                defaults = default_judged([piece.result for piece in pieces if piece.analyte in by_id])
                made = 0, '"normal_panel": ' + _dumps({"status": normal.status, "reason": normal.reason,
                                                        "statement": normal.statement, "default_intervals": list(defaults)})
            else:
                hit, open_ = rule_outcome(rule, by_id)
                made = (HIT, _hit_json(hit)) if hit is not None else None if open_ is None else (UNDECIDED, _dumps(open_))
        self.parts[key] = made
        return made

    def _whole_plan(self, shape: tuple[int, ...], pieces: list[Piece], patient: Patient) -> Plan | None:
        """The plan of a shape from the core's interpretation of the whole panel, phrases marked."""
        if len({piece.analyte for piece in pieces}) < len(pieces):
            self.plans[shape] = None
            return None
        positions = {id(piece.result): index for index, piece in enumerate(pieces)}
        with phrases_marked(lambda result: f"\x00{_NONCE}:{positions[id(result)]}\x00"):
            panel = interpret_results([piece.result for piece in pieces], patient, conventions=False)  # (its grades,
            # pattern and relation: in the analytes' texts, `pattern_text`, `_relation`)
        place = {piece.analyte: index for index, piece in enumerate(pieces)}
        hits = {hit.rule_id: hit for hit in panel.hits}
        undecided = {entry.fields["rule"]: entry for entry in panel.undecided}  # type: ignore[attr-defined]
        holes: set[int] = set()
        slots: list[tuple[int, Any, Any, Any]] = []
        for rule, kind, inputs in self.planned:
            if kind in TEMPLATED or not place.keys() & set(inputs):  # (none of its inputs: constant)
                if rule.id in hits:
                    slots.append((HIT, rule.id, *_template(_hit_json(hits[rule.id]), holes)))
                elif rule.id in undecided:
                    slots.append((UNDECIDED, rule.id, *_template(_dumps(undecided[rule.id]), holes)))
            elif place.keys() & set(rule_subjects(rule)) or rule.id in hits:
                slots.append(_value_slot(rule, inputs, place))
            # else: none of the analytes it is about is given: never met nor said undecided (rules.rule_subjects)
        normal = panel.normal_panel
        normal_text = _template('"normal_panel": ' + _dumps({
            "status": normal.status, "reason": normal.reason, "statement": normal.statement,
            "default_intervals": list(panel.normal_panel_defaults)}), holes)
        return self._planned(shape, pieces, slots, normal_text, panel.default_intervals, panel.notes, panel.warnings, holes)

    def _planned(self, shape: tuple[int, ...], pieces: list[Piece], slots: list[tuple[int, Any, Any, Any]],
                 normal_text: tuple[bool, str], defaults: tuple[str, ...], notes: tuple[str, ...],
                 warnings: tuple[str, ...], holes: set[int]) -> Plan | None:
        """The plan of a shape from its slots, normal-panel text and the fields after them, kept."""
        after = (f'"default_intervals": {_dumps(list(defaults))}, "notes": {_dumps(list(notes))}, '
                 f'"warnings": {_dumps(list(warnings))[:-1]}')
        if _HOLE.search(after):
            self.plans[shape] = None  # (never: no phrase there)
            return None
        place = {piece.analyte: index for index, piece in enumerate(pieces)}
        spec = _r_ratio()
        top, bottom = place.get(spec["numerator"]), place.get(spec["denominator"])
        # (else no pattern: its results are not there, or none of its `classify_when` holds, which the tokens hold)
        ratio_at = None if top is None or bottom is None or not any(piece.classifies for piece in pieces) else (top, bottom)
        reads = ratio_at is not None or any(slot[0] == LEAD or (slot[0] == VALUE and slot[2] is None) for slot in slots)
        plan = self.plans[shape] = Plan(slots, normal_text, after, tuple(sorted(holes)), reads, ratio_at)
        return plan


_MISSING: Any = object()


def _by_id(pieces: list[Piece]) -> dict[str, AnalyteResult]:
    """The pieces' results by analyte id (what rules and the pattern read; made only when one
    reads values: a numeric-lane piece's result is made then)."""
    return {piece.analyte: piece.result for piece in pieces}
#: a pattern, for `relation_note` (which reads only whether there is one)
_SOME_PATTERN = Pattern(0.0, "", "")


def _relation(hit_ids: list[str], no_pattern: bool) -> str:
    """The relation note's JSON text for these rules met, with or without a pattern."""
    found = relation_note(hit_ids, None if no_pattern else _SOME_PATTERN)
    return "null" if found is None else _dumps(found)


_ORDER = operator.attrgetter("order")
_TOKEN = operator.attrgetter("token")
_DATA = operator.attrgetter("data")


def _disclaimer() -> str:
    from levlab import DISCLAIMER

    return DISCLAIMER
