"""levlab.exports.memo: the cached path through the core (bounded caches, shared judgements)."""

from __future__ import annotations

import pytest
from export_runs import run_csv

from levlab.exports import (
    memo,
)

# --- caches -----------------------------------------------------------------------------------------


def test_caches_are_bounded_and_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["sex,age,ALT (U/L),AST (U/L),LDH (U/L)"]
    lines += [f"{'FM'[i % 2]},{30 + i % 50},{10 + i % 97},{12 + i % 89},{150 + i % 300}" for i in range(600)]
    text = "\n".join(lines) + "\n"
    _, expected = run_csv(text)
    monkeypatch.setattr(memo, "CACHE_LIMIT", 7)
    monkeypatch.setattr(memo, "PANEL_CACHE_LIMIT", 5)
    run, rows = run_csv(text)
    assert rows == expected
    assert run.judge.clears > 10
    assert len(run.judge.panels) <= 5


def test_assessment_is_shared_between_patients_of_one_context() -> None:
    text = "sex,age,ALT (U/L)\nF,40,30\nF,41,30\nF,42,30\n"
    run, _ = run_csv(text)
    (reading,) = run.judge.readings.values()
    assert len(reading.judged) == 1  # three adult women: one judgement
