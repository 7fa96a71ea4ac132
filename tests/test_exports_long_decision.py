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
