"""cli.py: exit codes, one-line errors, the JSON contracts, and a --help that stays light."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from levlab import DISCLAIMER, __version__
from levlab.cli import main

RULE_IDS = {
    "normal-panel", "bilirubin-over-2", "alp-or-ldh-raised", "transaminases-raised", "alp-ggt-raised",
    "ldh-dominant", "cea-raised", "cea-over-200", "albumin-low", "globulins-raised", "ascites-ldh-ratio",
    "leukocytosis", "anaemia", "hypoglycaemia",
}
ANALYTE_KEYS = {"input", "value", "comparator", "unit", "low", "high", "range_source", "flag", "x_uln"}
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NORMAL = ["bili=10umol/L", "alp=70", "ldh=150", "ast=20", "alt=20"]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def ok(*args: str):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def as_json(*args: str):
    return json.loads(ok(*args, "--format", "json").stdout)


def words(text: str) -> str:
    """Text with every run of whitespace made one space (rich wraps lines at the terminal width)."""
    return " ".join(text.split())


def write(tmp_path, text: str, name: str = "lab.toml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


# --- interpret: success and the table ------------------------------------------------------------


def test_interpret_table_shows_values_rules_panel_and_disclaimer():
    result = ok("interpret", "bili=40umol/L", "alp=250", "ldh=480", "ast=40", "alt=35", "--sex", "F", "--age", "60")
    text = words(result.stdout)
    for analyte in ("bilirubin", "alp", "ldh", "ast", "alt"):
        assert analyte in text
    assert "bilirubin-over-2" in text
    assert "alp-or-ldh-raised" in text
    assert "normal-panel: not-met" in text
    assert words(DISCLAIMER) in text
    assert "U/L assumed" in text


def test_interpret_table_says_98_percent_only_when_met():
    assert "98%" in words(ok("interpret", *NORMAL, "--sex", "F", "--age", "50").stdout)
    assert "98%" not in words(ok("interpret", *NORMAL[:4], "--sex", "F", "--age", "50").stdout)


def test_table_has_no_colour_codes_off_a_terminal():
    assert "\x1b[" not in ok("interpret", *NORMAL, "--sex", "F").stdout


# --- interpret: the JSON contract -----------------------------------------------------------------


def test_interpret_json_contract():
    document = as_json("interpret", "bili=2.4mg/dL", "ALAT=35", "ldh=480 U/L", "--sex", "F", "--age", "60")
    assert {"levlab_version", "sex", "age", "analytes", "flags", "normal_panel", "disclaimer"} <= set(document)
    assert document["levlab_version"] == __version__
    assert document["sex"] == "F"
    assert document["age"] == 60
    assert document["disclaimer"] == DISCLAIMER
    assert set(document["analytes"]) == {"bilirubin", "ldh", "alt"}
    for entry in document["analytes"].values():
        assert set(entry) >= ANALYTE_KEYS
    bilirubin = document["analytes"]["bilirubin"]
    assert bilirubin["input"] == "2.4mg/dL"
    assert bilirubin["value"] == pytest.approx(2.4 * 10 * 1000 / 584.66, abs=1e-5)
    assert bilirubin["unit"] == "µmol/L"
    assert bilirubin["comparator"] is None
    assert (bilirubin["low"], bilirubin["high"]) == (5, 25)
    assert "NORIP" in bilirubin["range_source"]
    assert bilirubin["flag"] == "H"
    assert bilirubin["x_uln"] == pytest.approx(2.4 * 10 * 1000 / 584.66 / 25, abs=1e-3)
    for flag in document["flags"]:
        assert {"id", "message", "source"} <= set(flag)
    ids = [flag["id"] for flag in document["flags"]]
    assert "bilirubin-over-2" in ids
    assert "alp-or-ldh-raised" in ids
    assert "normal-panel" not in ids
    assert set(document["normal_panel"]) >= {"status", "reason", "statement"}


def test_json_normal_panel_statement_only_when_met():
    met = as_json("interpret", *NORMAL, "--sex", "F", "--age", "50")["normal_panel"]
    assert met["status"] == "met"
    assert "98%" in met["statement"]
    not_met = as_json("interpret", *NORMAL[:4], "alt=100", "--sex", "F", "--age", "50")["normal_panel"]
    assert not_met["status"] == "not-met"
    assert not_met["statement"] is None
    assert "ALT" in not_met["reason"]
    incomplete = as_json("interpret", *NORMAL[:4], "--sex", "F", "--age", "50")["normal_panel"]
    assert incomplete["status"] == "incomplete"
    assert incomplete["statement"] is None
    assert "ALT" in incomplete["reason"]


def test_json_censored_value_keeps_its_comparator():
    alt = as_json("interpret", "alt=<5U/L", "--sex", "F", "--age", "50")["analytes"]["alt"]
    assert (alt["comparator"], alt["value"], alt["flag"], alt["x_uln"]) == ("<", 5, "L", None)  # below 10
    assert alt["high"] == 45


@pytest.mark.parametrize(
    ("token", "flag"),
    [
        pytest.param("alt=60", "?", id="60-between-F-45-and-M-70"),
        pytest.param("alt=20", "N", id="20-normal-for-both"),
        pytest.param("alt=100", "H", id="100-raised-for-both"),
    ],
)
def test_json_sex_unknown(token, flag):
    alt = as_json("interpret", token, "--age", "50")["analytes"]["alt"]
    assert alt["flag"] == flag
    assert (alt["low"], alt["high"], alt["x_uln"]) == (None, None, None)
    if flag == "?":
        assert "10 - 45 U/L" in alt["reason"]
        assert "10 - 70 U/L" in alt["reason"]


def test_json_age_unknown_ldh_between_bands():
    ldh = as_json("interpret", "ldh=210")["analytes"]["ldh"]
    assert (ldh["flag"], ldh["low"], ldh["high"], ldh["x_uln"]) == ("?", None, None, None)
    assert "205" in ldh["reason"]
    assert "255" in ldh["reason"]


def test_json_four_year_old_alp_is_indeterminate():
    alp = as_json("interpret", "alp=200", "--age", "4")["analytes"]["alp"]
    assert alp["flag"] == "?"
    assert alp["high"] is None
    assert "4" in alp["reason"]


@pytest.mark.parametrize("sex", ["V", "v", "vrouw", "F"])
def test_dutch_v_is_female(sex):
    document = as_json("interpret", "alt=60", "--sex", sex, "--age", "50")
    assert document["sex"] == "F"
    assert document["analytes"]["alt"]["flag"] == "H"


# --- --ranges FILE --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("range_text", "flag"),
    [
        pytest.param("< 45", "H", id="less-45-makes-45-raised"),
        pytest.param("0 - 45", "N", id="hyphen-keeps-45"),
        pytest.param("0–45", "N", id="en-dash-keeps-45"),
        pytest.param("<= 45", "N", id="less-equal-keeps-45"),
        pytest.param("≤45", "N", id="unicode-less-equal-keeps-45"),
    ],
)
def test_ranges_file_bounds(tmp_path, range_text, flag):
    path = write(tmp_path, f"""
        [[interval]]
        analyte = "alt"
        range = "{range_text}"
        unit = "U/L"
        source = "our laboratory"
        """)
    alt = as_json("interpret", "alt=45", "--ranges", path)["analytes"]["alt"]
    assert alt["flag"] == flag
    assert alt["range_source"] == "our laboratory"
    assert alt["high"] == 45


@pytest.mark.parametrize(
    ("token", "fires"),
    [pytest.param("globulin=36g/L", True, id="36-raised"), pytest.param("globulin=35g/L", False, id="35-inside")],
)
def test_globulins_raised_needs_a_ranges_file(tmp_path, token, fires):
    path = write(tmp_path, """
        [[interval]]
        analyte = "globulines"
        range = "20 - 35"
        unit = "g/L"
        source = "our laboratory"
        """)
    ids = [flag["id"] for flag in as_json("interpret", token, "--ranges", path)["flags"]]
    assert ("globulins-raised" in ids) is fires
    without = as_json("interpret", token)
    assert without["analytes"]["globulin"]["flag"] == "?"
    assert "globulins-raised" not in [flag["id"] for flag in without["flags"]]


# --- errors: exit 2, one line, no traceback --------------------------------------------------------


def assert_one_line_error(result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for text in expected:
        assert text in lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["alt"], ["'alt'", "ANALYTE=VALUE"], id="token-without-equals"),
        pytest.param(["alt="], ["ANALYTE=VALUE"], id="token-without-value"),
        pytest.param(["sodium=140"], ["unknown analyte 'sodium'", "bilirubin"], id="unknown-analyte"),
        pytest.param(["alt=35", "ALAT=40"], ["given twice"], id="duplicate-analyte"),
        pytest.param(["alt=35 foo"], ["unknown unit 'foo'", "U/L", "µkat/L"], id="unknown-unit"),
        pytest.param(["alt=35 u/L"], ["U/L"], id="lower-case-u"),
        pytest.param(["alt=35 mmol/L"], ["not accepted", "U/L"], id="unit-not-for-analyte"),
        pytest.param(["alt=abc"], ["not a number"], id="non-numeric"),
        pytest.param(["alt=-5"], ["negative"], id="negative"),
        pytest.param(["alt=nan"], ["finite"], id="nan"),
        pytest.param(["alt=1e999"], ["exponents"], id="overflow"),
        pytest.param(["alt=9**9**9"], ["exponents"], id="power-tower"),
        pytest.param(["alt=5 mg**9**9**9"], ["unknown unit"], id="power-tower-unit"),
        pytest.param(["alt=1,234"], ["ambiguous"], id="thousands"),
        pytest.param(["alt=0.5"], ["no unit", "µkat/L", "does not guess"], id="bare-enzyme-maybe-µkat"),
        pytest.param(["bili=2.5"], ["needs a unit", "µmol/L", "mg/dL"], id="bilirubin-without-unit"),
        pytest.param(["bili=5000umol/L"], ["implausible"], id="implausible-bilirubin"),
    ],
)
def test_token_errors(args, expected):
    assert_one_line_error(invoke("interpret", *args), *expected)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("x = [", ["not valid TOML"], id="bad-toml"),
        pytest.param("title = 'none'", ["[[interval]]"], id="no-intervals"),
        pytest.param('[[interval]]\nanalyte = "sodium"\nrange = "< 45"\nsource = "x"\n', ["unknown analyte"],
                     id="unknown-analyte"),
        pytest.param('[[interval]]\nanalyte = "alt"\nrange = "< 45"\n', ["source"], id="missing-source"),
        pytest.param('[[interval]]\nanalyte = "alt"\nrange = "fine"\nsource = "x"\n', ["not understood"],
                     id="bad-range"),
    ],
)
def test_bad_ranges_file(tmp_path, content, expected):
    path = write(tmp_path, content)
    assert_one_line_error(invoke("interpret", "alt=35", "--ranges", path), path, *expected)


def test_ranges_file_not_utf8(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_bytes(b'[[interval]]\nanalyte = "alt"\nrange = "< 45"\nsource = "\xff"\n')
    assert_one_line_error(invoke("interpret", "alt=35", "--ranges", str(path)), "--ranges")


def assert_usage_error(result, *expected: str) -> None:
    """click's own usage errors: exit 2, a single `Error:` line (after click's usage hint), no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for text in expected:
        assert text in errors[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["interpret", "alt=35", "--sex", "X"], ["--sex", "F or M"], id="bad-sex"),
        pytest.param(["interpret", "alt=35", "--age", "-1"], ["--age"], id="negative-age"),
        pytest.param(["interpret", "alt=35", "--age", "old"], ["--age"], id="non-numeric-age"),
        pytest.param(["interpret", "alt=35", "--ranges", "/nonexistent/lab.toml"], ["--ranges"], id="missing-file"),
        pytest.param(["interpret", "alt=35", "--ranges", "/"], ["--ranges"], id="ranges-is-a-directory"),
        pytest.param(["interpret", "alt=35", "--smoker", "maybe"], ["--smoker"], id="bad-smoker"),
        pytest.param(["interpret"], ["Missing argument"], id="no-tokens"),
        pytest.param(["interpret", "alt=35", "--format", "xml"], ["--format"], id="bad-format"),
        pytest.param(["ranges", "--sex", "X"], ["--sex"], id="ranges-bad-sex"),
        pytest.param(["convert", "2.4", "mg/dL", "umol/L"], ["--analyte"], id="convert-without-analyte"),
        pytest.param(["nosuchcommand"], ["nosuchcommand"], id="unknown-command"),
    ],
)
def test_usage_errors(args, expected):
    assert_usage_error(invoke(*args), *expected)


