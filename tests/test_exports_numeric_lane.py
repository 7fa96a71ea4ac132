"""levlab.exports.numeric_lane: the short way for plain-number cells writes the long way's bytes.

Every test runs the same export twice: as levlab runs it (the lane takes the plain-number cells
of segments it has learnt), and with the lane declining every cell (everything the long way),
and compares the output text. The values are random ones and values on, a hair below and a hair
above every limit the long way compares with — interval limits, CTCAE thresholds (multiples of
ULN/LLN and absolute ones), rule thresholds (x ULN legs, `above`/`below` limits), plausible and
possible limits — worked out here from the data files, for every analyte and each of its units,
women, men and unknown sex, ages in different bands and unknown, both decimal marks.
"""

from __future__ import annotations

import io
import random

import pytest

from levlab.catalog import analytes
from levlab.exports import CsvOptions, CsvRun, CsvSink
from levlab.exports.numeric_lane import GUARD, NumericLane
from levlab.grading import criteria
from levlab.ranges import default_intervals
from levlab.rules import rules
from levlab.units import factor, to_canonical_factor

SEXES = ("F", "M", "")
AGES = ("62", "75", "15", "")  # adult bands (LDH 18-69 and 70+), a child's (GGT 13-18, no ALT interval), unknown
#: women, men, unknown sex; ages in each band and unknown
PATIENTS = (("F", "62"), ("M", "75"), ("", "62"), ("F", ""), ("M", "15"), ("", ""))
#: relative steps around each limit: far, near, inside the lane's guard zone, on it
HAIRS = (-1e-2, -1e-4, -1e-6, -1e-8, -1e-10, -1e-12, -1e-14, 0.0, 1e-14, 1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2)



def bench_shaped(rng: random.Random, rows: int, *, spread: int) -> str:
    """A wide file of the bench's six columns: two-decimal values up to `spread` x each column's high
    end, random sex and age per row."""
    lines = ["patient,sex,age," + ",".join(name for name, _, _ in BENCH_COLUMNS)]
    for number in range(rows):
        values = [f"{rng.uniform(low, high * spread):.2f}" for _, low, high in BENCH_COLUMNS]
        lines.append(",".join((f"P{number}", rng.choice(SEXES), rng.choice(AGES), *values)))
    return "\n".join(lines) + "\n"

def canonical_limits(analyte_id: str) -> set[float]:
    """Every value, in the analyte's canonical unit, where a long-way answer may change, from the data."""
    analyte = analytes()[analyte_id]
    limits = {analyte.plausible_low, analyte.plausible_high, analyte.possible_low, analyte.possible_high}
    intervals = default_intervals().for_analyte(analyte_id)
    for interval in intervals:
        limits.update(limit for limit in (interval.low, interval.high) if limit is not None)
    term = criteria().terms.get(analyte_id)
    for bound in term.bounds if term else ():
        if bound.of is None:
            limits.add(bound.x)
        for interval in intervals:
            reference = {"ULN": interval.high, "LLN": interval.low}.get(bound.of or "")
            if reference is not None:
                limits.add(bound.x * reference)
    for rule in rules():
        when = rule.when
        for leg in when.get("legs", ()):
            if analyte_id in leg["analytes"]:
                limits.update(leg["value"] * interval.high for interval in intervals if interval.high)
        if when.get("analyte") == analyte_id and "thresholds" in when:
            limits.update(t["value"] * factor(analyte_id, t["unit"], analyte.canonical_unit, analyte.molar_mass)
                          for t in when["thresholds"])
    return {limit for limit in limits if limit > 0}


def plain(number: float, decimal: str = ".") -> str:
    """A number as a plain cell text (no exponent), up to 15 significant digits."""
    digits = len(str(int(number)))
    text = f"{number:.{max(0, min(14, 15 - digits))}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", decimal)


