"""What every written report carries beside its results: the rules with their sources, the
sources of the intervals used, and the disclaimer (the workbook's report sheet, the FHIR
DiagnosticReport)."""

from __future__ import annotations

from levlab import DISCLAIMER
from levlab.ranges import IntervalTable, default_intervals
from levlab.rules import EVALUATORS, rules


def rule_sources() -> list[tuple[str, str, str]]:
    """(rule id, what it states, source and section) of every panel rule, in rules.toml order."""
    return [(rule.id, rule.statement, f"{rule.source}, {rule.section}") for rule in rules()
            if rule.when["type"] in EVALUATORS]


def rule_source(rule_id: str) -> str:
    """`source, section` of one rule ("" for an unknown id)."""
    return next((source for found, _, source in rule_sources() if found == rule_id), "")


def interval_sources(table: IntervalTable | None = None) -> list[tuple[str, str]]:
    """(analyte, source) of the reference intervals in use, each pair once, in table order."""
    table = table or default_intervals()
    seen: dict[tuple[str, str], None] = {}
    for interval in table.all():
        seen.setdefault((interval.analyte, interval.source), None)
    return list(seen)


__all__ = ["DISCLAIMER", "interval_sources", "rule_source", "rule_sources"]
