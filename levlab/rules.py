"""The rule engine: data/rules.toml conditions evaluated, three-valued, over judged results."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from levlab.catalog import analytes
from levlab.data import load_toml
from levlab.grading import uln_compare
from levlab.language import N_, Joined, Localized, Msg, Numeric, numeric
from levlab.model import AnalyteResult, Bounds, NormalPanel, RuleHit
from levlab.units import factor, units
from levlab.values import format_number

Results = Mapping[str, AnalyteResult]
#: an evaluator answers (True | False | None for undecided, a short account of why)
Evaluator = Callable[[Mapping[str, Any], Results], tuple[bool | None, str]]


@dataclass(frozen=True)
class Rule:
    """One rule as written in rules.toml."""

    id: str
    kind: str
    condition: str
    statement: str
    source: str
    section: str
    when: Mapping[str, Any]
    interpretation: str | None = None


@cache
def rules() -> tuple[Rule, ...]:
    """Every rule in file order."""
    loaded = []
    for entry in load_toml("rules.toml")["rule"]:
        if entry["when"]["type"] not in EVALUATORS and entry["when"]["type"] not in SERIAL_EVALUATORS:
            raise ValueError(f"rule {entry['id']}: unknown condition type {entry['when']['type']!r}")
        loaded.append(
            Rule(
                id=entry["id"],
                kind=entry["kind"],
                condition=_localized(entry, "condition"),
                statement=_localized(entry, "statement"),
                source=entry["source"],
                section=entry["section"],
                when=entry["when"],
                interpretation=_localized(entry, "interpretation") if "interpretation" in entry else None,
            )
        )
    return tuple(loaded)


def _localized(entry: Mapping[str, Any], key: str) -> Localized:
    """A rule text with its translations written beside it in rules.toml (`statement_nl`)."""
    suffix = f"{key}_"
    return Localized(entry[key], {name[len(suffix):]: text for name, text in entry.items() if name.startswith(suffix)})


def _name(analyte_id: str) -> str:
    return analyte_id.upper() if len(analyte_id) <= 3 else analyte_id


#: while set, what `_shown` says of a result instead of its words: `exports.panel_json` reads the
#: shape of the rules' messages with a marker where each result's phrase goes (`phrases_marked`)
_PHRASE_MARKER: Callable[[AnalyteResult], str] | None = None


@contextmanager
def phrases_marked(marker: Callable[[AnalyteResult], str]) -> Iterator[None]:
    """Within it, each result's phrase in a rule message (`ALP 314.4 U/L (3.0x ULN)`) is `marker(result)`."""
    global _PHRASE_MARKER
    _PHRASE_MARKER = marker
    try:
        yield
    finally:
        _PHRASE_MARKER = None


def _shown(result: AnalyteResult) -> str:
    if _PHRASE_MARKER is not None:
        return _PHRASE_MARKER(result)
    return shown_phrase(result)


def shown_phrase(result: AnalyteResult) -> str:
    """A result as the rule messages name it: `ALT 50 U/L`, `ALP 314.4 U/L (3.0x ULN)` when raised."""
    m = result.measurement
    if m is None:
        return _name(result.analyte)
    value = Numeric(f"{m.comparator or ''}{format_number(m.value)}")
    unit = analytes()[m.analyte].canonical_unit
    if result.x_uln is not None and result.flag == "H":
        return Msg("{analyte} {value} {unit} ({x_uln}x ULN)", analyte=_name(result.analyte), value=value, unit=unit,
                   x_uln=numeric(result.x_uln, ".1f"))
    return Msg("{analyte} {value} {unit}", analyte=_name(result.analyte), value=value, unit=unit)


def _flag_any(flag: str, ids: Sequence[str], results: Results) -> tuple[bool | None, str]:
    present = [results[i] for i in ids if i in results]
    hits = [r for r in present if r.flag == flag]
    if hits:
        return True, Joined(", ", (_shown(r) for r in hits))
    open_ = [r for r in present if r.flag == "?"]
    missing = [_name(i) for i in ids if i not in results]
    if open_:
        return None, Msg("indeterminate: {names}", names=", ".join(_name(r.analyte) for r in open_))
    if not present:
        return None, Msg("not measured: {names}", names=", ".join(missing))
    return False, ""


