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
from bisect import bisect_right
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from levlab.catalog import analytes
from levlab.data import load_toml
from levlab.exports.json_text import NONCE, braced, dumps, escaped, string
from levlab.exports.numeric_lane import GUARD, LaneJudged, guard_zones, rule_breakpoints
from levlab.exports.panel_line import KEYS
from levlab.grading import criteria, grade, uln_compare
from levlab.interpret import uses_default_interval
from levlab.model import AnalyteResult, Grade
from levlab.render import analyte_json
from levlab.rule_projections import PROJECTIONS, rule_inputs
from levlab.rules import Rule, shown_phrase
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


class Piece:
    """One judged result's parts (see the module text)."""

    __slots__ = ("analyte", "classifies", "data", "kind", "number", "order", "phrase", "result", "source", "text",
                 "token", "values", "x_uln")

    def __init__(self, result: AnalyteResult, order: int, token: int, classifies: bool | None = None,
                 text: str | None = None, phrase: str | None = None, kind: _Kind | None = None) -> None:
        self.result = self.source = result  # (source: what the piece is kept by, `ResultPieces.piece`)
        self.x_uln = result.x_uln
        self.kind = kind  # its segment's kind (a plain number away from every limit), else None
        self.number = None if result.measurement is None else result.measurement.number  # as read, in its unit
        # one of the R-ratio pattern's `classify_when` holds for it (data/patterns.toml): with one in
        # the panel, `grading.r_ratio_pattern` is `classified_pattern`, else None
        self.classifies = classifies if classifies is not None else _classifies(result)
        self.analyte = result.analyte
        self.order = order  # its analyte's place in the catalogue: the panel's order
        self.token = token
        # `"alt": {...}`, as in panel_json
        self.text = text if text is not None else analyte_text(result)
        self.data: bytes | None = None  # the text in UTF-8, made when first written as bytes
        self.phrase = phrase  # JSON-escaped `shown_phrase`, made on first use (or from its segment's kind)
        self.values: dict[Any, tuple[Any, Any]] = {}  # one-result rule id -> (outcome, its JSON text)


class LanePiece(Piece):
    """The piece of a numeric-lane cell (`exports.numeric_lane.LaneJudged`), made from its segment
    and text without its result: the result is made (by the cell, once) only when a rule or a
    new plan reads it. Its dominance keys are the cell's own (kept in `values`)."""

    __slots__ = ()

    def __init__(self, cell: Any, order: int, kind: _Kind, text: str, phrase: str, x_uln: float,
                 keys: tuple[float, float], number: float) -> None:  # (Piece.__init__ would set `result`)
        self.source, self.order, self.token, self.classifies = cell, order, kind.token, kind.classifies
        self.kind, self.number = kind, number
        self.analyte = cell.signed.result.analyte
        self.text, self.phrase, self.x_uln = text, phrase, x_uln
        self.data = None
        self.values = {KEYS: keys}

    @property  # type: ignore[override]
    def result(self) -> AnalyteResult:
        """The cell's result, the long way's (made on first use)."""
        return self.source.result  # type: ignore[no-any-return]


def _classifies(result: AnalyteResult) -> bool:
    """Whether one of the R-ratio pattern's `classify_when` holds for the result."""
    return any(uln_compare(result, when["op"], when["value"]) for when in _classify_when()
               if when["analyte"] == result.analyte)


class ResultPieces:
    """The pieces of judged results, kept per result object, and their tokens; caches bounded."""

    def __init__(self, templated: list[Rule], one_result: Iterable[Rule] = ()) -> None:
        self.one_result: dict[str, list[Rule]] = {}  # analyte id -> the rules decided per result that read it
        for rule in one_result:
            self.one_result.setdefault(rule_inputs(rule)[0], []).append(rule)
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
        self.segments = SegmentPieces(self)  # plain numbers away from every limit: parts per segment

    def piece(self, result: Any) -> Piece:
        """The piece of a result, or of a numeric-lane cell (`LaneJudged`), made once per object."""
        piece = self.pieces.get(id(result))
        if piece is None or piece.source is not result:
            if len(self.pieces) >= self.pieces_kept:
                self.pieces.clear()
                self.pieces_kept = PIECES_KEPT if self.lines_kept >= self.lines_new else PIECES_KEPT // 2
                self.lines_kept = self.lines_new = 0
            if result.__class__ is LaneJudged:
                piece = self.segments.lane_piece(result)
                if piece is None:  # (kept by its result only: a piece kept by an object's id holds that object)
                    return self.piece(result.result)
            else:
                piece = self.segments.piece(result)
                if piece is None:
                    piece = Piece(result, self.order[result.analyte], self.token(result))
            self.pieces[id(result)] = piece
        return piece

    def token(self, result: AnalyteResult) -> int:
        """The number of what the panel's words read of the result besides its phrase."""
        m = result.measurement
        notes = (f"{result.analyte}: no unit given, {m.unit} assumed",) if m is not None and m.unit_assumed else ()
        token = (result.analyte, result.flag, uses_default_interval(result), notes, result.warnings,
                 tuple(project(rule.when, result.analyte, result) for rule, project in self.projected.get(result.analyte, ())),
                 result.reason if result.flag == "?" else None,
                 (m is None, m.unit_from_settings, m.input) if result.warnings and m is not None else None,
                 _classifies(result))
        number = self.tokens.get(token)
        if number is None:
            if len(self.tokens) >= TOKENS_KEPT:
                self.tokens.clear()  # (numbers are never reused: a plan keyed by an old one stays true)
            number = self.tokens[token] = next(self.numbers)
        return number


