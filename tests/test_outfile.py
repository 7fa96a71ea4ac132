"""outfile.py: every file argument answered with one line; -o never destroys what it writes over."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from levlab import outfile
from levlab.cli import main
from levlab.outfile import output_kind, output_problem

EN_WIDE = Path(__file__).resolve().parent.parent / "examples" / "export_en_wide.csv"
LEVLAB = [sys.executable, "-m", "levlab"]


def invoke(*args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def assert_one_error_line(result: Result, *expected: str) -> str:
    """Exit 2, no traceback, nothing on stdout, and exactly one `Error:` line naming what is wrong."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for text in expected:
        assert text in errors[0]
    return errors[0]


def _directory_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- input files --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["csv", "trend"])
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(lambda d: d / "nonexist.csv", "No such file or directory", id="missing"),
        pytest.param(lambda d: (d / "broken.csv").symlink_to(d / "gone.csv") or d / "broken.csv",
                     "broken symbolic link", id="broken-symlink"),
        pytest.param(lambda d: (d / "folder").mkdir() or d / "folder", "is a directory", id="directory"),
    ],
)
def test_a_missing_or_unusable_input_file_is_one_error_line(tmp_path, command, make, expected):
    path = make(tmp_path)
    result = invoke(command, str(path))
    assert_one_error_line(result, expected)
    assert len(result.stderr.strip().splitlines()) == 1  # no usage text around it (a directory was click's 3 lines)


@pytest.mark.parametrize("command", ["csv", "trend"])
def test_an_input_without_read_permission_is_one_error_line(tmp_path, monkeypatch, command):
    """Run as root, chmod 000 still reads; the code path is checked with open() refusing as it would."""
    path = tmp_path / "secret.csv"
    path.write_bytes(EN_WIDE.read_bytes())
    path.chmod(0)

    def refuse(name, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)

    monkeypatch.setattr(outfile, "open", refuse, raising=False)
    assert_one_error_line(invoke(command, str(path)), f"cannot read {path}", "Permission denied")


@pytest.mark.parametrize("command", ["csv", "trend"])
def test_a_missing_input_in_a_real_process_is_one_line_without_a_traceback(tmp_path, command):
    done = subprocess.run([*LEVLAB, command, str(tmp_path / "nonexist.csv")], capture_output=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [f"Error: cannot read {tmp_path / 'nonexist.csv'}: No such file or directory"]


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("command", ["csv", "trend"])
def test_a_named_pipe_as_input_is_read_as_a_stream(tmp_path, command):
    pipe = _fifo(tmp_path, "in.fifo")

    def feed() -> None:
        with open(pipe, "wb") as writer:
            writer.write(EN_WIDE.read_bytes())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    done = subprocess.run([*LEVLAB, command, str(pipe)], capture_output=True, timeout=60)
    writer.join(timeout=10)
    assert done.returncode == 0, done.stderr
    expected = subprocess.run([*LEVLAB, command, str(EN_WIDE)], capture_output=True, timeout=60).stdout
    assert done.stdout == expected


# --- outputs that are not regular files ----------------------------------------------------------


def test_output_into_a_named_pipe_is_written_into_it_not_replaced(tmp_path):
    pipe = _fifo(tmp_path, "out.fifo")
    received: list[bytes] = []

    def drain() -> None:
        with open(pipe, "rb") as reader:
            received.append(reader.read())

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    done = subprocess.run([*LEVLAB, "csv", str(EN_WIDE), "-o", str(pipe)], capture_output=True, timeout=60)
    reader.join(timeout=10)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.stat(pipe).st_mode), "the pipe was replaced by a regular file"
    expected = subprocess.run([*LEVLAB, "csv", str(EN_WIDE)], capture_output=True, timeout=60).stdout
    assert received == [expected]
    assert _directory_files(tmp_path) == ["out.fifo"]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        pytest.param("-", "stdout", id="dash"),
        pytest.param("/dev/stdout", "stdout", id="dev-stdout"),
        pytest.param("/dev/fd/1", "stdout", id="dev-fd-1"),
        pytest.param("/proc/self/fd/1", "stdout", id="proc-self-fd-1"),
        pytest.param("/dev/stderr", "descriptor", id="dev-stderr"),
        pytest.param("/dev/fd/2", "descriptor", id="dev-fd-2"),
        pytest.param("/dev/null", "direct", id="dev-null-is-a-character-device"),
    ],
)
def test_special_outputs_are_written_through_never_replaced(path, kind):
    """The device path is checked by its decision only: no test writes over a device node."""
    assert output_kind(path) == kind