def _any_raised(when: Mapping[str, Any], results: Results) -> tuple[bool | None, str]:
    return _flag_any("H", when["analytes"], results)


def _any_low(when: Mapping[str, Any], results: Results) -> tuple[bool | None, str]:
    return _flag_any("L", when["analytes"], results)


def _all_raised(when: Mapping[str, Any], results: Results) -> tuple[bool | None, str]:
    ids = when["analytes"]
    flags = [results[i].flag if i in results else None for i in ids]
    if any(flag in ("N", "L") for flag in flags):
        return False, ""
    if all(flag == "H" for flag in flags):
        return True, Joined(" and ", (_shown(results[i]) for i in ids))
    return None, Msg("not all measured or decided: {names}",
                     names=", ".join(_name(i) for i, f in zip(ids, flags, strict=True) if f != "H"))


def _threshold(when: Mapping[str, Any], results: Results, *, above: bool) -> tuple[bool | None, str]:
    result = results.get(when["analyte"])
    if result is None or result.measurement is None:
        return None, (Msg("{analyte} not measured", analyte=_name(when["analyte"])) if result is None
                      else Msg("{analyte} unreadable", analyte=_name(result.analyte)))
    m = result.measurement
    chosen = next((t for t in when["thresholds"] if units()[t["unit"]].kind == m.unit_kind), when["thresholds"][0])
    analyte = analytes()[m.analyte]
    # The threshold in the reported unit: 2 mg/dL when reported in mg/dL, 34 µmol/L when in µmol/L.
    limit = chosen["value"] * factor(analyte.id, chosen["unit"], m.unit, analyte.molar_mass)
    bounds = Bounds.of(m.number, m.comparator)
    outcome = bounds.above(limit) if above else bounds.below(limit)
    if outcome is None:
        return None, Msg("censored value {input} straddles {limit} {unit}", input=m.input, limit=float(chosen["value"]),
                         unit=chosen["unit"])
    if not outcome:
        return False, ""
    sign = ">" if above else "<"
    return True, Msg("{analyte} {value} {unit} {sign} {limit} {limit_unit}", analyte=_name(m.analyte),
                     value=Numeric(f"{m.comparator or ''}{format_number(m.number)}"), unit=m.unit, sign=sign,
                     limit=float(chosen["value"]), limit_unit=chosen["unit"])


def _above(when: Mapping[str, Any], results: Results) -> tuple[bool | None, str]:
    return _threshold(when, results, above=True)


def _below(when: Mapping[str, Any], results: Results) -> tuple[bool | None, str]:
    return _threshold(when, results, above=False)


def ratio_bounds(numerator: Bounds, denominator: Bounds) -> Bounds:
    """Every value numerator / denominator may take, for non-negative bounds with denominator.high > 0.

    [num.low / den.high, num.high / den.low]; a denominator censored toward zero (`<200`) leaves
    the ratio unbounded above, but its lower limit still holds (600 / <200 is surely over 3).
    """
    low = numerator.low / denominator.high  # den.high == inf gives 0.0, a closed limit
    high = math.inf if denominator.low == 0 else numerator.high / denominator.low
    low_open = (numerator.low_open or denominator.high_open) and low > 0
    high_open = high == math.inf or numerator.high_open or denominator.low_open
    return Bounds(low, high, low_open, high_open)


