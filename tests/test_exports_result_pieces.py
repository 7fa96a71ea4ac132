"""levlab.exports.result_pieces: a judged result's parts of a JSONL line are what the long way
makes of it (`render.analyte_json` with its grade, dumped), whichever way they were made."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from levlab.catalog import analytes
from levlab.errors import LevlabError
from levlab.exports.json_text import escaped
from levlab.exports.panel_json import PanelJson
from levlab.exports.result_pieces import TEMPLATES, _classifies, _long_text, analyte_text
from levlab.grading import grade
from levlab.interpret import assess, read_measurement
from levlab.model import AnalyteResult, Patient
from levlab.ranges import default_intervals
from levlab.render import analyte_json
from levlab.rules import shown_phrase

#: value texts in the canonical unit, as multiples of a typical upper limit: on, a hair around and
#: far from the interval bounds and the rule and CTCAE thresholds (1, 2, 3, 5, 20 x ULN)
MULTIPLES = (0.5, 0.1, 0.99, 0.3, 1.0, 1.01, 1.5, 1.99, 2.0, 2.01, 2.99, 3.0, 3.01, 4.99, 5.0, 5.01, 10.0, 20.0, 20.01)


#: the analytes and units of the bench files (bench/run.py), with the laboratory ranges of its long file
BENCH_UNITS = (("alt", "U/L", "< 45"), ("ast", "U/L", "< 35"), ("alp", "U/L", "35 - 105"), ("alp", "µkat/L", None),
               ("alp", "ukat/L", None), ("ggt", "U/L", "< 40"), ("ldh", "U/L", "< 250"), ("bilirubin", "µmol/L", "< 17"),
               ("bilirubin", "mg/dL", None))
BENCH_PATIENTS = [Patient(sex, age) for sex in (None, "F", "M") for age in (None, 45.0)]


def _limits(analyte_id: str, patient: Patient, lab_range: str | None) -> list[float]:
    """Every limit a value of the analyte meets, in its canonical unit: the bounds of the intervals
    that may apply, and the CTCAE and rule thresholds as multiples of their upper limits."""
    from levlab.grading import criteria

    probe = assess(read_measurement(analytes()[analyte_id], "1", unit_text=analytes()[analyte_id].canonical_unit,
                                    lab_range=lab_range), patient, default_intervals())
    intervals = [probe.interval] if probe.interval is not None else list(probe.candidates)
    term = criteria().terms.get(analyte_id)
    multiples = {bound.x for bound in term.bounds} if term is not None else set()
    multiples |= set(MULTIPLES)
    limits = [bound for interval in intervals for bound in (interval.low, interval.high) if bound]
    limits += [x * interval.high for interval in intervals if interval.high for x in multiples]
    return limits


def _value_texts(rng: random.Random, limits: list[float], factor: float, decimal: str) -> list[str]:
    """Texts of values on, a hair around and near every limit, and random ones, in a unit of `factor`."""
    values = [limit * (1 + hair) for limit in limits for hair in (0, 1e-13, -1e-13, 1e-9, -1e-9, 1e-6, -1e-6, 0.004, -0.004)]
    values += [rng.uniform(0.01, 1.2) * rng.choice(limits) for _ in range(300)]
    texts = [form.format(value / factor) for value in values for form in ("{:.2f}", "{:.6g}", "{!r}")]
    rng.shuffle(texts)
    return [text.replace(".", ",") if decimal == "," else text for text in texts]


@pytest.mark.parametrize(("analyte_id", "unit", "lab_range"), BENCH_UNITS)
def test_an_analyte_object_from_its_segment_template_is_the_long_way(analyte_id: str, unit: str,
                                                                     lab_range: str | None) -> None:
    rng = random.Random(f"{analyte_id} {unit}")
    analyte = analytes()[analyte_id]
    factor = read_measurement(analyte, "1", unit_text=unit).value
    TEMPLATES.clear()
    filled = 0
    for patient in BENCH_PATIENTS:
        for ranged in {None, lab_range}:
            for decimal in (".", ","):
                for text in _value_texts(rng, _limits(analyte_id, patient, ranged), factor, decimal):
                    try:
                        measurement = read_measurement(analyte, text, unit_text=unit, decimal=decimal, lab_range=ranged)
                    except LevlabError:
                        continue
                    result = assess(measurement, patient, default_intervals())
                    known = len(TEMPLATES)
                    long_way = json.dumps({analyte_id: analyte_json(result, grade(result))}, ensure_ascii=False)[1:-1]
                    assert analyte_text(result) == long_way, text
                    filled += len(TEMPLATES) == known and TEMPLATES != {}
    assert filled > 1000  # most values came from a template made for another value


def _long_piece(pieces: Any, result: AnalyteResult) -> tuple[Any, ...]:
    """What the long way makes of a result: its token, R-ratio trigger, analyte object and phrase."""
    return (pieces.token(result), _classifies(result), _long_text(result), escaped(shown_phrase(result)))


@pytest.mark.parametrize(("analyte_id", "unit", "lab_range"), BENCH_UNITS)
def test_a_piece_from_its_segment_is_the_long_way(analyte_id: str, unit: str, lab_range: str | None) -> None:
    # values on, a hair around and near every interval bound, CTCAE threshold and multiple of ULN a
    # rule or the R-ratio pattern reads (1, 2, 3, 5, 20 x ULN), both decimal marks, with and without
    # a lab range, known and unknown sex and age, and comparators: every part as the long way's
    rng = random.Random(f"segment {analyte_id} {unit}")
    analyte = analytes()[analyte_id]
    factor = read_measurement(analyte, "1", unit_text=unit).value
    pieces = PanelJson()
    made = 0
    for patient in BENCH_PATIENTS:
        for ranged in {None, lab_range}:
            for decimal in (".", ","):
                texts = _value_texts(rng, _limits(analyte_id, patient, ranged), factor, decimal)
                for text in [*texts, "<5", ">1000", "<=3"]:
                    try:
                        measurement = read_measurement(analyte, text, unit_text=unit, decimal=decimal, lab_range=ranged)
                    except LevlabError:
                        continue
                    result = assess(measurement, patient, default_intervals())
                    piece = pieces.segments.piece(result)
                    if piece is None:
                        continue  # the long way
                    made += 1
                    assert (piece.token, piece.classifies, piece.text, piece.phrase) == _long_piece(pieces, result), text
                    assert result.interval is not None and measurement.comparator is None
    assert made > 2000  # most results took the segment way


def test_a_piece_within_a_guard_zone_or_without_one_interval_goes_the_long_way() -> None:
    pieces = PanelJson()
    alt, man = analytes()["alt"], Patient("M", 50.0)

    def judged(text: str, patient: Patient = man) -> AnalyteResult:
        return assess(read_measurement(alt, text, unit_text="U/L"), patient, default_intervals())

    high = judged("100").interval.high  # type: ignore[union-attr]
    for text in (f"{3 * high!r}", f"{3 * high * (1 + 1e-12)!r}", f"{20 * high!r}", f"{high!r}", "<5"):
        assert pieces.segments.piece(judged(text)) is None, text  # on 3 x ULN, a hair above; 20 x, 1 x; a comparator
    assert pieces.segments.piece(judged("200", Patient(None, None))) is None  # no one interval
    assert pieces.segments.piece(judged(f"{3 * high * 1.01:.2f}")) is not None


@pytest.mark.parametrize(("template", "convertible"), [
    ('a{0}b{{x}}%c{1}d{2}{3}', True), ("{0}", True), ("{0}{1}e", True), ("plain {{}} 100%", True), ("", True),
    ("{1}{0}", False), ("{0}{0}", False), ("x{0:>3}", False), ("{0!r}", False), ("{0}{2}", False),
])
def test_a_template_as_a_percent_format_gives_the_same_text(template: str, convertible: bool) -> None:
    from levlab.exports.result_pieces import _percent

    made = _percent(template)
    assert (made is not None) == convertible
    if made is not None:
        fields = tuple(f"F{index}%s{{}}" for index in range(made[1]))
        assert made[0] % fields == template.format(*fields)
