"""levlab.exports.long_decision: a long panel decided from all its rows; its shortcut held to the long way."""

from __future__ import annotations

import pytest
from long_panels import outputs, random_long_export

from levlab.exports.long_decision import LongDecision


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("decimal", "flags", "specimens"), [(".", False, False), (",", True, False), (".", True, True)])
def test_judging_a_usual_panel_in_one_pass_gives_what_the_long_way_gives(monkeypatch, seed, decimal, flags, specimens):
    """The one-pass judging of a panel (each analyte once, read without error) against judging
    every row the long way, on random panels with conflicts, errors, unknown sex and age."""
    text = random_long_export(seed, decimal=decimal, flags=flags, specimens=specimens)
    shortcut = outputs(text)
    monkeypatch.setattr(LongDecision, "_judged", LongDecision._judged_every_row)
    assert outputs(text) == shortcut
    assert "given twice" in shortcut[0] or "differs from" in shortcut[0]  # the panels are not all usual


@pytest.mark.parametrize(("first", "second"), [("104.96", "105.04"), ("105.04", "104.96"), ("45.004", "45")])
def test_two_results_of_one_analyte_either_side_of_a_limit_are_a_conflict(first, second):
    """ALP 104.96 and 105.04 U/L in one sample (ULN 105) are different results, whatever their row
    order: neither is used, and the panel is never `met` on the one that came first (they are the
    same to four significant digits, which once made them one result)."""
    import json

    from click.testing import CliRunner

    from levlab.cli import main

    text = (f"patient,sex,age,sample,test,value,unit\nP1,F,50,S1,ALP,{first},U/L\nP1,F,50,S1,ALP,{second},U/L\n"
            "P1,F,50,S1,bilirubin,10,umol/L\nP1,F,50,S1,LDH,150,U/L\nP1,F,50,S1,AST,20,U/L\nP1,F,50,S1,ALT,20,U/L\n")
    if first.startswith("45"):
        text = text.replace(",ALP,", ",ALT,").replace(",ALT,20,", ",ALP,80,")
    result = CliRunner().invoke(main, ["csv", "-", "--format", "jsonl"], input=text)
    (panel,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert panel["normal_panel"]["status"] == "incomplete"
    assert "given twice" in panel["errors"][0]["message"]
