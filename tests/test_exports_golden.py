"""Output stays byte-identical through the speed work (issue 18): stdout, stderr and exit status
of `levlab csv` in csv, jsonl and table formats on bench-shaped files (repeating and two-decimal
values, wide and long, CR-only line ends, messy cells) and the shipped examples, against hashes
made with main's code before the work began (tests/golden_outputs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden_outputs import HASHES, cases, output_of

EXPECTED = json.loads(HASHES.read_text())


@pytest.mark.parametrize(("name", "path", "output_format"), cases(), ids=[name for name, _, _ in cases()])
def test_output_is_byte_identical_to_main_before_the_speed_work(name: str, path: Path, output_format: str) -> None:
    assert output_of(path, output_format) == EXPECTED[name]


def test_every_golden_case_has_a_hash() -> None:
    assert sorted(EXPECTED) == sorted(name for name, _, _ in cases())
