"""levlab.exports.panel_line: the per-panel parts of a JSONL line equal json.dumps of the same
values, and a dominance rule's slot decides as the rule's evaluator does (the whole line against
the long way: tests/test_exports_panel_json.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from levlab.catalog import analytes
from levlab.exports.panel_line import LEAD, VALUE, flat, lead_decided, pattern_text, rest, value_slot
from levlab.grading import classified_pattern
from levlab.interpret import assess, read_measurement
from levlab.model import Patient
from levlab.ranges import default_intervals
from levlab.render import pattern_json
from levlab.rules import EVALUATORS, rules


@pytest.mark.parametrize(("rows", "key", "errors", "follow_up"), [
    ([2], {"patient_id": "P1"}, [], None),
    ([2, 3, 17], {}, [{"row": 2, "column": "ALT", "message": "'x' is not a number"}], None),
    ([1], {"pat\"ient": "é\n\x01", "date": "2024-01-02"}, [], {"previous_date": None, "ctcae_baseline": 2.5}),
])
def test_rest_is_json_dumps_of_the_fields(rows: list[int], key: dict[str, str], errors: list[dict[str, Any]],
                                          follow_up: Any) -> None:
    fields: dict[str, Any] = {"rows": rows, "key": key, "errors": errors}
    if follow_up is not None:
        fields["follow_up"] = follow_up
    assert "{" + rest(rows, key, errors, follow_up) + "}" == json.dumps(fields, ensure_ascii=False)


@pytest.mark.parametrize("mapping", [
    {"a": "µ\"\n", "b": None, "c": 1.5, "d": 0.1 + 0.2},
    {"r": float("inf"), "n": 3, "l": [1, "x"], "t": True},
    {},
])
def test_flat_is_json_dumps(mapping: dict[str, Any]) -> None:
    assert flat(mapping) == json.dumps(mapping, ensure_ascii=False)


def test_a_dominance_rule_gets_a_lead_slot_only_where_its_lead_is_in_the_panel() -> None:
    rule = next(rule for rule in rules() if rule.when["type"] == "dominant_raised")
    lead = rule.when["analyte"]
    inputs = (lead, *rule.when["over"])
    place = {analyte_id: index for index, analyte_id in enumerate(reversed(inputs))}
    kind, _, holed, positions = value_slot(rule, inputs, place)
    assert (kind, holed) == (LEAD, None)
    assert positions[0] == place[lead] and sorted(positions[1]) == sorted(place[o] for o in rule.when["over"])
    without_lead = {analyte_id: index for index, analyte_id in enumerate(rule.when["over"])}
    assert value_slot(rule, inputs, without_lead)[0] == VALUE


class _Piece:
    def __init__(self, result: Any) -> None:
        self.result, self.values, self.analyte = result, {}, result.analyte


@pytest.mark.parametrize("lead_text", ["600", "256", "255", "100", "abc", ">1000"])
@pytest.mark.parametrize("rival_text", ["100", "230", "231", "232", "<5", "abc", None])
@pytest.mark.parametrize("sex", ["M", None])
@pytest.mark.parametrize("other_text", [None, "700", "140", "20"])
def test_a_lead_slot_decides_as_the_evaluator(lead_text: str, rival_text: str | None, sex: str | None,
                                              other_text: str | None) -> None:
    """LDH against ALP on, a hair around and far from the same multiple of ULN (255 and 105 for men:
    LDH 600 is 2.353x, ALP 247.06 the same), with or without a third result (ALT far above, in
    range, or for a patient of unknown sex a span of multiples across LDH 600's) and for a patient
    of unknown sex (multiples as spans over the candidate intervals);
    kept entries give the same answer the second time. `evaluated` is PanelJson._evaluated's
    contract: a rule not met has no entry."""
    rule = next(rule for rule in rules() if rule.when["type"] == "dominant_raised")
    patient = Patient(sex, 50.0)

    def judged(analyte_id: str, text: str) -> Any:
        analyte = analytes()[analyte_id]
        return assess(read_measurement(analyte, text, unit_text=analyte.canonical_unit), patient, default_intervals())

    texts = {"ldh": lead_text}
    if rival_text is not None:
        texts["alp"] = {"230": "247.05", "231": "247.06", "232": "247.07"}.get(rival_text, rival_text)
    if other_text is not None:
        texts["alt"] = other_text
    results = {}
    for analyte_id, text in texts.items():
        try:
            results[analyte_id] = judged(analyte_id, text)
        except Exception:  # unreadable: left out
            continue
    if "ldh" not in results:
        return
    pieces = [_Piece(result) for result in results.values()]
    place = {analyte_id: index for index, analyte_id in enumerate(results)}
    _, _, _, positions = value_slot(rule, (rule.when["analyte"], *rule.when["over"]), place)
    seen: list[Any] = []

    def evaluated(rule_: Any, by_id: dict[str, Any]) -> tuple[Any, Any]:
        outcome, account = EVALUATORS[rule_.when["type"]](rule_.when, by_id)
        seen.append(outcome)
        return outcome, None if outcome is False else str(account)

    expected = evaluated(rule, dict(results))
    for _ in range(2):
        assert lead_decided(rule, positions, pieces, lambda: dict(results), evaluated) == expected
    met: dict = {}
    for _ in range(2):  # kept by the lead's multiple, and found there again by another piece of the same result
        assert lead_decided(rule, positions, [_Piece(piece.result) for piece in pieces], lambda: dict(results),
                            evaluated, met) == expected


@pytest.mark.parametrize("limit", [5.0, 2.0])
@pytest.mark.parametrize("relative", [0.0, 1e-13, -1e-13, 1e-11, -1e-11, 1e-9, -1e-9, 2e-9, -2e-9, 1e-6, -1e-6, 0.3, -0.3])
@pytest.mark.parametrize("bottom", [1.0, 3.7, 0.1 + 0.2, 2.000000001])
def test_the_pattern_text_is_the_cores_pattern_dumped(limit: float, relative: float, bottom: float) -> None:
    """On, a hair around (inside and outside the guard zone, and at the core's 12-digit rounding)
    and far from each band limit of the R ratio: the text is json.dumps of render.pattern_json of
    grading.classified_pattern, and only a ratio within the guard zone asks the long way."""
    top = limit * (1 + relative) * bottom
    results = {"alt": SimpleNamespace(x_uln=top), "alp": SimpleNamespace(x_uln=bottom)}
    asked: list[bool] = []

    def long_way() -> Any:
        asked.append(True)
        return pattern_json(classified_pattern(results))  # type: ignore[arg-type]

    expected = json.dumps(pattern_json(classified_pattern(results)), ensure_ascii=False)  # type: ignore[arg-type]
    assert pattern_text(top, bottom, long_way) == expected
    assert bool(asked) == (abs(top / bottom - limit) <= 1e-9 * limit)  # (the band limits, 5 and 2, are far apart)


@pytest.mark.parametrize(("top", "bottom"), [(None, 1.0), (2.0, None), (2.0, 0.0)])
def test_no_pattern_without_both_multiples(top: float | None, bottom: float | None) -> None:
    results = {"alt": SimpleNamespace(x_uln=top), "alp": SimpleNamespace(x_uln=bottom)}
    assert classified_pattern(results) is None  # type: ignore[arg-type]
    assert pattern_text(top, bottom, lambda: pytest.fail("no long way for no pattern")) == "null"
