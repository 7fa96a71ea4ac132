"""render.py: what people read — tables in a terminal and the same tables piped or written to a file."""

from __future__ import annotations

import pytest
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
    assert any(line.endswith("(F 18+ y: 10 - 45 U/L; M 18+ y: 10 - 70 U/L)") for line in lines)
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


# --- "as given" keeps the unit the user gave (issue 17, item 6, bullet 3) -------------------------


def _as_given(stdout: str) -> dict[str, str]:
    """analyte -> its "as given" cell, from a piped table."""
    cells = {}
    for line in stdout.splitlines():
        parts = [part.strip() for part in line.split("│")]
        if len(parts) > 3 and parts[1] and parts[1] != "analyte":
            cells[parts[1]] = parts[2]
    return cells


def test_as_given_keeps_a_unit_given_in_a_unit_column_or_header() -> None:
    long = csv_table("patient;test;result;unit\n1;ALAT;0,5;µkat/l\n1;ASAT;30 U/L;\n1;LDH;200;\n")
    assert _as_given(long.stdout) == {"alt": "0,5 µkat/L", "ast": "30 U/L", "ldh": "200 *"}
    wide = csv_table("patient,Bilirubine (mg/dL),ALT\n1,\"0,5\",35\n")
    assert _as_given(wide.stdout) == {"bilirubin": "0,5 mg/dL", "alt": "35 *"}


def test_as_given_of_a_typed_token_is_the_token_text() -> None:
    import re

    result = CliRunner().invoke(main, ["interpret", "alt=0,5µkat/l", "bili=10 umol/L"])
    assumed = CliRunner().invoke(main, ["interpret", "ast=35"])  # beside a µkat/L ALT a bare AST is asked

    assert re.search(r"^alt +0,5µkat/l +30 U/L", result.stdout, re.MULTILINE)  # its own unit, as typed
    assert re.search(r"^ast +35 \* +35 U/L", assumed.stdout, re.MULTILINE)  # assumed, and said so
    assert re.search(r"^bilirubin +10 umol/L +10 µmol/L", result.stdout, re.MULTILINE)


# --- panels with no liver test are counted apart (issue 17, item 6, bullet 4) ---------------------

GASES = "patient;date;test;result;unit\n" + "".join(
    f"P{n};2024-01-{n + 1:02d};ALAT;30;U/L\nP{n};2024-02-{n + 1:02d};pO2;12;kPa\nP{n};2024-02-{n + 1:02d};Hb;8;mmol/L\n"
    for n in range(12)
)


def test_the_closing_line_counts_panels_with_no_liver_test_apart() -> None:
    result = CliRunner().invoke(main, ["csv", "-"], input=GASES.encode())
    assert result.stderr.splitlines()[-1] == "levlab csv: 36 rows, 24 panels (12 with no liver test), 0 rows with errors"


def test_the_closing_line_is_unchanged_when_every_panel_has_a_liver_test() -> None:
    result = CliRunner().invoke(main, ["csv", "-"], input=b"patient;test;result\n1;ALAT;30\n1;Hb;8 mmol/L\n")
    assert result.stderr.splitlines()[-1] == "levlab csv: 2 rows, 1 panels, 0 rows with errors"


def test_the_table_summary_counts_panels_with_no_liver_test_apart() -> None:
    import re

    result = csv_table(GASES)
    assert re.search(r"│ incomplete +│ +12 │", result.stdout)  # the 12 ALT panels, not the 12 blood gases
    assert "12 panels with no liver test result (a blood gas, a blood count...): counted apart" in result.stdout


@pytest.mark.parametrize(
    ("line", "width", "lines"),
    [
        pytest.param("  rule-id: " + "word " * 30, 40, None, id="wrapped-under-its-text"),
        pytest.param("short line", 40, ["short line"], id="short-unchanged"),
        pytest.param("  rule-id: " + "word " * 30, None, None, id="piped-never-wrapped"),
    ],
)
def test_a_footer_line_wraps_with_a_hanging_indent_in_a_terminal(line, width, lines):
    """A long rule statement reads as one item: its continuation lines start two columns further in."""
    from levlab.render import _hanging

    shown = _hanging(line, width).plain.splitlines()
    if width is None:
        assert shown == [line]
    elif lines is not None:
        assert shown == lines
    else:
        assert len(shown) > 1 and all(len(part) <= width for part in shown)
        assert shown[0].startswith("  rule-id:") and all(part.startswith("    ") for part in shown[1:])
