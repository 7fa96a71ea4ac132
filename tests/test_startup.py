"""What a one-shot command loads: `levlab --help` and `levlab interpret` import only what they use.

Start-up time is what a user of a one-shot command waits for (bench/run.py measures it against
`import click` and `import pint`). These tests time nothing: they check *what* is imported, so
that an import moved back to the top of a module fails here instead of slowly in the benchmark.
Each runs a fresh interpreter, as a user's shell does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

#: run a levlab command in this interpreter, then print the modules loaded and the gettext
#: catalogues of levlab asked for (its English has none: its texts are the catalogue's keys;
#: click asks for its own domain, "messages", whatever levlab does)
PROBE = """
import gettext, json, sys
asked = []
real_translation = gettext.translation
gettext.translation = lambda *args, **kwargs: asked.append(args[0]) or real_translation(*args, **kwargs)
from levlab.cli import main
try:
    main(sys.argv[1:], prog_name="levlab")
except SystemExit:
    pass
sys.stdout = sys.__stdout__
print(json.dumps({"modules": sorted(sys.modules), "catalogues": [domain for domain in asked if domain == "levlab"]}))
"""

ONE_SHOT = ["interpret", "bili=2.4mg/dL", "alp=3.1ukat/L", "ldh=480U/L", "ast=40U/L", "alt=35U/L", "ggt=1.2ukat/L",
            "--sex", "F", "--age", "60"]

#: never needed by `levlab --help`: the settings file, the core, its data, the exports, the screens
NOT_FOR_HELP = ("tomllib", "pathlib", "dataclasses", "json", "csv", "pint", "rich", "jinja2", "openpyxl", "fhir",
                "levlab.config", "levlab.data", "levlab.catalog", "levlab.model", "levlab.units", "levlab.ranges",
                "levlab.rules", "levlab.interpret", "levlab.render", "levlab.exports", "levlab.export_edge",
                "levlab.trend_output", "levlab.ranges_view")
#: never needed by a one-shot `levlab interpret` written to a pipe, without a settings file, once
#: its conversions were asked of pint before (levlab.kept_factors)
NOT_FOR_INTERPRET = ("tomllib", "pint", "rich", "jinja2", "openpyxl", "fhir", "levlab.exports", "levlab.export_edge",
                     "levlab.trend_output", "levlab.trend_view", "levlab.report_html", "levlab.session",
                     "levlab.shell", "levlab.outfile", "levlab.serial", "levlab.cumulative")


def probe(*args: str, env: dict[str, str] | None = None, code: str = PROBE) -> dict[str, list[str]]:
    """The modules a fresh interpreter loads for `levlab ARGS` (stdout a pipe, as in a script)."""
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                            env={**os.environ, **(env or {})})
    return json.loads(result.stdout.strip().splitlines()[-1])


def loaded(names: tuple[str, ...], modules: list[str], baseline: set[str] = frozenset()) -> list[str]:
    """Which of `names` (a module, or a package with any of its modules) were loaded, beyond `baseline`."""
    return sorted(module for module in set(modules) - baseline
                  if any(module == name or module.startswith(name + ".") for name in names))


@pytest.fixture(scope="module")
def click_alone() -> set[str]:
    """What `import click` loads in this interpreter (an editable install may load pathlib first)."""
    code = "import json, sys, click; print(json.dumps(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(output))


def test_help_loads_click_and_the_command_line_only(click_alone):
    seen = probe("--help")
    assert loaded(NOT_FOR_HELP, seen["modules"], click_alone) == []
    assert seen["catalogues"] == []


def test_the_probe_sees_a_module_that_is_loaded(click_alone):
    """The check above can fail: `levlab config` does read the settings module, `ranges` the core."""
    assert "levlab.config" in loaded(NOT_FOR_HELP, probe("config")["modules"], click_alone)
    assert "levlab.ranges" in loaded(NOT_FOR_HELP, probe("ranges")["modules"], click_alone)


def test_one_shot_interpret_loads_no_screen_export_or_settings_parser():
    probe(*ONE_SHOT)  # the first run may parse the data files and ask pint (both kept: levlab.data, kept_factors)
    seen = probe(*ONE_SHOT)
    assert loaded(NOT_FOR_INTERPRET, seen["modules"]) == []
    assert seen["catalogues"] == []


def test_the_dutch_catalogue_is_read_when_dutch_is_asked_for():
    assert probe(*ONE_SHOT, "--lang", "nl")["catalogues"] == ["levlab"]
    assert probe("--help", env={"LANG": "nl_NL.UTF-8"})["catalogues"] == ["levlab"]


def test_a_settings_file_is_parsed_when_there_is_one(tmp_path):
    settings = tmp_path / "config.toml"
    settings.write_text('units = "si"\n', encoding="utf-8")
    seen = probe(*ONE_SHOT, env={"LEVLAB_CONFIG": str(settings)})
    assert "tomllib" in seen["modules"]
