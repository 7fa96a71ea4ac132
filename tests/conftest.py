"""Shared test settings."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI replays the same examples every run (a failure there is reproducible, never a coin toss);
# locally, hypothesis explores new examples each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def no_settings_file(tmp_path_factory, monkeypatch):
    """No test reads the real home's settings file (levlab/config.py): LEVLAB_CONFIG is unset and
    XDG_CONFIG_HOME points at an empty directory, for the process and the shells it starts."""
    monkeypatch.delenv("LEVLAB_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-settings"))


@pytest.fixture(autouse=True)
def english_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read levlab's English unless they ask for Dutch: a Dutch locale on the machine that
    runs them (LANG=nl_NL.UTF-8) does not change what they see. Children (pexpect, tmux) inherit it."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
