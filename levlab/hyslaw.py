"""Hy's law over time: the legs of `hys-law` tied together within a window of days. Pure.

The one-panel rule asks for every leg in one sample. Over a series, the transaminase leg on a
sample T and the bilirubin leg on T or a later sample B within `window_days` calendar days
count together, with the ALP leg holding on both T and B (data/series.toml). Everything is
three-valued: a pair whose legs cannot be decided (value missing, censored across its
threshold, ULN unknown) is `undecided`, never met.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from levlab.data import load_toml
from levlab.grading import uln_compare
from levlab.model import AnalyteResult
from levlab.rules import rules
from levlab.serial import Sample


@dataclass(frozen=True)
class HysLawSpec:
    """The series check as data: the three legs of the `hys-law` rule and the default window."""

    leading: Mapping[str, Any]  # transaminase leg
    following: Mapping[str, Any]  # bilirubin leg
    at_each: Mapping[str, Any]  # ALP leg, on both samples
    window_days: int
    window_source: str
    window_short: str
    note: str
    rule_source: str


@cache
def spec() -> HysLawSpec:
    """data/series.toml's [hys-law], its legs read from the rule in rules.toml."""
    entry = load_toml("series.toml")["hys-law"]
    rule = next(r for r in rules() if r.id == entry["rule"])
    legs = rule.when["legs"]
    return HysLawSpec(legs[entry["leading_leg"]], legs[entry["following_leg"]], legs[entry["at_each_leg"]],
                      int(entry["window_days"]), entry["window_source"], entry["window_short"], entry["note"], f"{rule.source}, {rule.section}")


def leg_holds(leg: Mapping[str, Any], results: Mapping[str, AnalyteResult]) -> bool | None:
    """One leg on one sample: its analytes compared with `value` x ULN, `match` any (default) or all;
    None when a value, its censoring or its ULN leaves it open."""
    outcomes = {uln_compare(results[i], leg["op"], leg["value"]) if i in results else None for i in leg["analytes"]}
    if leg.get("match", "any") == "all":
        return False if False in outcomes else True if outcomes == {True} else None
    return True if True in outcomes else False if outcomes == {False} else None


def _and(*outcomes: bool | None) -> bool | None:
    if False in outcomes:
        return False
    return None if None in outcomes else True


@dataclass(frozen=True)
class HysPair:
    """A transaminase sample and a bilirubin sample taken `days` calendar days later."""

    transaminase: Sample
    bilirubin: Sample
    days: int
    outcome: bool | None  # met, not met, undecided


@dataclass(frozen=True)
class HysLawSeries:
    """Hy's law over one patient's series: met (some pair met), not met, or undecided."""

    status: str  # "met", "not-met", "undecided"
    window_days: int
    met: tuple[HysPair, ...]
    undecided: tuple[HysPair, ...]

    @property
    def samples_met(self) -> tuple[Sample, ...]:
        """The samples taking part in a met pair, in date order, each once."""
        seen: dict[int, Sample] = {}
        for pair in self.met:
            seen.setdefault(id(pair.transaminase), pair.transaminase)
            seen.setdefault(id(pair.bilirubin), pair.bilirubin)
        return tuple(sorted(seen.values(), key=lambda s: s.when))  # type: ignore[arg-type, return-value]


def hys_law_over_time(samples: Sequence[Sample], window_days: int | None = None) -> HysLawSeries:
    """Every (T, B) pair of dated samples with 0 <= days(B) - days(T) <= window: met when the
    transaminase leg holds on T, the bilirubin leg on B and the ALP leg on both. Undated samples
    take no part."""
    table = spec()
    window = table.window_days if window_days is None else window_days
    dated = sorted((s for s in samples if s.when is not None), key=lambda s: s.when)  # type: ignore[arg-type, return-value]
    by_id = [{r.analyte: r for r in s.panel.results} for s in dated]
    leading = [leg_holds(table.leading, results) for results in by_id]
    following = [leg_holds(table.following, results) for results in by_id]
    at_each = [leg_holds(table.at_each, results) for results in by_id]
    met, undecided = [], []
    for t, first in enumerate(dated):
        for b in range(t, len(dated)):
            days = (dated[b].when.date() - first.when.date()).days  # type: ignore[union-attr]
            if days > window:
                break
            outcome = _and(leading[t], following[b], at_each[t], at_each[b])
            if outcome is not False:
                (met if outcome else undecided).append(HysPair(first, dated[b], days, outcome))
    status = "met" if met else "undecided" if undecided else "not-met"
    return HysLawSeries(status, window, tuple(met), tuple(undecided))
