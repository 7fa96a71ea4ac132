"""`python -m levlab` runs the command line."""

import contextlib
import os
import sys

from levlab.cli import run
from levlab.errors import ExitStatus

try:
    run()
except SystemExit as stop:
    if stop.code == ExitStatus.INTERRUPTED:
        # Under `-m`, CPython ends a process whose Ctrl-C was raised inside code made from a string
        # (a dataclass's generated methods, while a module is first imported) by SIGINT at exit, even
        # though levlab caught it: exit 130, as the console script and the README say.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(int(ExitStatus.INTERRUPTED))
    raise
