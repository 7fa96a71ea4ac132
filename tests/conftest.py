"""Shared test settings."""

from __future__ import annotations

import os

from hypothesis import settings

# CI replays the same examples every run (a failure there is reproducible, never a coin toss);
# locally, hypothesis explores new examples each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
