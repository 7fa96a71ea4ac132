"""The per-result parts of a JSONL line (`exports.panel_json`): one `Piece` per judged result.

A piece holds what a panel's line reads of one result: its analyte object as JSON text
(`"alt": {...}`, `analyte_text`), its phrase in the rule messages (`rules.shown_phrase`,
JSON-escaped, made when a hole asks for it), whether it sets off the R-ratio pattern, and a
*token*: the number of everything else the panel's words read of it — analyte, flag, the
projections of the rules that read more than flags (`rule_projections.PROJECTIONS`), default
interval, unit note, warnings, and the reason of an indeterminate result.

The analyte object of a plain number away from every limit comes from a template per *segment*
(the side of each CTCAE threshold of its interval): between the same limits everything but its
numbers is the same. Anything else is `render.analyte_json` with its grade, dumped.
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

from levlab.catalog import analytes
from levlab.data import load_toml
from levlab.exports.json_text import NONCE, dumps, escaped, string
from levlab.grading import criteria, grade, uln_compare
from levlab.interpret import uses_default_interval
from levlab.model import AnalyteResult, Grade
from levlab.render import analyte_json
from levlab.rule_projections import PROJECTIONS, rule_inputs
from levlab.rules import Rule
from levlab.values import format_number

#: pieces kept (one per judged result; a file of repeating values has a few hundred per column,
#: and a working set past 4,096 over a whole row); past this many they start again, and keep half
#: as many while fewer lines found all their pieces kept than not (values that do not repeat: kept
#: pieces would only hold memory)
PIECES_KEPT = 8_192
#: tokens kept (what the words read of a result; fewer than results where values do not repeat)
TOKENS_KEPT = 4_096
#: analyte-object templates kept (one per analyte, unit, interval, flag and grade words: a segment
#: between the same limits); past this many they start again
TEMPLATES_KEPT = 1_024
#: how far (relative) a value keeps from every limit to share its segment's template, as in numeric_lane
GUARD = 1e-9


class Piece:
    """One judged result's parts (see the module text)."""

    __slots__ = ("analyte", "classifies", "order", "phrase", "result", "text", "token", "values")

    def __init__(self, result: AnalyteResult, order: int, token: int) -> None:
        self.result = result
        # one of the R-ratio pattern's `classify_when` holds for it (data/patterns.toml): with one in
        # the panel, `grading.r_ratio_pattern` is `classified_pattern`, else None
        self.classifies = any(uln_compare(result, when["op"], when["value"]) for when in _classify_when()
                              if when["analyte"] == result.analyte)
        self.analyte = result.analyte
        self.order = order  # its analyte's place in the catalogue: the panel's order
        self.token = token
        # `"alt": {...}`, as in panel_json
        self.text = analyte_text(result)
        self.phrase: str | None = None  # JSON-escaped `shown_phrase`, made on first use
        self.values: dict[str, tuple[Any, Any]] = {}  # one-result rule id -> (outcome, its JSON text)


class ResultPieces:
    """The pieces of judged results, kept per result object, and their tokens; caches bounded."""

    def __init__(self, templated: list[Rule]) -> None:
        self.order = {analyte_id: index for index, analyte_id in enumerate(analytes())}
        self.projected: dict[str, list[tuple[Rule, Any]]] = {}  # analyte id -> [(rule, projection)] of the
        for rule in templated:  # templated rules that read more than its flag
            if rule.when["type"] in PROJECTIONS:
                for analyte_id in rule_inputs(rule):
                    self.projected.setdefault(analyte_id, []).append((rule, PROJECTIONS[rule.when["type"]]))
        self.pieces: dict[int, Piece] = {}  # id(result) -> its piece (holding the result: ids are not reused)
        self.pieces_kept = PIECES_KEPT
        self.lines_kept = self.lines_new = 0  # lines since the last clear with all / not all their pieces kept
        self.tokens: dict[Any, int] = {}  # token -> its number
        self.numbers = itertools.count(1)

    def piece(self, result: AnalyteResult) -> Piece:
        """The result's piece, made once per result object."""
        piece = self.pieces.get(id(result))
        if piece is None or piece.result is not result:
            if len(self.pieces) >= self.pieces_kept:
                self.pieces.clear()
                self.pieces_kept = PIECES_KEPT if self.lines_kept >= self.lines_new else PIECES_KEPT // 2
                self.lines_kept = self.lines_new = 0
            piece = self.pieces[id(result)] = Piece(result, self.order[result.analyte], self._token(result))
        return piece

    def _token(self, result: AnalyteResult) -> int:
        """The number of what the panel's words read of the result besides its phrase."""
        m = result.measurement
        notes = (f"{result.analyte}: no unit given, {m.unit} assumed",) if m is not None and m.unit_assumed else ()
        token = (result.analyte, result.flag, uses_default_interval(result), notes, result.warnings,
                 tuple(project(rule.when, result.analyte, result) for rule, project in self.projected.get(result.analyte, ())),
                 result.reason if result.flag == "?" else None,
                 (m is None, m.unit_from_settings, m.input) if result.warnings and m is not None else None)
        number = self.tokens.get(token)
        if number is None:
            if len(self.tokens) >= TOKENS_KEPT:
                self.tokens.clear()  # (numbers are never reused: a plan keyed by an old one stays true)
            number = self.tokens[token] = next(self.numbers)
        return number