def texts_for(analyte_id: str, unit: str, decimal: str, seed: int) -> list[str]:
    """Random values over the usual span (two and four decimals), then every limit with its hairs
    (in `unit`, as plain texts of up to 15 significant digits)."""
    analyte = analytes()[analyte_id]
    per_unit = to_canonical_factor(analyte, unit)
    limits = sorted(canonical_limits(analyte_id))
    rng = random.Random(seed)
    top = min(analyte.plausible_high, 4 * max(limits))
    randoms = [rng.uniform(analyte.plausible_low, top) / per_unit for _ in range(40)]
    near = [limit / per_unit * (1 + hair) for limit in limits for hair in HAIRS]
    return ([f"{number:.{digits}f}".replace(".", decimal) for number in randoms for digits in (2, 4)]
            + [plain(number, decimal) for number in near if number > 0])


def export(text: str, *, lane: bool, monkeypatch: pytest.MonkeyPatch, **options: object) -> tuple[str, int]:
    """The CSV output of a run, and how many cells the lane took (`lane=False`: it takes none)."""
    taken = 0
    original = NumericLane.entries

    def counted(self: NumericLane, plan: object, texts: object) -> dict:
        nonlocal taken
        found = original(self, plan, texts) if lane else {}  # type: ignore[arg-type]
        taken += len(found)
        return found

    with monkeypatch.context() as patch:
        patch.setattr(NumericLane, "entries", counted)
        run = CsvRun(io.StringIO(text, newline=""), CsvOptions(**options))  # type: ignore[arg-type]
        out = io.StringIO(newline="")
        run.run(CsvSink(out, run.dialect))
    return out.getvalue(), taken


def assert_lane_is_the_long_way(text: str, monkeypatch: pytest.MonkeyPatch, least: float, **options: object) -> str:
    """The output of the lane, checked against the long way's; the lane took at least `least` cells a row."""
    short, taken = export(text, lane=True, monkeypatch=monkeypatch, **options)
    long, none = export(text, lane=False, monkeypatch=monkeypatch, **options)
    assert none == 0
    cells = text.count("\n") - 1
    assert taken >= least * cells, f"the lane took {taken} of about {cells} rows' cells"
    if short != long:  # the first differing line, for a readable failure
        for got, want in zip(short.splitlines(), long.splitlines(), strict=True):
            assert got == want
    return short


UNITS = [(analyte.id, unit) for analyte in analytes().values() for unit in analyte.units]


