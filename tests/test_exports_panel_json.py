"""levlab.exports.panel_json: a JSONL line put together from parts is, byte for byte, json.dumps
of the whole document the long way makes (`interpret_results` + `render.panel_json`)."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from levlab.catalog import analytes
from levlab.errors import LevlabError
from levlab.exports import CsvOptions, CsvRun, JsonlSink
from levlab.exports.panel_json import PanelJson
from levlab.interpret import assess, interpret_results, read_measurement, unusable
from levlab.model import AnalyteResult, Patient
from levlab.ranges import default_intervals
from levlab.render import panel_json

GOLDEN = Path(__file__).parent / "data" / "golden"

#: value texts in the canonical unit, as multiples of a typical upper limit: on, a hair around and
#: far from the interval bounds and the rule and CTCAE thresholds (1, 2, 3, 5, 20 x ULN)
MULTIPLES = (0.5, 0.1, 0.99, 0.3, 1.0, 1.01, 1.5, 1.99, 2.0, 2.01, 2.99, 3.0, 3.01, 4.99, 5.0, 5.01, 10.0, 20.0, 20.01)
UPPER = {"bilirubin": 17, "alp": 115, "ggt": 55, "ldh": 250, "ast": 35, "alt": 45, "cea": 5, "albumin": 50,
         "globulin": 35, "ascites_ldh": 250, "leukocytes": 10, "haemoglobin": 10, "glucose": 6}
ODD_TEXTS = ("<5", ">1000", "<0.2", "<=3", ">=600", "abc", "-1", "2,5", "1.234,5", "")
LAB_RANGES = (None,) * 12 + ("< 45", "10 - 40", "0.1 - 1.2", "> 3", "<=31", "nonsense")
PATIENTS = [Patient(sex, age) for sex in (None, "F", "M") for age in (None, 10.0, 45.0, 80.0)]


def _result(rng: random.Random, analyte_id: str, patient: Patient, pool: int) -> AnalyteResult:
    """A judged result the way the core makes one: a value read (or its error) and assessed."""
    analyte = analytes()[analyte_id]
    choice = rng.random()
    if choice < 0.04:
        text = rng.choice(ODD_TEXTS)
    elif pool:  # few distinct values: shapes repeat with other phrases
        text = f"{UPPER[analyte_id] * rng.choice(MULTIPLES[:pool]):g}"
    else:
        text = f"{UPPER[analyte_id] * rng.choice(MULTIPLES) * rng.uniform(0.98, 1.02):.2f}"
    unit = None
    if analyte_id == "bilirubin" and rng.random() < 0.3:
        unit, text = "mg/dL", f"{float(text) / 17.1:.2f}" if text.replace(".", "").isdigit() else text
    lab_range = rng.choice(LAB_RANGES)
    try:
        measurement = read_measurement(analyte, text, unit_text=unit or analyte.canonical_unit if rng.random() < 0.97
                                       else unit, decimal=".", lab_range=lab_range)
    except LevlabError as error:
        return unusable(analyte_id, str(error))
    return assess(measurement, patient, default_intervals())


def _panel(rng: random.Random, pool: int) -> tuple[list[AnalyteResult], Patient]:
    patient = rng.choice(PATIENTS) if rng.random() < 0.3 else Patient("F", 50.0)
    ids = list(analytes())
    chosen = rng.sample(ids, rng.randint(0, len(ids))) if rng.random() < 0.3 else [
        a for a in ("bilirubin", "alp", "ggt", "ldh", "ast", "alt") if rng.random() < 0.9]
    return [_result(rng, analyte_id, patient, pool) for analyte_id in chosen], patient


def _long_way(results: list[AnalyteResult], patient: Patient, rows: list[int], key: dict[str, str],
              errors: list[dict[str, Any]], warnings: list[str], follow_up: Any) -> str:
    document = panel_json(interpret_results(results, patient))
    document["rows"], document["key"], document["errors"] = rows, key, errors
    if warnings:
        document["warnings"] = [*document["warnings"], *warnings]
    if follow_up is not None:
        document["follow_up"] = follow_up
    return json.dumps(document, ensure_ascii=False)


def _check(parts: PanelJson, results: list[AnalyteResult], patient: Patient, rng: random.Random) -> None:
    rows = [rng.randint(1, 99)]
    key = rng.choice([{}, {"patient": "P1"}, {"pat\"ient": "é\n\x01"}])
    errors = rng.choice([[], [{"row": rows[0], "column": "ALT", "message": "'x' is not a number"}]])
    warnings = rng.choice([[], ["the previous sample is out of time order"]])
    follow_up = rng.choice([None, {"previous_date": None, "ctcae_baseline": None}])
    made = parts.line(results, patient, rows, key, errors, warnings, follow_up)
    made_bytes = parts.line_bytes(results, patient, rows, key, errors, warnings, follow_up)
    if len({result.analyte for result in results}) < len(results):
        assert made is None and made_bytes is None  # two results of one analyte: the long way
        return
    long_way = _long_way(results, patient, rows, key, errors, warnings, follow_up)
    assert made == long_way
    assert made_bytes == (long_way + "\n").encode("utf-8")


SHARED = PanelJson()  # plans made by one example are used by the next ones


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), pool=st.sampled_from([0, 3, 6, len(MULTIPLES)]))
def test_a_line_from_parts_is_json_dumps_of_the_whole_document(seed: int, pool: int) -> None:
    rng = random.Random(seed)
    for _ in range(5):
        results, patient = _panel(rng, pool)
        _check(SHARED, results, patient, rng)


@pytest.mark.parametrize("pool", [2, 4, 0])
def test_a_shape_made_once_holds_for_every_panel_of_that_shape(pool: int) -> None:
    # few values: the same shapes again and again with other phrases (and plans reused from the cache)
    rng = random.Random(pool)
    parts = PanelJson()
    for _ in range(3000):
        results, patient = _panel(rng, pool)
        _check(parts, results, patient, rng)
    assert len(parts.plans) < 3000  # shapes did repeat


def test_the_pieces_kept_halve_where_values_do_not_repeat_and_lines_stay_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("levlab.exports.result_pieces.PIECES_KEPT", 100)
    rng = random.Random(7)
    repeating, distinct = PanelJson(), PanelJson()
    kept = [_panel(rng, 3) for _ in range(4)]  # under 50 results, seen again and again
    for index in range(1000):
        _check(repeating, *(kept[index % len(kept)] if index % 16 else _panel(rng, 0)), rng)  # (a few new: clears)
        _check(distinct, *_panel(rng, 0), rng)  # (every result new)
    assert repeating.pieces_kept == 100 and distinct.pieces_kept == 50
    assert len(distinct.pieces) <= 50


def test_a_shape_reads_more_than_flags_where_the_words_do() -> None:
    # ALT 200 and 140 are both raised (H), but only 200 is over 3 x ULN: Hy's law's leg differs
    parts = PanelJson()
    patient = Patient("M", 50.0)
    for alt in ("200", "140", "200", "<5", "<50", "abc"):
        results = [_judged("alt", alt, patient), _judged("bilirubin", "40", patient), _judged("alp", "100", patient)]
        _check(parts, results, patient, random.Random(alt))


def _judged(analyte_id: str, text: str, patient: Patient) -> AnalyteResult:
    try:
        return assess(read_measurement(analytes()[analyte_id], text, unit_text=analytes()[analyte_id].canonical_unit),
                      patient, default_intervals())
    except LevlabError as error:
        return unusable(analyte_id, str(error))


class WholeJsonlSink(JsonlSink):
    """Every panel interpreted whole, the long way."""

    from_results = False


def _jsonl(text: str, sink_class: type[JsonlSink], *, binary: bool = False, **options: Any) -> str:
    """The export as JSONL: into a StringIO, or (`binary`) into UTF-8 text over bytes, where the
    sink writes the lines it makes from parts as bytes."""
    run = CsvRun(io.StringIO(text, newline=""), CsvOptions(**options))
    if binary:
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        run.run(sink_class(stream))
        stream.flush()
        return raw.getvalue().decode("utf-8")
    out = io.StringIO()
    run.run(sink_class(out))
    return out.getvalue()


FOLLOWED = (
    "patient,date,sex,age,test,value,unit,range\n"
    "P1,2024-01-02,F,60,ALT,30,U/L,< 45\n" "P1,2024-01-02,F,60,bilirubin,12,umol/L,\n"
    "P1,2024-03-02,F,60,ALT,200,U/L,< 45\n" "P1,2024-03-02,F,60,bilirubin,45,umol/L,\n"
    "P1,2024-02-02,F,60,ALT,<5,U/L,< 45\n"
    "P2,2024-01-05,,,ALT,abc,U/L,\n" "P2,2024-01-05,,,AST,90,U/L,\n" "P2,2024-01-05,,,ALP,300,U/L,\n"
    "P3,2024-01-05,M,70,LDH,900,U/L,\n" "P3,2024-01-05,M,70,ALT,50,,\n"
)
SPECIMENS = ("patient,specimen,ALT (U/L),AST (U/L)\nP1,serum,200,90\nP2,volbloed,200,90\nP3,urine,30,20\n"
             "P4,blah,30,20\n")


@pytest.mark.parametrize("name", ["wide_messy.csv", "long_messy.csv", "wide_distinct.csv", "long_repeating.csv",
                                  "wide_repeating.csv", "long_distinct.csv"])
def test_an_export_as_jsonl_equals_every_panel_interpreted_whole(name: str) -> None:
    text = (GOLDEN / name).read_text(encoding="utf-8")
    assert _jsonl(text, JsonlSink) == _jsonl(text, WholeJsonlSink)


@pytest.mark.parametrize("text", [FOLLOWED, SPECIMENS], ids=["follow-up", "specimens"])
def test_panels_with_follow_up_or_notes_equal_the_whole_interpretation(text: str) -> None:
    made = _jsonl(text, JsonlSink)
    assert made == _jsonl(text, WholeJsonlSink)
    assert '"follow_up"' in made or '"notes": ["specimen' in made or "specimen" in made


@pytest.mark.parametrize("text", [FOLLOWED, SPECIMENS, "wide_messy.csv", "long_messy.csv"])
def test_lines_written_as_bytes_keep_their_order_among_panels_written_as_text(text: str) -> None:
    """Over a UTF-8 byte stream the lines made from parts go out as bytes, the whole panels (follow-up,
    specimen notes) as text: the text is flushed first, so the file is the one a StringIO gets."""
    if text.endswith(".csv"):
        text = (GOLDEN / text).read_text(encoding="utf-8")
    made = _jsonl(text, JsonlSink, binary=True)
    assert made == _jsonl(text, JsonlSink) == _jsonl(text, WholeJsonlSink, binary=True)
    assert made.count("\n") >= 3


def test_the_byte_stream_is_found_again_when_the_sink_gets_another_stream() -> None:
    """A worker (exports.processes) gives the sink a new stream per piece."""
    first, second, latin = io.BytesIO(), io.BytesIO(), io.BytesIO()
    streams = [io.TextIOWrapper(raw, encoding=encoding, newline="")
               for raw, encoding in ((first, "utf-8"), (second, "utf-8"), (latin, "latin-1"))]
    sink = JsonlSink(streams[0])
    patient = Patient("F", 50.0)
    results = [_judged("alt", "200", patient), _judged("bilirubin", "40", patient)]
    assert sink.judged_panel(results, patient, [2], {"patient": "P1"}, [])
    sink.stream.flush()
    sink.stream = streams[1]
    assert sink.judged_panel(results, patient, [3], {"patient": "P2"}, [])
    sink.stream.flush()
    assert first.getvalue().count(b"\n") == 1 and b'"rows": [2]' in first.getvalue()
    assert second.getvalue().count(b"\n") == 1 and b'"rows": [3]' in second.getvalue()
    sink.stream = streams[2]  # not UTF-8: written as text
    assert sink.judged_panel(results, patient, [4], {"patient": "P3"}, [])
    sink.stream.flush()
    assert latin.getvalue().decode("latin-1") == sink.parts.line(results, patient, [4], {"patient": "P3"}, []) + "\n"


def test_jsonl_does_not_change_with_the_language(tmp_path: Path) -> None:
    from levlab.cli import main

    export = tmp_path / "long.csv"
    export.write_text(FOLLOWED + "P4,2024-01-05,M,70,ALT,35,U/L,\nP4,2024-01-05,M,70,ALP,450,U/L,\n", encoding="utf-8")
    runs = [CliRunner().invoke(main, ["csv", str(export), "--format", "jsonl", "--lang", lang]) for lang in ("en", "nl")]
    assert runs[0].exit_code == runs[1].exit_code  # (1: the file has row errors)
    assert runs[0].stdout == runs[1].stdout
    assert '"transaminases-raised"' in runs[0].stdout and '"status": "incomplete"' in runs[0].stdout


def test_phrases_marked_puts_the_marker_where_each_result_is_named_and_only_within() -> None:
    from levlab.rules import evaluate_rules, phrases_marked, shown_phrase

    patient = Patient("M", 50.0)
    results = [_judged("alp", "400", patient), _judged("ast", "20", patient)]
    with phrases_marked(lambda result: f"<{result.analyte}>"):
        hits, _, normal = evaluate_rules(results)
    assert any(hit.message.startswith("<alp>: ") for hit in hits)
    assert normal.reason.startswith("raised: <alp>; ")
    hits, _, normal = evaluate_rules(results)
    assert normal.reason.startswith(f"raised: {shown_phrase(results[0])}; ")
    assert shown_phrase(results[0]) == "ALP 400 U/L (3.8x ULN)"  # 400 / 105, the upper limit for men


@pytest.mark.parametrize("lead", ["250", "255", "256", "300", "510", "511", "1000", ">1000", "<100", "abc", "100"])
def test_dominance_met_from_keys_and_its_words_kept_per_lead_are_the_long_way(lead: str) -> None:
    """ldh-dominant is decided per panel from dominance keys and its entry kept per LDH result: the
    same LDH against rivals on, a hair above and below its multiple of ULN, undecided, absent."""
    patient = Patient("M", 50.0)
    parts = PanelJson()
    ldh = _judged("ldh", lead, patient)
    upper = {"alp": 105, "ggt": 110, "ast": 45, "alt": 70}  # men's upper limits (default intervals)
    multiple = (ldh.x_uln_span or (2.0, 2.0))[0]
    rivals: list[dict[str, str]] = [{}, {"alp": "50"}, {"ast": "abc"}, {"alt": ">1000"}, {"ggt": "<5"}]
    for factor in (0.5, 0.999, 1.0, 1.001, 2.0):
        for analyte_id, limit in upper.items():
            rivals.append({analyte_id: f"{limit * multiple * factor:.6g}", "alt": f"{70 * 1.2:g}"})
    rng = random.Random(lead)
    for _ in range(2):  # the second time from the entries kept
        for texts in rivals:
            results = [ldh, *(_judged(analyte_id, text, patient) for analyte_id, text in texts.items())]
            _check(parts, results, patient, rng)
    lines = [parts.line([ldh, _judged("alp", "20", patient)], patient, [1], {}, [])]
    assert ('"id": "ldh-dominant"' in lines[0]) is (ldh.flag == "H" and ldh.x_uln_span is not None)


def test_dominance_words_kept_by_the_leads_multiple_are_the_long_way() -> None:
    """The entry of ldh-dominant met is kept by the lead's multiple of ULN to one decimal (all its
    words read): many LDH values, several sharing a multiple (510 and 511 are both 2.0x), in one
    run, each line what the whole interpretation gives."""
    patient = Patient("F", 50.0)
    parts = PanelJson()
    rng = random.Random(7)
    alp = _judged("alp", "120", patient)
    for value in [*range(256, 700, 3), 510, 511, 512.4, 509.6]:
        ldh = _judged("ldh", f"{value:g}", patient)
        _check(parts, [ldh, alp], patient, rng)
    assert len(parts.leads) > 10


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("pool", [2, 4, 0])
def test_a_plan_put_together_per_rule_is_the_plan_of_the_whole_panel(seed: int, pool: int) -> None:
    """A plan made from parts kept per rule and the tokens of the results it reads equals the plan
    made from the whole panel interpreted by the core, field by field, on random panels (odd texts,
    lab ranges, patients of unknown sex or age); most plans come from parts made for other panels."""
    rng = random.Random(f"plans {seed} {pool}")
    composed, whole = PanelJson(), PanelJson()
    fields = ("slots", "normal", "after", "holes", "reads", "ratio_at")
    for _ in range(150):
        results, patient = _panel(rng, pool)
        pieces = sorted(map(composed.piece, results), key=lambda piece: piece.order)
        shape = tuple(piece.token for piece in pieces)
        made, expected = composed._plan(shape, pieces, patient), whole._whole_plan(shape, pieces, patient)
        assert (made is None) == (expected is None)
        if made is not None:
            assert [getattr(made, name) for name in fields] == [getattr(expected, name) for name in fields]
    assert len(composed.parts) < 150 * 8
