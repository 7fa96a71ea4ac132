"""config.py: the settings file (ranges, lang, units) said once, and `levlab config`.

Every test passes its own environment and home directory (or points LEVLAB_CONFIG at a file in
tmp_path); none reads the real home's settings (conftest.no_settings_file).
"""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from levlab import config
from levlab.catalog import analytes
from levlab.cli import main
from levlab.config import ConfigError, load, locate, parse

NORMAL_BARE_BILI = ["alp=70", "ldh=150", "ast=20", "alt=20"]


def write(directory, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def invoke(tmp_path, settings: str | None, *args: str, input: str | None = None):
    """Run levlab with LEVLAB_CONFIG naming a settings file of `settings` (None: no file at all)."""
    env = {"LEVLAB_CONFIG": write(tmp_path, "config.toml", settings) if settings is not None else ""}
    return CliRunner().invoke(main, list(args), env=env, input=input)


# --- where the file is ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "home", "expected", "said_by"),
    [
        pytest.param({"LEVLAB_CONFIG": "/etc/lab.toml", "XDG_CONFIG_HOME": "/x"}, "/home/u", "/etc/lab.toml",
                     "LEVLAB_CONFIG", id="LEVLAB_CONFIG-wins"),
        pytest.param({"XDG_CONFIG_HOME": "/x"}, "/home/u", "/x/levlab/config.toml", "XDG_CONFIG_HOME", id="xdg"),
        pytest.param({"XDG_CONFIG_HOME": "relative"}, "/home/u", "/home/u/.config/levlab/config.toml",
                     "home directory", id="relative-xdg-ignored-as-the-spec-says"),
        pytest.param({"LEVLAB_CONFIG": ""}, "/home/u", "/home/u/.config/levlab/config.toml", "home directory",
                     id="empty-LEVLAB_CONFIG-is-unset"),
        pytest.param({}, None, None, "home directory", id="no-home-no-file"),
    ],
)
def test_the_settings_file_is_looked_for_in_this_order(environ, home, expected, said_by):
    assert locate(environ, home) == (expected, said_by)


def test_no_file_at_the_usual_place_means_levlab_defaults(tmp_path):
    settings = load({}, str(tmp_path))
    assert (settings.found, settings.ranges, settings.lang, settings.units) == (False, None, None, None)
    assert settings.unit_per_analyte() == {}
    assert {settings.origin(key) for key in config.KEYS} == {"default"}


def test_a_file_named_by_LEVLAB_CONFIG_must_exist(tmp_path):
    missing = str(tmp_path / "nope.toml")
    with pytest.raises(ConfigError) as raised:
        load({"LEVLAB_CONFIG": missing}, str(tmp_path))
    assert str(raised.value) == f"LEVLAB_CONFIG names the settings file {missing}, which does not exist"


def test_the_file_under_the_home_directory_is_read(tmp_path):
    (tmp_path / ".config" / "levlab").mkdir(parents=True)
    write(tmp_path / ".config" / "levlab", "config.toml", 'lang = "NL"\n')
    settings = load({}, str(tmp_path))
    assert (settings.found, settings.lang, settings.origin("lang")) == (True, "nl", "settings file")


