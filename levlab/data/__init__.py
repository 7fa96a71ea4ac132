"""Reviewed knowledge files: analytes, units, reference intervals, rules."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent


@cache
def load_toml(name: str) -> dict[str, Any]:
    """Parse one of the packaged TOML files (read once per process)."""
    return tomllib.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def data_path(name: str) -> str:
    """Filesystem path of a packaged data file (for pint's definitions loader)."""
    return str(DATA_DIR / name)