@pytest.mark.parametrize(("analyte_id", "unit"), UNITS)
@pytest.mark.parametrize("decimal", [".", ","])
def test_the_lane_writes_the_long_way_bytes_around_every_limit(analyte_id: str, unit: str, decimal: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    delimiter = "," if decimal == "." else ";"
    texts = texts_for(analyte_id, unit, decimal, seed=len(analyte_id) + len(unit))
    lines = [delimiter.join(("patient", "sex", "age", f"{analyte_id} ({unit})"))]
    for sex, age in PATIENTS:
        lines += [delimiter.join(("P1", sex, age, text)) for text in texts]
    assert_lane_is_the_long_way("\n".join(lines) + "\n", monkeypatch, least=0.2, delimiter=delimiter, decimal=decimal)


BENCH_COLUMNS = (("ALAT (U/L)", 8, 120), ("ASAT (U/L)", 10, 90), ("ALP (ukat/L)", 0.5, 6.7), ("GGT (U/L)", 8, 300),
                 ("LDH (U/L)", 100, 700), ("Bilirubin (mg/dL)", 0.18, 4.7))


def _bench_text(seed: int, decimal: str) -> tuple[str, str]:
    """(delimiter, text) of 1,500 rows in the bench's wide shape, values of 1, 2 or 4 decimals up to 3x ULN."""
    delimiter = "," if decimal == "." else ";"
    rng = random.Random(seed)
    lines = [delimiter.join(("patient_id", "sex", "age", *(name for name, _, _ in BENCH_COLUMNS)))]
    for number in range(1500):
        values = [f"{rng.uniform(low, high * 3):.{rng.choice((1, 2, 4))}f}".replace(".", decimal)
                  for _, low, high in BENCH_COLUMNS]
        lines.append(delimiter.join((f"P{number}", rng.choice(SEXES), rng.choice(AGES), *values)))
    return delimiter, "\n".join(lines) + "\n"


@pytest.mark.parametrize("decimal", [".", ","])
def test_the_lane_keeps_rule_columns_of_whole_panels(decimal: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bench's wide shape: six analytes, so rules across columns (normal-panel, Hy's law,
    LDH dominance, bilirubin over 2) read lane cells."""
    delimiter, text = _bench_text(7, decimal)
    short = assert_lane_is_the_long_way(text, monkeypatch, least=3.0, delimiter=delimiter, decimal=decimal)
    assert {"hys-law", "ldh-dominant", "bilirubin-over-2"} <= set(short.replace(delimiter, " ").split())


def test_cells_the_lane_leaves_to_the_long_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Comparators, units in the cell, spaces, three fraction digits (a thousands group?), markers,
    errors and warnings among plain numbers: each row as the long way writes it."""
    odd = ["<5", ">1000", "12.5 U/L", " 30.25", "1.250", "0.125", "NA", "-", "abc", "-5", "2e3", "35000", "0",
           "45", "45.0", "044.50", "1000000"]
    rng = random.Random(3)
    lines = ["patient,sex,age,ALT (U/L),AST (U/L)"]
    for number in range(2000):
        cells = [rng.choice(odd) if rng.random() < 0.2 else f"{rng.uniform(3, 400):.2f}" for _ in range(2)]
        lines.append(f"P{number},{rng.choice(SEXES)},{rng.choice(AGES)},{cells[0]},{cells[1]}")
    assert_lane_is_the_long_way("\n".join(lines) + "\n", monkeypatch, least=0.5)


def test_lab_ranges_and_unit_columns_make_plans_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The laboratory's range and unit per row (companion columns) and a --range for a column:
    each (range, unit) is a plan of its own, its limits the lab's."""
    ranges = ["< 45", "< 35", "10 - 40", "<= 0.75", "0.17 - 0.58", "", "NA"]
    units = ["U/L", "µkat/L", "U/L"]
    rng = random.Random(5)
    lines = ["patient,sex,age,ALT,ALT unit,ALT ref,AST (U/L)"]
    for number in range(3000):
        unit = rng.choice(units)
        value = rng.uniform(0.05, 2.5) if unit == "µkat/L" else rng.uniform(3, 150)
        limit = ranges[number % len(ranges)]
        lines.append(f"P{number},{rng.choice(SEXES)},{rng.choice(AGES)},{value:.2f},{unit},{limit},{rng.uniform(5, 120):.2f}")
    for hair in HAIRS:  # on and around the lab's limits
        lines.append(f"Q,F,50,{plain(45 * (1 + hair))},U/L,< 45,{plain(35 * (1 + hair))}")
        lines.append(f"Q,M,50,{plain(0.75 * (1 + hair))},µkat/L,<= 0.75,{plain(40 * (1 + hair))}")
    text = "\n".join(lines) + "\n"
    assert_lane_is_the_long_way(text, monkeypatch, least=0.5, ranges=("AST (U/L)=<40",))


def test_a_value_in_a_guard_zone_goes_the_long_way() -> None:
    """A value within GUARD of a limit is never answered from a segment."""
    from levlab.exports.numeric_lane import Plan

    plan = Plan("U/L", 1.0, [45.0, 135.0], lambda text: None)  # type: ignore[arg-type, return-value]
    lane = NumericLane(".", frozenset({"", "na"}), dict, lambda fields: ",".join(fields))
    plan.segments = [object()] * len(plan.segments)  # every segment "known": only the guard decides
    for text in ("45", "45.00000000001", "44.99999999999", "135", "134.9999999999"):
        assert lane.cell(plan, text) is None, text
    assert plan.edges == pytest.approx([45 * (1 - GUARD), 45 * (1 + GUARD), 135 * (1 - GUARD), 135 * (1 + GUARD)],
                                       rel=1e-15)


@pytest.mark.parametrize("text", ["1,250", "12.5", "1.2.3", "+5", "5 ", "", "na"])
def test_only_plain_numbers_in_the_decimal_mark_enter_the_lane(text: str) -> None:
    from levlab.exports.numeric_lane import Plan

    plan = Plan("U/L", 1.0, [], lambda text: None)  # type: ignore[arg-type, return-value]
    lane = NumericLane(",", frozenset({"", "na"}), dict, lambda fields: ";".join(fields))
    plan.segments = [object()]
    assert lane.cell(plan, text) is None


def test_a_lane_cell_stands_for_its_own_long_way_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a lane cell carries (flag, output text, dominance keys) is what its own result, made the
    long way when asked for, gives; its signature is its segment's first cell's."""
    from levlab.exports.fields import ANALYTE_FIELDS
    from levlab.exports.numeric_lane import LaneJudged
    from levlab.rule_projections import dominance_keys

    made: list[LaneJudged] = []
    original = NumericLane.entries

    def kept(self: NumericLane, plan: object, texts: object) -> dict:
        found = original(self, plan, texts)  # type: ignore[arg-type]
        made.extend(entry[4] for entry in found.values())
        return found

    monkeypatch.setattr(NumericLane, "entries", kept)
    rng = random.Random(11)
    text = bench_shaped(rng, 400, spread=4)
    run = CsvRun(io.StringIO(text, newline=""), CsvOptions())
    sink = CsvSink(io.StringIO(newline=""), run.dialect)
    run.run(sink)
    assert len(made) > 1000
    for cell in made[::7]:
        result = cell.result
        assert result is not None and cell.flag == result.flag
        assert cell.fragment == sink.fragment([function(result, ".") for _, function in ANALYTE_FIELDS])
        assert (cell.lead_key, cell.rival_key) == dominance_keys(result)
        assert cell.signed.signature == cell.signature and cell.signed.flag == cell.flag


def test_the_table_summary_counts_what_the_long_way_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--format table` takes the lane too (its first panels made in full from the long way)."""
    from click.testing import CliRunner

    from levlab.cli import main

    rng = random.Random(13)
    text = bench_shaped(rng, 1500, spread=3)
    outputs = []
    original = NumericLane.entries
    for lane in (True, False):
        taken = 0

        def counted(self: NumericLane, plan: object, texts: object, lane: bool = lane) -> dict:
            nonlocal taken
            found = original(self, plan, texts) if lane else {}  # type: ignore[arg-type]
            taken += len(found)
            return found

        with monkeypatch.context() as patch:
            patch.setattr(NumericLane, "entries", counted)
            result = CliRunner().invoke(main, ["csv", "-", "--format", "table"], input=text)
        assert result.exit_code == 0, result.output
        outputs.append((result.output, taken))
    (short, taken), (long, none) = outputs
    assert taken > 3000 and none == 0
    assert short == long and "hys-law" in short


def test_a_missing_value_marker_that_is_a_number_is_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--na 12`: a cell `12` is not measured, never a value the lane reads."""
    rng = random.Random(17)
    lines = ["patient,sex,age,ALT (U/L)"]
    lines += [f"P{number},F,60,{rng.uniform(5, 40):.2f}" for number in range(200)]  # the lane knows 12's segment
    lines += [f"P{number},F,60,{rng.choice(['12', f'{rng.uniform(5, 40):.2f}'])}" for number in range(400)]
    short = assert_lane_is_the_long_way("\n".join(lines) + "\n", monkeypatch, least=0.3, na=("12",))
    assert ",12,,,,," in short


def test_the_workbook_gets_the_long_way_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    """`-o out.xlsx` takes the lane with the workbook's own field separator: the same fields."""
    from levlab.exports.sinks import Sink
    from levlab.exports.xlsx_sink import XlsxSink

    class Kept(Sink):  # the workbook's fields, kept instead of written
        wants_rows = True
        fragment = XlsxSink.fragment

        def __init__(self) -> None:
            self.kept: list[tuple[str, ...]] = []

        def chunk(self, rows: list[list[str]], originals: list[str | None], appended: list[list[str]]) -> None:
            self.kept.extend(zip(*appended, strict=True))

    rng = random.Random(19)
    text = bench_shaped(rng, 800, spread=3)
    fields = []
    original = NumericLane.entries
    for lane in (True, False):
        with monkeypatch.context() as patch:
            if not lane:
                patch.setattr(NumericLane, "entries", lambda self, plan, texts: {})
            run = CsvRun(io.StringIO(text, newline=""), CsvOptions())
            sink = Kept()
            run.run(sink)
            fields.append(sink.kept)
    assert NumericLane.entries is original
    assert len(fields[0]) == 800 and fields[0] == fields[1]
    assert "\x1f" in fields[0][0][0]  # the workbook's separator between a cell's fields


def _lane_cells_of_jsonl(text: str, monkeypatch: pytest.MonkeyPatch, *, lane: bool = True, **options: object
                         ) -> tuple[str, list]:
    """The JSONL output of a run and the lane cells it made (`lane=False`: the lane takes none)."""
    from levlab.exports import JsonlSink

    made: list = []
    original = NumericLane.entries

    def kept(self: NumericLane, plan: object, texts: object) -> dict:
        found = original(self, plan, texts) if lane else {}  # type: ignore[arg-type]
        made.extend(entry[4] for entry in found.values())
        return found

    with monkeypatch.context() as patch:
        patch.setattr(NumericLane, "entries", kept)
        run = CsvRun(io.StringIO(text, newline=""), CsvOptions(**options))  # type: ignore[arg-type]
        out = io.StringIO()
        run.run(JsonlSink(out))
    return out.getvalue(), made


@pytest.mark.parametrize(("analyte_id", "unit"), UNITS)
@pytest.mark.parametrize("decimal", [".", ","])
def test_a_lane_cell_result_is_the_long_way_result_around_every_limit(analyte_id: str, unit: str, decimal: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """JSONL takes a lane cell's AnalyteResult (`Segment.result_of`): equal, field by field, to the
    result the long way makes of the same text, on, a hair around and far from every limit, for
    women, men, unknown sex, ages in each band and unknown, both decimal marks."""
    delimiter = "," if decimal == "." else ";"
    texts = texts_for(analyte_id, unit, decimal, seed=len(analyte_id) * len(unit))
    lines = [delimiter.join(("patient", "sex", "age", f"{analyte_id} ({unit})"))]
    for sex, age in PATIENTS:
        lines += [delimiter.join(("P1", sex, age, text)) for text in texts]
    _, made = _lane_cells_of_jsonl("\n".join(lines) + "\n", monkeypatch, delimiter=delimiter, decimal=decimal)
    assert len(made) >= 0.2 * len(texts) * len(PATIENTS)
    for cell in made:
        result, long_way = cell.result, cell._segment.plan.long_way(cell._text).result
        assert result == long_way, cell._text
        assert (result.x_uln_span, result.measurement.bounds) == (long_way.x_uln_span, long_way.measurement.bounds)


@pytest.mark.parametrize(("analyte_id", "unit"), UNITS)
def test_a_lane_cells_piece_is_its_results_piece_around_every_limit(analyte_id: str, unit: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """JSONL makes a lane cell's piece without its result (`SegmentPieces.lane_piece`): the same
    analyte object, phrase, token, pattern trigger, x ULN, number as read and dominance keys as the
    piece of the result the long way makes of the same text; and a rule of one result (bilirubin
    over 2 mg/dL) decided from the piece's kind says what its evaluator says. On, a hair around
    and far from every limit, for women, men and unknown sex and age."""
    from levlab.exports.panel_json import PanelJson
    from levlab.exports.panel_line import KEYS
    from levlab.rule_projections import dominance_keys

    texts = texts_for(analyte_id, unit, ".", seed=5 * len(unit))
    lines = ["patient,sex,age," + f"{analyte_id} ({unit})"]
    for sex, age in PATIENTS:
        lines += [",".join(("P1", sex, age, text)) for text in texts]
    _, made = _lane_cells_of_jsonl("\n".join(lines) + "\n", monkeypatch, delimiter=",", decimal=".")
    short, long = PanelJson(), PanelJson()
    one_result = [rule for rules_ in short.one_result.values() for rule in rules_]
    taken = decided = 0
    for cell in made:
        piece = short.segments.lane_piece(cell)
        long_way = cell._segment.plan.long_way(cell._text).result
        expected = long.segments.piece(long_way)
        assert (piece is None) == (expected is None), cell._text  # (then the result's piece, made the long way)
        if piece is None:
            continue
        taken += 1
        assert (piece.text, piece.phrase, piece.token, piece.classifies, piece.x_uln, piece.number) == (
            expected.text, expected.phrase, expected.token, expected.classifies, long_way.x_uln,
            long_way.measurement.number), cell._text
        assert piece.values[KEYS] == dominance_keys(long_way), cell._text
        for rule in one_result:
            if rule.when["analyte"] == analyte_id:
                decided += 1
                assert short._one_result(rule, piece) == long._evaluated(rule, {analyte_id: long_way}), cell._text
    if analyte_id in ("bilirubin", "alp", "ggt", "ldh", "ast", "alt"):  # (the others' words fit no segment template)
        assert taken >= 0.2 * len(made)
    assert decided == (taken if any(rule.when["analyte"] == analyte_id for rule in one_result) else 0)


@pytest.mark.parametrize("decimal", [".", ","])
def test_jsonl_through_the_lane_is_the_long_way(decimal: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bench's wide shape as JSONL: with the lane's results, the same bytes as without it."""
    delimiter, text = _bench_text(17, decimal)
    short, made = _lane_cells_of_jsonl(text, monkeypatch, delimiter=delimiter, decimal=decimal)
    long, none = _lane_cells_of_jsonl(text, monkeypatch, lane=False, delimiter=delimiter, decimal=decimal)
    assert len(made) > 3 * 1500 and none == []
    assert short == long


@pytest.mark.parametrize(("analyte_id", "unit"), UNITS)
@pytest.mark.parametrize("decimal", [".", ","])
def test_a_reading_of_the_reading_lane_is_the_long_way_reading(analyte_id: str, unit: str, decimal: str) -> None:
    """`ReadingLane.reading` gives what `memo.Judge.read` gives for the same texts, field by field,
    or None (the long way): values on, a hair around and far from every limit, the plausible
    and possible ones among them (a warning or an error is never the lane's)."""
    from levlab.exports.memo import Judge
    from levlab.exports.numeric_lane import ReadingLane

    analyte = analytes()[analyte_id]
    judge = Judge(default_intervals(), decimal, frozenset({"", "na"}))
    lane = ReadingLane(decimal, judge.na, judge.new_cache)
    taken = 0
    for lab_range in (None, ""):
        for text in texts_for(analyte_id, unit, decimal, seed=3 * len(unit)):
            made = lane.reading(analyte, text, unit, lab_range)
            long_way = judge.read(analyte, text, unit, lab_range, "lab")
            if made is None:
                lane.learn(analyte, text, unit, lab_range, long_way)
                continue
            taken += 1
            assert long_way.error is None and made.error is None, text
            assert made.measurement == long_way.measurement and not made.measurement.warnings, text
            assert made.measurement.bounds == long_way.measurement.bounds
    assert taken > 50
