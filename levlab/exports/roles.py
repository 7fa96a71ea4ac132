"""Column roles from the words of a header (data/header_roles.toml): the one place that decides
what a column of an export is, for `levlab csv` and `levlab trend` alike.

A header is split into folded words (camelCase, `_`, `-`, `.`, spaces; Dutch and German compounds
into their vocabulary words: `Afnamedatum` -> afname + datum); a role fits when the header holds
one of its deciding words and no word outside the role's vocabulary. Roles are tried in the data's
order. A short exact list keeps the few names the words cannot decide.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from levlab.catalog import normalise_name
from levlab.data import load_toml

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[^\W\d_]+")
MAX_WORD = 40  # characters: a longer word is not split into compounds (it is no header word)
MAX_WORDS = 12  # a header of more words names no role
MAX_TEXT = 256  # characters: a longer header has no words here (as header.HEADER_CELL: it is only passed through)


@dataclass(frozen=True, slots=True)
class RoleWords:
    """One role's vocabulary: deciding words, words allowed beside them, and word pairs that decide."""

    role: str
    words: frozenset[str]
    allowed: frozenset[str]
    pairs: tuple[tuple[frozenset[str], frozenset[str]], ...]

    def fits(self, words: tuple[str, ...], connectors: frozenset[str]) -> bool:
        present = set(words)
        decided = bool(present & self.words) or any(present & first and present & second for first, second in self.pairs)
        if not decided:
            return False
        known = self.words | self.allowed | connectors
        for first, second in self.pairs:
            known = known | first | second
        return present <= known


@dataclass(frozen=True, slots=True)
class Vocabulary:
    roles: tuple[RoleWords, ...]
    connectors: frozenset[str]
    id_words: frozenset[str]
    exact: dict[str, str]
    every: frozenset[str]  # every word of the vocabulary (for splitting compounds)
    date_words: frozenset[str]
    birth_words: frozenset[str]
    collection: frozenset[str]
    elsewhere: frozenset[str]
    date_only: frozenset[str]
    time_only: frozenset[str]


@cache
def vocabulary() -> Vocabulary:
    """The role words of data/header_roles.toml, read once."""
    data = load_toml("header_roles.toml")
    id_words = frozenset(data["id_words"])
    roles = []
    for role in data["order"]:
        entry = data["roles"][role]
        allowed = frozenset(entry.get("allowed", ())) | (id_words if entry.get("ids") else frozenset())
        pairs = tuple((frozenset(first), frozenset(second) or id_words) for first, second in entry.get("pairs", ()))
        roles.append(RoleWords(role, frozenset(entry["words"]), allowed, pairs))
    every = set(data["connectors"]) | id_words
    for role_words in roles:
        every |= role_words.words | role_words.allowed
        for first, second in role_words.pairs:
            every |= first | second
    date = data["roles"]["date"]
    return Vocabulary(
        roles=tuple(roles),
        connectors=frozenset(data["connectors"]),
        id_words=id_words,
        exact={normalise_name(name): role for role, names in data["exact"].items() for name in names},
        every=frozenset(every),
        date_words=frozenset(date["words"]),
        birth_words=frozenset(data["roles"]["birth"]["words"]),
        collection=frozenset(date["collection"]),
        elsewhere=frozenset(date["elsewhere"]),
        date_only=frozenset(date["date_only"]),
        time_only=frozenset(date["time_only"]),
    )


def _fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=4096)
def _compound(word: str, every: frozenset[str]) -> tuple[str, ...]:
    """A folded word as vocabulary words (`afnamedatum` -> afname, datum), or itself when it is
    one or cannot be split; a linking `s` between two parts is allowed (`geburtsdatum`)."""
    if word in every or len(word) > MAX_WORD:
        return (word,)
    # best[i]: the fewest parts that spell word[:i]
    best: list[tuple[str, ...] | None] = [()] + [None] * len(word)
    for end in range(2, len(word) + 1):
        for start in range(0, end - 1):
            before = best[start]
            if before is None:
                continue
            part = word[start:end]
            if part in every:
                candidate = (*before, part)
            elif part.startswith("s") and part[1:] in every and before:  # a linking s
                candidate = (*before, part[1:])
            else:
                continue
            if best[end] is None or len(candidate) < len(best[end]):  # type: ignore[arg-type]
                best[end] = candidate
    return best[-1] or (word,)


def header_words(text: str) -> tuple[str, ...]:
    """A header's folded words, compounds split: `Patiëntnummer` -> ('patient', 'nummer'),
    `SampleCollectionDateTime` -> ('sample', 'collection', 'date', 'time')."""
    if len(text) > MAX_TEXT:
        return ()
    every = vocabulary().every
    words: list[str] = []
    for raw in _WORD.findall(_fold_accents(text)):
        folded = normalise_name(raw)
        if folded:
            words.extend(_compound(folded, every))
    return tuple(words)


def role_by_words(text: str) -> str | None:
    """The role a header's words give (see the module text), or None."""
    words = header_words(text)
    if not words or len(words) > MAX_WORDS:
        return None
    vocab = vocabulary()
    for role_words in vocab.roles:
        if role_words.fits(words, vocab.connectors):
            return role_words.role
    return None


def exact_role(text: str) -> str | None:
    """The role of a header in the exact list (names the words cannot decide)."""
    return vocabulary().exact.get(normalise_name(text))


def date_like(text: str) -> bool:
    """Whether a header speaks of a date or time (not a birth date), whatever its other words:
    such a column, when it is not the sample time, must not differ within a panel."""
    words = set(header_words(text))
    vocab = vocabulary()
    return bool(words & vocab.date_words) and not words & vocab.birth_words


def sample_time_rank(text: str) -> int:
    """How surely a date column is the sample time: 2 with a collection word (`Afnamedatum`,
    `collected`), 0 with a word of another event (`received`, `validatie`), else 1."""
    words = set(header_words(text))
    vocab = vocabulary()
    if words & vocab.collection:
        return 2
    return 0 if words & vocab.elsewhere else 1


def time_of_day_only(text: str) -> bool:
    """A time column (`Afnametijd`, `Tijd`): a time word and no date word."""
    words = set(header_words(text))
    vocab = vocabulary()
    return bool(words & vocab.time_only) and not words & vocab.date_only and "datetime" not in words


def date_only(text: str) -> bool:
    """A date column (`Afnamedatum`, `Date`): a date word and no time word."""
    words = set(header_words(text))
    vocab = vocabulary()
    return bool(words & vocab.date_only) and not words & vocab.time_only and "datetime" not in words
