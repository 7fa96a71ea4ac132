"""The README is part of the interface: these tests keep its claims true."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from levlab.catalog import analytes
from levlab.errors import ExitStatus
from levlab.rules import rules

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block, "the quick start has a ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert "levlab" in commands[0] and "pytest" in commands[1]


def test_quick_start_example_file_exists():
    words = shlex.split(quick_start_commands()[0].replace("&&", " "))
    examples = [word for word in words if word.startswith("examples/")]
    assert examples and all((ROOT / example).is_file() for example in examples)


def test_ci_runs_the_readme_test_command():
    readme_command = quick_start_commands()[1].split("&&")[-1].strip()
    assert readme_command == ".venv/bin/python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert '"$venv/bin/python" -m pytest' in ci


@pytest.mark.parametrize("rule_id", [rule.id for rule in rules()])
def test_every_rule_is_documented_with_its_id(rule_id):
    assert f"`{rule_id}`" in README


@pytest.mark.parametrize("analyte_id", list(analytes()))
def test_every_analyte_is_named(analyte_id):
    assert analyte_id in README


@pytest.mark.parametrize("status", list(ExitStatus))
def test_every_exit_status_is_in_the_table(status):
    assert re.search(rf"^\| {int(status)} \|", README, re.MULTILINE)


def test_readme_disclaimer_matches_the_product():
    from levlab import DISCLAIMER

    assert DISCLAIMER.split(";")[0] in README


def test_every_test_named_in_the_guarantees_exists():
    section = README.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`(tests/test_\w+\.py)::(\w+)`|`::(\w+)`", section)
    current = None
    checked = 0
    for path, test, continued in named:
        if path:
            current = path
        name = test or continued
        assert current is not None
        source = (ROOT / current).read_text(encoding="utf-8")
        assert f"def {name}(" in source, f"{current}::{name} is named in the README but does not exist"
        checked += 1
    assert checked >= 25


def test_the_documented_json_keys_are_the_ones_interpret_writes():
    import json

    from click.testing import CliRunner

    from levlab.cli import main

    block = README.split("### JSON", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    documented = set(re.findall(r'"(\w+)"', block)) - {"met", "not", "incomplete"}
    result = CliRunner().invoke(main, ["interpret", "alt=90", "alp=300", "--sex", "F", "--format", "json"])
    document = json.loads(result.stdout)
    written = set(document) | set(document["analytes"]["alt"]) | set(document["normal_panel"])
    written |= {key for flag in document["flags"] for key in flag} | set(document["pattern"] or {})
    assert documented <= written, documented - written
    assert {"levlab_version", "analytes", "flags", "normal_panel", "disclaimer"} <= documented


def _numbers(text: str) -> set[float]:
    return {float(n) for n in re.findall(r"\d+(?:\.\d+)?", text)}


def test_the_reference_interval_table_matches_the_data():
    """Every analyte with a default has one row; its limits, age bounds and source are the data's."""
    from levlab.data import load_toml

    section = README.split("## Reference intervals", 1)[1].split("\n## ", 1)[0]
    table = section.split("| analyte | interval | source |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.strip().splitlines()[1:]:
        name, interval, source = (cell.strip() for cell in line.strip("|").split("|"))
        rows[name.casefold()] = (interval.replace("10⁹/L", ""), source)
    entries = load_toml("ranges.toml")["interval"]
    assert set(rows) == {entry["analyte"] for entry in entries}
    for analyte, (interval, source) in rows.items():
        mine = [entry for entry in entries if entry["analyte"] == analyte]
        expected = set()
        for entry in mine:
            expected |= _numbers(entry["range"])
            expected |= {float(entry[key]) for key in ("age_min", "age_max") if key in entry}
            first_word = re.split(r"[ ,(]", entry["source"], maxsplit=1)[0]
            assert first_word in source, (analyte, entry["source"], source)
        assert _numbers(interval) == expected, (analyte, interval)

def test_every_shell_command_is_in_the_readme_shell_section():
    from levlab.session import Session

    section = README.split("## A session: `levlab shell`", 1)[1].split("\n## ", 1)[0]
    for command in Session().commands:
        assert f"`{command}" in section, command

def test_the_trend_view_shown_in_the_readme_is_what_levlab_prints():
    from click.testing import CliRunner

    from levlab.cli import main

    section = README.split("### The terminal view", 1)[1]
    shown = section.split("```text\n", 1)[1].split("\n...\n", 1)[0]
    result = CliRunner().invoke(main, ["trend", str(ROOT / "examples" / "followup.csv"), "--patient", "P-101", "--last", "4"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(shown + "\n")


def test_the_documented_trend_json_keys_are_the_ones_trend_writes():
    import json

    from click.testing import CliRunner

    from levlab.cli import main

    section = README.split("## Follow-up: `levlab trend`", 1)[1].split("\n## ", 1)[0]
    block = section.split("### JSON", 1)[1]
    documented = set(re.findall(r'"(\w+)"', block))
    result = CliRunner().invoke(main, ["trend", str(ROOT / "examples" / "followup.csv"), "--patient", "P-101",
                                       "--format", "json"])
    (patient,) = json.loads(result.stdout)
    cumulative = patient["cumulative"]
    alt = cumulative["analytes"]["alt"]
    written = set(patient) | set(patient["samples"][1]) | set(cumulative) | set(alt)
    written |= set(alt["change_since_previous"]) | set(alt["worst_ctcae_after_baseline"])
    written |= set(cumulative["hys_law_over_time"]) | set(cumulative["hys_law_over_time"]["met"][0])
    assert documented <= written, documented - written
    assert {"cumulative", "hys_law_over_time", "worst_ctcae_after_baseline", "exceeds_rcv"} <= documented


# --- every example command runs in a real shell (issue 17, item 5) -------------------------------


def _shell_examples(text: str) -> list[str]:
    """The `levlab ...` commands of a text's ```sh blocks (backslash continuations joined); a
    pipeline counts when one of its commands is levlab."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for command in block.replace("\\\n", " ").splitlines():
            if re.search(r"(^|\|)\s*levlab\s", command):
                commands.append(command.strip())
    return commands


def _help_examples() -> list[str]:
    """The `levlab ...` lines of each command's --help "Examples:" that name no file other than
    the shipped examples (the others, such as `extract.csv`, stand for the user's own file)."""
    from click.testing import CliRunner

    from levlab.cli import main

    found = []
    for name in main.commands:
        help_text = CliRunner().invoke(main, [name, "--help"]).stdout
        for line in help_text.splitlines():
            line = line.strip().removeprefix("Example:").strip()
            words = shlex.split(line) if re.search(r"(^|\|)\s*levlab\s", line) else []
            inputs = [word for before, word in zip(["", *words], words, strict=False) if before != "-o"]
            if words and not any(word.endswith(".csv") and not word.startswith("examples/") for word in inputs):
                found.append(line)
    return found


EXAMPLES = [*_shell_examples(README), *_help_examples()]


def test_the_examples_include_the_readmes_interpret_and_csv_commands():
    assert any(command.startswith("levlab interpret") and "--format json" in command for command in EXAMPLES)
    assert sum(" | jq " in command for command in EXAMPLES) >= 3
    assert any(command.startswith("levlab convert") for command in EXAMPLES)


@pytest.mark.parametrize("command", EXAMPLES, ids=[command[:60] for command in EXAMPLES])
def test_every_example_command_runs_in_a_real_shell(command, tmp_path):
    import os
    import subprocess
    import sys

    (tmp_path / "examples").symlink_to(ROOT / "examples")  # relative paths as from the repo; outputs land here
    expected = int(match.group(1)) if (match := re.search(r"#\s*exit (\d+)", command)) else 0
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    completed = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=tmp_path, env=environment,
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == expected, completed.stderr[-2000:]
    assert "Traceback" not in completed.stderr
