"""shell.py: `levlab shell` driven as a person drives it — in a pseudo-terminal (pexpect), typing,
pressing Tab, Up and Ctrl-D — and fed from a pipe; where its history lives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from click.testing import CliRunner

from levlab.cli import main
from levlab.shell import history_path, prepare_history

PANEL = "bili=40umol/L alp=250 ldh=480 ast=40 alt=35"
UP = "\x1b[A"
CTRL_D = "\x04"


def _env(home: Path | str, data_home: Path | str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XDG_", "PYTHON"))}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1", TERM="xterm-256color",
               PROMPT_TOOLKIT_NO_CPR="1")  # pexpect does not answer the cursor-position query a terminal answers
    if data_home is not None:
        env["XDG_DATA_HOME"] = str(data_home)
    return env


def start(*args: str, env: dict[str, str], code: str | None = None) -> pexpect.spawn:
    command = ["-c", code, *args] if code else ["-m", "levlab", "shell", *args]
    child = pexpect.spawn(sys.executable, command, env=env, encoding="utf-8", dimensions=(60, 200), timeout=30)
    child.expect_exact("levlab>")
    return child


def type_line(child: pexpect.spawn, line: str) -> None:
    child.send(line + "\r")


def finish(child: pexpect.spawn) -> int:
    child.send(CTRL_D)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_a_clinician_sets_the_patient_types_panels_completes_with_tab_and_leaves_with_ctrl_d(tmp_path: Path):
    child = start("--age", "62", env=_env(tmp_path, tmp_path / "data"))
    type_line(child, "sex V")
    child.expect_exact("sex: F")
    child.send("bilirubi\t")  # Tab: the one analyte -> `bilirubin=`
    child.send("40umo\t")  # Tab: the unit as levlab writes it -> `µmol/L`
    type_line(child, " alp=250 ldh=480 ast=40 alt=35")
    child.expect_exact("40µmol/L")  # the `as given` cell: both completions went into the line
    child.expect_exact("normal-panel: not-met")
    child.expect_exact("levlab supports clinical judgement")
    child.expect_exact("levlab>")
    type_line(child, "bili=2.5")
    child.expect_exact("Error: token 'bili=2.5': bilirubin needs a unit")
    type_line(child, "alt=20 ast=20")
    child.expect_exact("normal-panel: incomplete")
    type_line(child, "show")
    child.expect_exact("sex F, age 62, smoker unknown")
    type_line(child, "json")
    child.expect_exact('"normal_panel": {')
    child.expect_exact("levlab>")
    assert finish(child) == 0
    history = (tmp_path / "data" / "levlab" / "history").read_text(encoding="utf-8")
    assert "+bilirubin=40µmol/L alp=250 ldh=480 ast=40 alt=35\n" in history
    assert "+bili=2.5\n" in history


def test_history_is_recalled_in_the_next_session_with_up(tmp_path: Path):
    env = _env(tmp_path, tmp_path / "data")
    first = start(env=env)
    type_line(first, PANEL)
    first.expect_exact("normal-panel: not-met")
    assert finish(first) == 0
    second = start(env=env)
    type_line(second, "age 70")  # LDH 480 against 115-255 (70+) instead of 105-205
    second.expect_exact("age: 70")
    second.send(UP + UP + "\r")  # Up: `age 70`, Up again: the panel of the first session
    second.expect_exact("115 - 255 U/L")
    second.expect_exact("normal-panel: not-met")
    assert finish(second) == 0
    assert os.stat(tmp_path / "data" / "levlab" / "history").st_mode & 0o077 == 0, "history readable by others"


def test_ctrl_c_drops_the_line_and_the_session_goes_on(tmp_path: Path):
    child = start("--no-history", env=_env(tmp_path, tmp_path / "data"))
    child.send("alt=35 ast=")
    child.sendintr()
    type_line(child, "alt=100")
    child.expect_exact("H raised")
    type_line(child, "quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not (tmp_path / "data").exists(), "--no-history wrote a history file"


def test_without_prompt_toolkit_the_shell_says_how_to_get_it_and_still_works(tmp_path: Path):
    code = ("import sys; sys.modules['prompt_toolkit'] = None\n"  # as if the extra were not installed
            "from levlab.cli import main; main(['shell'], prog_name='levlab')")
    child = pexpect.spawn(sys.executable, ["-c", code], env=_env(tmp_path, tmp_path / "data"), encoding="utf-8",
                          dimensions=(60, 200), timeout=30)
    child.expect_exact('pip install "levlab[shell]"')
    child.expect_exact("levlab>")
    type_line(child, "sex F")
    child.expect_exact("sex: F")
    type_line(child, "alt=100")
    child.expect_exact("H raised")
    assert finish(child) == 0
    assert not (tmp_path / "data").exists()


def test_typing_into_a_shell_whose_output_is_piped_keeps_the_prompt_and_writes_plain_reports(tmp_path: Path):
    """`levlab shell | tee session.log`: the prompt on the terminal, the reports as plain text into the pipe."""
    log = tmp_path / "session.log"
    child = pexpect.spawn("/bin/sh", ["-c", f'"{sys.executable}" -m levlab shell | tee "{log}"'],
                          env=_env(tmp_path, tmp_path / "data"), encoding="utf-8", dimensions=(60, 200), timeout=30)
    child.expect_exact("levlab> ")
    started = child.before
    type_line(child, "sex F")
    child.expect_exact("sex: F")
    type_line(child, "alt=100")
    child.expect_exact("normal-panel: not-met")
    child.send(CTRL_D)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    text = log.read_text(encoding="utf-8")
    assert "levlab> " not in text and "┏" not in text and "\x1b[" not in text
    assert "alt      100 *     100 U/L  10 - 45 U/L" in text
    assert "levlab shell: type a panel" in started
    assert "pip install" not in started, "the extra is installed: no advice to install it"


# --- lines from a pipe: the same answers, no prompt, exit 2 if a line failed -------------------------------

def _piped(text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "levlab", "shell", *args], input=text, capture_output=True, text=True,
                          timeout=60, check=False)


def test_piped_lines_give_what_interpret_gives():
    done = _piped(f"sex V\nage 62\n{PANEL}\n")
    expected = CliRunner().invoke(main, ["interpret", *PANEL.split(), "--sex", "F", "--age", "62"]).stdout
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"sex: F\nage: 62\n{expected}"
    assert done.stderr == ""


def test_a_piped_error_is_on_stderr_the_rest_is_answered_and_the_exit_status_is_2():
    done = _piped("bili=2.5\nalt=35\n", "--sex", "F")
    assert done.returncode == 2
    assert done.stderr.startswith("Error: token 'bili=2.5': bilirubin needs a unit") and done.stderr.count("\n") == 1
    assert "normal-panel: incomplete" in done.stdout and "35 U/L" in done.stdout


def test_quit_stops_reading():
    done = _piped("alt=35\nquit\nalt=36\n")
    assert "35 U/L" in done.stdout and "36 U/L" not in done.stdout


def test_the_options_set_the_patient_and_a_bad_one_is_a_usage_error(tmp_path: Path):
    assert "2 BL" in _piped("alt=350\n", "--sex", "F", "--baseline", "alt=100").stdout
    bad = _piped("alt=35\n", "--baseline", "alt=0.5")
    assert bad.returncode == 2 and bad.stderr.startswith("Error: --baseline token 'alt=0.5'") and bad.stdout == ""


# --- where history lives ------------------------------------------------------------------------------

@pytest.mark.parametrize(("environ", "expected"), [
    ({"XDG_DATA_HOME": "/data", "HOME": "HOME"}, "/data/levlab/history"),
    ({"HOME": "HOME"}, "HOME/.local/share/levlab/history"),
    ({"XDG_DATA_HOME": "", "HOME": "HOME"}, "HOME/.local/share/levlab/history"),
    ({"XDG_DATA_HOME": "relative/dir", "HOME": "HOME"}, "HOME/.local/share/levlab/history"),
    ({"XDG_DATA_HOME": "/data"}, "/data/levlab/history"),  # created if missing, as XDG says
    ({}, None),
    ({"HOME": ""}, None),
    ({"HOME": "relative"}, None),
    ({"HOME": "/no/such/home"}, None),  # levlab does not create a home directory
])
def test_history_path_follows_xdg(environ, expected, tmp_path: Path):
    environ = {key: str(tmp_path) if value == "HOME" else value for key, value in environ.items()}
    found = history_path(environ)
    assert (None if found is None else str(found)) == (expected and expected.replace("HOME", str(tmp_path)))


def test_prepare_history_says_why_it_cannot_write(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert "cannot write" in prepare_history(blocker / "levlab" / "history")
    assert prepare_history(None) == "no home directory (HOME or XDG_DATA_HOME)"
    assert prepare_history(tmp_path / "levlab" / "history") is None
    assert (tmp_path / "levlab" / "history").stat().st_mode & 0o777 == 0o600


def test_shell_help_imports_neither_pint_rich_nor_prompt_toolkit():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom levlab.cli import main\n"
            "result = CliRunner().invoke(main, ['shell', '--help'])\nassert result.exit_code == 0, result.output\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pint', 'rich', 'prompt_toolkit')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- the prompt_toolkit pieces ---------------------------------------------------------------------------

def _completed(text: str) -> list[str]:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from levlab.session import Session
    from levlab.shell import _completer

    found = _completer(Session()).get_completions(Document(text, len(text)), CompleteEvent(completion_requested=True))
    return [completion.text for completion in found]


def test_tab_after_ranges_completes_file_names(tmp_path: Path):
    (tmp_path / "lab-x.toml").write_text("")
    (tmp_path / "lab-y.toml").write_text("")
    assert sorted(_completed(f"ranges {tmp_path}/lab-")) == ["x.toml", "y.toml"]


def test_tab_in_a_panel_completes_from_the_session():
    assert _completed("alt=35 bili=40umo") == ["µmol/L"]
    assert _completed("sgp") == ["sgpt="]


def test_a_history_file_that_disappears_does_not_end_the_session(tmp_path: Path):
    from levlab.shell import _safe_file_history

    path = tmp_path / "gone" / "history"
    path.parent.mkdir()
    history = _safe_file_history(path)
    history.store_string("alt=35")
    path.unlink()
    path.parent.rmdir()
    history.store_string("alt=36")  # the directory is gone: nothing raised
    assert list(history.load_history_strings()) == []