def analyte_text(result: AnalyteResult) -> str:
    """`"alt": {...}`: `analyte_json` with its CTCAE grade, dumped; from a template per segment
    where the result is a plain number away from every CTCAE threshold (between the same interval
    bounds and CTCAE thresholds everything but its numbers is the same: the key holds all the rest),
    else the long way."""
    m = result.measurement
    found_segment = None if m is None else segment(result, m.value)
    if m is None or found_segment is UNUSUAL or m.comparator is not None or result.warnings or result.x_uln is None:
        return _long_text(result)
    key = (result.analyte, m.unit, m.unit_assumed, m.unit_from_settings, result.interval, result.flag, result.reason,
           uses_default_interval(result), found_segment)
    template = TEMPLATES.get(key)
    if template is None:
        template = text_template(result)
        if template is None:
            return _long_text(result)
        if len(TEMPLATES) >= TEMPLATES_KEPT:
            TEMPLATES.clear()
        TEMPLATES[key] = template
    return fill_text(template, result)


def _long_text(result: AnalyteResult) -> str:
    """`"alt": {...}`, the long way."""
    return dumps({result.analyte: analyte_json(result, grade(result))})[1:-1]


def fill_text(template: str, result: AnalyteResult) -> str:
    """A `text_template` filled in with the result's numbers (a plain number, `x_uln` known)."""
    m = result.measurement
    assert m is not None and result.x_uln is not None
    return template.format(string(m.input), dumps(round(m.value, 6)), dumps(round(result.x_uln, 3)),
                           format_number(m.value))