# --- rules, ranges, units, convert -------------------------------------------------------------------


def test_rules_json():
    documents = as_json("rules")
    for document in documents:
        assert {"id", "kind", "condition", "statement", "source", "section"} <= set(document)
        assert document["kind"] in ("documented", "convention")
    documented = {document["id"] for document in documents if document["kind"] == "documented"}
    assert documented == RULE_IDS


def test_rules_table_lists_every_rule_and_the_disclaimer():
    text = ok("rules").stdout
    for rule_id in RULE_IDS:
        assert rule_id in text
    assert DISCLAIMER in text


def test_ranges_json_keys_and_contents():
    documents = as_json("ranges")
    for document in documents:
        assert {"analyte", "sex", "age_min", "age_max", "low", "high", "unit", "source"} <= set(document)
        assert document["sex"] in ("F", "M", None)
        assert document["source"]
    alt = [(d["sex"], d["high"]) for d in documents if d["analyte"] == "alt"]
    assert sorted(alt) == [("F", 45), ("M", 70)]


def test_ranges_for_a_patient_keeps_only_what_holds():
    documents = as_json("ranges", "--sex", "M", "--age", "75")
    alt = [d for d in documents if d["analyte"] == "alt"]
    assert [(d["sex"], d["high"]) for d in alt] == [("M", 70)]
    assert [d["high"] for d in documents if d["analyte"] == "ldh"] == [255]
    assert [(d["age_min"], d["age_max"]) for d in documents if d["analyte"] == "ggt"] == [(66, 80)]


