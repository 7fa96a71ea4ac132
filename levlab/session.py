"""The interactive session behind `levlab shell`, without a terminal.

A `Session` holds the patient's settings and the last panel; `Session.evaluate(line)` reads
one typed line (a command or `ANALYTE=VALUE[UNIT]` tokens) and returns a `Reply`. A panel goes
through the same core as `levlab interpret` (`tokens.read_tokens`, `interpret.interpret_panel`)
and is shown by the same writers (`render.panel_text`, `render.panel_json`). Errors are
`Error: ...` lines as `interpret` prints them, and the session goes on.

Every text a person reads is made by `say`, from the `TEXTS` table: a `language.Msg` (English,
its template kept), shown in the session's language (`Session.lang`) by the gettext catalogue. `completions` offers analyte names, aliases, units and commands for
the line editor (levlab/shell.py), from the catalogue and unit data.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from levlab.errors import LevlabError, UsageError, message_of, shown
from levlab.language import ENGLISH, N_, Language, Msg
from levlab.model import Measurement, PanelResult, Patient

TEXTS: dict[str, str] = {
    "welcome": N_("levlab shell: type a panel (alt=35 bili=40umol/L ...), help, or quit (Ctrl-D)."),
    "no_extra": N_('For line editing, history and Tab completion: pip install "levlab[shell]"'),
    "no_history": N_("History is not kept this session: {reason}"),
    "history_no_home": N_("no home directory (HOME or XDG_DATA_HOME)"),
    "history_cannot_write": N_("cannot write {path}: {reason}"),
    "help": N_(
        "A panel is ANALYTE=VALUE[UNIT] tokens, as for `levlab interpret`:\n"
        "  bili=40umol/L alp=250 ldh=480 ast=40 alt=35\n"
        "  bili=2.4 mg/dL ALAT=0.6ukat/L ggt=<5      (a unit may follow a space)\n"
        "The patient, kept for every panel until changed (- forgets one):\n"
        "  sex F|M|V      age YEARS      smoker yes|no\n"
        "  baseline alt=100 ast=50   CTCAE baseline values (replace the baseline)\n"
        "  ranges FILE    your laboratory's intervals (TOML, as --ranges);\n"
        "                 ranges - goes back to levlab's defaults\n"
        "Commands:\n"
        "  show, patient  the settings in force\n"
        "  json           the last panel as JSON (as interpret --format json)\n"
        "  again          the last panel again, with the settings in force now\n"
        "  reset          a new patient: sex, age, smoker, baseline, last panel\n"
        "                 forgotten (ranges kept)\n"
        "  clear          clear the screen (Ctrl-L)\n"
        "  help           this text\n"
        "  quit, exit     leave (Ctrl-D)\n"
        "Tab completes analytes, aliases, units and commands; Up/Down recall lines."
    ),
    "set_sex": N_("sex: {value}"),
    "set_age": N_("age: {value}"),
    "set_smoker": N_("smoker: {value}"),
    "set_ranges": N_("ranges: {value}"),
    "set_baseline": N_("baseline: {value}"),
    "unknown": N_("unknown"),
    "yes": N_("yes"),
    "no": N_("no"),
    "default_ranges": N_("levlab's defaults"),
    "none": N_("none"),
    "show": N_("sex {sex}, age {age}, smoker {smoker}\nbaseline: {baseline}\nranges: {ranges}"),
    "reset": N_("New patient: sex, age, smoker, baseline and the last panel forgotten; ranges: {ranges}."),
    "no_panel": N_("No panel yet: type one, e.g. alt=35 ast=20."),
    "panel_failed": N_("The last panel was not read (see its error): type it again."),
    "error": N_("Error: {message}"),
    "unknown_command": N_("{word} is not a command or a token; write ANALYTE=VALUE[UNIT] (e.g. alt=35) or type help"),
    "bad_quotes": N_("cannot split the line: {reason}"),
    "line_too_long": N_("the line is {length} characters long; at most {limit} are read"),
    "bad_age": N_("age {text} is not understood; give years from 0 to 130, or - for unknown"),
    "bad_smoker": N_("smoker {text} is not understood; use yes or no (ja/nee), or - for unknown"),
    "needs_value": N_("{command} needs a value: {usage}"),
    "usage_sex": N_("F or M (V), or -"),
    "usage_age": N_("years, or -"),
    "usage_smoker": N_("yes or no, or -"),
    "usage_ranges": N_("a TOML file of [[interval]] entries, or - for levlab's defaults"),
    "usage_baseline": N_("tokens such as alt=100 ast=50, or -"),
    "meta_female": N_("female (V)"),
    "meta_male": N_("male"),
    "meta_command": N_("command"),
    "takes_nothing": N_("{command} takes no arguments"),
    "cannot_read_ranges": N_("cannot read ranges file {path}: {reason}"),
    "baseline_prefix": N_("baseline {message}"),
}


def say(key: str, **fields: Any) -> Msg:
    """The person-readable text `key` with its fields filled in, as a `Msg`: English as a str, shown
    in another language by `Language.text` (the session's `lang`)."""
    return Msg(TEXTS[key], **fields)


UNSET_WORDS = frozenset({"-", "?", "unknown", "onbekend", "none"})
AGE_LIMIT = 130
MAX_LINE = 100_000  # characters: 10,000 tokens fit; shlex, slow on long quoted words, never sees more


@dataclass(frozen=True)
class Settings:
    """The patient and laboratory settings in force for every panel of the session."""

    sex: str | None = None
    age: float | None = None
    smoker: bool | None = None
    ranges_file: str | None = None
    table: Any = None  # ranges.IntervalTable from ranges_file, or None for levlab's defaults
    baseline: tuple[str, ...] = ()  # the baseline tokens as typed
    baseline_measurements: dict[str, Measurement] = field(default_factory=dict)
    #: analyte id -> the unit of a value given without one (the settings file's units = "si")
    configured_units: dict[str, str] = field(default_factory=dict)

    @property
    def patient(self) -> Patient:
        """The Patient of these settings."""
        return Patient(self.sex, self.age, self.smoker)


@dataclass(frozen=True)
class Reply:
    """What one line gives back: text to show, and what the front end should do."""

    text: str = ""
    panel: PanelResult | None = None  # set when the line was a panel: the front end may render it richly
    error: bool = False
    quit: bool = False
    clear_screen: bool = False


def read_age(text: str) -> float | None:
    """Years from 0 to 130, or None for `-`/`unknown`; anything else is an error."""
    from levlab.values import parse_number

    if text.strip().casefold() in UNSET_WORDS:
        return None
    try:
        age = parse_number(text)
    except LevlabError:
        raise UsageError(say("bad_age", text=shown(text))) from None
    if not 0 <= age <= AGE_LIMIT:
        raise UsageError(say("bad_age", text=shown(text)))
    return age


def read_smoker(text: str) -> bool | None:
    """yes/no (ja/nee), or None for `-`/`unknown`."""
    folded = text.strip().casefold()
    if folded in UNSET_WORDS:
        return None
    from levlab.ranges import SMOKER_WORDS

    if folded in SMOKER_WORDS:
        return SMOKER_WORDS[folded]
    raise UsageError(say("bad_smoker", text=shown(text)))


def read_sex(text: str) -> str | None:
    """F or M (V, vrouw, male...), or None for `-`/`unknown`."""
    from levlab.ranges import parse_sex

    return None if text.strip().casefold() in UNSET_WORDS else parse_sex(text)


def load_ranges(path: str) -> Any:
    """The interval table of a `--ranges` TOML file (errors as `levlab interpret --ranges`)."""
    from levlab.ranges import load_interval_file

    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise UsageError(say("cannot_read_ranges", path=shown(path), reason=reason)) from None
    return load_interval_file(text, path)


def split_tokens(line: str) -> list[str]:
    """A typed line as interpret tokens: shell quoting, and a word without `=` (a unit after a
    space, `bili=40 umol/L`) belongs to the token before it."""
    if not any(mark in line for mark in "\"'\\"):
        words = line.split()
    else:
        try:
            words = shlex.split(line[:MAX_LINE])
        except ValueError as error:
            raise UsageError(say("bad_quotes", reason=str(error))) from None
    tokens: list[str] = []
    for word in words:
        if "=" not in word and tokens:
            tokens[-1] = f"{tokens[-1]} {word}"
        else:
            tokens.append(word)
    return tokens


def _yes_no(value: bool | None) -> str:
    return say("unknown") if value is None else say("yes" if value else "no")


def _shown_or_unknown(value: Any) -> str:
    if value is None:
        return say("unknown")
    if isinstance(value, float):
        from levlab.values import format_number

        return format_number(value)
    return str(value)


class Session:
    """One clinician's session: settings kept between lines, the last panel for `json`."""

    def __init__(self, settings: Settings | None = None, lang: Language = ENGLISH) -> None:
        self.settings = settings or Settings()
        self.lang = lang
        self.last_panel: PanelResult | None = None
        self.last_tokens: tuple[str, ...] = ()
        self.last_failed = False  # the last panel line was an error
        self._commands: dict[str, Callable[[list[str]], Reply]] = {
            "sex": self._sex, "age": self._age, "smoker": self._smoker, "ranges": self._ranges,
            "baseline": self._baseline, "show": self._show, "patient": self._show, "json": self._json,
            "again": self._again, "reset": self._reset, "clear": self._clear, "help": self._help, "?": self._help,
            "quit": self._quit, "exit": self._quit,
        }

    @property
    def commands(self) -> tuple[str, ...]:
        """The command words, for completion and help."""
        return tuple(name for name in self._commands if name != "?")

    def evaluate(self, line: str) -> Reply:
        """Read one typed line and answer it; a LevlabError becomes an `Error: ...` reply."""
        try:
            reply = self._evaluate(line)
        except LevlabError as error:
            reply = Reply(say("error", message=message_of(error)), error=True)
        return dataclasses.replace(reply, text=self.lang.text(reply.text)) if reply.text else reply

    def _evaluate(self, line: str) -> Reply:
        if len(line) > MAX_LINE:
            raise UsageError(say("line_too_long", length=f"{len(line):,}", limit=f"{MAX_LINE:,}"))
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return Reply()
        word, _, rest = stripped.partition(" ")
        command = self._commands.get(word.casefold())
        if command is not None:
            return command(rest.split())
        if "=" not in word:
            raise UsageError(say("unknown_command", word=shown(word, 30)))
        return self.panel(split_tokens(stripped))

    def panel(self, tokens: Iterable[str]) -> Reply:
        """Interpret tokens with the settings in force, as `levlab interpret` does."""
        from levlab.interpret import interpret_panel
        from levlab.render import panel_text
        from levlab.tokens import read_tokens

        tokens = tuple(tokens)
        settings = self.settings
        self.last_panel, self.last_tokens, self.last_failed = None, (), True  # json never shows an older panel
        panel = interpret_panel(read_tokens(tokens, settings.configured_units), settings.patient, settings.table,
                                baseline=settings.baseline_measurements)
        self.last_panel, self.last_tokens, self.last_failed = panel, tokens, False
        return Reply(panel_text(panel, self.lang), panel=panel)

    def _one(self, command: str, args: list[str], usage: str) -> str:
        if not args:
            raise UsageError(say("needs_value", command=command, usage=usage))
        return " ".join(args)

    def _none(self, command: str, args: list[str]) -> None:
        if args:
            raise UsageError(say("takes_nothing", command=command))

    def _set(self, **changes: Any) -> None:
        self.settings = dataclasses.replace(self.settings, **changes)

    def _sex(self, args: list[str]) -> Reply:
        self._set(sex=read_sex(self._one("sex", args, say("usage_sex"))))
        return Reply(say("set_sex", value=_shown_or_unknown(self.settings.sex)))

    def _age(self, args: list[str]) -> Reply:
        self._set(age=read_age(self._one("age", args, say("usage_age"))))
        return Reply(say("set_age", value=_shown_or_unknown(self.settings.age)))

    def _smoker(self, args: list[str]) -> Reply:
        self._set(smoker=read_smoker(self._one("smoker", args, say("usage_smoker"))))
        return Reply(say("set_smoker", value=_yes_no(self.settings.smoker)))

    def _ranges(self, args: list[str]) -> Reply:
        path = self._one("ranges", args, say("usage_ranges"))
        if path in UNSET_WORDS:
            self._set(ranges_file=None, table=None)
        else:
            self._set(ranges_file=path, table=load_ranges(path))
        return Reply(say("set_ranges", value=self._ranges_shown()))

    def _ranges_shown(self) -> str:
        return self.settings.ranges_file or say("default_ranges")

    def _baseline(self, args: list[str]) -> Reply:
        from levlab.tokens import read_tokens

        text = self._one("baseline", args, say("usage_baseline"))
        if text in UNSET_WORDS:
            self._set(baseline=(), baseline_measurements={})
        else:
            tokens = tuple(split_tokens(text))
            try:
                measurements = read_tokens(tokens, self.settings.configured_units)
            except LevlabError as error:
                raise type(error)(say("baseline_prefix", message=message_of(error))) from None
            self._set(baseline=tokens, baseline_measurements=measurements)
        return Reply(say("set_baseline", value=self._baseline_shown()))

    def _baseline_shown(self) -> str:
        return " ".join(self.settings.baseline) or say("none")

    def _show(self, args: list[str]) -> Reply:
        self._none("show", args)
        s = self.settings
        return Reply(say("show", sex=_shown_or_unknown(s.sex), age=_shown_or_unknown(s.age), smoker=_yes_no(s.smoker),
                         baseline=self._baseline_shown(), ranges=self._ranges_shown()))

    def _json(self, args: list[str]) -> Reply:
        from levlab.render import panel_json

        self._none("json", args)
        if self.last_panel is None:
            return Reply(say("panel_failed" if self.last_failed else "no_panel"))
        return Reply(json.dumps(panel_json(self.last_panel), ensure_ascii=False, indent=2))

    def _again(self, args: list[str]) -> Reply:
        self._none("again", args)
        if not self.last_tokens:
            return Reply(say("panel_failed" if self.last_failed else "no_panel"))
        return self.panel(self.last_tokens)

    def _reset(self, args: list[str]) -> Reply:
        self._none("reset", args)
        self.settings = Settings(ranges_file=self.settings.ranges_file, table=self.settings.table,
                                 configured_units=self.settings.configured_units)
        self.last_panel, self.last_tokens, self.last_failed = None, (), False
        return Reply(say("reset", ranges=self._ranges_shown()))

    def _clear(self, args: list[str]) -> Reply:
        self._none("clear", args)
        return Reply(clear_screen=True)

    def _help(self, args: list[str]) -> Reply:
        return Reply(say("help"))

    def _quit(self, args: list[str]) -> Reply:
        return Reply(quit=True)


# --- completion ---------------------------------------------------------------------------------------

_VALUE_START = frozenset("0123456789.,<>=≤≥")


def analyte_words() -> list[tuple[str, str, str]]:
    """(word, meta, analyte id) for every analyte id and one-word alias or LOINC code, in catalogue order."""
    from levlab.catalog import analytes

    words: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for analyte in analytes().values():
        for name in (analyte.id, *analyte.aliases, *analyte.loinc):
            if " " in name or name.casefold() in seen:
                continue  # a name with a space cannot be typed as one token
            seen.add(name.casefold())
            words.append((name, f"{analyte.name}, {analyte.canonical_unit}", analyte.id))
    return words


def _analyte_offers(typed: str) -> list[tuple[str, str]]:
    """`NAME=` for each analyte with a name starting with `typed`: its first such name only, so that
    `bilirubi` completes to `bilirubin=` and not to a choice between two spellings of one analyte."""
    folded = typed.casefold()
    offers: dict[str, tuple[str, str]] = {}
    for word, meta, analyte_id in analyte_words():
        if analyte_id not in offers and word.casefold().startswith(folded):
            offers[analyte_id] = (f"{word}=", meta)
    return list(offers.values())


def _unit_fold(text: str) -> str:
    return text.casefold().replace("µ", "u").replace("μ", "u")


def completions(session: Session, before_cursor: str) -> list[tuple[str, int, str]]:
    """What Tab offers at the end of `before_cursor`: (text, start position, meta) triples,
    the start being where the replaced word begins (0 or negative, as prompt_toolkit counts).

    First word: commands, and `ANALYTE=`; in a token after the `=` and a number: the analyte's
    accepted units (typing `umol` offers `µmol/L`); after `sex`/`smoker`: their words.
    """
    from levlab.catalog import find_analyte

    words = before_cursor.split(" ")
    current = words[-1]
    first = len(words) == 1
    command = words[0].casefold() if not first else None
    if command == "sex" and len(words) == 2:
        return _matching(current, [("F", say("meta_female")), ("M", say("meta_male")), ("-", say("unknown"))])
    if command == "smoker" and len(words) == 2:
        return _matching(current, [("yes", ""), ("no", ""), ("-", say("unknown"))])
    if command is not None and command in session.commands and command != "baseline":
        return []
    name, equals, value = current.partition("=")
    if equals:
        analyte = find_analyte(name)
        number = value.rstrip("abcdefghijklmnopqrstuvwxyzµμ%/^*[]ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        if analyte is None or not number or number[-1] not in _VALUE_START:
            return []
        typed = value[len(number):]
        return [(unit, -len(typed), analyte.name) for unit in analyte.units
                if _unit_fold(unit).startswith(_unit_fold(typed))]
    units: list[tuple[str, int, str]] = []
    if not first and current and "=" in words[-2]:
        previous = find_analyte(words[-2].partition("=")[0])  # a unit after a space: `bili=40 umol/L`
        if previous is not None:
            units = [(unit, -len(current), previous.name) for unit in previous.units
                     if _unit_fold(unit).startswith(_unit_fold(current))]
    offered = _analyte_offers(current)
    if first:
        offered = [(name, say("meta_command")) for name in session.commands] + offered
    return units + _matching(current, offered)


def _matching(typed: str, offered: Iterable[tuple[str, str]]) -> list[tuple[str, int, str]]:
    folded = typed.casefold()
    return [(text, -len(typed), meta) for text, meta in offered if text.casefold().startswith(folded)]
