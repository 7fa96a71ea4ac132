"""A long export from stdin or a pipe is copied to a temporary file, so that it is grouped as a file.

A long panel is all the rows of one key wherever they are (`levlab.exports.grouping`): a file is
read again for a sample whose rows are apart; a stream can only hold a window of rows, and a key
that comes back after the window could find its first panel already written as `met`. So input
that cannot be read twice is *teed* into a temporary file while levlab reads its header; when
the layout is long (and its records are not already grouped, as FHIR's are), the rest of the
input is copied there too and the run reads the copy as a file. A wide export goes on streaming
(each row is its own panel) and its copy is dropped at once. Memory stays bounded (the copy is
on disk, written in blocks); the copy is removed when the run ends, whatever happens. When no
temporary file can be made, the stream's window applies and the run says so.

The edge, like cli.py: it touches the file system; the core never sees it.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import tempfile
from typing import IO, Any


class _Tee(io.RawIOBase):
    """The source's bytes, each also written to `copy` while `copying`."""

    def __init__(self, source: IO[bytes], copy: IO[bytes]) -> None:
        self.source, self.copy, self.copying = source, copy, True
        self.read_some = getattr(source, "read1", source.read)  # what is there, not a full block: a slow pipe streams

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read_some(len(buffer))
        count = len(data)
        buffer[:count] = data
        if count and self.copying:
            self.copy.write(data)
        return count


class StdinSpool:
    """The input teed into a temporary file until the layout is known (see the module text)."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        handle = tempfile.NamedTemporaryFile(prefix="levlab-input-", suffix=".tmp", delete=False)  # noqa: SIM115
        self.path: str | None = handle.name
        self.copy: IO[bytes] = handle
        self.tee = _Tee(source, handle)
        self.stream: IO[bytes] = io.BufferedReader(self.tee, buffer_size=1 << 16)

    @classmethod
    def for_input(cls, file: str, binary: IO[bytes]) -> StdinSpool | None:
        """A spool for input that cannot be read again (stdin, a pipe, a device); None for a
        regular file, or when no temporary file can be made (the stream's window then applies)."""
        try:
            if file != "-" and stat.S_ISREG(os.stat(file).st_mode):
                return None
        except OSError:
            return None
        try:
            return cls(binary)
        except OSError:
            return None

    def keep(self) -> str:
        """Copy the rest of the input and return the copy's path: the run reads it as a file."""
        self.tee.copying = False
        shutil.copyfileobj(self.source, self.copy, 1 << 20)
        self.copy.flush()
        assert self.path is not None
        return self.path

    def drop(self) -> None:
        """Stop copying and remove the copy (a wide export streams on; or the run has ended)."""
        self.tee.copying = False
        if self.path is not None:
            self.copy.close()
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None