def text_template(result: AnalyteResult) -> str | None:
    """The format string of the result's analyte object, for every result of its segment (see
    `_analyte_template`); None when its CTCAE reason does not start with its value."""
    m = result.measurement
    assert m is not None
    value_text = f"{format_number(m.value)} {analytes()[result.analyte].canonical_unit}"
    found = grade(result)
    if found is not None and (not found.reason.startswith(value_text + ":") or found.reason.count(value_text) != 1):
        return None
    return _analyte_template(result, found, None if found is None else found.reason[len(format_number(m.value)):])


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
    value's digits in the CTCAE reason (`format_number`; none without a grade); `rest` the
    reason after those digits."""
    marks = [f"\x00{NONCE}:{index}\x00" for index in range(4 if found is not None else 3)]
    document = analyte_json(result, found)
    document.update(input=marks[0], value=marks[1], x_uln=marks[2])
    if found is not None:
        document["ctcae"] = {**document["ctcae"], "reason": marks[3] + str(rest)}
    text = braced(dumps({result.analyte: document})[1:-1])
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


class _Kind:
    """What every plain-number result of one segment of a `_Context` shares: its token, whether
    it sets off the R-ratio pattern, and its analyte object and phrase as format strings."""

    __slots__ = ("classifies", "entries", "multiple", "percent", "phrase", "text", "token")

    def __init__(self, token: int, classifies: bool, text: str, phrase: str) -> None:
        self.token, self.classifies, self.text, self.phrase = token, classifies, text, phrase
        # the text as a %-format and its number of fields (about twice as fast as str.format), when it
        # can be one: its fields {0}, {1}, ... each once, in order
        self.percent = _percent(text)
        #: rule of one result (`above`, `below`) id -> (its outcome, its entry as a format string
        #: whose {0} is the number as read, or None when not met), or LONG_WAY (panel_json decides)
        self.entries: dict[str, Any] = {}
        self.multiple = "{1}" in phrase  # the phrase shows x ULN (a raised value)

    def texts(self, input_text: str, value: float, x_uln: float) -> tuple[str, str]:
        """The analyte object and the phrase of a result of this kind with this input text,
        value and x ULN."""
        digits = format_number(value)
        fields = (string(input_text), float.__repr__(round(value, 6)), float.__repr__(round(x_uln, 3)), digits)
        return (self.text.format(*fields) if self.percent is None else self.percent[0] % fields[:self.percent[1]],
                self.phrase.format(digits, format(x_uln, ".1f")) if self.multiple else self.phrase.format(digits))


def _percent(template: str) -> tuple[str, int] | None:
    """A format string whose fields are {0}, {1}, ... each once and in that order, as the same
    text for the % operator with its number of fields; None for any other."""
    import string as string_module

    parts = list(string_module.Formatter().parse(template))
    fields = [field for _, field, spec, conversion in parts if field is not None]
    if fields != [str(index) for index in range(len(fields))] or any(spec or conversion for _, _, spec, conversion in parts):
        return None
    return "".join(literal.replace("%", "%%") + ("" if field is None else "%s") for literal, field, _, _ in parts), len(fields)


class _Context:
    """One (analyte, interval, unit, flag, reason): the limits where a piece's parts may change,
    each widened to a guard zone (`GUARD`), and the `_Kind` of each segment between them."""

    __slots__ = ("edges", "interval", "kinds")

    def __init__(self, interval: Any, points: list[float]) -> None:
        self.interval = interval  # (held: the context is keyed by its id)
        self.edges = edges = guard_zones(points)  # as the numeric lane's segments
        self.kinds: list[Any] = [None] * (len(edges) // 2 + 1)  # None: not seen yet; LONG_WAY: never


#: a segment whose results always go the long way (its first result's parts did not fit a template)
LONG_WAY: Any = object()


class SegmentPieces:
    """The pieces of plain-number results away from every limit, from their segment's `_Kind`.

    A result with one interval, an exact value, no warning and a known `x_uln` is placed by its
    value among the limits of its context: the interval bounds, the CTCAE thresholds, the
    multiples of ULN of the R-ratio pattern's `classify_when` and of the templated rules'
    projections (`x_uln_all` legs). Between two limits the flag, grade, projections, phrase
    words and every field but the numbers are the same, so the first result of a segment makes
    its kind the long way (checked against the long way's own text), and the others fill in
    their numbers. Within a guard zone, or where a projection is one this does not know, the
    long way.
    """

    def __init__(self, owner: ResultPieces) -> None:
        self.owner = owner
        self.contexts: dict[tuple[Any, ...], _Context | None] = {}
        self.lane_contexts: dict[int, tuple[Any, ...]] = {}  # id(lane segment) -> `_lane_context`

    def piece(self, result: AnalyteResult) -> Piece | None:
        """The result's piece from its segment's kind; None for the long way."""
        m, interval, x_uln = result.measurement, result.interval, result.x_uln
        if m is None or interval is None or m.comparator is not None or m.warnings or x_uln is None:
            return None
        value = m.value
        if value.__class__ is not float or x_uln.__class__ is not float:
            return None
        context = self._context_of((result.analyte, id(interval), m.unit, m.unit_assumed, m.unit_from_settings,
                                    result.flag, result.reason), result)
        kind = None if context is None else self._kind_in(context, value, lambda: result)
        if kind is None:
            return None
        return Piece(result, self.owner.order[result.analyte], kind.token, kind.classifies, *kind.texts(m.input, value, x_uln),
                     kind)

    def lane_piece(self, cell: Any) -> Piece | None:
        """The piece of a numeric-lane cell, its result not made: its value, measurement and
        judgement as `numeric_lane.Segment.result_of` makes them (the segment's first result's
        unit, factor, flag, interval and reason; its own text and number; a stated unit, no
        comparator, no warning); None for the long way (then the result's piece)."""
        segment, text = cell._segment, cell._text
        found = self.lane_contexts.get(id(segment))
        if found is None or found[0] is not segment:
            found = self._lane_context(segment)
        _, context, order, factor, high = found
        if context is None:
            return None
        number = float(text.replace(",", "."))
        value = number * factor
        at = bisect_right(context.edges, value)  # (`_kind_in`, written out: the inner loop of JSONL)
        kind = None if at & 1 else context.kinds[at >> 1]
        if kind is None or kind is LONG_WAY:
            kind = self._kind_in(context, value, lambda: cell.result)
            if kind is None:
                return None
        x_uln = value / high
        highs = segment.highs  # its dominance keys, as the lane makes them (Segment.of_value)
        if highs is None:
            keys = segment.keys
        elif len(highs) == 1:
            keys = (x_uln, x_uln) if highs[0] == high else (value / highs[0],) * 2
        else:
            spans = [value / limit for limit in highs]
            keys = (min(spans), max(spans))
        return LanePiece(cell, order, kind, *kind.texts(text, value, x_uln), x_uln, keys, number)

    def _lane_context(self, segment: Any) -> tuple[Any, _Context | None, int, float, float]:
        """What the pieces of a numeric-lane segment's cells share: (the segment, the context of
        its results or None for the long way, their analyte's order, unit factor, upper limit)."""
        first = segment.first.result
        interval, m = first.interval, first.measurement
        if len(self.lane_contexts) >= TEMPLATES_KEPT:
            self.lane_contexts.clear()
        context = None
        if interval is not None and interval.high:
            context = self._context_of((first.analyte, id(interval), m.unit, False, False, first.flag, first.reason), first)
        found = self.lane_contexts[id(segment)] = (segment, context, self.owner.order[first.analyte], m.factor,
                                                   interval.high if interval is not None else 0.0)
        return found

    def _context_of(self, key: tuple[Any, ...], like: AnalyteResult) -> _Context | None:
        """The context `key` (of results like `like`: its analyte and interval); None for the long way."""
        context = self.contexts.get(key, LONG_WAY)
        if context is LONG_WAY:
            if len(self.contexts) >= TEMPLATES_KEPT:
                self.contexts.clear()
            context = self.contexts[key] = self._context(like)
        return context  # type: ignore[no-any-return]

    def _kind_in(self, context: _Context, value: float, result: Callable[[], AnalyteResult]) -> _Kind | None:
        """The kind of the segment of the context `value` is in, made from `result()` the first
        time; None within a guard zone, or for the long way."""
        at = bisect_right(context.edges, value)
        if at & 1:
            return None  # in a guard zone
        kind = context.kinds[at >> 1]
        if kind is None:
            kind = context.kinds[at >> 1] = self._kind(result())
        return None if kind is LONG_WAY else kind  # type: ignore[no-any-return]

    def _context(self, result: AnalyteResult) -> _Context | None:
        """The context of a result: its limits (see the class text); None when a projection of a
        rule that reads it is not one whose limits are known."""
        interval, analyte_id = result.interval, result.analyte
        assert interval is not None
        found = _thresholds(analyte_id, interval)
        points = [*(() if found is UNUSUAL else found), *(limit for limit in (interval.low, interval.high) if limit is not None)]
        multiples = [when["value"] for when in _classify_when() if when["analyte"] == analyte_id]
        for rule, _ in self.owner.projected.get(analyte_id, ()):
            if rule.when["type"] != "x_uln_all":
                return None
            multiples += [leg["value"] for leg in rule.when["legs"] if analyte_id in leg["analytes"]]
        if interval.high is not None:
            points += [multiple * interval.high for multiple in multiples]
        m = result.measurement
        assert m is not None
        for rule in self.owner.one_result.get(analyte_id, ()):  # their outcome the same across a segment
            found = rule_breakpoints(rule.when, analytes()[analyte_id], m.unit, m.factor, (interval,))
            if found is None:
                return None
            points += found
        return _Context(interval, points)

    def _kind(self, result: AnalyteResult) -> Any:
        """The kind of the result's segment, made from it the long way; LONG_WAY when its analyte
        object or phrase does not fit a template."""
        text = text_template(result)
        phrase = _phrase_template(result)
        if text is None or phrase is None:
            return LONG_WAY
        kind = _Kind(self.owner.token(result), _classifies(result), text, phrase)
        digits, x_uln = format_number(result.measurement.value), format(result.x_uln, ".1f")  # type: ignore[union-attr, arg-type]
        if (kind.phrase.format(digits, x_uln) != escaped(shown_phrase(result))
                or fill_text(text, result) != _long_text(result)):
            return LONG_WAY  # (never seen: the templates are the long way's own texts cut at its numbers)
        return kind


def _phrase_template(result: AnalyteResult) -> str | None:
    """`rules.shown_phrase` of the result (JSON-escaped) as a format string: {0} its value's
    digits (`format_number`), {1} its x ULN to one decimal; None when they are not found in it
    once each."""
    phrase = str(shown_phrase(result))
    digits = format_number(result.measurement.value)  # type: ignore[union-attr]
    multiple = format(result.x_uln, ".1f")  # type: ignore[arg-type]
    tail = ""
    at = phrase.rfind(multiple)
    if at >= 0 and phrase.count(digits, 0, at) == 1 and not any(c.isdigit() for c in phrase[at + len(multiple):]):
        phrase, tail = phrase[:at], "{1}" + braced(escaped(phrase[at + len(multiple):]))
    elif phrase.count(digits) != 1:
        return None
    head, _, middle = phrase.partition(digits)
    return braced(escaped(head)) + "{0}" + braced(escaped(middle)) + tail
