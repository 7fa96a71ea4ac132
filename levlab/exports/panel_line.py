"""The per-panel side of a JSONL line put together from parts (`levlab.exports.panel_json`).

A shape of panel (its results' tokens) has a `Plan`: per rule of rules.toml either constant JSON
text with a hole per phrase (a rule decided by what the tokens hold), or a slot decided on each
panel from its values (`value_slot`). A dominance rule (`rule_projections.LEAD_OVER_RIVALS`) is
met exactly when its lead's key exceeds every rival's (`rule_projections.dominance_keys`, kept per
result), and its words then read the lead alone, so its entry is made once per lead result
(`lead_decided`); when not met, the rule's own evaluator says whether not met or undecided, and why.
The fields after the disclaimer (`rest`) and rule entries (`hit_json`, `flat`) are JSON text
made directly, equal to `json.dumps(..., ensure_ascii=False)`.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable
from functools import cache
from typing import Any

from levlab.data import load_toml
from levlab.exports.json_text import braced
from levlab.exports.numeric_lane import GUARD
from levlab.model import AnalyteResult, RuleHit
from levlab.rule_projections import LEAD_OVER_RIVALS, dominance_keys
from levlab.rules import Rule

#: what a plan's slot is: a templated rule met or undecided, or a rule decided on each panel (LEAD:
#: one of `rule_projections.LEAD_OVER_RIVALS`, met decided from keys)
HIT, UNDECIDED, VALUE, LEAD = 0, 1, 2, 3
KEYS: Any = ("dominance keys",)  # a piece's `dominance_keys`, in its `values`
NEVER_LEAD = float("-inf")  # a lead key that is never dominant (rule_projections.dominance_keys)
NOT_RAISED = (NEVER_LEAD, NEVER_LEAD)  # the keys of a result in range or low

_string = json.encoder.encode_basestring  # a str as a JSON string (ensure_ascii=False), quoted


class Plan:
    """The parts of one shape of panel (see the module text)."""

    __slots__ = ("after", "decided", "holes", "normal", "ratio_at", "reads", "slots", "variants")

    def __init__(self, slots: list[tuple[int, Any, Any, Any]], normal: tuple[bool, str], after: str,
                 holes: tuple[int, ...], reads: bool = True, ratio_at: tuple[int, int] | None = None) -> None:
        #: in rules.toml order: (HIT | UNDECIDED, rule id, whether it has holes, its JSON text or
        #: format string) for a templated rule, (VALUE, rule, its one input's position or None, its
        #: inputs) or (LEAD, rule, None, (the lead's position, the rivals' positions)) for the others
        self.slots = slots
        self.decided = [slot for slot in slots if slot[0] >= VALUE]  # the slots decided on each panel
        self.reads = reads  # a rule or the pattern reads the panel's results by analyte
        self.ratio_at = ratio_at  # the positions of the two results the R-ratio pattern reads, when both are there
        self.normal = normal  # `"normal_panel": {...}`, with holes or not
        self.after = after  # `"default_intervals": ..., "notes": ..., "warnings": [...` (open: a panel may add)
        self.holes = holes  # the positions of the results whose phrase a hole takes
        #: (each decided slot's place: 0 neither, 1 flags, 2 undecided; whether no pattern) -> the
        #: text from `"relation"` to `after` as a format string: {i} the phrase of position i,
        #: {holes + j} the entry of the j-th decided slot (`variant`)
        self.variants: dict[tuple[Any, ...], str] = {}

    def variant(self, places: tuple[Any, ...], count: int, relation: Callable[[list[str], bool], str]) -> str:
        """The format string of `variants[places]` for a panel of `count` results; `relation`:
        (rule ids met, whether no pattern) -> the relation's JSON text."""
        hits: list[str] = []
        undecided: list[str] = []
        hit_ids: list[str] = []
        decided = 0
        for kind, name, holed, text in self.slots:
            if kind in (HIT, UNDECIDED):
                part = text if holed else braced(text)
                if kind == HIT:
                    hit_ids.append(name)
                (hits if kind == HIT else undecided).append(part)
                continue
            field = "{" + str(count + decided) + "}"
            if places[decided] == 1:
                hit_ids.append(name.id)
                hits.append(field)
            elif places[decided] == 2:
                undecided.append(field)
            decided += 1
        normal = self.normal[1] if self.normal[0] else braced(self.normal[1])
        made = self.variants[places] = (f'"relation": {braced(relation(hit_ids, places[-1]))}, "flags": [{", ".join(hits)}], '
                                        f'"undecided": [{", ".join(undecided)}], {normal}, {braced(self.after)}')
        return made


def value_slot(rule: Rule, inputs: tuple[str, ...], place: dict[str, int]) -> tuple[int, Any, Any, Any]:
    """The slot of a rule decided on each panel (see Plan.slots); `place`: analyte id -> position."""
    if len(inputs) == 1:
        return VALUE, rule, place[inputs[0]], inputs
    lead_over = LEAD_OVER_RIVALS.get(rule.when["type"])
    if lead_over is not None:
        lead, rivals = lead_over(rule.when)
        if lead in place:
            return LEAD, rule, None, (place[lead], tuple(place[rival] for rival in rivals if rival in place))
    return VALUE, rule, None, inputs


Evaluated = Callable[[Rule, dict[str, AnalyteResult]], tuple[Any, Any]]  # (outcome, entry text or None)


