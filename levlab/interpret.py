"""From texts to judged results: read a measurement, judge it, interpret a whole panel. Pure."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

from levlab.catalog import Analyte, analytes
from levlab.errors import ImplausibleValueError, UnitError
from levlab.grading import panel_grades, r_ratio_pattern, relation_note
from levlab.language import N_, Joined, Msg, Numeric
from levlab.model import AnalyteResult, Interval, Measurement, PanelResult, Patient
from levlab.ranges import IntervalTable, candidate_intervals, default_intervals, interval_from_text
from levlab.rules import evaluate_rules, normal_panel_analytes
from levlab.units import Unit, to_canonical_factor, unit_for_analyte, units
from levlab.values import format_number, split_value


def read_measurement(
    analyte: Analyte,
    text: str,
    *,
    unit_text: str | None = None,
    decimal: str | None = None,
    lab_range: str | None = None,
    lab_range_source: str = "laboratory's own range",
    configured_unit: str | None = None,
) -> Measurement:
    """Read one result text (`2,4 mg/dL`, `<5`, `35`) for an analyte.

    The unit comes from the text or from `unit_text` (a unit column or header); with none,
    `configured_unit` (the settings file's unit family) when given, else the canonical unit is
    assumed only where the catalogue allows it and no other accepted unit could have given the
    number (its `believable` spans). Plausibility has two tiers: a value outside the `possible`
    span is an error whatever the unit; one outside the usual (`plausible`) span is an error
    when the unit was assumed, and a warning when it was stated or configured. A configured
    unit that makes the value lower than every default lower limit, where another accepted unit
    would not, is said too (a low value does not count against normal-panel).
    """
    parsed = split_value(text, decimal)
    unit = _resolve_unit(analyte, parsed.unit_text, unit_text)
    from_settings = unit is None and configured_unit is not None
    if from_settings:
        unit = unit_for_analyte(analyte, configured_unit)
    assumed = unit is None
    if unit is None:
        shown_value = f"{parsed.comparator or ''}{format_number(parsed.number)}"
        if analyte.unit_required:
            raise UnitError(_unit_required_message(analyte, text, shown_value))
        unit = units()[analyte.canonical_unit]
        _check_bare_number(analyte, parsed.number, text, shown_value)
    factor = to_canonical_factor(analyte, unit.key)
    value = parsed.number * factor
    warnings = _check_plausible(analyte, parsed.number, unit, value, text, assumed=assumed, configured=from_settings)
    if from_settings and not warnings:
        warnings = _check_configured(analyte, parsed.number, unit, value, text)
    interval = None
    if lab_range is not None and lab_range.strip():
        interval = interval_from_text(analyte, lab_range, unit.key, lab_range_source, decimal=decimal)
    return Measurement(
        analyte=analyte.id,
        input=text.strip(),
        number=parsed.number,
        comparator=parsed.comparator,
        unit=unit.key,
        unit_kind=unit.kind,
        unit_assumed=assumed,
        value=value,
        factor=factor,
        lab_interval=interval,
        warnings=warnings,
        unit_from_settings=from_settings,
    )


def _check_configured(analyte: Analyte, number: float, unit: Unit, value: float, text: str) -> tuple[str, ...]:
    """A warning when a bare value read in the unit from settings is below every default lower
    limit while another accepted unit would make it a usual, not-low result (bare bilirubin 2.5
    under units = "si" is 2.5 µmol/L, low; 2.5 mg/dL would be 42.8 µmol/L): a low value does not
    count against normal-panel, so the reading the settings chose must not pass unremarked."""
    lows = [i.low for i in default_intervals().for_analyte(analyte.id) if i.low]
    if not lows or value >= min(lows):
        return ()
    canonical = analyte.canonical_unit
    others = []
    for other in analyte.units:
        as_other = number * to_canonical_factor(analyte, other)
        if other != unit.key and as_other >= min(lows) and analyte.plausible_low <= as_other <= analyte.plausible_high:
            others.append(f"{format_number(number)} {other} would be {format_number(as_other)} {canonical}")
    if not others:
        return ()
    return (
        f"{text.strip()} has no unit and was read in {unit.key}, the unit from settings: below every default "
        f"lower limit ({format_number(min(lows))} {canonical}), while {' and '.join(others)}; "
        "check value and unit",
    )


def _resolve_unit(analyte: Analyte, in_text: str, given: str | None) -> Unit | None:
    from_text = unit_for_analyte(analyte, in_text) if in_text else None
    from_column = unit_for_analyte(analyte, given) if given and given.strip() else None
    if from_text and from_column and from_text.key != from_column.key:
        raise UnitError(Msg("the value says {unit} but its unit is given as {other}", unit=from_text.key, other=from_column.key))
    return from_text or from_column


def _unit_required_message(analyte: Analyte, text: str, value: str) -> Msg:
    return Msg("{analyte} needs a unit: {text!r} could be {unit} or {other} (plausible values overlap); "
               "write e.g. {example} or {other_example}", analyte=analyte.id, text=text.strip(),
               unit=analyte.units[0], other=analyte.units[1], example=Numeric(f"{value}{analyte.units[0]}"),
               other_example=Numeric(f"{value}{analyte.units[1]}"))


def bare_number_units(analyte: Analyte, number: float) -> tuple[str, ...]:
    """The accepted units other than the canonical one in which `number`, given without a unit,
    is a believable result (analytes.toml `believable`): where any is, the canonical unit is
    not assumed."""
    return tuple(other for other, low, high in analyte.believable if low <= number <= high)

def check_assumed_units(measurements: Iterable[Measurement]) -> None:
    """Refuse a panel where a result was given in a unit that another, bare result could also be
    in (ALP in µkat/L beside a bare ALT): the laboratory reports in that unit, so assuming the
    canonical unit for the bare one would be a guess. An error naming both, with the hint."""
    measurements = list(measurements)
    stated = {m.unit: m for m in measurements if not m.unit_assumed}
    for m in measurements:
        if not m.unit_assumed:
            continue
        analyte = analytes()[m.analyte]
        for other in analyte.units:
            if other in stated and other != analyte.canonical_unit and to_canonical_factor(analyte, other) != 1:
                given = stated[other]
                raise UnitError(Msg(
                    "{analyte} {input!r} has no unit, but {given} is given in {other} ({given_input!r}): levlab "
                    "does not assume {canonical} beside {other}; write the unit, e.g. {example} or {other_example}",
                    analyte=m.analyte, input=m.input, given=given.analyte, other=other, given_input=given.input,
                    canonical=analyte.canonical_unit, example=_with_unit(m.input, analyte.canonical_unit),
                    other_example=_with_unit(m.input, other)))


def _check_bare_number(analyte: Analyte, number: float, text: str, shown_value: str) -> None:
    others = bare_number_units(analyte, number)
    if not others:
        return
    canonical = analyte.canonical_unit
    readings = Joined(" or ", (
        Msg("{unit} ({value} {unit} = {canonical_value} {canonical})", unit=other, value=Numeric(shown_value),
            canonical_value=number * to_canonical_factor(analyte, other), canonical=canonical)
        for other in others))
    zones = Joined(", ", (Msg("{low}-{high} may be {unit}", low=float(low), high=float(high), unit=other)
                          for other, low, high in analyte.believable))
    examples = Joined(" or ", (Numeric(_with_unit(shown_value, u)) for u in (canonical, *others)))
    raise ImplausibleValueError(Msg(
        "{analyte} {text!r} has no unit, and {value} may be {readings} as well as {value} {canonical}: levlab does "
        "not guess (a bare {analyte} of {zones}, see `levlab units {analyte}`); write the unit, e.g. {examples}",
        analyte=analyte.id, text=text.strip(), value=Numeric(shown_value), readings=readings, canonical=canonical,
        zones=zones, examples=examples))


def _with_unit(value: str, unit: str) -> str:
    """`6U/L`, but `300 10^9/L` (a unit starting with a digit needs the space)."""
    return f"{value} {unit}" if unit[:1].isdigit() else f"{value}{unit}"


def _unit_hints(analyte: Analyte, number: float, unit: Unit, value: float) -> Msg:
    """`; did you mean ...` naming only units that change the value, or a plain request to check."""
    hints = []
    for other in analyte.units:
        if other == unit.key:
            continue
        as_other = number * to_canonical_factor(analyte, other)
        if as_other == value:  # same number in the canonical unit (µg/L and ng/mL): no hint
            continue
        if analyte.plausible_low <= as_other <= analyte.plausible_high:
            if other == analyte.canonical_unit:
                hints.append(Msg("{number} {unit}", number=number, unit=other))
            else:
                hints.append(Msg("{unit} ({number} {unit} = {value} {canonical})", unit=other, number=number,
                                 value=as_other, canonical=analyte.canonical_unit))
    return Msg("; did you mean {hints}?", hints=Joined(" or ", hints)) if hints else Msg("; check the value and its unit")


def _check_plausible(analyte: Analyte, number: float, unit: Unit, value: float, text: str,
                     *, assumed: bool, configured: bool = False) -> tuple[str, ...]:
    """() when usual; a warning when unusual for a stated unit (for a unit from settings, with the
    unit it was probably meant in); an error when impossible, or unusual for an assumed unit."""
    if analyte.plausible_low <= value <= analyte.plausible_high:
        return ()
    canonical = analyte.canonical_unit
    if not analyte.possible_low <= value <= analyte.possible_high:
        span = Numeric(f"{format_number(analyte.possible_low)}-{format_number(analyte.possible_high)} {canonical}")
        raise ImplausibleValueError(Msg(
            "{analyte} {text!r} is implausible in {unit}: impossible whatever the unit (possible {span}: {basis}){hints}",
            analyte=analyte.id, text=text.strip(), unit=unit.key, span=span, basis=analyte.possible_basis,
            hints=_unit_hints(analyte, number, unit, value)))
    span = Numeric(f"{format_number(analyte.plausible_low)}-{format_number(analyte.plausible_high)} {canonical}")
    if assumed:
        raise ImplausibleValueError(Msg(
            "{analyte} {text!r} is implausible in {unit}, the unit assumed when none is given (usual {span}: {basis}){hints}",
            analyte=analyte.id, text=text.strip(), unit=unit.key, span=span, basis=analyte.plausible_basis,
            hints=_unit_hints(analyte, number, unit, value)))
    if configured:
        template = (N_("{text} has no unit and was read in {unit}, the unit from settings: unusually low for {name} "
                       "(usual {span}){hints}") if value < analyte.plausible_low else
                    N_("{text} has no unit and was read in {unit}, the unit from settings: unusually high for {name} "
                       "(usual {span}){hints}"))
        return (Msg(template, text=text.strip(), name=analyte.name, unit=unit.key, span=span,
                    hints=_unit_hints(analyte, number, unit, value)),)
    template = (N_("{text} is unusually low for {name} in {unit} (usual {span}); check value and unit")
                if value < analyte.plausible_low else
                N_("{text} is unusually high for {name} in {unit} (usual {span}); check value and unit"))
    return (Msg(template, text=text.strip(), name=analyte.name, unit=unit.key, span=span),)


def assess(measurement: Measurement, patient: Patient, table: IntervalTable | None = None,
           candidates: tuple[tuple[Interval, ...], tuple[Interval, ...]] | None = None) -> AnalyteResult:
    """Judge one measurement against the interval(s) that may apply to this patient
    (`candidates`: ranges.candidate_intervals for them, when the caller has it already)."""
    table = table or default_intervals()
    bounds = measurement.bounds
    if measurement.lab_interval is not None:
        return _judged(measurement, measurement.lab_interval, None)
    certain, possible = candidates or candidate_intervals(table, measurement.analyte, patient)
    candidates = certain + possible
    if not candidates:
        return AnalyteResult(measurement.analyte, measurement, "?", None, None, _no_interval_reason(table, measurement.analyte, patient))
    if len(candidates) == 1:
        only = candidates[0]
        one_sided = (only.sex and patient.sex is None) or (only.smoker is not None and patient.smoker is None)
        if not certain and one_sided:
            # An interval for one sex (or smoking status) only: the patient may be the other, for whom
            # no interval exists, so the value is not judged (an unknown age still assumes the adult span).
            reason = Msg("{unknown} unknown and an interval exists only for {who} ({interval})",
                         unknown=_unknowns(patient, candidates), who=_who(only), interval=Numeric(only.text))
            return AnalyteResult(measurement.analyte, measurement, "?", None, None, reason, candidates)
        note = None if certain else Msg("{unknown} unknown: assumed {who}", unknown=_unknowns(patient, candidates),
                                        who=_who(only))
        return _judged(measurement, only, note)
    flags = {interval.flag(bounds) for interval in candidates}
    choices = Joined("; ", (Msg("{who}: {interval}", who=_who(interval), interval=Numeric(interval.text))
                            for interval in candidates))
    what = _unknowns(patient, candidates)
    if len(flags) == 1:
        flag = flags.pop()
        reason = Msg("{unknown} unknown; {flag} under every interval that may apply ({choices})",
                     unknown=what, flag=flag, choices=choices)
    else:
        flag = "?"
        reason = Msg("{unknown} unknown and the value lies between the possible limits ({choices})",
                     unknown=what, choices=choices)
    return AnalyteResult(measurement.analyte, measurement, flag, None, None, reason, candidates)


def assess_context(analyte_id: str, patient: Patient, table: IntervalTable | None = None) -> Hashable:
    """All that `assess` looks at of the patient for this analyte: equal contexts, equal results.

    That is the intervals that surely or possibly hold and which facts are unknown; with no
    interval at all the reason names the patient, so the patient itself. `levlab csv` caches
    `assess` per (measurement, context), so a file of thousands of patients judges each value
    once per sex and age band. Keep this in step with `assess`.
    """
    certain, possible = candidate_intervals(table or default_intervals(), analyte_id, patient)
    if not certain and not possible:
        return patient
    return certain, possible, patient.sex is None, patient.age is None, patient.smoker is None


def _judged(measurement: Measurement, interval: Interval, note: str | None) -> AnalyteResult:
    flag = interval.flag(measurement.bounds)
    x_uln = None
    if interval.high and measurement.comparator is None:
        x_uln = measurement.value / interval.high
    reason = note
    if flag == "?":
        reason = Msg("censored value {input} straddles the interval {interval}", input=measurement.input,
                     interval=Numeric(interval.text))
    return AnalyteResult(measurement.analyte, measurement, flag, interval, x_uln, reason, (interval,))


#: the sex letters as a person reads them (Dutch: V for vrouw); the data and JSON keep F and M
SEX_LETTERS = {"F": N_("F"), "M": N_("M")}


def _who(interval: Interval) -> str:
    parts: list[str] = []
    if interval.sex:
        parts.append(Msg(SEX_LETTERS.get(interval.sex, interval.sex)))
    if interval.age_min is not None or interval.age_max is not None:
        low = interval.age_min if interval.age_min is not None else 0
        parts.append(Msg("{low}-{high} y", low=low, high=interval.age_max) if interval.age_max is not None
                     else Msg("{low}+ y", low=low))
    if interval.smoker is not None:
        parts.append(Msg("smoker") if interval.smoker else Msg("non-smoker"))
    return Joined(" ", parts) if parts else Msg("all")


def _unknowns(patient: Patient, candidates: Iterable[Interval]) -> str:
    candidates = list(candidates)
    missing = []
    if patient.sex is None and any(i.sex for i in candidates):
        missing.append(Msg("sex"))
    if patient.age is None and any(i.age_min is not None or i.age_max is not None for i in candidates):
        missing.append(Msg("age"))
    if patient.smoker is None and any(i.smoker is not None for i in candidates):
        missing.append(Msg("smoking status"))
    return Joined(" and ", missing) if missing else Msg("patient")


def _no_interval_reason(table: IntervalTable, analyte_id: str, patient: Patient) -> str:
    known = table.for_analyte(analyte_id)
    if not known:
        return Msg("no reference interval for {analyte}: supply the laboratory's range", analyte=analyte_id)
    spans = Joined(", ", sorted({_who(interval) for interval in known}))
    facts = [part for part in (Msg("sex {sex}", sex=Msg(SEX_LETTERS.get(patient.sex, patient.sex))) if patient.sex else "",
                               Msg("age {age}", age=float(patient.age)) if patient.age is not None else "") if part]
    return Msg("no reference interval for {analyte} holds for {facts} (intervals exist for {spans}): supply the "
               "laboratory's range", analyte=analyte_id, facts=Joined(", ", facts) if facts else Msg("this patient"),
               spans=spans)


def unusable(analyte_id: str, reason: str) -> AnalyteResult:
    """A result that was present but could not be read: indeterminate, with the reason."""
    return AnalyteResult(analyte_id, None, "?", None, None, reason)


def interpret_results(
    results: Iterable[AnalyteResult],
    patient: Patient,
    baseline: Iterable[AnalyteResult] = (),
    previous: Iterable[AnalyteResult] = (),
    *,
    conventions: bool = True,
) -> PanelResult:
    """Apply the rules, CTCAE grades (against `baseline` results, if any) and the R ratio to judged
    results; `previous` is the patient's previous sample, for the serial rules. Without
    `conventions` the grades, pattern and relation note are left out (a caller that makes them
    another way: exports.panel_json)."""
    order = {analyte_id: index for index, analyte_id in enumerate(analytes())}
    ordered = tuple(sorted(results, key=lambda result: order[result.analyte]))
    previous = tuple(previous)
    hits, undecided, normal_panel = evaluate_rules(ordered, previous)
    notes = panel_notes(ordered)
    by_id = {result.analyte: result for result in ordered}
    baseline = tuple(baseline)
    grades, pattern, relation = (), None, None
    if conventions:
        grades = panel_grades(by_id, {result.analyte: result for result in baseline})
        pattern = r_ratio_pattern(by_id)
        relation = relation_note((hit.rule_id for hit in hits), pattern)
    defaults = default_judged(ordered)
    panel_ids = normal_panel_analytes()
    return PanelResult(patient, ordered, hits, undecided, normal_panel, notes, grades, pattern, baseline, previous, relation,
                       defaults, tuple(analyte_id for analyte_id in defaults if analyte_id in panel_ids))


def panel_notes(ordered: Iterable[AnalyteResult]) -> tuple[str, ...]:
    """A panel's notes: each result whose unit was assumed."""
    return tuple(
        Msg("{analyte}: no unit given, {unit} assumed", analyte=result.analyte, unit=result.measurement.unit)
        for result in ordered
        if result.measurement is not None and result.measurement.unit_assumed
    )


def default_judged(ordered: Iterable[AnalyteResult]) -> tuple[str, ...]:
    """The analytes of a panel judged against levlab's default intervals, in its order."""
    return tuple(result.analyte for result in ordered if uses_default_interval(result))


_DEFAULT_JUDGED: dict[int, tuple[AnalyteResult, bool]] = {}  # id(result) -> (result, uses_default_interval)


def uses_default_interval(result: AnalyteResult) -> bool:
    """Whether the result was judged against levlab's shipped default interval(s) rather than
    the laboratory's own (a range column or --ranges file): its interval, or every candidate.
    (Asked of the same result again and again in a stream of panels: answered once per result.)"""
    kept = _DEFAULT_JUDGED.get(id(result))
    if kept is not None and kept[0] is result:
        return kept[1]
    if len(_DEFAULT_JUDGED) >= 8_192:
        _DEFAULT_JUDGED.clear()
    answer = _uses_default_interval(result)
    _DEFAULT_JUDGED[id(result)] = (result, answer)
    return answer


def _uses_default_interval(result: AnalyteResult) -> bool:
    judged_by = (result.interval,) if result.interval is not None else result.candidates
    shipped = default_intervals().for_analyte(result.analyte)
    return bool(judged_by) and all(interval in shipped for interval in judged_by)


def interpret_panel(
    measurements: Mapping[str, Measurement | str] | Iterable[Measurement],
    patient: Patient | None = None,
    table: IntervalTable | None = None,
    baseline: Mapping[str, Measurement] | None = None,
) -> PanelResult:
    """Judge every measurement and apply the rules. A str value is an unreadable result's error.

    `baseline` measurements (judged for the same patient) are what the CTCAE grades compare with.
    """
    patient = patient or Patient()
    items = measurements.values() if isinstance(measurements, Mapping) else measurements
    results = []
    for item in items:
        if isinstance(item, Measurement):
            results.append(assess(item, patient, table))
    if isinstance(measurements, Mapping):
        results.extend(unusable(analyte_id, item) for analyte_id, item in measurements.items() if isinstance(item, str))
    baseline_results = [assess(item, patient, table) for item in (baseline or {}).values()]
    return interpret_results(results, patient, baseline_results)
