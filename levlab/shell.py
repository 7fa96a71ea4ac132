"""`levlab shell` at a terminal: prompt_toolkit line editing, Tab completion and history around
a `session.Session`; a plain `input()` loop when prompt_toolkit is not installed or the input
is not a terminal (`levlab shell < panels.txt`).

History is kept in $XDG_DATA_HOME/levlab/history (default ~/.local/share/levlab/history),
created with mode 0600; when that place cannot be written, the session goes on without it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from levlab.language import ENGLISH, Language
from levlab.session import Reply, Session, completions, say

PROMPT = "levlab> "


def history_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where history lives: $XDG_DATA_HOME/levlab/history, else $HOME/.local/share/levlab/history.

    A relative XDG_DATA_HOME is ignored (the XDG specification says so). Without it, HOME must be
    an existing directory: levlab does not create a home directory, so no HOME, no history.
    """
    environ = os.environ if environ is None else environ
    data_home = environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(data_home):
        home = environ.get("HOME", "")
        if not os.path.isabs(home) or not os.path.isdir(home):
            return None
        data_home = os.path.join(home, ".local", "share")
    return Path(data_home, "levlab", "history")


def prepare_history(path: Path | None) -> str | None:
    """Create the history file (and its directory) if needed; None when usable, else why not."""
    if path is None:
        return say("history_no_home")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
    except OSError as error:
        return say("history_cannot_write", path=path, reason=error.strerror or error)
    return None


def show(reply: Reply, out: TextIO, err: TextIO, *, rich: bool, lang: Language = ENGLISH) -> None:
    """Write a reply: a panel as the rich table on a terminal (as `levlab interpret`), else text."""
    if reply.clear_screen:
        if out.isatty():
            out.write("\033[H\033[2J")
            out.flush()
        return
    if reply.panel is not None and rich:
        from levlab.render import make_console, print_panel

        print_panel(reply.panel, make_console(out), lang)
        return
    if reply.text:
        stream = err if reply.error else out
        stream.write(reply.text if reply.text.endswith("\n") else reply.text + "\n")
        stream.flush()


def run_shell(session: Session, *, keep_history: bool = True, stdin: TextIO | None = None,
              stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the session until quit or end of input; the exit status (2 if a line of a script failed)."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    if stdin.isatty():
        try:
            import prompt_toolkit  # noqa: F401
        except ImportError:
            have_extra = False
        else:
            have_extra = True
        if have_extra and stdout.isatty():
            return _prompt_loop(session, keep_history, stdout, stderr)
        # no extra, or `levlab shell | tee log`: prompt and notes on the terminal, reports to stdout
        screen = stdout if stdout.isatty() else stderr
        said = session.lang.text
        screen.write(said(say("welcome")) + "\n" + ("" if have_extra else said(say("no_extra")) + "\n"))
        return _plain_loop(session, stdin, stdout, stderr, screen)
    return _plain_loop(session, stdin, stdout, stderr, None)


def _plain_loop(session: Session, stdin: TextIO, stdout: TextIO, stderr: TextIO, screen: TextIO | None) -> int:
    """Line by line from stdin; a prompt on `screen` when a person types. In a script, an error gives exit 2."""
    failed = False
    for line in _lines(stdin, screen):
        reply = session.evaluate(line)
        show(reply, stdout, stderr, rich=stdout.isatty(), lang=session.lang)
        failed = failed or reply.error
        if reply.quit:
            break
    return 2 if failed and screen is None else 0


def _lines(stdin: TextIO, screen: TextIO | None) -> Iterator[str]:
    while True:
        if screen is not None:
            screen.write(PROMPT)
            screen.flush()
        try:
            line = stdin.readline()
        except KeyboardInterrupt:
            if screen is not None:
                screen.write("\n")
            continue
        if not line:
            if screen is not None:
                screen.write("\n")
            return
        yield line


def _prompt_loop(session: Session, keep_history: bool, stdout: TextIO, stderr: TextIO) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.shortcuts import clear

    stdout.write(session.lang.text(say("welcome")) + "\n")
    history: Any = InMemoryHistory()
    if keep_history:
        path = history_path()
        problem = prepare_history(path)
        if problem is None and path is not None:
            history = _safe_file_history(path)
        else:
            stdout.write(session.lang.text(say("no_history", reason=problem)) + "\n")
    # No suggestions from history as one types: a previous patient's values are never offered unasked.
    prompt = PromptSession(history=history, completer=_completer(session), complete_while_typing=False)
    while True:
        try:
            line = prompt.prompt(PROMPT)
        except KeyboardInterrupt:  # Ctrl-C drops the line being typed, as in a shell
            continue
        except EOFError:  # Ctrl-D
            return 0
        reply = session.evaluate(line)
        if reply.clear_screen:
            clear()
        show(reply, stdout, stderr, rich=True, lang=session.lang)
        if reply.quit:
            return 0


def _safe_file_history(path: Path) -> Any:
    """prompt_toolkit's FileHistory that stops writing, quietly, when the file cannot be written."""
    from prompt_toolkit.history import FileHistory

    class SafeFileHistory(FileHistory):
        def store_string(self, string: str) -> None:
            with contextlib.suppress(OSError):  # disk full or file gone: the session matters more than its history
                super().store_string(string)

        def load_history_strings(self) -> Any:
            try:
                yield from super().load_history_strings()
            except OSError:
                return

    return SafeFileHistory(str(path))


def _completer(session: Session) -> Any:
    from prompt_toolkit.completion import Completer, Completion, PathCompleter

    files = PathCompleter(expanduser=True)

    class SessionCompleter(Completer):
        def get_completions(self, document: Any, complete_event: Any) -> Iterator[Any]:
            before = document.text_before_cursor
            if before.lstrip().casefold().startswith("ranges "):
                from prompt_toolkit.document import Document

                path = before.lstrip()[len("ranges "):]
                yield from files.get_completions(Document(path, len(path)), complete_event)
                return
            for text, start, meta in completions(session, before):
                yield Completion(text, start_position=start, display_meta=meta)

    return SessionCompleter()