def test_a_directory_or_a_non_utf8_file_is_one_error_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load({"LEVLAB_CONFIG": str(tmp_path)}, None)
    (tmp_path / "latin.toml").write_bytes('lang = "nl" # é'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin\.toml is not UTF-8"):
        load({"LEVLAB_CONFIG": str(tmp_path / "latin.toml")}, None)


# --- what the file says --------------------------------------------------------------------------


def test_a_full_file_is_read_with_ranges_relative_to_it(tmp_path):
    settings = parse('ranges = "lab.toml"\nlang = "en"\nunits = "SI"\n', str(tmp_path / "config.toml"))
    assert settings.ranges == str(tmp_path / "lab.toml")
    assert (settings.ranges_text, settings.lang, settings.units) == ("lab.toml", "en", "si")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('range = "lab.toml"', "unknown key 'range'; the keys are ranges, lang, units", id="typo"),
        pytest.param('lang = "fr"', "lang = 'fr' is not one of nl, en", id="language"),
        pytest.param('units = "conventional"', "units = 'conventional' is not one of si", id="unit-family"),
        pytest.param("units = 5", "units is a text in quotes", id="number"),
        pytest.param("units = true", "units is a text in quotes", id="boolean"),
        pytest.param('lang = ["nl"]', "lang is a text in quotes", id="list"),
        pytest.param("[ranges]\nfile = 'x'", "ranges is a text in quotes", id="table"),
        pytest.param('ranges = "  "', "ranges is empty", id="empty-ranges"),
        pytest.param('lang = "nl"\nlang = "en"', "not valid TOML", id="twice"),
        pytest.param("lang = ", "not valid TOML", id="no-value"),
    ],
)
def test_a_bad_file_is_one_error_naming_the_file_and_the_key(tmp_path, text, message):
    path = str(tmp_path / "config.toml")
    with pytest.raises(ConfigError) as raised:
        parse(text, path)
    assert str(raised.value).startswith(f"settings file {path}: ")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("option", "in_file", "expected"),
    [
        pytest.param("other.toml", 'ranges = "lab.toml"', ("other.toml", "command line"), id="option-wins"),
        pytest.param(None, 'ranges = "lab.toml"', ("/s/lab.toml", "settings file"), id="file-over-default"),
        pytest.param(None, "", (None, "default"), id="default"),
    ],
)
def test_a_command_line_option_wins_over_the_file(option, in_file, expected):
    assert parse(in_file, "/s/config.toml").choose("ranges", option) == expected


def test_units_si_gives_the_si_unit_of_each_analyte_that_needs_a_unit():
    per_analyte = parse('units = "si"', "/s/config.toml").unit_per_analyte()
    assert per_analyte == {"bilirubin": "µmol/L", "albumin": "g/L", "globulin": "g/L", "haemoglobin": "mmol/L",
                           "glucose": "mmol/L"}
    for analyte_id, unit in per_analyte.items():
        assert analytes()[analyte_id].unit_required and unit in analytes()[analyte_id].units
    assert not any(analyte.si_unit for analyte in analytes().values() if not analyte.unit_required)


# --- levlab config ----------------------------------------------------------------------------------


def test_levlab_config_says_each_setting_and_where_it_came_from(tmp_path):
    result = invoke(tmp_path, 'ranges = "lab.toml"\nunits = "si"\n', "config")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"settings file: {tmp_path / 'config.toml'} (env LEVLAB_CONFIG)"
    assert lines[1] == f"ranges  lab.toml = {tmp_path / 'lab.toml'}  [settings file]"
    assert lines[2] == "lang    not set  [default]"
    assert lines[3].startswith("units   si: a value without a unit is read as bilirubin µmol/L, albumin g/L")
    assert lines[3].endswith("[settings file]")


def test_levlab_config_json_and_the_defaults_without_a_file(tmp_path):
    env = {"LEVLAB_CONFIG": "", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    result = CliRunner().invoke(main, ["config", "--format", "json"], env=env)
    document = json.loads(result.stdout)
    assert document["file"] == {"path": str(tmp_path / "xdg" / "levlab" / "config.toml"), "from": "XDG_CONFIG_HOME",
                                "found": False}
    assert {key: document[key]["from"] for key in config.KEYS} == dict.fromkeys(config.KEYS, "default")


@pytest.mark.parametrize("command", [["config"], ["interpret", "alt=30"], ["ranges"], ["csv", "-"], ["shell"]])
def test_a_bad_settings_file_stops_every_command_that_reads_it_with_one_error(tmp_path, command):
    result = invoke(tmp_path, 'units = "imperial"\n', *command, input="ALT\n30\n")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: settings file {tmp_path / 'config.toml'}: units = 'imperial' is not one of si\n")
    assert result.stdout == ""


def test_a_missing_ranges_file_names_the_setting_and_the_file(tmp_path):
    result = invoke(tmp_path, 'ranges = "lab.toml"\n', "interpret", "alt=30")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: cannot read settings file {tmp_path / 'config.toml'}: "
                                    f"ranges = 'lab.toml': {tmp_path / 'lab.toml'}: ")


# --- ranges from the settings file, and --ranges winning over it -------------------------------------

