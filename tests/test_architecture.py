"""The house rules of ARCHITECTURE.md that a test can check."""

from __future__ import annotations

import subprocess
import sys

CORE = ["values", "catalog", "units", "ranges", "model", "interpret", "rules", "grading", "serial", "tokens",
        "hyslaw", "cumulative", "svg_chart"]


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


def test_the_module_table_lists_every_module_and_only_those():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    table = (root / "ARCHITECTURE.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(\w+)\.py` \|", table, flags=re.MULTILINE))
    present = {path.stem for path in (root / "levlab").glob("*.py") if path.stem not in ("__init__", "__main__")}
    assert listed == present