def test_ranges_with_a_file(tmp_path):
    path = write(tmp_path, """
        [[interval]]
        analyte = "alt"
        range = "<= 40"
        source = "our laboratory"
        """)
    alt = [d for d in as_json("ranges", "--ranges", path) if d["analyte"] == "alt"]
    assert [(d["high"], d["source"]) for d in alt] == [(40, "our laboratory")]


def test_units_lists_every_analyte():
    text = ok("units").stdout
    for analyte in ("bilirubin", "alp", "ggt", "ldh", "ast", "alt", "cea", "albumin", "globulin", "ascites_ldh",
                    "leukocytes", "haemoglobin", "glucose"):
        assert f"{analyte} (" in text


def test_units_for_one_analyte_by_alias():
    text = ok("units", "ALAT").stdout
    assert text.startswith("alt ")
    assert "1 µkat/L = 60 U/L" in text
    assert "1742-6" in text


def test_units_unknown_analyte():
    assert_one_line_error(invoke("units", "sodium"), "unknown analyte")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["2.4", "mg/dL", "umol/L", "--analyte", "bilirubin"], 2.4 * 10 * 1000 / 584.66, id="bili-mass-to-molar"),
        pytest.param(["41.05", "µmol/L", "mg/dL", "-a", "bili"], 41.05 * 584.66 / 10000, id="bili-molar-to-mass"),
        pytest.param(["0.75", "ukat/L", "U/L", "--analyte", "ALAT"], 45, id="alt-µkat-to-U"),
        pytest.param(["3.5", "g/dL", "g/L", "--analyte", "albumin"], 35, id="albumin"),
        pytest.param(["5", "mmol/L", "mg/dL", "--analyte", "glucose"], 5 * 18.016, id="glucose"),
    ],
)
def test_convert(args, expected):
    line = ok("convert", *args).stdout.strip()
    shown = line.split(" = ", 1)[1].split()[0]
    assert float(shown) == pytest.approx(expected, rel=5e-4)