def _ratio_at_least(when: Mapping[str, Any], results: Results) -> tuple[bool | None, str]:
    top, bottom = results.get(when["numerator"]), results.get(when["denominator"])
    if top is None or bottom is None or top.measurement is None or bottom.measurement is None:
        return None, Msg("needs both {numerator} and {denominator}", numerator=_name(when["numerator"]),
                         denominator=_name(when["denominator"]))
    numerator, denominator = top.measurement.bounds, bottom.measurement.bounds
    if denominator.high == 0:
        return None, Msg("{analyte} is zero", analyte=_name(bottom.analyte))
    ratio = ratio_bounds(numerator, denominator)
    outcome = ratio.above(when["value"], inclusive=True)
    if outcome is None:
        return None, Msg("censored values leave the ratio undecided")
    if outcome:
        names = f"{_name(top.analyte)} / {_name(bottom.analyte)}"
        if ratio.low == ratio.high:
            return True, Msg("{names} = {ratio} >= {limit}", names=names, ratio=float(ratio.low), limit=float(when["value"]))
        return True, Msg("{names} {sign} {ratio}, so >= {limit}", names=names, sign=">" if ratio.low_open else ">=",
                         ratio=float(ratio.low), limit=float(when["value"]))
    return False, ""


_LEAD_MISSING = (None, "lead-missing")
_LEAD_NOT_RAISED = (False, "")
_LEAD_INDETERMINATE = (None, "lead-indeterminate")
_LEAD_NO_SPAN = (None, "lead-no-span")
_INCOMPARABLE = (None, "incomparable")
_NOT_DOMINANT = (False, "")
_DOMINANT = (True, "")


def dominance(lead: Any, *others: Any) -> tuple[bool | None, str]:
    """Whether a raised lead analyte is further above its ULN than every other raised one:
    (outcome, why-key). Each argument is anything with the `flag` and `x_uln_span` of an
    AnalyteResult, None (or flag None) where the analyte was not measured. Bulk callers use
    `dominance_keys` for the same 'met'."""
    if lead is None or lead.flag is None:
        return _LEAD_MISSING
    flag = lead.flag
    if flag == "N" or flag == "L":
        return _LEAD_NOT_RAISED
    if flag == "?":
        return _LEAD_INDETERMINATE
    lead_span = lead.x_uln_span
    if lead_span is None:
        return _LEAD_NO_SPAN
    decided = True
    for other in others:
        if other is None:
            continue
        flag = other.flag
        if flag == "H":
            other_span = other.x_uln_span
            if other_span is None:
                decided = False
            elif lead_span[1] <= other_span[0]:
                return _NOT_DOMINANT
            elif not lead_span[0] > other_span[1]:
                decided = False
        elif flag == "?":
            decided = False
        # N, L or not measured: no rival
    return _DOMINANT if decided else _INCOMPARABLE


def _dominant_raised(when: Mapping[str, Any], results: Results) -> tuple[bool | None, str]:
    lead = results.get(when["analyte"])
    outcome, why = dominance(lead, *(results.get(other) for other in when["over"]))
    if outcome:
        return True, Msg("{analyte} {x_uln}x ULN, above every other raised enzyme", analyte=_name(lead.analyte),
                         x_uln=numeric(lead.x_uln_span[0], ".1f"))
    if outcome is False:
        return False, ""
    return None, Msg(_DOMINANCE_OPEN[why], analyte=_name(when["analyte"]))


#: why a dominance is undecided, by its `dominance` outcome
_DOMINANCE_OPEN = {
    "lead-missing": N_("{analyte} not measured"),
    "lead-indeterminate": N_("{analyte} indeterminate"),
    "lead-no-span": N_("{analyte} has no single multiple of its upper limit"),
    "incomparable": N_("the multiples of the upper limits cannot be compared"),
}


def _x_uln_all(when: Mapping[str, Any], results: Results) -> tuple[bool | None, str]:
    """Every leg holds: a leg compares its analytes with value x ULN, `match` any (default) or all."""
    met, open_ = [], []
    for leg in when["legs"]:
        ids, op, multiple = leg["analytes"], leg["op"], leg["value"]
        found = {i: uln_compare(results[i], op, multiple) if i in results else None for i in ids}
        outcomes = set(found.values())
        if leg.get("match", "any") == "all":
            outcome = False if False in outcomes else True if outcomes == {True} else None
        else:
            outcome = True if True in outcomes else False if outcomes == {False} else None
        if outcome is False:
            return False, ""
        if outcome is None:
            missing = [_name(i) for i, o in found.items() if o is None]
            open_.append(Msg("needs {names} {op} {multiple}x ULN; not measured or not decided: {missing}",
                             names=Joined(" or ", (_name(i) for i in ids)), op=op, multiple=float(multiple),
                             missing=", ".join(missing)))
        else:
            met.append(Joined(", ", (Msg("{shown} {op} {multiple}x ULN", shown=_shown(results[i]), op=op,
                                         multiple=float(multiple)) for i, o in found.items() if o)))
    if open_:
        return None, Joined("; ", open_)
    return True, Joined("; ", met)


