"""Reviewed knowledge files: analytes, units, reference intervals, rules."""

from __future__ import annotations

import os
import tomllib
from functools import cache
from typing import Any

DATA_DIR = os.path.dirname(__file__)  # os.path, not pathlib: every command starts here, pathlib costs ms


@cache
def load_toml(name: str) -> dict[str, Any]:
    """Parse one of the packaged TOML files (read once per process)."""
    with open(os.path.join(DATA_DIR, name), encoding="utf-8") as handle:
        return tomllib.loads(handle.read())


def data_path(name: str) -> str:
    """Filesystem path of a packaged data file (for pint's definitions loader)."""
    return os.path.join(DATA_DIR, name)