def test_convert_bilirubin_2_4_mg_dl_is_41_05():
    assert "= 41.05 µmol/L" in ok("convert", "2.4", "mg/dL", "umol/L", "--analyte", "bilirubin").stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["2.4", "mg/dL", "U/L", "--analyte", "bilirubin"], ["not accepted"], id="unit-not-for-analyte"),
        pytest.param(["2.4", "u/L", "U/L", "--analyte", "alt"], ["U/L"], id="lower-case-u"),
        pytest.param(["2.4mg/dL", "mg/dL", "umol/L", "--analyte", "bilirubin"], ["FROM_UNIT"], id="unit-in-value"),
        pytest.param(["x", "mg/dL", "umol/L", "--analyte", "bilirubin"], ["not a number"], id="bad-value"),
        pytest.param(["1", "mg/dL", "umol/L", "--analyte", "sodium"], ["unknown analyte"], id="unknown-analyte"),
    ],
)
def test_convert_errors(args, expected):
    assert_one_line_error(invoke("convert", *args), *expected)


def test_version():
    assert __version__ in ok("--version").stdout


# --- --help stays light ---------------------------------------------------------------------------------

HEAVY_CHECK = """
import sys
from click.testing import CliRunner
from levlab.cli import main
for args in (["--help"], ["interpret", "--help"], ["rules", "--help"], ["convert", "--help"]):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("pint", "rich"))))
"""


