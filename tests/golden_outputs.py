"""Byte-identical output (issue 18): levlab csv's output on fixed inputs, hashed.

The hashes in tests/data/golden/outputs.json were made with main's code (3bbe377, again at 7645c7b after the
merges of issues 10, 17 and 19, which change the output on purpose), before the
speed work of issue 18, by `python -m tests.golden_outputs` — so the expected values do not come
from the code under test. Run it again only when an output is meant to change, and say why in
the commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from click.testing import CliRunner

from levlab.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden"
HASHES = GOLDEN / "outputs.json"
FORMATS = ("csv", "jsonl", "table")
#: the inputs: bench-shaped files (wide and long, repeating and two-decimal values, CR-only line
#: ends) and the shipped examples
INPUTS = (
    GOLDEN / "wide_repeating.csv", GOLDEN / "wide_distinct.csv", GOLDEN / "long_repeating.csv",
    GOLDEN / "long_distinct.csv", GOLDEN / "long_cr_only.csv", GOLDEN / "wide_messy.csv", GOLDEN / "long_messy.csv",
    ROOT / "examples" / "export_en_wide.csv", ROOT / "examples" / "export_nl_long.csv", ROOT / "examples" / "followup.csv",
)


def output_of(path: Path, output_format: str) -> str:
    """sha256 of stdout, stderr and exit status of `levlab csv PATH --format FORMAT`."""
    result = CliRunner().invoke(main, ["csv", str(path), "--format", output_format], env={"COLUMNS": "100"})
    digest = hashlib.sha256()
    digest.update(result.stdout_bytes)
    digest.update(b"\0stderr\0")
    digest.update(result.stderr_bytes)
    digest.update(f"\0exit {result.exit_code}".encode())
    return digest.hexdigest()


def cases() -> list[tuple[str, Path, str]]:
    return [(f"{path.name}:{fmt}", path, fmt) for path in INPUTS for fmt in FORMATS]


def make_inputs() -> None:
    """The bench-shaped inputs, from bench/run.py's generators (kept as files: the tests read these)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import run as bench  # type: ignore[import-not-found]

    bench.make_wide(GOLDEN / "wide_repeating.csv", 1_200)
    bench.make_wide(GOLDEN / "wide_distinct.csv", 1_200, distinct=True)
    bench.make_long(GOLDEN / "long_repeating.csv", 2_400)
    bench.make_long(GOLDEN / "long_distinct.csv", 2_400, distinct=True)
    bench.make_long(GOLDEN / "long_cr_only.csv", 600, distinct=True, ending="\r")


if __name__ == "__main__":
    if "--inputs" in sys.argv:
        make_inputs()
    HASHES.write_text(json.dumps({name: output_of(path, fmt) for name, path, fmt in cases()}, indent=1) + "\n")
