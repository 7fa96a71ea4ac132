"""What a rule reads of each result, for callers that decide rules in bulk (the exports' RuleBook
and panel JSON): the conditions decided by flags alone, the projection of a result each condition
depends on, the flags a condition needs, the dominance keys, and `decide` (a rule's outcome without
its words). `levlab.rules.evaluate_rules` stays the one interpretation; tests hold these to it."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from levlab.grading import uln_compare
from levlab.model import AnalyteResult
from levlab.rules import EVALUATORS, Results, Rule, normal_panel_status

#: condition types decided by the flags (L N H ?) of their analytes alone, values unseen
FLAG_CONDITIONS = frozenset({"any_raised", "all_raised", "any_low", "panel_in_range"})


def rule_inputs(rule: Rule) -> tuple[str, ...]:
    """Every analyte a rule's condition reads, in order of mention."""
    when = rule.when
    names = [*when.get("analytes", ()), *when.get("low_analytes", ()), *when.get("over", ()),
             *(when[key] for key in ("analyte", "numerator", "denominator") if key in when),
             *(name for leg in when.get("legs", ()) for name in leg["analytes"])]
    return tuple(dict.fromkeys(names))


def _leg_outcomes(when: Mapping[str, Any], analyte_id: str, result: AnalyteResult) -> Hashable:
    return tuple(uln_compare(result, leg["op"], leg["value"]) for leg in when["legs"] if analyte_id in leg["analytes"])


def _own_outcome(when: Mapping[str, Any], analyte_id: str, result: AnalyteResult) -> Hashable:
    return EVALUATORS[when["type"]](when, {analyte_id: result})[0]


#: condition types whose outcome depends on each input result only through this projection
#: (when, analyte id, result) -> small hashable; bulk callers key their caches on it
PROJECTIONS: dict[str, Callable[[Mapping[str, Any], str, AnalyteResult], Hashable]] = {
    "x_uln_all": _leg_outcomes,  # each leg's comparison with its multiple of ULN
    "above": _own_outcome,  # one analyte: its own outcome
    "below": _own_outcome,
}


#: condition types that can only be met when one analyte carries one of these flags:
#: (when) -> (analyte id, flags); bulk callers need not evaluate the rule otherwise
REQUIRED_FLAGS: dict[str, Callable[[Mapping[str, Any]], tuple[str, frozenset[str]]]] = {
    "dominant_raised": lambda when: (when["analyte"], frozenset({"H"})),  # the lead analyte is raised
}


_NEVER = float("-inf")
_BLOCKS = float("inf")


def dominance_keys(result: Any) -> tuple[float, float]:
    """A result's (lead key, rival key) for the bulk form of `dominance`: a lead is dominant
    exactly when its lead key exceeds the largest rival key of the others. As a lead: the lower
    multiple of its ULN when raised with a single multiple, else -inf (never dominant). As a
    rival: its upper multiple when raised, +inf when that leaves dominance undecided (indeterminate,
    or raised without a single multiple), -inf when it is no rival (in range, low, not measured)."""
    flag = None if result is None else result.flag
    if flag == "H":
        span = result.x_uln_span
        return (_NEVER, _BLOCKS) if span is None else span
    if flag == "?":
        return _NEVER, _BLOCKS
    return _NEVER, _NEVER


#: condition types met exactly when dominance_keys(lead)[0] > max(dominance_keys(rival)[1]):
#: (when) -> (the lead analyte, its rivals). Bulk callers compare keys made once per result
#: instead of calling the evaluator per row; tests check that both agree.
LEAD_OVER_RIVALS: dict[str, Callable[[Mapping[str, Any]], tuple[str, tuple[str, ...]]]] = {
    "dominant_raised": lambda when: (when["analyte"], tuple(when["over"])),
}


def decide(rule: Rule, results: Results) -> bool | None:
    """Whether a rule that needs no previous sample holds: True, False or None (undecided).

    For bulk use (CSV columns) where only rule ids are wanted; `evaluate_rules` gives the messages.
    """
    if rule.when["type"] == "panel_in_range":
        return normal_panel_status(rule, results).status == "met"
    return EVALUATORS[rule.when["type"]](rule.when, results)[0]
