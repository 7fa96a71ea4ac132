"""session.py: the `levlab shell` session without a terminal — commands, settings, panels
through the same core and writers as `levlab interpret`, errors that keep the session, completion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from levlab.cli import main
from levlab.session import TEXTS, Session, Settings, completions, say, split_tokens

PANEL = "bili=40umol/L alp=250 ldh=480 ast=40 alt=35"


def interpret(*args: str) -> str:
    result = CliRunner().invoke(main, ["interpret", *args])
    return result.stdout if result.exit_code == 0 else result.stderr


def typed(*lines: str) -> tuple[Session, list]:
    session = Session()
    return session, [session.evaluate(line) for line in lines]


# --- panels: the same core and the same text as `levlab interpret` ---------------------------------------

@pytest.mark.parametrize(("lines", "interpret_args"), [
    ([PANEL], PANEL.split()),
    (["sex V", "age 62", PANEL], [*PANEL.split(), "--sex", "F", "--age", "62"]),
    (["sex M", "smoker yes", "cea=4.5 alt=60"], ["cea=4.5", "alt=60", "--sex", "M", "--smoker", "yes"]),
    (["baseline alt=100 ast=50", "sex F", "alt=150 ast=60"], ["alt=150", "ast=60", "--sex", "F",
                                                              "--baseline", "alt=100", "--baseline", "ast=50"]),
])
def test_a_panel_reads_as_interpret_prints_it(lines, interpret_args):
    _, replies = typed(*lines)
    assert replies[-1].text == interpret(*interpret_args)
    assert replies[-1].panel is not None and not replies[-1].error


def test_json_is_interpret_json_of_the_last_panel():
    _, replies = typed("sex F", "age 62", "baseline alt=100", PANEL, "json")
    expected = json.loads(interpret(*PANEL.split(), "--sex", "F", "--age", "62", "--baseline", "alt=100", "--format", "json"))
    assert json.loads(replies[-1].text) == expected


def test_a_unit_after_a_space_belongs_to_its_token():
    assert split_tokens("bili=40 umol/L alt=35 'ldh=480 U/L'") == ["bili=40 umol/L", "alt=35", "ldh=480 U/L"]
    _, replies = typed("bili=2.4 mg/dL alt=35")
    assert replies[0].text == interpret("bili=2.4 mg/dL", "alt=35")


def test_settings_hold_for_every_panel_until_changed():
    session, _ = typed("sex F", "age 62", "alt=50")
    assert session.last_panel.patient.sex == "F" and session.last_panel.patient.age == 62
    session.evaluate("sex -")
    session.evaluate("alt=50")
    assert session.last_panel.patient.sex is None and session.last_panel.patient.age == 62


def test_again_reinterprets_the_last_panel_with_the_settings_now():
    _, replies = typed("alt=50", "sex F", "again")
    assert replies[0].panel.results[0].flag == "?"  # F < 45, M < 70: undecided without sex
    assert replies[2].panel.results[0].flag == "H"


def test_reset_forgets_the_patient_but_keeps_the_laboratory_ranges(tmp_path: Path):
    lab = tmp_path / "lab.toml"
    lab.write_text('[[interval]]\nanalyte = "alt"\nrange = "< 30"\nunit = "U/L"\nsource = "Lab X"\n')
    session, replies = typed("sex F", "age 62", "smoker no", "baseline alt=100", f"ranges {lab}", "alt=35", "reset", "json")
    assert session.settings == Settings(ranges_file=str(lab), table=session.settings.table)
    assert session.settings.table is not None
    assert replies[-1].text == say("no_panel")
    session.evaluate("alt=35")
    assert session.last_panel.results[0].flag == "H"  # the lab's < 30, not the default F < 45
    assert session.last_panel.results[0].interval.source == "Lab X"


def test_ranges_dash_goes_back_to_the_defaults(tmp_path: Path):
    lab = tmp_path / "lab.toml"
    lab.write_text('[[interval]]\nanalyte = "alt"\nrange = "< 30"\nunit = "U/L"\nsource = "Lab X"\n')
    session, replies = typed(f"ranges {lab}", "ranges -", "sex F", "alt=35")
    assert replies[-1].panel.results[0].flag == "N"
    assert session.settings.ranges_file is None


def test_show_lists_the_settings_in_force():
    _, replies = typed("sex V", "age 62.5", "smoker nee", "baseline alt=100 ast=50", "show")
    assert replies[-1].text == "sex F, age 62.5, smoker no\nbaseline: alt=100 ast=50\nranges: levlab's defaults"
    _, replies = typed("patient")
    assert replies[-1].text == "sex unknown, age unknown, smoker unknown\nbaseline: none\nranges: levlab's defaults"


@pytest.mark.parametrize(("line", "reply"), [
    ("sex v", "sex: F"), ("SEX male", "sex: M"), ("sex -", "sex: unknown"),
    ("age 0", "age: 0"), ("age 130", "age: 130"), ("age 62,5", "age: 62.5"), ("age ?", "age: unknown"),
    ("smoker ja", "smoker: yes"), ("smoker N", "smoker: no"), ("smoker unknown", "smoker: unknown"),
    ("baseline alt=100  ast=50", "baseline: alt=100 ast=50"), ("baseline -", "baseline: none"),
    ("ranges -", "ranges: levlab's defaults"),
])
def test_setting_commands_echo_what_is_now_in_force(line, reply):
    _, replies = typed(line)
    assert (replies[0].text, replies[0].error) == (reply, False)


# --- errors: one `Error:` line, as `interpret` says it, and the session goes on ---------------------------

@pytest.mark.parametrize("tokens", [
    "bili=2.5", "alt=0.5", "alt=1,234", "foo=3", "alt=35 alt=40", "alt=9**9**9", "alt", "alt=", "bili=40 furlongs",
])
def test_a_bad_panel_is_the_interpret_error_and_the_session_goes_on(tokens):
    session, replies = typed("sex F", tokens, "alt=35")
    expected = interpret(*split_tokens(tokens)) if "=" in tokens.split()[0] else None
    assert replies[1].error and replies[1].text.startswith("Error: ") and "\n" not in replies[1].text
    if expected is not None:
        assert replies[1].text + "\n" == expected
    assert replies[2].panel is not None and session.settings.sex == "F"


@pytest.mark.parametrize(("line", "words"), [
    ("sex X", "sex 'X' is not understood"),
    ("age 131", "age '131' is not understood"), ("age -1", "age '-1' is not understood"),
    ("age nan", "age 'nan'"), ("age 1e3", "age '1e3'"), ("age", "age needs a value"),
    ("smoker maybe", "smoker 'maybe' is not understood"),
    ("baseline alt=0.5", "baseline token 'alt=0.5': alt '0.5' has no unit, and 0.5 may be µkat/L"),
    ("baseline", "baseline needs a value"),
    ("ranges /no/such/file.toml", "cannot read ranges file '/no/such/file.toml': No such file or directory"),
    ("json please", "json takes no arguments"),
    ("alt 35", "'alt' is not a command or a token; write ANALYTE=VALUE[UNIT]"),
    ("bili='40", "cannot split the line"),
])
def test_a_bad_command_is_an_error_line_and_keeps_the_settings(line, words):
    session, replies = typed("sex F", "age 62", "baseline alt=100", line)
    assert replies[-1].error and replies[-1].text.startswith("Error: ") and words in replies[-1].text
    assert (session.settings.sex, session.settings.age, session.settings.baseline) == ("F", 62, ("alt=100",))


def test_a_bad_ranges_file_is_the_interpret_error(tmp_path: Path):
    lab = tmp_path / "lab.toml"
    lab.write_text('[[interval]]\nanalyte = "alt"\nrange = "45 - 10"\nunit = "U/L"\nsource = "x"\n')
    _, replies = typed(f"ranges {lab}")
    assert replies[0].text + "\n" == interpret("alt=3", "--ranges", str(lab))


@pytest.mark.parametrize(("line", "field"), [
    ("quit", "quit"), ("exit", "quit"), ("EXIT", "quit"), ("clear", "clear_screen"),
])
def test_quit_and_clear_are_told_to_the_front_end(line, field):
    _, replies = typed(line)
    assert getattr(replies[0], field) is True and replies[0].text == ""


@pytest.mark.parametrize("line", ["", "   ", "# a comment"])
def test_blank_lines_and_comments_answer_nothing(line):
    _, replies = typed(line)
    assert replies[0].text == "" and not replies[0].error


def test_after_a_failed_panel_json_shows_no_older_panel():
    _, replies = typed("alt=35", "alt=35 bili=2.5", "json", "again", "alt=40", "json")
    assert replies[1].error
    assert [reply.text for reply in replies[2:4]] == [say("panel_failed")] * 2
    assert json.loads(replies[5].text)["analytes"]["alt"]["input"] == "40"


def test_json_and_again_before_any_panel_say_so():
    _, replies = typed("json", "again")
    assert [reply.text for reply in replies] == [say("no_panel")] * 2


def test_help_names_every_command():
    session, replies = typed("help")
    for command in session.commands:
        assert command in replies[0].text


def test_every_text_a_person_reads_comes_from_the_texts_table():
    """The one place a translation will wrap: session.py writes no English outside TEXTS."""
    import ast

    source = (Path(__file__).resolve().parent.parent / "levlab" / "session.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    texts = next(node for node in tree.body if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "TEXTS")
    inside = {id(node) for node in ast.walk(texts)}
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Module) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    prose = [node.value for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside | docstrings
             and " " in node.value.strip()]
    assert prose == []
    assert all(isinstance(value, str) for value in TEXTS.values())


# --- completion: from the catalogue and the unit data ---------------------------------------------------

def offered(line: str) -> list[str]:
    return [text for text, _, _ in completions(Session(), line)]


@pytest.mark.parametrize(("line", "expected"), [
    ("bilirubi", ["bilirubin="]),
    ("ALA", ["alat="]),  # an alias, matched whatever the case
    ("sgp", ["sgpt="]),
    ("1742", ["1742-6="]),  # a LOINC code
    ("bili=40umo", ["µmol/L"]),  # the unit as levlab writes it, typed without µ
    ("bili=40", ["µmol/L", "mg/dL", "mg/L"]),
    ("bili=40 m", ["mg/dL", "mg/L"]),  # a unit after a space
    ("alt=<5", ["U/L", "µkat/L"]),
    ("alt=35 as", ["ast=", "ascites_ldh="]),
    ("sex ", ["F", "M", "-"]),
    ("smoker y", ["yes"]),
    ("baseline al", ["alp=", "alt=", "albumin="]),
    ("age 6", []),
    ("alt=", []),
    ("nonsense=4", []),
])
def test_tab_offers(line, expected):
    assert offered(line) == expected


def test_tab_offers_every_analyte_and_command_on_an_empty_line():
    from levlab.catalog import analytes

    found = offered("")
    assert [word for word in found if word.endswith("=")] == [f"{analyte_id}=" for analyte_id in analytes()]
    assert {"sex", "age", "smoker", "ranges", "baseline", "show", "json", "help", "quit"} <= set(found)


def test_tab_replaces_the_typed_part_of_the_word():
    assert completions(Session(), "alt=35 bili=40umo") == [("µmol/L", -3, "total bilirubin")]
    assert completions(Session(), "alt=35 bilirubi")[0][:2] == ("bilirubin=", -8)


def test_every_one_word_alias_is_offered():
    from levlab.catalog import analytes

    for analyte in analytes().values():
        for alias in analyte.aliases:
            if " " not in alias:
                assert any(word.casefold().startswith(alias.casefold()) or analyte.id.startswith(alias.casefold())
                           for word in offered(alias)), alias


@pytest.mark.parametrize("line", [
    "alt=" + "9" * 5_000_000,  # a 5 MB value: a million times slower through shlex than this guard allows
    "x" * 5_000_000, "sex " + "F" * 5_000_000, "ranges " + "f" * 5_000_000, "baseline alt=" + "9" * 5_000_000,
    'alt="' + "9" * 99_000,  # an unclosed quote on a long line
    "alt=" + "9" * 99_000, "ranges " + "f" * 99_000,
    " ".join(f"alt={i}" for i in range(10_000)),
])
def test_a_hostile_line_gets_a_short_error_quickly(line):
    import time

    start = time.perf_counter()
    _, replies = typed(line)
    assert time.perf_counter() - start < 2.0
    assert replies[0].error and len(replies[0].text) < 400 and "\n" not in replies[0].text

