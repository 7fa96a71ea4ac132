"""Where `levlab csv` writes: stdout, or a file replaced atomically (the edge; no core here)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import IO

from levlab.errors import UsageError


@contextlib.contextmanager
def text_output(path: str, *, bom: bool) -> Iterator[IO[str]]:
    """UTF-8 text to a file or stdout, line endings written as given; a usage error if it cannot be opened.

    A file is written atomically: into a temporary file in the same directory, renamed over
    FILE only when all went well, so an error or Ctrl-C leaves FILE as it was.
    """
    temporary = None
    if path == "-":
        binary: IO[bytes] = sys.stdout.buffer
    else:
        import tempfile  # only here: its imports cost milliseconds that a run to stdout need not pay

        target = os.path.realpath(path)  # through a symbolic link, as open() would write
        try:
            descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                                                     dir=os.path.dirname(target))
            os.chmod(temporary, new_file_mode(target))
        except OSError as error:
            if temporary is not None:
                os.close(descriptor)
                os.unlink(temporary)
            raise UsageError(f"cannot write {path}: {error.strerror}") from None
        binary = os.fdopen(descriptor, "wb")
    stream = io.TextIOWrapper(binary, encoding="utf-8", newline="")
    complete = False
    try:
        if bom:
            stream.write("\ufeff")
        yield stream
        stream.flush()
        complete = True
    finally:
        if temporary is None:
            stream.detach()
        else:
            stream.close()
            if complete:
                os.replace(temporary, target)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


def new_file_mode(target: str) -> int:
    """The mode FILE keeps (if it exists) or gets (0o666 less the umask), not mkstemp's 0o600."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
