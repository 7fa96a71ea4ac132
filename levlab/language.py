"""The language of what a person reads: which one, the gettext catalogue, Dutch number style.

The core stays pure and English by default: a text a person will read is made as a `Msg`
(a str holding the English text, with its template and fields kept) or a `Localized` (a data
text, such as a rule statement, with its translations from the data file). Machine-read output
(JSON, CSV, JSONL, FHIR) uses them as the plain English strings they are. Renderers take a
`Language` and call `Language.text` on them: the template goes through the gettext catalogue
(levlab/locale/<code>/LC_MESSAGES/levlab.mo) and numbers are written in the reader's style
(`1,6` in Dutch). Nothing here is global: the language is a parameter.

Every command starts here, so English costs nothing: it has no catalogue to read, and the
gettext module (and the .mo file) are loaded only when another language is asked for.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, Protocol

#: the languages levlab speaks; the first is the fallback
LANGUAGES = ("en", "nl")
DOMAIN = "levlab"
LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")  # os.path, not pathlib: pathlib costs ms at start-up

#: the environment variables that name the language of messages, strongest first (POSIX)
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def resolve_language(option: str | None, environ: Mapping[str, str]) -> str:
    """The language code to speak: `option` (`--lang`, or a settings file) when given, else the
    first set one of LC_ALL, LC_MESSAGES, LANG: a Dutch locale (`nl`, `nl_NL.UTF-8`, `nl_BE`)
    gives "nl", anything else (C, POSIX, en_GB, de_DE...) "en"."""
    if option:
        code = option.strip().casefold()
        return code if code in LANGUAGES else LANGUAGES[0]
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            return "nl" if re.match(r"nl(?:$|[_.@])", value.casefold()) else "en"
    return LANGUAGES[0]


def N_(message: str) -> str:
    """Mark a text for the catalogue where it is defined; it is translated where it is shown."""
    return message


class Numeric(str):
    """A text levlab wrote with numbers in English style (`1.6`, `0.3-1.2 mg/dL`): shown with the
    reader's decimal mark. Never a user's own text (that is shown as given)."""

    __slots__ = ()


def numeric(value: float, spec: str = "") -> Numeric:
    """A number as a `Numeric`: `format_number` style, or the format `spec` (`.1f`)."""
    return Numeric(format(value, spec) if spec else _format_number(value))


class Localized(str):
    """A data text (a rule statement) in English, with its translations from the data file."""

    translations: Mapping[str, str]

    def __new__(cls, english: str, translations: Mapping[str, str] | None = None) -> Localized:
        made = super().__new__(cls, english)
        made.translations = dict(translations or {})
        return made

    def __reduce__(self) -> Any:  # pickled (a table summary's panels from a worker process) with its translations
        return (Localized, (str(self), self.translations))


class Msg(str):
    """A text made by levlab: the English text as a str, with its catalogue template and fields.

    Fields that are floats are written with `format_number`; `Numeric`, `Msg` and `Localized`
    fields are shown in the reader's language by `Language.text`."""

    template: str
    fields: Mapping[str, Any]

    def __new__(cls, template: str, **fields: Any) -> Msg:
        english = template.format(**{key: _english(value) for key, value in fields.items()})
        made = super().__new__(cls, english)
        made.template = template
        made.fields = fields
        return made

    def __reduce__(self) -> Any:  # pickled (a process pool) as the template and fields
        return (_remake, (self.template, dict(self.fields)))


class Joined(str):
    """Texts joined by a catalogue separator (`" or "`, `", "`): each part shown in the reader's language."""

    separator: str
    parts: tuple[str, ...]

    def __new__(cls, separator: str, parts: Iterable[str]) -> Joined:
        parts = tuple(parts)
        made = super().__new__(cls, separator.join(parts))
        made.separator = separator
        made.parts = parts
        return made

    def __reduce__(self) -> Any:  # pickled (a table summary's panels from a worker process) as its parts
        return (Joined, (self.separator, self.parts))


def _remake(template: str, fields: dict[str, Any]) -> Msg:
    return Msg(template, **fields)


def _english(value: Any) -> Any:
    return _format_number(value) if type(value) is float else value


def _format_number(value: float, decimal: str = ".") -> str:
    # imported here: values.py makes Msg texts itself, so language.py cannot import it on load
    from levlab.values import format_number

    return format_number(value, decimal)


_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")


class Catalogue(Protocol):
    """What Language needs of a gettext catalogue (gettext.GNUTranslations, or NoCatalogue)."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, count: int) -> str: ...


class NoCatalogue:
    """The catalogue of English, the language the texts are written in: every text is itself
    (as gettext.NullTranslations, without importing gettext at start-up)."""

    __slots__ = ()

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return singular if count == 1 else plural


class Language:
    """One language: its catalogue and its decimal mark. Get one with `language(code)`.
    (A plain class, not a dataclass: made at import, where every millisecond of `--help` counts.)"""

    __slots__ = ("catalogue", "code", "decimal")

    def __init__(self, code: str, catalogue: Catalogue, decimal: str) -> None:
        self.code, self.catalogue, self.decimal = code, catalogue, decimal

    def __repr__(self) -> str:
        return f"Language({self.code!r})"

    def gettext(self, message: str) -> str:
        """The catalogue's translation of `message` (itself when there is none; "" stays "", never the
        catalogue's header)."""
        return self.catalogue.gettext(message) if message else message

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The translation of `singular` / `plural` for `count`."""
        return self.catalogue.ngettext(singular, plural, count)

    def number(self, value: float, spec: str = "") -> str:
        """A number for a person: `format_number` style (or `spec`), in this language's decimal mark."""
        return self.numbers(format(value, spec) if spec else _format_number(value))

    def numbers(self, text: str) -> str:
        """A levlab-made text with its decimal points in this language's mark (`0,3-1,2 mg/dL`)."""
        return text if self.decimal == "." else _DECIMAL_POINT.sub(self.decimal, text)

    def text(self, value: Any) -> str:
        """What a person reads of `value`: a `Msg` or `Localized` in this language, a `Numeric` in
        its number style, any other text as it is (a user's input is never changed)."""
        if value is None:
            return ""
        if self.code == LANGUAGES[0] and not isinstance(value, Numeric):
            return str(value)
        if isinstance(value, Msg):
            fields = {key: self._field(field) for key, field in value.fields.items()}
            return self.gettext(value.template).format(**fields)
        if isinstance(value, Joined):
            return self.gettext(value.separator).join(self.text(part) for part in value.parts)
        if isinstance(value, Localized):
            return value.translations.get(self.code) or str(value)
        if isinstance(value, Numeric):
            return self.numbers(value)
        return str(value)

    def _field(self, value: Any) -> Any:
        if type(value) is float:
            return _format_number(value, self.decimal)
        if isinstance(value, str):
            return self.text(value)
        return value


@cache
def language(code: str) -> Language:
    """The `Language` of a code from LANGUAGES (English for any other)."""
    if code not in LANGUAGES or code == LANGUAGES[0]:
        return Language(LANGUAGES[0], NoCatalogue(), ".")
    import gettext

    catalogue = gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[code], fallback=True)
    return Language(code, catalogue, ",")


ENGLISH = language("en")
