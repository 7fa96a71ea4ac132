"""Reviewed knowledge files: analytes, units, reference intervals, rules.

The TOML files are the source. Parsing TOML is slow in pure Python (analytes.toml and
ranges.toml take some 10 ms each, on every `levlab interpret`), so a parsed file is also kept
in a fast form beside it, as Python keeps compiled modules: `__pycache__/<name>.<tag>.marshal`
holds the TOML text and what it parses to, after a CRC-32 of those bytes. It is used only when
the text it holds is the text of the file now (so an edited file is parsed again, whatever its
timestamps) and its bytes are those written (a damaged cache that still reads would give other
limits, factors or rules); a cache that is missing, unreadable, damaged, stale or cannot be
written (a read-only install) means the file is parsed, as without a cache. (It is data, not bytecode: PYTHONDONTWRITEBYTECODE does not turn it off.) What the cache returns is what tomllib returns.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from binascii import crc32
from functools import cache
from typing import Any

DATA_DIR = os.path.dirname(__file__)  # os.path, not pathlib: every command starts here, pathlib costs ms
CACHE_DIR = os.path.join(DATA_DIR, "__pycache__")


@cache
def load_toml(name: str) -> dict[str, Any]:
    """Parse one of the packaged TOML files (read once per process, parsed once per edit)."""
    return read_toml(os.path.join(DATA_DIR, name), cache_path(name))


def data_path(name: str) -> str:
    """Filesystem path of a packaged data file (for pint's definitions loader)."""
    return os.path.join(DATA_DIR, name)


def cache_path(name: str, cache_dir: str = CACHE_DIR) -> str:
    """Where the parsed form of data file `name` is kept (per Python version, as marshal's format is)."""
    return os.path.join(cache_dir, f"{name}.{sys.implementation.cache_tag}.marshal")


def read_toml(path: str, cached: str) -> dict[str, Any]:
    """The TOML file at `path` parsed: from the cache file `cached` when it holds this very text,
    else parsed with tomllib (and the cache written, when it can be)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    document = read_kept(cached, text)
    if not isinstance(document, dict):
        import tomllib

        document = tomllib.loads(text)
        keep(cached, text, document)
    return document


def read_kept(cached: str, made_from: Any) -> Any:
    """What the cache file `cached` keeps, when it was made from `made_from` (a text, or a tuple
    of what the kept value depends on); else None (no cache, made from something else, or a
    cache that does not read or whose bytes are not those written)."""
    try:
        with open(cached, "rb") as handle:
            held = memoryview(handle.read())
        if len(held) < 4 or int.from_bytes(held[:4], "little") != crc32(held[4:]):
            return None  # not the bytes written: a damaged cache may still read, as other values
        held_from, value = marshal.loads(held[4:])
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return value if held_from == made_from else None


def keep(cached: str, made_from: Any, value: Any) -> None:
    """Keep `value`, made from `made_from`, at `cached`, after the CRC-32 of its bytes: written whole
    or not at all (a temporary file renamed); any failure (a read-only directory, a value marshal
    cannot hold) leaves no cache."""
    temporary = f"{cached}.{os.getpid()}.tmp"
    try:
        data = marshal.dumps((made_from, value))
        data = crc32(data).to_bytes(4, "little") + data
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, cached)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            os.remove(temporary)