def test_help_imports_neither_pint_nor_rich():
    completed = subprocess.run([sys.executable, "-c", HEAVY_CHECK], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


def test_help_lists_the_commands():
    text = ok("--help").stdout
    for command in ("interpret", "rules", "ranges", "units", "convert"):
        assert command in text


def test_trend_baseline_date_must_be_a_date():
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "export_nl_long.csv"
    result = CliRunner().invoke(main, ["trend", str(example), "--baseline-date", "gisteren"])
    assert result.exit_code == 2
    assert "--baseline-date" in result.stderr


# --- a --ranges file of the wrong shape: one line in every command --------------------------------

WRONG_SHAPES = {
    "list-of-numbers": "interval = [1, 2]\n",
    "text-for-the-list": 'interval = "alt < 45"\n',
    "table-for-range": '[[interval]]\nanalyte = "alt"\nrange = {high = 45}\nsource = "x"\n',
    "1000-deep-lists": "interval = " + "[" * 1000 + "]" * 1000 + "\n",
    "1000-deep-tables": '[[interval]]\nanalyte = "alt"\nrange = "< 45"\nsource = "x"\nnote = ' + "{a=" * 1000 + "1" + "}" * 1000,
    "unknown-key": '[[interval]]\nanalyte = "alt"\nsexe = "M"\nrange = "< 45"\nsource = "x"\n',
}
COMMANDS_WITH_RANGES = {
    "interpret": ["interpret", "alt=35"],
    "ranges": ["ranges"],
    "csv": ["csv", str(EXAMPLES / "export_nl_long.csv")],
    "trend": ["trend", str(EXAMPLES / "export_nl_long.csv")],
}


@pytest.mark.parametrize("shape", WRONG_SHAPES)
@pytest.mark.parametrize("command", COMMANDS_WITH_RANGES)
def test_a_ranges_file_of_the_wrong_shape_is_one_error_line_in_every_command(tmp_path, command, shape):
    path = tmp_path / "lab.toml"
    path.write_text(WRONG_SHAPES[shape], encoding="utf-8")
    assert_one_line_error(invoke(*COMMANDS_WITH_RANGES[command], "--ranges", str(path)), str(path))


@pytest.mark.parametrize("token", ["ALT (%)=50", "CEA (%)=5", "ALT %=50", "alt=50%", "alt=50 %"])
def test_a_percent_token_is_refused(token):
    result = invoke("interpret", token)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: token")


# --- --age: read as a value is -----------------------------------------------------------------


@pytest.mark.parametrize(("age", "years", "flag"), [("70,5", 70.5, "N"), ("70.5", 70.5, "N"), ("69,9", 69.9, "H"),
                                                  ("18", 18, "H")])
def test_age_takes_a_decimal_comma_as_values_do(age, years, flag):
    """LDH's interval changes at 70 (205 -> 255 U/L): `--age 70,5` is 70.5 years, as `0,5` is 0.5 in a value."""
    document = as_json("interpret", "ldh=230", "--age", age)
    assert document["age"] == years
    assert document["analytes"]["ldh"]["flag"] == flag


@pytest.mark.parametrize("age", ["1,234", "-1", "131", "nan", "inf", "３５", "70.5.1", "", "7O"])
def test_a_bad_age_is_a_usage_error(age):
    assert_usage_error(invoke("interpret", "alt=35", "--age", age), "--age")


# --- ranges: saying why nothing applies -----------------------------------------------------------


@pytest.mark.parametrize(("age", "ggt_applies"), [("17", True), ("0", False), ("17,9", True), ("12", False)])
def test_ranges_below_18_says_no_default_applies_and_why(age, ggt_applies):
    """Adult defaults start at 18; GGT has a NUMBER band from 13 (issue 15, item 5)."""
    result = ok("ranges", "--age", age)
    text = words(result.stdout)
    assert f"No interval applies at age {age.replace(',', '.')} for" in text
    assert "bilirubin, alp, ldh, ast, alt, cea, albumin, leukocytes, haemoglobin (from age 18)" in text
    assert ("ggt (from age 13)" in text) is not ggt_applies
    assert ("NUMBER project" in text) is ggt_applies
    assert "never applied to a younger patient" in text and "--ranges FILE" in text


def test_ranges_json_below_13_is_an_empty_list_with_the_reason_on_stderr():
    result = ok("ranges", "--age", "12", "--format", "json")
    assert json.loads(result.stdout) == []
    assert "No interval applies at age 12" in result.stderr


def test_ranges_says_when_a_lab_interval_is_for_the_other_sex(tmp_path):
    path = write(tmp_path, '[[interval]]\nanalyte = "alt"\nsex = "F"\nrange = "< 45"\nsource = "own lab"\n')
    result = ok("ranges", "--sex", "M", "--ranges", path)
    assert "alt: no interval applies to this patient; its intervals hold for F any age only." in result.stdout


def test_ranges_for_an_adult_lists_every_analyte_and_no_excuse():
    assert "No interval applies" not in ok("ranges", "--age", "40").stdout

def test_a_warning_is_shown_in_the_table_and_json_and_is_not_an_error():
    table = invoke("interpret", "ldh=20U/L", "alt=30")
    assert table.exit_code == 0, table.output
    assert "20U/L !" in table.stdout
    assert "! warning, ldh: 20U/L is unusually low for lactate dehydrogenase in U/L" in table.stdout
    document = as_json("interpret", "ldh=20U/L", "alt=30")
    assert document["analytes"]["ldh"]["warnings"] == [document["warnings"][0].removeprefix("ldh: ")]
    assert "check value and unit" in document["warnings"][0]
    assert document["analytes"]["alt"]["warnings"] == []


def test_every_report_says_which_intervals_are_defaults_next_to_normal_panel():
    tokens = ["bili=17umol/L", "alp=70", "ldh=150", "ast=20", "alt=20", "--sex", "F", "--age", "50"]
    document = as_json("interpret", *tokens)
    assert document["normal_panel"]["status"] == "met"
    assert document["normal_panel"]["default_intervals"] == ["bilirubin", "alp", "ldh", "ast", "alt"]
    assert document["analytes"]["bilirubin"]["range_is_default"] is True
    text = ok("interpret", *tokens).stdout
    panel_line = text.index("normal-panel: met")
    assert "rests on levlab's default intervals for bilirubin, ALP, LDH, AST, ALT" in text[panel_line:]
    assert "(levlab default, not your laboratory's)" in text


def test_the_laboratory_s_own_ranges_are_not_called_defaults(tmp_path):
    lab = tmp_path / "lab.toml"
    lab.write_text('[[interval]]\nanalyte = "bilirubin"\nrange = "< 17"\nunit = "µmol/L"\nsource = "our lab"\n', encoding="utf-8")
    tokens = ["bili=17umol/L", "alp=70", "ldh=150", "ast=20", "alt=20", "--sex", "F", "--age", "50"]
    document = as_json("interpret", *tokens, "--ranges", str(lab))
    assert document["normal_panel"]["status"] == "not-met"  # 17 is raised at a lab with < 17
    assert document["analytes"]["bilirubin"]["range_is_default"] is False
    assert document["normal_panel"]["default_intervals"] == ["alp", "ldh", "ast", "alt"]


def test_interpret_refuses_a_bare_enzyme_beside_one_in_µkat():
    assert_one_line_error(invoke("interpret", "alp=1.2ukat/L", "alt=20", "bili=10umol/L"), "no unit", "µkat/L")