LAB_BILI_BELOW_17 = '[[interval]]\nanalyte = "bilirubin"\nrange = "< 17"\nunit = "µmol/L"\nsource = "Lab X"\n'
LAB_BILI_BELOW_21 = '[[interval]]\nanalyte = "bilirubin"\nrange = "< 21"\nunit = "µmol/L"\nsource = "Lab Y"\n'


@pytest.mark.parametrize(
    ("bili", "override", "flag", "status"),
    [
        pytest.param("16.9umol/L", False, "N", "met", id="below-the-lab-limit"),
        pytest.param("17umol/L", False, "H", "not-met", id="17-raised-at-a-dutch-lab"),
        pytest.param("17umol/L", True, "N", "met", id="--ranges-wins-over-the-file"),
        pytest.param("21umol/L", True, "H", "not-met", id="--ranges-limit-strict"),
    ],
)
def test_the_settings_files_ranges_decide_normal_panel_unless_ranges_is_given(tmp_path, bili, override, flag, status):
    write(tmp_path, "lab.toml", LAB_BILI_BELOW_17)
    extra = ["--ranges", write(tmp_path, "other.toml", LAB_BILI_BELOW_21)] if override else []
    result = invoke(tmp_path, 'ranges = "lab.toml"\n', "interpret", f"bili={bili}", *NORMAL_BARE_BILI,
                    "--sex", "F", "--age", "60", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["analytes"]["bilirubin"]["flag"] == flag
    assert document["analytes"]["bilirubin"]["range_source"] == ("Lab Y" if override else "Lab X")
    assert document["analytes"]["bilirubin"]["range_is_default"] is False
    assert document["normal_panel"]["status"] == status


def test_levlab_ranges_lists_the_settings_files_ranges(tmp_path):
    write(tmp_path, "lab.toml", LAB_BILI_BELOW_17)
    result = invoke(tmp_path, 'ranges = "lab.toml"\n', "ranges")
    assert "bilirubin    < 17 µmol/L" in result.output and "Lab X" in result.output


# --- units = "si": a bare value takes the SI unit, said, and checked as a stated one ----------------


@pytest.mark.parametrize(
    ("token", "unit", "value"),
    [
        pytest.param("bili=17", "µmol/L", 17, id="bilirubin"),
        pytest.param("alb=38", "g/L", 38, id="albumin"),
        pytest.param("hb=8,1", "mmol/L", 8.1, id="haemoglobin-decimal-comma"),
        pytest.param("glucose=5.2", "mmol/L", 5.2, id="glucose"),
    ],
)
def test_units_si_reads_a_bare_value_in_the_si_unit_and_says_so(tmp_path, token, unit, value):
    result = invoke(tmp_path, 'units = "si"\n', "interpret", token, "--format", "json")
    assert result.exit_code == 0, result.output
    (found,) = json.loads(result.stdout)["analytes"].values()
    assert (found["input_unit"], found["value"], found["unit_from_settings"], found["unit_assumed"]) == (
        unit, value, True, False)
    table = invoke(tmp_path, 'units = "si"\n', "interpret", token)
    assert f"{token.split('=')[1]} {unit} (settings)" in table.output
    assert 'unit from settings, units = "si"' in table.output


def test_without_units_si_a_bare_bilirubin_is_still_refused(tmp_path):
    result = invoke(tmp_path, 'lang = "en"\n', "interpret", "bili=17")
    assert result.exit_code == 2
    assert "bilirubin needs a unit" in result.stderr


def test_a_unit_written_with_the_value_wins_over_the_settings(tmp_path):
    result = invoke(tmp_path, 'units = "si"\n', "interpret", "bili=1.2mg/dL", "--format", "json")
    found = json.loads(result.stdout)["analytes"]["bilirubin"]
    assert (found["input_unit"], found["unit_from_settings"]) == ("mg/dL", False)


@pytest.mark.parametrize(
    ("token", "warned"),
    [
        pytest.param("bili=2.5", "2.5 mg/dL would be 42.76 µmol/L", id="low-in-si-raised-in-mg/dL"),
        pytest.param("bili=1.2", "1.2 mg/dL would be 20.52 µmol/L", id="the-mg/dL-ULN-typed-bare"),
        pytest.param("alb=8", "read in g/L, the unit from settings: unusually low for albumin", id="albumin-unusual-in-g/L"),
        pytest.param("glucose=90", "did you mean mg/dL (90 mg/dL = 4.996 mmol/L)", id="glucose-in-mg/dL-typed-bare"),
    ],
)
def test_a_bare_si_value_another_unit_would_explain_is_interpreted_with_a_warning(tmp_path, token, warned):
    """A configured unit is not a guess (no error), but a value the SI unit makes low, where the
    other unit makes it usual, is said beside the result, and normal-panel is then never met."""
    result = invoke(tmp_path, 'units = "si"\n', "interpret", token, *NORMAL_BARE_BILI, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert any(warned in warning for warning in document["warnings"])
    if token.startswith("bili"):  # low in µmol/L would not block `met`: in doubt, it is incomplete
        assert document["normal_panel"]["status"] == "incomplete"
        assert "unit from settings in doubt, write the unit with the value: bilirubin" in document["normal_panel"]["reason"]


@pytest.mark.parametrize("token", ["bili=17", "bili=40", "bili=5"])
def test_a_usual_bare_si_bilirubin_carries_no_warning(tmp_path, token):
    result = invoke(tmp_path, 'units = "si"\n', "interpret", token, "--format", "json")
    assert json.loads(result.stdout)["warnings"] == []


@pytest.mark.parametrize(
    ("token", "said"),
    [
        pytest.param("bili=2000", "implausible in µmol/L: impossible whatever the unit", id="bilirubin"),
        pytest.param("alb=3.5", "impossible whatever the unit (possible 5-70 g/L", id="albumin-g/dL-typed-bare"),
    ],
)
def test_an_impossible_bare_si_value_is_still_an_error(tmp_path, token, said):
    result = invoke(tmp_path, 'units = "si"\n', "interpret", token)
    assert result.exit_code == 2
    assert said in result.stderr


def test_units_si_reaches_the_shell(tmp_path):
    result = invoke(tmp_path, 'units = "si"\n', "shell", "--no-history", input="bili=17 alt=20\n")
    assert result.exit_code == 0, result.output
    assert "17 µmol/L (settings)" in result.output


def test_units_si_reaches_a_wide_export_without_units_in_the_header(tmp_path):
    rows = "Patient;Bilirubine;ALAT\n1;17;30\n"
    refused = invoke(tmp_path, 'lang = "nl"\n', "csv", "-", "--format", "jsonl", input=rows)
    assert refused.exit_code == 2 and "--map" in refused.stderr
    result = invoke(tmp_path, 'units = "si"\n', "csv", "-", "--format", "jsonl", input=rows)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout.splitlines()[0])["analytes"]["bilirubin"]
    assert (found["input_unit"], found["unit_from_settings"]) == ("µmol/L", True)
    assert 'µmol/L (unit from settings: units = "si")' in result.stderr
    assert "read in the unit from settings" in result.stderr


def test_units_si_reaches_a_long_export_without_a_unit_column(tmp_path):
    rows = "patient;test;result\n1;bilirubine;17\n1;ALAT;30\n"
    result = invoke(tmp_path, 'units = "si"\n', "csv", "-", "--format", "jsonl", input=rows)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout.splitlines()[0])["analytes"]["bilirubin"]
    assert (found["input_unit"], found["unit_from_settings"]) == ("µmol/L", True)
    assert "read in the unit from settings" in result.stderr


def test_units_si_reaches_trend(tmp_path):
    rows = "patient;date;test;result\n1;2024-01-01;bilirubine;17\n1;2024-03-01;bilirubine;40\n"
    result = invoke(tmp_path, 'units = "si"\n', "trend", "-", "--format", "json", input=rows)
    assert result.exit_code == 0, result.output
    assert "read in the unit from settings" in result.stderr and "bilirubin" in result.stderr


def test_no_test_reads_the_real_settings_file():
    assert "LEVLAB_CONFIG" not in os.environ
    assert os.environ["XDG_CONFIG_HOME"].endswith("no-settings")
