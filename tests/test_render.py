"""render.py: what people read — tables in a terminal and the same tables piped or written to a file."""

from __future__ import annotations

from click.testing import CliRunner

from levlab.cli import main


def csv_table(text: str):
    return CliRunner().invoke(main, ["csv", "-", "--format", "table"], input=text.encode())


# --- piped tables are never cut (issue 17, item 6, bullet 2) -------------------------------------


def test_a_piped_panel_table_is_never_cut_at_80_columns() -> None:
    result = csv_table("patient;test;result;unit\n1;ALAT;0,5;µkat/l\n1;ASAT;<50;U/L\n")
    assert result.exit_code == 0, result.stderr
    assert "…" not in result.stdout
    lines = result.stdout.splitlines()
    # the reason stays on one line, whole
    assert any(line.endswith("(F 18+ y: < 45 U/L; M 18+ y: < 70 U/L)") for line in lines)
    assert "? indeterminate" in result.stdout
    assert all(line == line.rstrip() for line in lines)  # not padded to a width


def test_a_piped_summary_table_is_never_cut() -> None:
    patient = "P" + "x" * 120
    rows = "".join(f"{patient}{n};2024-01-{n + 1:02d};ALAT;300;U/L\n" for n in range(12))
    result = csv_table("patient;date;test;result;unit\n" + rows)
    assert result.exit_code == 0, result.stderr
    assert "panels with findings" in result.stdout  # the summary view (over 10 panels)
    assert "…" not in result.stdout
    assert f"patient {patient}11" in result.stdout
