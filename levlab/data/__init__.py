"""Reviewed knowledge files: analytes, units, reference intervals, rules."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_toml(name: str) -> dict[str, Any]:
    """Parse one of the packaged TOML files (read once per process)."""
    return tomllib.loads(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))


def data_path(name: str) -> str:
    """Filesystem path of a packaged data file (for pint's definitions loader)."""
    return str(resources.files(__name__).joinpath(name))