def test_regular_and_new_files_are_replaced_atomically(tmp_path):
    existing = tmp_path / "out.csv"
    existing.write_text("old\n")
    assert output_kind(str(existing)) == "replace"
    assert output_kind(str(tmp_path / "new.csv")) == "replace"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_o_dev_stdout_writes_to_stdout_in_a_real_process():
    done = subprocess.run([*LEVLAB, "csv", str(EN_WIDE), "-o", "/dev/stdout"], capture_output=True, timeout=60)
    expected = subprocess.run([*LEVLAB, "csv", str(EN_WIDE)], capture_output=True, timeout=60).stdout
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_o_dash_and_o_dev_stdout_write_the_same_as_no_o():
    plain = invoke("csv", str(EN_WIDE)).stdout
    assert invoke("csv", str(EN_WIDE), "-o", "-").stdout == plain
    assert invoke("csv", str(EN_WIDE), "-o", "/dev/stdout").stdout == plain


# --- a full disk, a file that cannot be replaced ---------------------------------------------------


class _FullDisk:
    """A binary file that takes `room` bytes and then fails with ENOSPC, as a full disk does."""

    def __init__(self, real, room: int) -> None:
        self.real, self.room = real, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.real.write(data)

    def __getattr__(self, name: str):
        return getattr(self.real, name)


@pytest.mark.parametrize("room", [0, 100, 5000])
def test_a_full_disk_is_one_error_line_leaves_the_file_as_it_was_and_no_temporary_file(tmp_path, monkeypatch, room):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    real_fdopen = os.fdopen
    monkeypatch.setattr(outfile.os, "fdopen", lambda *a, **k: _FullDisk(real_fdopen(*a, **k), room))
    big = tmp_path / "big.csv"
    lines = EN_WIDE.read_text(encoding="utf-8").splitlines()
    big.write_text("\n".join([lines[0], *(lines[1 + n % 6] for n in range(2000))]) + "\n", encoding="utf-8")
    result = invoke("csv", str(big), "-o", str(target))
    assert_one_error_line(result, f"cannot write {target}", "No space left on device")
    assert target.read_text() == "old\n"
    assert _directory_files(tmp_path) == ["big.csv", "out.csv"]


def test_a_full_disk_on_a_small_tmpfs_is_one_error_line(tmp_path):
    """The real thing where the sandbox allows a mount (root); skipped elsewhere."""
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        target = small / "out.csv"
        target.write_text("old\n")
        big = tmp_path / "big.csv"
        lines = EN_WIDE.read_text(encoding="utf-8").splitlines()
        big.write_text("\n".join([lines[0], *(lines[1 + n % 6] for n in range(3000))]) + "\n", encoding="utf-8")
        done = subprocess.run([*LEVLAB, "csv", str(big), "-o", str(target)], capture_output=True, timeout=60)
        errors = [line for line in done.stderr.decode().splitlines() if line.startswith("Error:")]
        assert done.returncode == 2 and b"Traceback" not in done.stderr
        assert errors == [f"Error: cannot write {target}: No space left on device"]
        assert target.read_text() == "old\n" and _directory_files(small) == ["out.csv"]
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
@pytest.mark.parametrize("args", [["csv", str(EN_WIDE)], ["csv", str(EN_WIDE), "--format", "jsonl"],
                                  ["interpret", "alt=35"], ["ranges"], ["rules"]])
def test_stdout_on_a_full_disk_is_one_error_line(args):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([*LEVLAB, *args], stdout=full, stderr=subprocess.PIPE, timeout=60)
    errors = [line for line in done.stderr.decode().splitlines() if line.startswith("Error:")]
    assert done.returncode == 2 and b"Traceback" not in done.stderr and b"Exception ignored" not in done.stderr
    assert len(errors) == 1 and "No space left on device" in errors[0]


def test_a_rename_that_fails_after_the_run_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def refuse(source, destination):
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(outfile.os, "replace", refuse)
    assert_one_error_line(invoke("csv", str(EN_WIDE), "-o", str(target)), f"cannot write -o {target}")
    assert target.read_text() == "old\n"
    assert _directory_files(tmp_path) == ["out.csv"]


def test_another_users_file_in_a_sticky_directory_is_refused_before_the_run(tmp_path):
    """A rename over it would fail after the whole run: say so first (decided for a non-root user)."""
    sticky = tmp_path / "shared"
    sticky.mkdir()
    sticky.chmod(0o1777)
    target = sticky / "theirs.csv"
    target.write_text("old\n")
    owner = os.stat(target).st_uid
    assert "sticky directory" in (output_problem(str(target), euid=owner + 1000) or "")
    assert output_problem(str(target), euid=owner) is None


def test_a_directory_that_does_not_exist_is_refused_before_the_run(tmp_path):
    result = invoke("csv", str(EN_WIDE), "-o", str(tmp_path / "nowhere" / "out.csv"))
    assert_one_error_line(result, "cannot write -o", "directory does not exist")
    assert not any(line.startswith("levlab csv:") for line in result.stderr.splitlines())


