"""The settings file: a laboratory's ranges, the language and the unit family, said once.

`$XDG_CONFIG_HOME/levlab/config.toml` (default `~/.config/levlab/config.toml`; the environment
variable `LEVLAB_CONFIG` names another file):

    ranges = "lab.toml"   # a --ranges file, relative to the settings file
    lang = "nl"           # nl or en
    units = "si"          # a bare bilirubin is µmol/L, albumin and globulin g/L,
                          # haemoglobin and glucose mmol/L (analytes.toml `si_unit`)

This module is the edge: `locate` and `load` take the environment and the home directory as
arguments (never `os.environ` or the real home themselves, so tests pass their own), read the
file, and return a `Config` of plain values; `parse` is pure. The core never sees the file: the
command line passes on a ranges path, a language code and a unit per analyte. Command-line
options win over the file (`Config.choose`).

The hook for the language (`--lang`, issue 14): the option wins over the file, and with neither
the language resolution decides (`lang, origin = settings.choose("lang", option)`; lang None
means not set).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from levlab.errors import UsageError, shown

CONFIG_ENV = "LEVLAB_CONFIG"
LANGUAGES = ("nl", "en")
UNIT_FAMILIES = ("si",)
KEYS = ("ranges", "lang", "units")

#: where a value comes from, as `levlab config` says it
FROM_FILE = "settings file"
FROM_DEFAULT = "default"
FROM_OPTION = "command line"


class ConfigError(UsageError):
    """A settings file that cannot be read or holds a key or value levlab does not know."""


@dataclass(frozen=True)
class Config:
    """The settings in force from the file (plain values; None = not set, levlab's default)."""

    path: str | None  # the settings file looked for (None: no home directory and no LEVLAB_CONFIG)
    path_from: str  # "LEVLAB_CONFIG", "XDG_CONFIG_HOME" or "home directory"
    found: bool = False
    ranges: str | None = None  # an absolute path (written relative to the settings file)
    ranges_text: str | None = None  # as written in the file
    lang: str | None = None
    units: str | None = None

    def origin(self, key: str) -> str:
        """`settings file` when the file sets `key`, else `default`."""
        return FROM_FILE if getattr(self, key) is not None else FROM_DEFAULT

    def choose(self, key: str, option: Any) -> tuple[Any, str]:
        """The value in force for `key` and where it came from: a command-line option wins over
        the file, the file over levlab's default (None)."""
        if option is not None:
            return option, FROM_OPTION
        return getattr(self, key), self.origin(key)

    def ranges_name(self) -> str:
        """How messages name the ranges file set here: `lab.toml (ranges in /…/config.toml)`."""
        return f"{self.ranges_text} (ranges in {self.path})"

    def unit_per_analyte(self) -> dict[str, str]:
        """The unit a bare value is in, per analyte id, under `units` ({} when not set)."""
        if self.units is None:
            return {}
        from levlab.catalog import analytes

        return {analyte.id: analyte.si_unit for analyte in analytes().values() if analyte.si_unit}


def locate(environ: Mapping[str, str], home: str | None) -> tuple[str | None, str]:
    """Where the settings file is, and what said so: LEVLAB_CONFIG, else XDG_CONFIG_HOME (when an
    absolute path, as the XDG specification asks), else `~/.config`."""
    named = environ.get(CONFIG_ENV, "")
    if named:
        return os.path.expanduser(named), CONFIG_ENV
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "levlab", "config.toml"), "XDG_CONFIG_HOME"
    if home:
        return os.path.join(home, ".config", "levlab", "config.toml"), "home directory"
    return None, "home directory"


