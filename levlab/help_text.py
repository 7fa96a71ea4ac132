"""`--help` in the reader's language: click commands and groups whose help goes through the catalogue.

A command's help is translated paragraph by paragraph (a `\\b` block of examples: its first
line only, the commands stay as typed); each option's help as a whole. The language is the
command's `--lang` as typed on the line (click shows help before the options are processed),
else the environment (`language.resolve_language`). Only click here; imported by cli.py.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Sequence
from typing import Any

import click

from levlab.language import N_, Language, language, resolve_language

META_KEY = "levlab.lang"


def lang_in_args(args: Sequence[str]) -> str | None:
    """The value of `--lang X` or `--lang=X` on a command line (the last one), or None."""
    found = None
    for number, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and number + 1 < len(args):
            found = args[number + 1]
        elif arg.startswith("--lang="):
            found = arg.partition("=")[2]
    return found


def context_language(ctx: click.Context) -> Language:
    """The language of a command's help and errors: its --lang, else the environment."""
    while ctx is not None:
        if META_KEY in ctx.meta:
            break
        ctx = ctx.parent  # type: ignore[assignment]
    typed = ctx.meta.get(META_KEY) if ctx is not None else None
    return language(resolve_language(typed, os.environ))


def translated_help(help_text: str | None, lang: Language) -> str:
    """A command's help with each paragraph from the catalogue (left as it is when it has none)."""
    if not help_text:
        return ""
    paragraphs = inspect.cleandoc(help_text).split("\n\n")
    out = []
    for paragraph in paragraphs:
        if paragraph.startswith("\b\n"):
            first, _, rest = paragraph[2:].partition("\n")
            out.append("\b\n" + lang.gettext(first) + ("\n" + rest if rest else ""))
        else:
            out.append(lang.gettext(paragraph))
    return "\n\n".join(out)


def help_paragraphs(help_text: str | None) -> list[str]:
    """The texts of a help the catalogue must translate (see `translated_help`)."""
    if not help_text:
        return []
    return [paragraph[2:].partition("\n")[0] if paragraph.startswith("\b\n") else paragraph
            for paragraph in inspect.cleandoc(help_text).split("\n\n")]


CLICK_WORDS = {"[default: ": "[default: ", "[required]": "[required]"}


class TranslatedHelp:
    """The --help formatting shared by LevlabCommand and LevlabGroup (a mixin over click.Command)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        typed = lang_in_args(args)
        if typed is not None or META_KEY not in ctx.meta:
            ctx.meta[META_KEY] = typed
        return super().parse_args(ctx, args)  # type: ignore[misc]

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang = context_language(ctx)
        pieces = self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=lang.gettext("Usage: "))

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        text = translated_help(self.help, context_language(ctx))  # type: ignore[attr-defined]
        text = text.partition("\f")[0]
        if text:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(text)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang = context_language(ctx)
        records = []
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            if not isinstance(param, click.Option):  # arguments are in the usage line, as click shows them
                continue
            record = _help_record(param, ctx, lang)
            if record is not None:
                records.append(record)
        if records:
            with formatter.section(lang.gettext("Options")):
                formatter.write_dl(records)


def _help_record(param: click.Parameter, ctx: click.Context, lang: Language) -> tuple[str, str] | None:
    help_text = getattr(param, "help", None)
    if help_text and lang.code != "en":
        param = _copy_with_help(param, lang.gettext(help_text))
    record = param.get_help_record(ctx)
    if record is None or lang.code == "en":
        return record
    names, text = record
    for english in CLICK_WORDS:
        text = text.replace(english, lang.gettext(english))
    return names, text


def _copy_with_help(param: click.Parameter, help_text: str) -> click.Parameter:
    import copy

    copied: Any = copy.copy(param)
    copied.help = help_text
    return copied


class LevlabCommand(TranslatedHelp, click.Command):
    """A levlab command: its --help in the reader's language."""


class HelpGroup(TranslatedHelp, click.Group):
    """A group whose --help, and its list of commands, is in the reader's language."""

    command_class = LevlabCommand

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        TranslatedHelp.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lang = context_language(ctx)
        rows = []
        width = max((len(name) for name in self.list_commands(ctx)), default=0)
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            first = help_paragraphs(command.help)[0] if command.help else ""
            short = short_help(lang.gettext(first), formatter.width - 6 - width)
            rows.append((name, short))
        if rows:
            with formatter.section(lang.gettext("Commands")):
                formatter.write_dl(rows)


def short_help(text: str, limit: int) -> str:
    """A command's line in the list of commands, as click makes it: the first sentence, or as many
    whole words as fit before "..."."""
    words = " ".join(text.split())
    end = words.find(". ")
    sentence = words if end == -1 else words[:end + 1]
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:max(limit - 3, 1) + 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "..."


#: click's own usage errors, as click words them, and levlab's template for them (the catalogue
#: translates the template; the parts click filled in are kept)
CLICK_ERRORS = (
    (re.compile(r"Invalid value for (.+?): (.*)", re.DOTALL), N_("Invalid value for {0}: {1}")),
    (re.compile(r"No such option '(.+)'\.(.*)", re.DOTALL), N_("No such option '{0}'.{1}")),
    (re.compile(r"No such command '(.+)'\."), N_("No such command '{0}'.")),
    (re.compile(r"Missing argument '(.+)'\."), N_("Missing argument '{0}'.")),
    (re.compile(r"Missing option '(.+)'\."), N_("Missing option '{0}'.")),
    (re.compile(r"Option '(.+)' requires an argument\."), N_("Option '{0}' requires an argument.")),
    (re.compile(r"Got unexpected extra arguments? \((.+)\)"), N_("Got unexpected extra arguments ({0})")),
)


def click_message(message: str, lang: Language) -> str:
    """A click usage error's message in the reader's language (as it is when no template fits)."""
    for pattern, template in CLICK_ERRORS:
        found = pattern.fullmatch(message)
        if found:
            return lang.gettext(template).format(*found.groups())
    return message


class TranslatedUsageError(click.UsageError):
    """click's usage error shown in the reader's language: usage line, hint and `Error:`."""

    def __init__(self, error: click.ClickException, lang: Language) -> None:
        super().__init__(error.format_message(), getattr(error, "ctx", None))
        self.exit_code = error.exit_code
        self.lang = lang

    def show(self, file: Any = None) -> None:
        lang = self.lang
        if self.ctx is not None:
            hint = lang.gettext("Try '{command} {option}' for help.").format(command=self.ctx.command_path, option="--help")
            click.echo(f"{self.ctx.get_usage()}\n{hint}\n", file=file, err=file is None)
        click.echo(lang.gettext("Error: {message}").format(message=click_message(self.format_message(), lang)),
                   file=file, err=file is None)