EVALUATORS: dict[str, Evaluator] = {
    "x_uln_all": _x_uln_all,
    "any_raised": _any_raised,
    "all_raised": _all_raised,
    "any_low": _any_low,
    "above": _above,
    "below": _below,
    "ratio_at_least": _ratio_at_least,
    "dominant_raised": _dominant_raised,
    "panel_in_range": lambda when, results: (None, "evaluated by normal_panel_status"),
}


def _became_abnormal(when: Mapping[str, Any], results: Results, previous: Results) -> tuple[bool | None, str]:
    """An analyte not out of range in its watched direction on the previous sample is now: raised
    for `analytes`, low for `low_analytes` (the other direction has no bearing)."""
    if not previous:
        return False, ""  # no earlier sample: nothing can have changed
    watched = [(analyte_id, "H") for analyte_id in when["analytes"]]
    watched += [(analyte_id, "L") for analyte_id in when.get("low_analytes", ())]
    changed, open_ = [], []
    for analyte_id, flag in watched:
        now, before = results.get(analyte_id), previous.get(analyte_id)
        if now is None or before is None or before.flag == flag:
            continue
        if before.flag != "?" and now.flag == flag:
            changed.append(Msg(_BECAME[flag], now=_shown(now), before=_shown(before)))
        elif now.flag in (flag, "?") and "?" in (before.flag, now.flag):
            open_.append(_name(analyte_id))
    if changed:
        return True, Joined("; ", changed)
    if open_:
        return None, Msg("indeterminate now or on the previous sample: {names}", names=", ".join(open_))
    return False, ""


#: what `became_abnormal` says of an analyte that turned raised (H) or low (L)
_BECAME = {"H": N_("{now} (raised; not raised before: {before})"), "L": N_("{now} (low; not low before: {before})")}


#: evaluators that also see the patient's previous sample: (when, results, previous results)
SERIAL_EVALUATORS: dict[str, Callable[[Mapping[str, Any], Results, Results], tuple[bool | None, str]]] = {
    "became_abnormal": _became_abnormal,
}


def normal_panel_status(rule: Rule, results: Results) -> NormalPanel:
    """`met` only when every analyte is measured and none raised or indeterminate (L allowed)."""
    ids = rule.when["analytes"]
    raised = [results[i] for i in ids if i in results and results[i].flag == "H"]
    missing = [_name(i) for i in ids if i not in results]
    unreadable = [results[i] for i in ids if i in results and results[i].flag == "?"]
    parts: list[str] = []
    if raised:
        parts.append(Msg("raised: {shown}", shown=Joined(", ", (_shown(r) for r in raised))))
    if missing:
        parts.append(Msg("not measured: {names}", names=", ".join(missing)))
    if unreadable:
        parts.append(Msg("indeterminate: {shown}", shown=Joined("; ", (
            Msg("{analyte} ({reason})", analyte=_name(r.analyte), reason=r.reason) for r in unreadable))))
    # A unit from the settings file was not written with the value: where another unit would read
    # that number differently (its warning), the value cannot carry the 98 % statement.
    unsure = [results[i] for i in ids if i in results and results[i].warnings and results[i].measurement is not None
              and results[i].measurement.unit_from_settings]
    if unsure:
        parts.append(Msg("unit from settings in doubt, write the unit with the value: {shown}", shown=", ".join(
            f"{_name(r.analyte)} {r.measurement.input}" for r in unsure)))  # type: ignore[union-attr]
    warned = [f"{_name(i)} {results[i].measurement.input}" for i in ids
              if i in results and results[i].warnings and results[i] not in unsure]
    if warned:
        # A stated unit is not a guess: the value counts, but the outcome says what to check.
        parts.append(Msg("unusual for its stated unit, check value and unit: {shown}", shown=", ".join(warned)))
    if raised:
        return NormalPanel("not-met", Joined("; ", parts), None)
    if missing or unreadable or unsure:
        return NormalPanel("incomplete", Joined("; ", parts), None)
    low = [_name(i) for i in ids if results[i].flag == "L"]
    reason = Msg("bilirubin, ALP, LDH, AST and ALT all measured and none raised")
    if low:
        reason = Msg("{reason} (below range, which does not count against it: {names})", reason=reason,
                     names=", ".join(low))
    if warned:
        reason = Msg("{reason}; but {warning}", reason=reason, warning=parts[-1])
    return NormalPanel("met", reason, rule.statement)


