"""The house rules of ARCHITECTURE.md that a test can check."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ["values", "catalog", "units", "ranges", "model", "interpret", "rules", "grading", "serial", "tokens"]


def test_the_core_imports_no_edge_library():
    code = (
        "import sys\n"
        + "".join(f"import levlab.{name}\n" for name in CORE)
        + "print(sorted(m for m in ('click', 'rich', 'csv', 'pint') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_panel_in_canonical_units_never_imports_pint():
    code = (
        "import sys\n"
        "from levlab.tokens import read_tokens\n"
        "from levlab.interpret import interpret_panel\n"
        "from levlab.model import Patient\n"
        "panel = interpret_panel(read_tokens(['bili=12umol/L', 'alt=30', 'ast=20', 'alp=80', 'ldh=150']), Patient('F', 50))\n"
        "print(panel.normal_panel.status, 'pint' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["met", "False"]


def test_the_exports_package_imports_neither_click_nor_rich():
    code = "import sys\nimport levlab.exports\nprint(sorted(m for m in ('click', 'rich') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def _module_table() -> list[str]:
    """The first column of ARCHITECTURE.md's module table: paths under levlab/."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text.split("| module | one job |", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE)


def test_every_module_in_the_table_exists():
    listed = _module_table()
    assert len(listed) >= 20
    missing = [name for name in listed if not (ROOT / "levlab" / name).exists()]
    assert missing == []


def test_every_module_of_levlab_is_in_the_table():
    listed = set(_module_table())
    modules = {path.relative_to(ROOT / "levlab").as_posix() for path in (ROOT / "levlab").rglob("*.py")}
    assert sorted(modules - listed) == []

def test_the_session_runs_without_a_terminal_library():
    """session.py is the testable core of `levlab shell`: no click, rich or prompt_toolkit, and
    pint only for a conversion, as everywhere."""
    code = (
        "import sys\n"
        "from levlab.session import Session, completions\n"
        "session = Session()\n"
        "for line in ['sex F', 'bili=2.5', 'age 62', 'bili=12umol/L alt=30 ast=20 alp=80 ldh=150', 'json']:\n"
        "    session.evaluate(line)\n"
        "completions(session, 'bili=40umo')\n"
        "print(session.last_panel.normal_panel.status,"
        " sorted(m for m in ('click', 'rich', 'prompt_toolkit', 'pint') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().split(maxsplit=1) == ["met", "[]"]