def lead_decided(rule: Rule, positions: tuple[int, tuple[int, ...]], pieces: list[Any],
                 by_id: Callable[[], dict[str, AnalyteResult]], evaluated: Evaluated,
                 met: dict[tuple[str, str, str], Any] | None = None) -> tuple[Any, str | None]:
    """A LEAD slot's (outcome, entry text or None), as `evaluated` (the rule's evaluator, its text
    made once per account) gives it: met from the pieces' `dominance_keys` (kept in their
    `values`), its entry then kept on the lead's piece and in `met` by (rule, lead, its lead key
    to one decimal: all the words read of it); not met (nothing said) where the keys settle it:
    a lead in range or low, or a rival whose lower multiple is at least the lead's upper one;
    otherwise `evaluated` says how."""
    lead = pieces[positions[0]]
    keys = lead.values.get(KEYS)
    if keys is None:
        keys = lead.values[KEYS] = dominance_keys(lead.result)
    if keys == NOT_RAISED:  # the lead in range or low: not met, nothing to say (rules.dominance)
        return False, None
    for position in positions[1]:
        rival = pieces[position].values.get(KEYS)
        if rival is None:
            rival = pieces[position].values[KEYS] = dominance_keys(pieces[position].result)
        if not keys[0] > rival[1]:
            if keys[0] != NEVER_LEAD and rival[0] >= keys[1]:
                return False, None  # a rival raised at least as far: not met, whatever the others (rules.dominance)
            return evaluated(rule, by_id())
    if keys[0] == NEVER_LEAD:  # (no rival and no lead key: as the evaluator says)
        return evaluated(rule, by_id())
    found = lead.values.get(rule.id)
    if found is None:
        # met: its words read the lead's name and lower multiple of ULN to one decimal alone
        # (rules._dominant_raised), and the evaluator finds the lead alone dominant over no rival
        known = (rule.id, lead.analyte, format(keys[0], ".1f"))
        found = None if met is None else met.get(known)
        if found is None:
            found = evaluated(rule, {lead.analyte: lead.result})
            if found[0] is not True:  # (never: the keys and the evaluator agree, tests/test_rule_projections.py)
                return evaluated(rule, by_id())
            if met is not None:
                if len(met) >= 1_024:
                    met.clear()
                met[known] = found
        lead.values[rule.id] = found
    return found  # type: ignore[no-any-return]


def rest(rows: list[int], key: dict[str, str], errors: list[dict[str, Any]], follow_up: Any) -> str:
    """The fields JsonlSink adds after `disclaimer`: rows, key, errors and follow-up (when followed)."""
    if len(rows) == 1 and len(key) == 1 and not errors and follow_up is None:  # (a wide export's row)
        for name, value in key.items():
            return f'"rows": [{rows[0]}], "key": {{{_string(name)}: {_string(value)}}}, "errors": []'
    text = (f'"rows": [{", ".join(map(str, rows))}], '
            f'"key": {{{", ".join([_string(name) + ": " + _string(value) for name, value in key.items()])}}}, '
            f'"errors": {json.dumps(errors, ensure_ascii=False) if errors else "[]"}')
    if follow_up is not None:
        text += ', "follow_up": ' + json.dumps(follow_up, ensure_ascii=False)
    return text


def flat(mapping: dict[str, Any]) -> str:
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
            text = json.dumps(value, ensure_ascii=False)
        parts.append(f"{_string(name)}: {text}")
    return "{" + ", ".join(parts) + "}"


def hit_json(hit: RuleHit) -> str:
    """A rule met, as an entry of `flags` in render.panel_json_tail."""
    return flat({"id": hit.rule_id, "kind": hit.kind, "message": hit.message, "source": hit.source,
                 "section": hit.section})


@cache
def r_ratio() -> dict[str, Any]:
    """data/patterns.toml's [r_ratio] (what grading.classified_pattern reads)."""
    return load_toml("patterns.toml")["r_ratio"]  # type: ignore[no-any-return]


_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@cache
def _pattern_bands() -> tuple[list[tuple[Callable[[float, float], bool], float, str]], str]:
    """The R-ratio bands as (comparison, limit, the JSON text after the ratio), and that text of
    `otherwise`."""
    spec = r_ratio()

    def tail(kind: str) -> str:
        return f', "type": {_string(kind)}, "source": {_string(spec["source"])}}}'

    return [(_COMPARE[band["op"]], float(band["value"]), tail(band["type"])) for band in spec["bands"]], tail(spec["otherwise"])


def pattern_text(top_x_uln: float | None, bottom_x_uln: float | None,
                 long_way: Callable[[], dict[str, Any] | None]) -> str:
    """The panel's `pattern` as JSON text (`render.pattern_json` of `grading.classified_pattern`,
    for results one of whose `classify_when` holds), from the two multiples of ULN it reads: the
    band found by plain comparison where the ratio is away from every band limit (the core
    compares at 12 significant digits, far inside `GUARD`); within a guard zone `long_way()`."""
    if top_x_uln is None or not bottom_x_uln:
        return "null"
    ratio = top_x_uln / bottom_x_uln
    bands, found = _pattern_bands()
    for holds, limit, text in bands:
        if abs(ratio - limit) <= GUARD * limit:
            return flat(long_way())  # type: ignore[arg-type]
        if holds(ratio, limit):
            found = text
            break
    return f'{{"r_ratio": {float.__repr__(round(ratio, 3))}{found}'

