"""Concurrency and environment: parallel cold starts, missing or unwritable home and cache
directories, and no pickled data loaded from (or written to) a user-writable location."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PANEL = ["interpret", "bili=2.4mg/dL", "alp=250U/L", "ldh=480U/L", "ast=40U/L", "alt=0.6ukat/L", "--sex", "F", "--age", "60"]
# bili in mg/dL and alt in µkat/L make pint build its registry and convert: the code path a cache would serve.


def _env(home: Path | str, cache: Path | str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XDG_", "PYTHON"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(cache if cache is not None else home), PYTHONDONTWRITEBYTECODE="1")
    return env


def _levlab(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "levlab", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def test_eight_processes_started_at_once_on_a_cold_cache_all_succeed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "levlab", *PANEL, "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(8)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 8, [err for _, err in outputs]
    assert all(err == "" for _, err in outputs)
    assert len({out for out, _ in outputs}) == 1, "parallel runs disagree"
    document = json.loads(outputs[0][0])
    assert document["analytes"]["bilirubin"]["input_unit"] == "mg/dL"
    assert list(home.rglob("*")) == [], "levlab wrote into the home/cache directory"


def _unwritable_dir(tmp_path: Path) -> Path:
    path = tmp_path / "readonly"
    path.mkdir()
    path.chmod(0o500)  # does not stop root; the path-under-a-file case below does
    return path


def _under_a_file(tmp_path: Path) -> Path:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    return blocker / "home"  # can be neither created nor written, even by root


HOMES = {
    "missing": lambda tmp: tmp / "does" / "not" / "exist",
    "read-only": _unwritable_dir,
    "under a regular file": _under_a_file,
    "empty string": lambda tmp: "",
}


@pytest.mark.parametrize("make_home", HOMES.values(), ids=HOMES.keys())
def test_levlab_works_with_a_missing_or_unwritable_home_and_cache(tmp_path: Path, make_home) -> None:
    home = make_home(tmp_path)
    try:
        table = _levlab(*PANEL, env=_env(home))
        as_json = _levlab(*PANEL, "--format", "json", env=_env(home))
        units = _levlab("units", env=_env(home))
    finally:
        if (tmp_path / "readonly").exists():
            (tmp_path / "readonly").chmod(0o700)
    for done in (table, as_json, units):
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    assert json.loads(as_json.stdout)["analytes"]["alt"]["input_unit"] == "µkat/L"
    if isinstance(home, Path) and home.is_dir():
        assert list(home.rglob("*")) == []


def test_the_pint_registry_is_built_without_a_disk_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    import pint

    from levlab import units

    seen: list[dict[str, object]] = []
    real = pint.UnitRegistry

    def recording(*args: object, **kwargs: object) -> object:
        seen.append(kwargs)
        return real(*args, **kwargs)

    units.registry.cache_clear()
    monkeypatch.setattr(pint, "UnitRegistry", recording)
    try:
        registry = units.registry()
    finally:
        units.registry.cache_clear()
    assert seen and all("cache_folder" in kwargs and kwargs["cache_folder"] is None for kwargs in seen)
    assert registry.cache_folder is None


# Runs levlab in a fresh interpreter with an audit hook that records every file opened and every
# class an unpickler looks up, and with pickle's loaders replaced by a function that fails loudly.
_AUDITED_RUN = r"""
import json, os, pickle, sys
opened, unpickled = [], []
def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.append(os.path.abspath(os.fsdecode(args[0])))
    elif event == "pickle.find_class":
        unpickled.append(repr(args))
sys.addaudithook(hook)
def refuse(*args, **kwargs):
    raise RuntimeError("levlab tried to unpickle data")
pickle.load = pickle.loads = refuse
from levlab.cli import main
try:
    main(sys.argv[2:], prog_name="levlab")
except SystemExit as exit:
    code = exit.code
with open(sys.argv[1], "w") as report:
    json.dump({"code": code, "opened": opened, "unpickled": unpickled}, report)
"""


def test_levlab_loads_no_pickle_and_touches_no_home_or_cache_file(tmp_path: Path) -> None:
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    cache.mkdir()
    for pint_cache in (home / ".cache" / "pint", cache / "pint"):  # where pint's ":auto:" cache would live
        pint_cache.mkdir(parents=True)
        (pint_cache / "planted.pickle").write_bytes(b"not a pickle: loading this would fail")
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-c", _AUDITED_RUN, str(report), *PANEL, "--format", "json"],
        capture_output=True,
        text=True,
        env=_env(home, cache),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(report.read_text())
    assert result["code"] == 0
    assert result["unpickled"] == []
    assert [path for path in result["opened"] if path.endswith((".pickle", ".pkl"))] == []
    user_dirs = (str(home), str(cache))
    assert [path for path in result["opened"] if path.startswith(user_dirs)] == []
    found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file() and p != report)
    assert found == ["cache/pint/planted.pickle", "home/.cache/pint/planted.pickle"], "levlab created files"


@pytest.mark.parametrize("make_home", HOMES.values(), ids=HOMES.keys())
def test_the_shell_works_with_a_missing_or_unwritable_home_and_writes_only_its_history(tmp_path: Path, make_home) -> None:
    """`levlab shell` is the one command that writes there: its history file, and only where it can."""
    import pexpect

    home = make_home(tmp_path)
    env = {key: value for key, value in _env(home).items() if key != "XDG_CACHE_HOME"}
    env.update(TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")  # pexpect answers no cursor-position query
    try:
        child = pexpect.spawn(sys.executable, ["-m", "levlab", "shell", "--sex", "F"], env=env, encoding="utf-8",
                              dimensions=(60, 200), timeout=30)
        child.expect_exact("levlab>")
        started = child.before
        child.send(" ".join(PANEL[1:6]) + "\r")
        child.expect_exact("normal-panel: not-met")
        child.send("\x04")
        child.expect(pexpect.EOF)
        child.close()
    finally:
        if (tmp_path / "readonly").exists():
            (tmp_path / "readonly").chmod(0o700)
    assert child.exitstatus == 0
    if isinstance(home, Path) and home.is_dir():  # read-only: root writes there all the same
        written = sorted(str(path.relative_to(home)) for path in home.rglob("*"))
        assert written in ([], [".local", ".local/share", ".local/share/levlab", ".local/share/levlab/history"])
    else:
        assert "History is not kept this session: no home directory" in started
        assert not (tmp_path / "does").exists(), "levlab created a home directory"
