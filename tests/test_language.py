"""The language a person reads: choosing it, the Dutch catalogue complete and compiled, Dutch output."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import string
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from levlab import DISCLAIMER
from levlab.cli import main
from levlab.grading import criteria
from levlab.help_text import help_paragraphs, lang_in_args
from levlab.language import ENGLISH, Joined, Localized, Msg, Numeric, language, resolve_language
from levlab.rules import rules

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "levlab" / "locale" / "nl" / "LC_MESSAGES" / "levlab.po"
MO = PO.with_suffix(".mo")


def _catalogue_tool():
    spec = importlib.util.spec_from_file_location("catalogue", ROOT / "tools" / "catalogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CATALOGUE = _catalogue_tool()
DUTCH = CATALOGUE.read_po(PO.read_text(encoding="utf-8"))


# --- which language --------------------------------------------------------------------------

@pytest.mark.parametrize(("option", "environ", "expected"), [
    (None, {}, "en"),
    (None, {"LANG": "nl_NL.UTF-8"}, "nl"),
    (None, {"LANG": "nl_BE"}, "nl"),
    (None, {"LANG": "nl"}, "nl"),
    (None, {"LANG": "nl_NL@euro"}, "nl"),
    (None, {"LANG": "en_GB.UTF-8"}, "en"),
    (None, {"LANG": "C"}, "en"),
    (None, {"LANG": "nds_DE"}, "en"),  # Low German starts with n, is not Dutch
    (None, {"LANG": "de_DE", "LC_MESSAGES": "nl_NL"}, "nl"),  # LC_MESSAGES over LANG
    (None, {"LANG": "nl_NL", "LC_MESSAGES": "en_US"}, "en"),
    (None, {"LANG": "nl_NL", "LC_ALL": "C"}, "en"),  # LC_ALL over everything
    (None, {"LC_ALL": "nl_NL.UTF-8", "LANG": "en_US"}, "nl"),
    (None, {"LC_ALL": "", "LANG": "nl_NL"}, "nl"),  # an empty variable is not set
    ("nl", {"LANG": "en_US"}, "nl"),  # the option wins
    ("en", {"LC_ALL": "nl_NL"}, "en"),
    ("NL", {}, "nl"),
])
def test_resolve_language(option, environ, expected):
    assert resolve_language(option, environ) == expected


@pytest.mark.parametrize(("args", "expected"), [
    (["interpret", "--lang", "nl", "--help"], "nl"),
    (["interpret", "--help", "--lang=nl"], "nl"),
    (["interpret", "--lang"], None),
    (["interpret", "--", "--lang", "nl"], None),
    (["--lang", "en", "interpret", "--lang", "nl"], "nl"),
])
def test_lang_read_from_the_line_before_click_processes_options(args, expected):
    assert lang_in_args(args) == expected


# --- the catalogue ---------------------------------------------------------------------------

def _marked_texts() -> dict[str, str]:
    found = {}
    for path in sorted((ROOT / "levlab").rglob("*.py")):
        for text in CATALOGUE.extract(path.read_text(encoding="utf-8")):
            found.setdefault(text, path.relative_to(ROOT).as_posix())
    return found


def _help_texts() -> set[str]:
    texts = set()

    def walk(command: click.Command, ctx: click.Context) -> None:
        texts.update(help_paragraphs(command.help))
        for param in command.get_params(ctx):
            if isinstance(param, click.Option) and param.help:
                texts.add(param.help)
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub, click.Context(sub, parent=ctx))

    walk(main, click.Context(main))
    return texts


def test_the_marker_extraction_sees_every_kind_of_marker():
    source = 'Msg("a {x}", x=1)\nN_("b")\n_("c")\nlang.gettext("d")\nJoined(" or ", xs)\nf("e")\nMsg(name)'
    assert CATALOGUE.extract(source) == ["a {x}", "b", "c", "d", " or "]


def test_every_marked_text_has_a_dutch_translation():
    texts = _marked_texts()
    assert len(texts) > 150  # the extraction found the texts (an empty list would pass below)
    missing = {text: where for text, where in texts.items() if not DUTCH.get(text)}
    assert missing == {}


def test_every_help_text_has_a_dutch_translation():
    texts = _help_texts()
    assert "Interpret one panel typed as tokens." in texts
    assert "Show this message and exit." in texts
    assert sorted(text for text in texts if not DUTCH.get(text)) == []


def test_the_disclaimer_has_a_dutch_translation():
    assert DUTCH[DISCLAIMER].startswith("levlab ondersteunt het klinisch oordeel")


def test_translations_keep_the_fields_of_their_text():
    def fields(text: str) -> list[str]:
        return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)

    for english, dutch in DUTCH.items():
        if english:
            assert fields(english) == fields(dutch), english


def test_the_compiled_catalogue_is_in_sync_with_its_source():
    """Run `python tools/catalogue.py` after editing levlab.po."""
    assert MO.read_bytes() == CATALOGUE.write_mo(DUTCH)


def test_the_compiled_catalogue_is_read_by_gettext():
    assert language("nl").gettext("raised") == "verhoogd"
    assert language("nl").gettext("no such text") == "no such text"
    assert language("nl").gettext("") == ""  # never the catalogue's header


def test_the_catalogue_ships_with_a_non_editable_install():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["levlab"]
    shipped = MO.relative_to(ROOT / "levlab").as_posix()
    assert any(fnmatch.fnmatch(shipped, pattern) for pattern in patterns)


def test_every_rule_is_written_in_dutch_beside_the_english():
    for rule in rules():
        for text in (rule.condition, rule.statement, *([rule.interpretation] if rule.interpretation else [])):
            assert isinstance(text, Localized)
            assert text.translations.get("nl"), (rule.id, text)
            assert text.translations["nl"] != str(text)


# --- the texts the core makes -----------------------------------------------------------------

def test_a_msg_is_its_english_text_and_carries_its_template():
    made = Msg("{analyte} {value} {unit} ({x_uln}x ULN)", analyte="ALP", value=Numeric("250"), unit="U/L", x_uln=2.38)
    assert made == "ALP 250 U/L (2.38x ULN)"
    assert json.dumps(made) == '"ALP 250 U/L (2.38x ULN)"'
    assert language("nl").text(made) == "ALP 250 U/L (2,38 × ULN)"


@pytest.mark.parametrize(("value", "english", "dutch"), [
    (Numeric("0.3-1.2 mg/dL"), "0.3-1.2 mg/dL", "0,3-1,2 mg/dL"),
    (Joined(" or ", [Msg("sex"), Msg("age")]), "sex or age", "geslacht of leeftijd"),
    (Localized("raised", {"nl": "verhoogd"}), "raised", "verhoogd"),
    ("2.4mg/dL", "2.4mg/dL", "2.4mg/dL"),  # a user's own text is never changed
    (None, "", ""),
])
def test_language_text(value, english, dutch):
    assert ENGLISH.text(value) == english
    assert language("nl").text(value) == dutch


# --- Dutch output ------------------------------------------------------------------------------

FULL_PANEL = ["bili=40.5umol/L", "alp=250", "ldh=480", "ast=40", "alt=35", "ggt=<5U/L", "cea=12ug/L",
              "albumin=30g/L", "--sex", "F", "--age", "62"]
PARTIAL_PANEL = ["bili=1.2mg/dL", "alt=200", "ast=190", "alp=90", "ggt=300", "cea=<5ug/L"]

#: levlab's own English words a Dutch reader must not meet (citations, ids and input excepted)
ENGLISH_UI_WORDS = ["raised", "low", "in range", "indeterminate", "Rules met", "Undecided", "source", "section",
                    "no unit given", "assumed", "not measured", "unknown", "supports", "reference interval",
                    "as given", "see below", "warning", "incomplete", "not-met", "liver panel", "the", "and", "or",
                    "grades", "pattern", "convention", "documented", "note", "under every", "value", "flag"]


def _run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def _without_citations_and_ids(text: str) -> str:
    """The text with what is not levlab's own wording removed: sources (quoted as titled), rule and
    analyte ids, units."""
    from levlab.catalog import analytes
    from levlab.ranges import default_intervals

    quoted = {interval.source for interval in default_intervals().all()} | {criteria().source}
    quoted |= {rule.source for rule in rules()} | {rule.section for rule in rules()}
    from levlab.data import load_toml

    quoted |= {entry["source"] for entry in load_toml("patterns.toml").get("pattern", [])
               if isinstance(entry, dict) and "source" in entry}
    for citation in sorted(quoted, key=len, reverse=True):
        text = text.replace(citation, " ")
    text = re.sub(r"\(conventie: [^\n]*\)", " ", text)  # the R-ratio convention, quoted with its sources
    for name in sorted([*(rule.id for rule in rules()), *analytes()], key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", " ", text, flags=re.IGNORECASE)
    return text


@pytest.mark.parametrize("panel", [FULL_PANEL, PARTIAL_PANEL])
def test_the_dutch_report_of_a_panel_reads_as_dutch(panel):
    result = _run("interpret", *panel, "--lang", "nl")
    assert result.exit_code == 0, result.output
    assert "Regels voldaan" in result.output and "normal-panel:" in result.output
    assert DUTCH[DISCLAIMER] in result.output
    own_words = _without_citations_and_ids(result.output)
    found = sorted({word for word in ENGLISH_UI_WORDS if re.search(rf"\b{re.escape(word)}\b", own_words)})
    assert found == [], own_words


def test_the_english_report_is_found_by_the_same_check():
    """The check above can fail: the English report of the same panel is full of those words."""
    own_words = _without_citations_and_ids(_run("interpret", *FULL_PANEL, "--lang", "en").output)
    assert len({word for word in ENGLISH_UI_WORDS if re.search(rf"\b{re.escape(word)}\b", own_words)}) > 10


def test_dutch_numbers_where_a_person_reads_them():
    text = _run("interpret", *FULL_PANEL, "--lang", "nl").output
    assert "40,5 µmol/L" in text  # the value column
    assert "1,62" in text  # ×ULN in the table (40.5 / 25)
    assert "(1,6 × ULN)" in text  # in the normal-panel reason
    assert "bili=40.5umol/L" not in text and "40.5umol/L" in text  # the input is shown as given
    assert "H verhoogd" in text and "N normaal" in text and "L verlaagd" in text
    assert "? onbepaald" in _run("interpret", *PARTIAL_PANEL, "--lang", "nl").output


def test_machine_output_does_not_change_with_the_language():
    english = _run("interpret", *FULL_PANEL, "--format", "json", "--lang", "en").output
    dutch = _run("interpret", *FULL_PANEL, "--format", "json", "--lang", "nl").output
    assert dutch == english
    assert '"flag": "H"' in dutch and '"interpretation_code": "L"' in dutch and "1.62" in dutch


def test_csv_output_does_not_change_with_the_language(tmp_path):
    export = tmp_path / "wide.csv"
    export.write_text("patient;bilirubine (umol/L);ALAT (U/L);ASAT (U/L);AF (U/L);LDH (U/L)\n1;40,5;35;40;250;480\n")
    english = _run("csv", str(export), "--lang", "en")
    dutch = _run("csv", str(export), "--lang", "nl")
    assert english.exit_code == dutch.exit_code == 0
    assert dutch.stdout == english.stdout
    assert "40,5" in dutch.stdout and "alp-or-ldh-raised" in dutch.stdout


def test_errors_are_translated_at_the_edge():
    dutch = _run("interpret", "bili=abc", "--lang", "nl")
    english = _run("interpret", "bili=abc")
    assert dutch.exit_code == english.exit_code == 2
    assert dutch.stderr == "Fout: token 'bili=abc': 'abc' is geen getal\n"
    assert english.stderr == "Error: token 'bili=abc': 'abc' is not a number\n"


def test_an_error_made_deep_in_the_core_is_dutch_through_every_wrapper():
    result = _run("interpret", "bili=2", "--lang", "nl")
    assert result.stderr.startswith("Fout: token 'bili=2': bilirubin heeft een eenheid nodig: '2' kan ")
    result = _run("interpret", "alt=35", "--baseline", "alt=x", "--lang", "nl")
    assert result.stderr == "Fout: --baseline token 'alt=x': 'x' is geen getal\n"


def test_the_environment_chooses_the_language():
    dutch = _run("interpret", "alt=35", env={"LANG": "nl_NL.UTF-8"})
    assert "N normaal" in dutch.output
    assert "N in range" in _run("interpret", "alt=35", env={"LANG": "nl_NL.UTF-8", "LC_ALL": "C"}).output


def test_lang_typed_before_the_command_counts():
    assert "N normaal" in _run("--lang", "nl", "interpret", "alt=35").output


@pytest.mark.parametrize("command", ["interpret", "rules", "ranges", "units", "convert", "csv", "trend", "shell"])
def test_every_command_has_lang_and_a_dutch_help(command):
    result = _run(command, "--help", "--lang", "nl")
    assert result.exit_code == 0
    assert "--lang nl|en" in result.output
    assert "Opties:" in result.output and "Gebruik: " in result.output
    assert "Options:" not in result.output and "Show this message and exit." not in result.output


def test_the_command_list_is_dutch():
    result = _run("--help", env={"LANG": "nl_NL.UTF-8"})
    assert "Interpreteer één panel, getypt als tokens" in result.output
    assert "Opdrachten:" in result.output


def test_rules_in_dutch_keep_their_ids_and_citations():
    text = _run("rules", "--lang", "nl").output
    assert "normal-panel  [gedocumenteerd]" in text
    assert "kans dat er geen levermetastasen zijn op 98%" in text
    assert "bron: iLive, Uitzaaiingen naar de lever, paragraaf Biochemische indicatoren" in text


def test_the_shell_speaks_the_language_of_its_session():
    from levlab.session import Session, Settings

    session = Session(Settings(sex="F"), language("nl"))
    assert session.evaluate("age 200").text == (
        "Fout: leeftijd '200' is niet begrepen; geef jaren van 0 tot 130, of - voor onbekend")
    assert "Een panel bestaat uit tokens" in session.evaluate("help").text
    assert "H verhoogd" in session.evaluate("alt=200").text
    assert "N in range" in Session().evaluate("alt=35").text


@pytest.mark.parametrize("code", ["nl"])
def test_the_terminal_table_fits_80_columns_with_every_flag_whole(code):
    """Dutch words are longer: on an 80-column terminal the interval column wraps, and the
    analyte, the input, the numbers and the flag word are never cut. (English, with
    "? indeterminate", is 2 columns too wide at 80 and loses its right border: not fixed here.)"""
    import io

    from rich.console import Console

    from levlab.interpret import interpret_panel
    from levlab.model import Patient
    from levlab.ranges import default_intervals
    from levlab.render import print_panel
    from levlab.tokens import read_tokens

    panel = interpret_panel(read_tokens(["bili=40.5umol/L", "alp=<5U/L", "ast=40", "alt=35", "ggt=80"]),
                            Patient("F", None, None), default_intervals())
    out = io.StringIO()
    print_panel(panel, Console(file=out, width=80, force_terminal=False, soft_wrap=False), language(code))
    table = out.getvalue().split("\n* ")[0]
    lines = table.splitlines()[1:]
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert all(line.rstrip()[-1] in "┓┃┩│┘" for line in lines), table  # the right border: nothing cut off
    words = {"en": ["H raised", "L low", "N in range", "? indeterminate"], "nl": ["H verhoogd", "L verlaagd",
                                                                              "N normaal", "? onbepaald"]}[code]
    for word in [*words, "bilirubin", "<5U/L !", "1,62" if code == "nl" else "1.62"]:
        assert word in table, word
    assert "…" not in table  # nothing cut short (the input may fold onto a second line)


def test_the_detection_report_is_dutch_and_the_rows_are_not(tmp_path):
    export = tmp_path / "wide.csv"
    export.write_text("patient;ALAT;AF (U/L)\n1;35;250\n")
    dutch = _run("csv", str(export), "--lang", "nl")
    english = _run("csv", str(export), "--lang", "en")
    assert dutch.stderr.startswith("levlab csv: indeling wide; scheidingsteken ';' (herkend), decimaalteken ',' "
                                   "(volgt het scheidingsteken); codering utf-8")
    assert "'ALAT' -> alt, U/L (aangenomen: geen eenheid in de kopregel, een eenheidskolom of --map)" in dutch.stderr
    assert "  geen kolom bilirubin: aan normal-panel kan nooit worden voldaan" in dutch.stderr
    assert english.stderr.startswith("levlab csv: wide layout; delimiter ';' (sniffed), decimal mark ','")
    assert dutch.stdout == english.stdout
    trend = _run("trend", str(export), "--lang", "nl")
    assert trend.stderr.startswith("levlab trend: indeling wide;")


def test_the_closing_disclaimer_of_csv_is_dutch(tmp_path):
    export = tmp_path / "wide.csv"
    export.write_text("patient;ALAT\n1;35\n")
    assert DUTCH[DISCLAIMER] in _run("csv", str(export), "--lang", "nl").stderr
    assert DISCLAIMER in _run("csv", str(export), "--lang", "en").stderr


def test_the_trend_view_is_dutch_and_its_json_is_not():
    export = str(ROOT / "examples" / "export_nl_long.csv")
    dutch = _run("trend", export, "--lang", "nl")
    assert dutch.exit_code == 0, dutch.stderr
    for text in ("patiënt 1001: 2 monsters, 2024-03-04 tot 2024-06-10", "bepaling", "slechtste CTCAE",
                 "Regels voldaan per monster", "+320% > RCV 16,4%", "normal-panel niet voldaan: verhoogd:",
                 "hys-law in de tijd", "  niet voldaan", "Zo leest u het", DUTCH[DISCLAIMER]):
        assert text in dutch.stdout, text
    english = _run("trend", export, "--lang", "en")
    assert "+320% > RCV 16.4%" in english.stdout and "patient 1001: 2 samples" in english.stdout
    as_json = [_run("trend", export, "--format", "json", "--lang", code).stdout for code in ("nl", "en")]
    assert as_json[0] == as_json[1]


@pytest.mark.parametrize(("args", "dutch_error"), [
    (["interpret", "--bogus", "alt=3"], "Fout: Onbekende optie '--bogus'."),
    (["interpret"], "Fout: Argument 'ANALYTE=VALUE[UNIT]...' ontbreekt."),
    (["interpret", "--sex", "X", "alt=3"],
     "Fout: Ongeldige waarde voor '--sex': geslacht 'X' is niet begrepen; gebruik V of M (Engels F of M)"),
    (["interpret", "--smoker", "soms", "alt=3"], "Fout: Ongeldige waarde voor '--smoker': gebruik ja of nee"),
])
def test_clicks_usage_errors_are_dutch_too(args, dutch_error):
    dutch = _run(*args, "--lang", "nl") if args != ["interpret"] else _run(*args, env={"LANG": "nl_NL.UTF-8"})
    assert dutch.exit_code == 2
    assert dutch.stderr.startswith("Gebruik: ")
    assert "Probeer '" in dutch.stderr and dutch.stderr.rstrip("\n").endswith(dutch_error)
    english = _run(*args)
    assert english.exit_code == 2 and english.stderr.startswith("Usage: ") and "\nError: " in english.stderr


def test_the_closing_summary_of_csv_and_trend_is_dutch_and_english_unchanged():
    from pathlib import Path

    example = str(Path(__file__).resolve().parent.parent / "examples" / "followup.csv")
    dutch = CliRunner().invoke(main, ["trend", example, "--lang", "nl"])
    assert dutch.stderr.splitlines()[-1].startswith("levlab trend: 16 rijen, 16 panels, 0 rijen met fouten; 4 patiënten gevolgd")
    english = CliRunner().invoke(main, ["csv", example, "--lang", "en"])
    assert english.stderr.splitlines()[-1] == "levlab csv: 16 rows, 16 panels, 0 rows with errors"
