"""Where `levlab csv` reads and writes: files checked before the run (the edge; no core here).

Output goes to stdout, to a regular file replaced atomically, or straight into a special
file (a named pipe, a terminal, /dev/null): replacing those would destroy them.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
import sys
from collections.abc import Iterator
from typing import IO, BinaryIO

from levlab.errors import UsageError

#: names of an already open descriptor: written through it, never opened anew or replaced
_DESCRIPTOR_PATH = re.compile(r"/dev/(?:(?P<name>stdout|stderr)|fd/(?P<fd>[0-9]{1,4}))|/proc/self/fd/(?P<proc>[0-9]{1,4})")
_NAMED_DESCRIPTORS = {"stdout": 1, "stderr": 2}


class OutputError(UsageError):
    """The output could not be written (a full disk, a device error): nothing half-written is left as FILE."""

    output_failed = True  # the command line then drops what stdout still holds


def open_input(path: str) -> BinaryIO:
    """The input as a binary stream: stdin for `-`, else the file; a usage error naming what is wrong.

    A named pipe is read as a stream, as stdin is (it blocks until a writer opens it, as `cat` does).
    """
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {_why_not(path, error)}") from None


def _why_not(path: str, error: OSError) -> str:
    if error.errno == errno.ENOENT and os.path.islink(path):
        return f"it is a broken symbolic link (to {os.readlink(path)})"
    if error.errno == errno.EISDIR:
        return "it is a directory; give a file"
    return error.strerror or str(error)


def same_file(input_path: str, output_path: str) -> bool:
    """Whether the output would replace the input (by path, hard link, symbolic link or stdin's file)."""
    if output_path == "-" or _DESCRIPTOR_PATH.fullmatch(output_path):
        return False
    try:
        source = os.fstat(sys.stdin.fileno()) if input_path == "-" else os.stat(input_path)
        target = os.stat(output_path)
    except (OSError, ValueError, io.UnsupportedOperation):  # no such output yet; stdin closed or not a file
        return False
    return stat.S_ISREG(target.st_mode) and (source.st_dev, source.st_ino) == (target.st_dev, target.st_ino)


def output_problem(path: str, *, euid: int | None = None) -> str | None:
    """Why `-o path` must not be written (checked before the run), or None.

    A read-only file (no write bit) is refused even for root, whose shell redirect would write it:
    the mode says the file is not to be changed. A file that cannot be replaced (another user's, in
    a sticky directory such as /tmp) is refused before the run, not after it.
    """
    if path == "-":
        return None
    if _DESCRIPTOR_PATH.fullmatch(path):
        try:
            os.fstat(_descriptor(path))
        except OSError:
            return f"descriptor {_descriptor(path)} is not open"
        return None
    euid = os.geteuid() if euid is None else euid
    directory = os.path.dirname(os.path.realpath(path)) or "."
    try:
        target = os.stat(path)
    except FileNotFoundError:
        if not os.path.isdir(directory):
            return "its directory does not exist"
        return None if os.access(directory, os.W_OK | os.X_OK) else f"no permission to create a file in {directory}"
    except OSError as error:
        return error.strerror or str(error)
    mode = target.st_mode
    if stat.S_ISBLK(mode):
        return "it is a block device (a disk); levlab does not write to disks"
    if stat.S_ISDIR(mode):
        return "it is a directory"
    if not stat.S_ISREG(mode):
        return None  # a named pipe or character device: written into as it is
    if not mode & 0o222 or not os.access(path, os.W_OK):
        return f"it is read-only (mode {stat.S_IMODE(mode):04o}); make it writable or write to another file"
    if not os.access(directory, os.W_OK | os.X_OK):  # the temporary file is made beside it
        return f"no permission to create a file in {directory}, where it is replaced"
    try:
        folder = os.stat(directory)
    except OSError as error:
        return error.strerror or str(error)
    if folder.st_mode & stat.S_ISVTX and euid not in (0, target.st_uid, folder.st_uid):
        return (f"it belongs to another user in a sticky directory ({directory}), so it cannot be replaced; "
                "write to another file")
    return None


class _Guarded(io.BufferedIOBase):
    """Writes through to a binary stream; its write errors (a full disk) become an OutputError naming
    the output. Closing it leaves the stream open: whoever opened the stream closes it."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        super().__init__()
        self.raw, self.name = raw, name

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        try:
            self.raw.write(data)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(f"cannot write {self.name}: {error.strerror or error}") from None
        return len(data)

    def flush(self) -> None:
        try:
            self.raw.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(f"cannot write {self.name}: {error.strerror or error}") from None

    def close(self) -> None:
        """Nothing to release here (and no flush from a garbage collector after an error)."""


@contextlib.contextmanager
def text_output(path: str, *, bom: bool) -> Iterator[IO[str]]:
    """UTF-8 text to stdout, a special file or a regular file, line endings written as given.

    A regular file is written atomically: into a temporary file in the same directory, renamed
    over FILE only when all went well, so an error, a full disk or Ctrl-C leaves FILE as it was
    and no temporary file behind. A named pipe, a character device (/dev/null, a terminal) and
    `/dev/stdout`, `/dev/fd/N` are written into directly; `-` is stdout.
    """
    problem = output_problem(path)
    if problem is not None:
        raise UsageError(f"cannot write -o {path}: {problem}")
    raw, owned, name, temporary, target = _open_binary(path)
    stream = io.TextIOWrapper(_Guarded(raw, name), encoding="utf-8", newline="")
    complete = False
    try:
        if bom:
            stream.write("\ufeff")
        yield stream
        stream.flush()  # through to the file: a full disk is found here, before the rename
        complete = True
    finally:
        try:
            complete = _close(stream, owned, name, complete=complete)
        finally:
            if temporary is not None:
                _finish(temporary, target, path, complete=complete)


def _open_binary(path: str) -> tuple[IO[bytes], IO[bytes] | None, str, str | None, str | None]:
    """(stream to write, the stream levlab must close or None for stdout, the name said in errors,
    temporary file, final target) for each kind of output."""
    kind = output_kind(path)
    if kind == "stdout":
        return sys.stdout.buffer, None, ("to stdout" if path == "-" else f"to {path}"), None, None
    if kind in ("descriptor", "direct"):
        try:
            raw = (os.fdopen(os.dup(_descriptor(path)), "wb") if kind == "descriptor"
                   else open(path, "wb"))  # noqa: SIM115 - closed by text_output
        except OSError as error:
            raise UsageError(f"cannot write -o {path}: {error.strerror}") from None
        return raw, raw, path, None, None
    import tempfile  # only here: its imports cost milliseconds that a run to stdout need not pay

    target = os.path.realpath(path)  # through a symbolic link, as open() would write
    descriptor = temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                                                 dir=os.path.dirname(target))
        os.chmod(temporary, new_file_mode(target))
    except OSError as error:
        if temporary is not None:
            os.close(descriptor)  # type: ignore[arg-type]
            os.unlink(temporary)
        raise UsageError(f"cannot write -o {path}: {error.strerror}") from None
    raw = os.fdopen(descriptor, "wb")
    return raw, raw, path, temporary, target


def _close(stream: io.TextIOWrapper, owned: IO[bytes] | None, name: str, *, complete: bool) -> bool:
    """Close what levlab opened (stdout stays open); whether the output is still complete: a close
    that fails after a complete write is an error (the data may not be on disk)."""
    if owned is None:
        stream.detach()
        return complete
    with contextlib.suppress(OSError, OutputError):
        stream.close()
    try:
        owned.close()
    except OSError as error:
        if complete:
            raise OutputError(f"cannot write {name}: {error.strerror or error}") from None
        return False
    return complete


def _finish(temporary: str, target: str | None, path: str, *, complete: bool) -> None:
    """Rename the finished temporary file over FILE, or remove it; never leave it behind."""
    if complete and target is not None:
        try:
            os.replace(temporary, target)
            return
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise OutputError(f"cannot write -o {path}: {error.strerror}") from None
    with contextlib.suppress(OSError):
        os.unlink(temporary)


def output_kind(path: str) -> str:
    """How `-o path` is written: "stdout" (`-`, /dev/stdout, /dev/fd/1), "descriptor" (another
    /dev/fd/N), "direct" (into a named pipe, character device or socket, which a rename would
    destroy) or "replace" (a regular file, or none yet: a temporary file renamed over it)."""
    if path == "-":
        return "stdout"
    if _DESCRIPTOR_PATH.fullmatch(path):
        return "stdout" if _descriptor(path) == 1 else "descriptor"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "replace"
    return "direct" if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode) else "replace"


def _descriptor(path: str) -> int:
    match = _DESCRIPTOR_PATH.fullmatch(path)
    assert match is not None
    return _NAMED_DESCRIPTORS.get(match.group("name") or "") or int(match.group("fd") or match.group("proc"))


def new_file_mode(target: str) -> int:
    """The mode FILE keeps (if it exists) or gets (0o666 less the umask), not mkstemp's 0o600."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