# --- files never clobbered ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o555])
def test_a_read_only_output_file_is_refused_and_kept(tmp_path, mode):
    """Even for root, whose shell redirect would write it: no write bit means not to be changed."""
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    target.chmod(mode)
    try:
        result = invoke("csv", str(EN_WIDE), "-o", str(target))
        assert_one_error_line(result, "read-only", f"{mode:04o}")
        assert target.read_text() == "old\n" and stat.S_IMODE(os.stat(target).st_mode) == mode
        assert not any(line.startswith("levlab csv:") for line in result.stderr.splitlines()), "refused after the run"
    finally:
        target.chmod(0o644)


def test_an_output_file_writable_by_its_owner_only_is_written(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    target.chmod(0o600)
    assert invoke("csv", str(EN_WIDE), "-o", str(target)).exit_code == 0
    assert target.read_text().startswith("patient_id") and stat.S_IMODE(os.stat(target).st_mode) == 0o600


@pytest.mark.parametrize("spelling", ["same", "symbolic link", "hard link"])
def test_output_refuses_to_overwrite_the_file_on_stdin(tmp_path, spelling):
    data = tmp_path / "data.csv"
    data.write_bytes(EN_WIDE.read_bytes())
    target = data
    if spelling == "symbolic link":
        target = tmp_path / "link.csv"
        target.symlink_to(data)
    elif spelling == "hard link":
        target = tmp_path / "hard.csv"
        os.link(data, target)
    with open(data, "rb") as stdin:
        done = subprocess.run([*LEVLAB, "csv", "-", "-o", str(target)], stdin=stdin, capture_output=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [f"Error: -o {target} is the input file (stdin): write to another file"]
    assert data.read_bytes() == EN_WIDE.read_bytes()


def test_stdin_from_another_file_may_be_written_to_a_file(tmp_path):
    target = tmp_path / "out.csv"
    with open(EN_WIDE, "rb") as stdin:
        done = subprocess.run([*LEVLAB, "csv", "-", "-o", str(target)], stdin=stdin, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert target.read_text(encoding="utf-8").startswith("patient_id")


def test_a_directory_without_write_permission_is_refused_before_the_run(tmp_path, monkeypatch):
    """Run as root, every directory is writable; the check is made to refuse as it would for a user."""
    real_access = os.access
    monkeypatch.setattr(outfile.os, "access", lambda path, mode: False if os.path.isdir(path) else real_access(path, mode))
    for target in (tmp_path / "new.csv", tmp_path / "old.csv"):
        if target.name == "old.csv":
            target.write_text("old\n")
        result = invoke("csv", str(EN_WIDE), "-o", str(target))
        assert_one_error_line(result, "no permission to create a file in")
        assert not any(line.startswith("levlab csv:") for line in result.stderr.splitlines()), "refused after the run"


# --- --ranges FILE, as every other file argument ---------------------------------------------------


@pytest.mark.parametrize("command", [["interpret", "alt=35"], ["ranges"], ["csv", str(EN_WIDE)], ["trend", str(EN_WIDE)]])
@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(lambda d: d / "nonexist.toml", "does not exist", id="missing"),
        pytest.param(lambda d: (d / "broken.toml").symlink_to(d / "gone.toml") or d / "broken.toml",
                     "does not exist", id="broken-symlink"),
        pytest.param(lambda d: (d / "folder").mkdir() or d / "folder", "is a directory", id="directory"),
    ],
)
def test_a_missing_or_unusable_ranges_file_is_one_error_line(tmp_path, command, make, expected):
    result = invoke(*command, "--ranges", str(make(tmp_path)))
    assert result.exit_code == 2 and "Traceback" not in result.output and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "--ranges" in errors[0] and expected in errors[0]


def test_a_ranges_file_on_a_named_pipe_is_read(tmp_path):
    pipe = _fifo(tmp_path, "lab.fifo")

    def feed() -> None:
        with open(pipe, "w", encoding="utf-8") as writer:
            writer.write('[[interval]]\nanalyte = "alt"\nrange = "< 30"\nsource = "own lab"\n')

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    result = invoke("interpret", "alt=35", "--ranges", str(pipe), "--format", "json")
    writer.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert '"flag": "H"' in result.stdout


def test_a_descriptor_that_is_not_open_is_refused_before_the_run():
    result = invoke("csv", str(EN_WIDE), "-o", "/dev/fd/987")
    assert_one_error_line(result, "descriptor 987 is not open")
    assert not any(line.startswith("levlab csv:") for line in result.stderr.splitlines()), "refused after the run"