def normal_panel_analytes() -> tuple[str, ...]:
    """The analytes the normal-panel outcome is decided on (its rule's `analytes`)."""
    return next((tuple(rule.when["analytes"]) for rule in rules() if rule.when["type"] == "panel_in_range"), ())


def evaluate_rules(
    results: Sequence[AnalyteResult], previous: Sequence[AnalyteResult] = ()
) -> tuple[tuple[RuleHit, ...], tuple[str, ...], NormalPanel]:
    """(rules met, rules undecided with why, the normal-panel outcome); `previous` is the
    patient's previous sample, for the serial rules."""
    by_id = {result.analyte: result for result in results}
    before = {result.analyte: result for result in previous}
    hits: list[RuleHit] = []
    undecided: list[str] = []
    normal = NormalPanel("incomplete", "no panel rule", None)
    for rule in rules():
        if rule.when["type"] == "panel_in_range":
            normal = normal_panel_status(rule, by_id)
            continue
        hit, open_ = rule_outcome(rule, by_id, before)
        if hit is not None:
            hits.append(hit)
        elif open_ is not None:
            undecided.append(open_)
    return tuple(hits), tuple(undecided), normal


def rule_outcome(rule: Rule, by_id: Results, before: Results | None = None) -> tuple[RuleHit | None, Msg | None]:
    """One rule (not the normal-panel one) on results by analyte id: (its hit when met, its
    undecided entry when undecided on data it is about); (None, None) when neither."""
    if rule.when["type"] in SERIAL_EVALUATORS:
        outcome, account = SERIAL_EVALUATORS[rule.when["type"]](rule.when, by_id, before or {})
    else:
        outcome, account = EVALUATORS[rule.when["type"]](rule.when, by_id)
    if outcome:
        return RuleHit(rule.id, rule.kind, Msg("{account}: {statement}", account=account, statement=rule.statement),
                       rule.source, rule.section), None
    if outcome is None and _touches(rule, by_id):
        return None, Msg("{rule}: {account}", rule=rule.id, account=account)
    return None, None


_SUBJECTS: dict[int, tuple[Rule, tuple[str, ...]]] = {}  # id(rule) -> (rule, its subjects)


def rule_subjects(rule: Rule) -> tuple[str, ...]:
    """The analytes a rule is about: with none of them given, it cannot be met (nor is it worth
    reporting as undecided). A ratio is about its numerator, a dominance about its lead analyte."""
    kept = _SUBJECTS.get(id(rule))
    if kept is not None and kept[0] is rule:
        return kept[1]
    if len(_SUBJECTS) > 1_000:
        _SUBJECTS.clear()
    subjects = _subjects(rule)
    _SUBJECTS[id(rule)] = (rule, subjects)
    return subjects


def _subjects(rule: Rule) -> tuple[str, ...]:
    when = rule.when
    names = [*when.get("analytes", ()), *when.get("low_analytes", ()), *(when[key] for key in ("analyte", "numerator") if key in when),
             *(name for leg in when.get("legs", ()) for name in leg["analytes"])]
    return tuple(dict.fromkeys(names))


def _touches(rule: Rule, results: Results) -> bool:
    """Whether the analyte the rule is about was given (an undecided rule on absent data is noise)."""
    return any(name in results for name in rule_subjects(rule))
