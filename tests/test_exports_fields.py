"""levlab.exports.fields: the columns levlab appends."""

from __future__ import annotations

import csv
import io

from levlab.catalog import analytes
from levlab.exports import CsvOptions, CsvRun, CsvSink


def test_every_analyte_id_makes_a_column_name() -> None:
    for analyte_id in analytes():
        assert analyte_id.isidentifier()


# --- levlab_error and levlab_warnings: several messages in one cell (issue 10.5) --------------------

import ast  # noqa: E402
import tomllib  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from export_runs import column, run_csv, run_jsonl  # noqa: E402

from levlab.cli import main  # noqa: E402
from levlab.exports.fields import SEPARATOR, joined  # noqa: E402

PACKAGE = Path(__file__).resolve().parent.parent / "levlab"


def _texts_in_data(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts_in_data(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts_in_data(item)]
    return []


def test_no_message_text_in_the_code_or_data_contains_the_separator() -> None:
    """Messages are made from string literals in levlab/ and texts in levlab/data/*.toml: none holds
    ` | `, so a script may split levlab_error and levlab_warnings at it. Docstrings are no
    messages; the shell pipes of decoding.py (`gunzip -c FILE | levlab csv -`) are said only in
    the usage error about a compressed file, before any row is read."""
    assert SEPARATOR == " | "
    found = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        documents = {id(node.body[0].value) for node in ast.walk(tree)  # type: ignore[attr-defined]
                     if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and ast.get_docstring(node)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and SEPARATOR in node.value
                    and id(node) not in documents
                    and not (path.name == "decoding.py" and node.value.startswith("decompress it first: "))):
                found.append(f"{path.name}: {node.value[:60]!r}")
    for path in (PACKAGE / "data").glob("*.toml"):
        found += [f"{path.name}: {text[:60]!r}" for text in _texts_in_data(tomllib.loads(path.read_text(encoding="utf-8")))
                  if SEPARATOR in text]
    assert found == [f"fields.py: {SEPARATOR!r}"]  # the definition itself


def test_several_errors_of_a_row_split_at_the_separator_into_the_jsonl_errors() -> None:
    # both messages hold `;` (the old separator), so splitting at `; ` would make more than two
    text = "patient,ALT (U/L),AST (U/L)\nP1,abc,5000000\n"
    _, rows = run_csv(text)
    cell = column(rows, "levlab_error")[0]
    _, panels = run_jsonl(text)
    expected = [f"{e['column']}: {e['message']}" for e in panels[0]["errors"]]
    assert len(expected) == 2 and any(";" in message for message in expected)
    assert cell.split(SEPARATOR) == expected


@pytest.mark.parametrize(("messages", "cell"), [
    (["a; b", "c"], "a; b | c"),
    (["column 'x | y': bad", "z"], "column 'x ¦ y': bad | z"),  # file text holding the separator
    (["=1+1 | 2"], "'=1+1 ¦ 2"),  # never a formula
])
def test_joined_messages_never_hold_the_separator_inside_one(messages: list[str], cell: str) -> None:
    assert joined(messages) == cell
    assert len(joined(messages).split(SEPARATOR)) == len(messages)


# --- levlab_warnings: a value unusual for its stated unit (issue 10.4) ------------------------------

WIDE_LOW = "patient,LDH (U/L),ALT (U/L),AST (U/L)\nP1,20,2,30\nP2,200,30,30\n"
LONG_LOW = "patient;date;test;value;unit\nP1;2024-01-01;LD;20;U/L\nP1;2024-01-01;ALAT;30;U/L\nP2;2024-01-01;ALAT;2;U/L\n"


def test_a_wide_row_says_its_warnings_in_levlab_warnings_and_exits_0() -> None:
    result = CliRunner().invoke(main, ["csv", "-"], input=WIDE_LOW)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][-1] == "levlab_warnings" and rows[0][-2] == "levlab_error"
    warnings = column(rows, "levlab_warnings")
    assert warnings[0].split(SEPARATOR) == [
        "ldh: 20 is unusually low for lactate dehydrogenase in U/L (usual 50-50000 U/L); check value and unit",
        "alt: 2 is unusually low for alanine aminotransferase in U/L (usual 3-30000 U/L); check value and unit"]
    assert warnings[1] == "" and column(rows, "levlab_error") == ["", ""]
    assert column(rows, "levlab_ldh_flag") == ["L", "N"]  # interpreted all the same


def test_a_long_row_says_its_own_result_s_warning_and_the_jsonl_panel_lists_them() -> None:
    result = CliRunner().invoke(main, ["csv", "-"], input=LONG_LOW)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout), delimiter=";"))
    warnings = column(rows, "levlab_warnings")
    assert warnings[0].startswith("ldh: 20 is unusually low") and warnings[1:] == ["", warnings[2]]
    assert warnings[2].startswith("alt: 2 is unusually low")
    _, panels = run_jsonl(LONG_LOW)
    assert [panel["warnings"] for panel in panels] == [[warnings[0]], [warnings[2]]]
    assert [panel["analytes"]["alt"]["warnings"] for panel in panels] == [[], [warnings[2][len("alt: "):]]]


def test_warnings_stay_right_when_the_caches_serve_a_cell_again() -> None:
    """The same cell text in another row, another patient and after the caches were cleared
    carries the same warning; a usual value beside it none."""
    body = "".join(f"P{n},{20 if n % 2 else 200},30,30\n" for n in range(1, 41))
    text = "patient,LDH (U/L),ALT (U/L),AST (U/L)\n" + body
    run = CsvRun(io.StringIO(text, newline=""), CsvOptions())
    run.judge.limit = 7  # cleared every few cells
    out = io.StringIO(newline="")
    run.run(CsvSink(out, run.dialect))
    assert run.judge.clears > 3
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    warnings = column(rows, "levlab_warnings")
    assert [bool(text) for text in warnings] == [n % 2 == 1 for n in range(1, 41)]
    assert len(set(filter(None, warnings))) == 1