def load(environ: Mapping[str, str], home: str | None) -> Config:
    """The settings in force. A missing file at the usual place means levlab's defaults; a file
    named by LEVLAB_CONFIG must exist (it was asked for). A file that cannot be read or parsed
    is one ConfigError naming the file (and the key)."""
    path, path_from = locate(environ, home)
    if path is None:
        return Config(None, path_from)
    if not os.path.exists(path):
        if path_from == CONFIG_ENV:
            raise ConfigError(f"{CONFIG_ENV} names the settings file {path}, which does not exist")
        return Config(path, path_from)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        text = data.decode("utf-8-sig")
    except IsADirectoryError:
        raise ConfigError(f"settings file {path} is a directory; it should be a TOML file") from None
    except OSError as error:
        raise ConfigError(f"cannot read settings file {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"settings file {path} is not UTF-8 text ({error.reason} at byte {error.start})") from None
    return parse(text, path, path_from)


def parse(text: str, path: str, path_from: str = CONFIG_ENV) -> Config:
    """The settings of a file's text (pure: nothing else is read). Refused with the key named:
    an unknown key, a value of the wrong type, a language or unit family levlab does not know."""
    import tomllib  # here, not at start-up: most runs have no settings file

    where = f"settings file {path}"
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where}: not valid TOML ({error})") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply; the settings are plain key = \"value\" lines") from None
    for key, value in document.items():
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {shown(key)}; the keys are {', '.join(KEYS)}")
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} is a text in quotes ({key} = \"...\"), not {_kind(value)}")
    lang = _choice(document, "lang", LANGUAGES, where)
    units = _choice(document, "units", UNIT_FAMILIES, where)
    ranges_text = document.get("ranges")
    ranges = None
    if ranges_text is not None:
        if not ranges_text.strip():
            raise ConfigError(f"{where}: ranges is empty; give a ranges file, e.g. ranges = \"lab.toml\"")
        ranges = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(ranges_text.strip()))
    return Config(path, path_from, True, ranges, ranges_text, lang, units)


def _choice(document: Mapping[str, str], key: str, allowed: tuple[str, ...], where: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    folded = value.strip().casefold()
    if folded not in allowed:
        raise ConfigError(f"{where}: {key} = {shown(value)} is not one of {', '.join(allowed)}")
    return folded


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {shown(str(value), 20)}"


#: how `levlab config` says what located the settings file
PATH_FROM_WORDS = {CONFIG_ENV: f"env {CONFIG_ENV}", "XDG_CONFIG_HOME": "env XDG_CONFIG_HOME",
                   "home directory": "default location"}


def describe(config: Config) -> list[str]:
    """What `levlab config` prints: the file and each setting, with where it came from."""
    from levlab.catalog import analytes

    said_by = PATH_FROM_WORDS[config.path_from]
    if config.path is None:
        lines = [f"settings file: none (no home directory, and {CONFIG_ENV} is not set)"]
    elif config.found:
        lines = [f"settings file: {config.path} ({said_by})"]
    else:
        lines = [f"settings file: {config.path} ({said_by}; not found, so levlab's defaults are in force)"]
    ranges = f"{config.ranges_text} = {config.ranges}" if config.ranges else "levlab's defaults (`levlab ranges`)"
    lines.append(f"ranges  {ranges}  [{config.origin('ranges')}]")
    lines.append(f"lang    {config.lang or 'not set'}  [{config.origin('lang')}]")
    if config.units:
        per = ", ".join(f"{analyte} {unit}" for analyte, unit in config.unit_per_analyte().items())
        units = f"{config.units}: a value without a unit is read as {per} (said as 'unit from settings')"
    else:
        bare = ", ".join(a.id for a in analytes().values() if a.unit_required)
        units = f"not set: {bare} need a unit with every value"
    lines.append(f"units   {units}  [{config.origin('units')}]")
    lines.append("A command-line option wins over the file (--ranges; a unit written with a value).")
    return lines


def as_json(config: Config) -> dict[str, Any]:
    """`levlab config --format json`."""
    return {
        "file": {"path": config.path, "from": config.path_from, "found": config.found},
        "ranges": {"value": config.ranges, "as_written": config.ranges_text, "from": config.origin("ranges")},
        "lang": {"value": config.lang, "from": config.origin("lang")},
        "units": {"value": config.units, "from": config.origin("units"), "per_analyte": config.unit_per_analyte()},
    }


def in_force() -> Config:
    """The settings file in force, read from the real environment and home directory (the
    command line's edge calls this; tests set LEVLAB_CONFIG or XDG_CONFIG_HOME instead)."""
    return load(os.environ, os.path.expanduser("~"))


def interval_table(ranges_file: str | None, settings: Config | None = None) -> Any:
    """--ranges FILE, else the settings file's `ranges`, else levlab's defaults."""
    from levlab.language import Msg
    from levlab.ranges import default_intervals, load_interval_file

    name, where = ranges_file, f"--ranges {ranges_file}"
    if ranges_file is None and settings is not None and settings.ranges is not None:
        ranges_file, name = settings.ranges, settings.ranges_name()
        where = f"settings file {settings.path}: ranges = {settings.ranges_text!r}: {ranges_file}"
    if ranges_file is None:
        return default_intervals()
    try:
        with open(ranges_file, encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(Msg("cannot read {where}: {error}", where=where, error=str(error))) from None
    return load_interval_file(text, name)