def analyte_text(result: AnalyteResult) -> str:
    """`"alt": {...}`: `analyte_json` with its CTCAE grade, dumped; from a template per segment
    where the result is a plain number away from every limit (between the same interval bounds
    and CTCAE thresholds everything but its numbers is the same: the key holds all the rest), else
    the long way."""
    m = result.measurement
    found_segment = None if m is None else segment(result, m.value)
    if m is None or found_segment is UNUSUAL or m.comparator is not None or result.warnings or result.x_uln is None:
        return dumps({result.analyte: analyte_json(result, grade(result))})[1:-1]
    key = (result.analyte, m.unit, m.unit_assumed, m.unit_from_settings, result.interval, result.flag, result.reason,
           uses_default_interval(result), found_segment)
    value_text = f"{format_number(m.value)} {analytes()[result.analyte].canonical_unit}"
    template = TEMPLATES.get(key)
    if template is None:
        found = grade(result)
        if found is not None and (not found.reason.startswith(value_text + ":") or found.reason.count(value_text) != 1):
            return dumps({result.analyte: analyte_json(result, found)})[1:-1]
        if len(TEMPLATES) >= TEMPLATES_KEPT:
            TEMPLATES.clear()
        template = TEMPLATES[key] = _analyte_template(result, found, None if found is None else found.reason[len(value_text):])
    return template.format(string(m.input), dumps(round(m.value, 6)), dumps(round(result.x_uln, 3)),
                           escaped(value_text))


#: a value within the guard zone of a limit, or a result without a single interval
UNUSUAL: Any = object()


def segment(result: AnalyteResult, value: float) -> Any:
    """Which side of each CTCAE threshold (no baseline) of its interval the value is on; None
    without a CTCAE term; `UNUSUAL` within the guard zone of one, or without a single interval."""
    interval = result.interval
    if interval is None:
        return UNUSUAL
    thresholds = _THRESHOLDS.get((result.analyte, interval))
    if thresholds is None:
        if len(_THRESHOLDS) >= TEMPLATES_KEPT:
            _THRESHOLDS.clear()
        thresholds = _THRESHOLDS[(result.analyte, interval)] = _thresholds(result.analyte, interval)
    if thresholds is UNUSUAL:
        return None
    for threshold in thresholds:
        if abs(value - threshold) <= GUARD * abs(threshold):
            return UNUSUAL
    return tuple([value > threshold for threshold in thresholds])


_THRESHOLDS: dict[tuple[str, Any], Any] = {}


def _thresholds(analyte_id: str, interval: Any) -> Any:
    """The CTCAE thresholds of the analyte's bounds (those without a baseline) under the interval,
    in its canonical unit (a bound whose reference is unknown has none); `UNUSUAL` without a term."""
    term = criteria().terms.get(analyte_id)
    if term is None:
        return UNUSUAL
    references = {None: 1.0, "ULN": interval.high, "LLN": interval.low}
    return tuple(bound.x * references[bound.of] for bound in term.bounds if references.get(bound.of) is not None)


#: segment key -> the format string of its analyte objects (`analyte_text`)
TEMPLATES: dict[tuple[Any, ...], str] = {}


def _analyte_template(result: AnalyteResult, found: Grade | None, rest: str | None) -> str:
    """The format string of `analyte_text`: {0} input, {1} value, {2} x ULN (as JSON), {3} the
    value in the CTCAE reason (JSON-escaped; none without a grade)."""
    marks = [f"\x00{NONCE}:{index}\x00" for index in range(4 if found is not None else 3)]
    document = analyte_json(result, found)
    document.update(input=marks[0], value=marks[1], x_uln=marks[2])
    if found is not None:
        document["ctcae"] = {**document["ctcae"], "reason": marks[3] + str(rest)}
    text = dumps({result.analyte: document})[1:-1].replace("{", "{{").replace("}", "}}")
    for index, mark in enumerate(marks):
        quoted = dumps(mark)
        cut = quoted if index < 3 else quoted[1:-1]
        if text.count(escaped(mark)) != 1:
            raise AssertionError("a template mark is not unique")  # (never: the nonce is in no text)
        text = text.replace(cut, "{" + str(index) + "}")
    return text


@cache
def _classify_when() -> tuple[dict[str, Any], ...]:
    return tuple(load_toml("patterns.toml")["r_ratio"]["classify_when"])
