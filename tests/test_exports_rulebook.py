"""RuleBook's value-reading rules (exports.rulebook): the shortcuts `_holds` takes say what the
full comparison says."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from levlab.exports.rulebook import FreeRule, RuleBook

INF = float("inf")
BOOK = RuleBook(["bilirubin", "alp", "ggt", "ldh", "ast", "alt", "ascites_ldh"], dict)
LEAD_RULES = [free for free in BOOK.free if free.lead is not None]
SUBJECT_RULES = [free for free in BOOK.free if free.lead is None and free.gate is None and free.positions]


class _Cell:
    """What `_holds` reads of a judged cell."""

    def __init__(self, lead_key: float, rival_key: float, measured: bool) -> None:
        self.lead_key, self.rival_key = lead_key, rival_key
        self.result = object() if measured else None
        self.flag = "N"


_keys = st.sampled_from([-INF, 0.5, 1.0, 2.0, 3.5, INF])
_cells = st.one_of(st.none(), st.builds(_Cell, _keys, _keys, st.booleans()))


def _lead_holds_in_full(free: FreeRule, judged: list[Any]) -> bool:
    """The lead's key against the largest of its rivals', compared every time."""
    lead = judged[free.lead]  # type: ignore[index]
    return lead is not None and lead.lead_key > max(
        (judged[p].rival_key for p in free.positions if judged[p] is not None), default=-INF)


def test_the_book_has_the_rules_these_tests_look_at() -> None:
    assert [free.rule.id for free in LEAD_RULES] == ["ldh-dominant"]
    assert [free.rule.id for free in SUBJECT_RULES] == ["ascites-ldh-ratio"]


@given(st.lists(_cells, min_size=len(BOOK.analyte_ids), max_size=len(BOOK.analyte_ids)))
def test_a_lead_that_is_never_dominant_is_not_compared_and_the_answer_is_the_same(judged: list[Any]) -> None:
    for free in LEAD_RULES:
        assert BOOK._holds(free, judged) == _lead_holds_in_full(free, judged)


def test_a_subject_rule_with_none_of_its_subjects_measured_does_not_hold() -> None:
    free = SUBJECT_RULES[0]
    judged: list[Any] = [_Cell(1.0, 1.0, True)] * len(BOOK.analyte_ids)
    for position in free.positions:
        judged[position] = None if position % 2 else _Cell(1.0, 1.0, False)
    assert BOOK._holds(free, judged) is False


@given(st.lists(_cells, min_size=len(BOOK.analyte_ids), max_size=len(BOOK.analyte_ids)))
def test_each_rule_as_a_function_of_the_cells_says_what_holds_says(judged: list[Any]) -> None:
    """`RuleBook.checks` (what panel_text asks per panel) against `_holds`, rule by rule: the lead
    rules on any cells, the subject rules where none of their subjects is measured (a measured
    one is read by the rule's evaluator, the same call in both)."""
    checks = dict(BOOK.checks)
    assert list(checks) == [free.rule.id for free in BOOK.free]
    for free in LEAD_RULES:
        assert checks[free.rule.id](judged) == BOOK._holds(free, judged)
    for free in SUBJECT_RULES:
        unmeasured = [None if at in free.positions and cell is not None and cell.result is not None else cell
                      for at, cell in enumerate(judged)]
        assert checks[free.rule.id](unmeasured) is BOOK._holds(free, unmeasured) is False
