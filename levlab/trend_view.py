"""`levlab trend` in the terminal: the cumulative report as rows of cells, then rich or plain text.

The cells are made once (`view`); `print_view` colours them with rich on a terminal, `view_text`
aligns them as plain text for pipes and files (never truncated). rich is imported only in
`print_view`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from levlab import DISCLAIMER
from levlab.cumulative import Change, Cumulative, Row, WorstGrade, display_label, variation_table
from levlab.grading import criteria
from levlab.hyslaw import spec as hys_spec
from levlab.language import ENGLISH, N_, Language
from levlab.model import Grade
from levlab.render import KIND_WORDS, STATUS_WORDS
from levlab.rules import rules
from levlab.serial import SPARK, Sample

FLAG_STYLES = {"H": "bold red", "L": "bold blue", "N": "green", "?": "bold yellow", "": ""}
TORSVIK = ("Torsvik T, Lillebo B, Mikkelsen G. Presentation of clinical laboratory results: an experimental "
           "comparison of four visualization techniques. J Am Med Inform Assoc 2013;20(2):325-331 (online 2012)")
FIXED_HEADER = (N_("analyte"), N_("reference"), N_("xULN"), N_("change (RCV)"), N_("trend [band]"), N_("worst CTCAE"))


@dataclass(frozen=True)
class Styled:
    """One cell of the view: its text and a rich style ("" for none); `parts`, when given, style
    pieces of the text one by one (their texts joined are `text`)."""

    text: str
    style: str = ""
    parts: tuple[tuple[str, str], ...] = ()


def sample_label(sample: Sample, samples: Sequence[Sample]) -> str:
    """The column title: cumulative.display_label."""
    return display_label(sample, samples)


def band_sparkline(values: Sequence[float | None], low: float | None, high: float | None) -> tuple[str, str]:
    """A sparkline on a scale that includes the reference interval, and the interval on that
    scale: ("▁▂█", "▁-▃"). Without an interval the band part is empty."""
    known = [v for v in values if v is not None]
    limits = [x for x in (low if low is not None else (0.0 if high is not None else None), high) if x is not None]
    scale = known + limits
    if not known:
        return " " * len(values), ""
    bottom, top = min(scale), max(scale)
    steps = len(SPARK) - 1

    def block(value: float) -> str:
        return SPARK[len(SPARK) // 2 - 1] if top == bottom else SPARK[round((value - bottom) / (top - bottom) * steps)]

    line = "".join(" " if v is None else block(v) for v in values)
    if not limits:
        return line, ""
    band_low = block(low if low is not None else 0.0)
    band_high = block(high) if high is not None else SPARK[-1]
    return line, f"{band_low}-{band_high}"


def change_text(change: Change | None, lang: Language = ENGLISH) -> Styled:
    """`+35% > RCV 29%` (red when it exceeds), `-4% ≤ RCV 15%`, `+12% (no RCV)`, `?`, or empty."""
    if change is None:
        return Styled("")
    if change.percent is None:
        return Styled("?", "yellow")
    shown = f"{change.percent:+.0f}%"
    if change.rcv is None:
        return Styled(lang.gettext("{change} (no RCV)").format(change=shown), "dim")
    if change.exceeds:
        return Styled(f"{shown} > RCV {lang.number(change.rcv, '.1f')}%", "bold magenta")
    return Styled(f"{shown} ≤ RCV {lang.number(change.rcv, '.1f')}%", "")


def worst_text(worst: WorstGrade | None) -> Styled:
    """`G2 2024-09-20` (the first sample with the worst grade), `G1 2024-09-04 (+2)` (two more
    samples with it), `G1BL …` (against the baseline), `G0`, `… +1?` (one sample undecided), `-`."""
    if worst is None:
        return Styled("")
    more = f" +{worst.undecided}?" if worst.undecided else ""
    if worst.grade is None:
        return Styled(f"?{more}" if worst.undecided else "-", "yellow" if worst.undecided else "dim")
    basis = "BL" if worst.basis == "baseline" else ""
    repeats = f" (+{len(worst.samples) - 1})" if len(worst.samples) > 1 else ""
    when = "" if worst.grade == 0 else f" {worst.samples[0]}{repeats}"
    style = "bold red" if worst.grade >= 3 else "red" if worst.grade == 2 else "yellow" if worst.grade == 1 else ""
    return Styled(f"G{worst.grade}{basis}{when}{more}", style)


def _arrow(change: Change | None) -> str:
    if change is None or not change.exceeds or change.percent is None:
        return ""
    return "↑" if change.percent > 0 else "↓"


def _grade(grade: Grade | None) -> str:
    if grade is None or grade.grade is None or grade.grade == 0:
        return ""
    return f" G{grade.grade}{'BL' if grade.basis == 'baseline' else ''}"


def _row_cells(row: Row, shown: Sequence[int], dated: Sequence[bool],
               lang: Language = ENGLISH) -> tuple[list[Styled], list[Styled]]:
    fixed_before = [Styled(f"{row.analyte} ({row.unit})", "bold"), Styled(lang.numbers(row.interval))]
    cells = []
    for index in shown:
        cell = row.cells[index]
        text = f"{lang.numbers(cell.text)} {cell.flag}{_arrow(cell.change)}{_grade(cell.grade)}".strip() if cell.text else ""
        cells.append(Styled(text, FLAG_STYLES[cell.flag]))
    # every dated sample (an undated one has no place in time): the overview of the series
    in_time = [(value, cell) for value, cell, has_date in zip(row.values, row.cells, dated, strict=True) if has_date]
    line, band = band_sparkline([value for value, _ in in_time], row.low, row.high)
    x_uln = "" if row.latest_x_uln is None else lang.number(row.latest_x_uln, ".2f")
    # on a terminal each block takes the colour of its sample's flag, the band is green
    blocks = tuple((block, FLAG_STYLES[cell.flag] if block != " " else "") for block, (_, cell) in zip(line, in_time, strict=True))
    trend = Styled(f"{line} [{band}]", "", (*blocks, (" [", ""), (band, "green"), ("]", ""))) if band else Styled(line, "", blocks)
    fixed_after = [Styled(x_uln), change_text(row.latest_change, lang), trend, worst_text(row.worst)]
    return fixed_before + cells, fixed_after


@dataclass(frozen=True)
class View:
    """The cells and lines of one patient's view."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Styled, ...], ...]
    per_sample: tuple[Styled, ...]  # rules met and normal-panel per sample
    hys_law: tuple[Styled, ...]  # Hy's law over the series
    conventions: tuple[Styled, ...]  # how to read it, with sources
    rule_sources: tuple[Styled, ...]  # the sources of the rules met
    disclaimer: str = DISCLAIMER  # in the reader's language

    @property
    def lines(self) -> tuple[Styled, ...]:
        """Everything below the table, ending with the disclaimer."""
        return (*self.per_sample, *self.hys_law, *self.conventions, *self.rule_sources, Styled(""),
                Styled(self.disclaimer, "italic"))


def columns_that_fit(report: Cumulative, width: int | None, last: int | None, lang: Language = ENGLISH) -> list[int]:
    """Indexes of the samples to show: the last `last`, and on a terminal of `width` columns
    only as many of the newest as fit; all of them when neither limits."""
    count = len(report.samples)
    wanted = count if last is None else max(1, min(last, count))
    if width is None or not report.rows:
        return list(range(count - wanted, count))
    bare = view(report, [], lang)  # the columns every view has
    fixed = sum(max(len(name), *(len(row[i].text) for row in bare.rows)) + 3 for i, name in enumerate(bare.header)) + 1
    dated = _dated(report)
    cells = [_row_cells(row, range(count), dated)[0][2:] for row in report.rows]
    per_sample = max(len(sample_label(s, report.samples)) for s in report.samples)
    per_sample = max(per_sample, *(len(cell.text) for row in cells for cell in row)) + 3  # "│ " and " "
    return list(range(count - max(1, min(wanted, (width - fixed) // per_sample)), count))


def _dated(report: Cumulative) -> list[bool]:
    return [sample.when is not None for sample in report.samples]


def view(report: Cumulative, shown: Sequence[int], lang: Language = ENGLISH) -> View:
    """The cells of one patient's cumulative report, with the samples at `shown` as columns, in the
    reader's language (data texts, such as the Hy's law note, and the sources stay as written)."""
    _ = lang.gettext
    samples = report.samples
    dated = [s.when for s in samples if s.when is not None]
    span = "" if not dated else _(", {first} to {last}").format(first=f"{min(dated):%Y-%m-%d}", last=f"{max(dated):%Y-%m-%d}")
    hidden = len(samples) - len(shown)
    more = _(" (showing the newest {count}; use --last N or a wider terminal)").format(count=len(shown)) if hidden else ""
    count = (_("{count} sample") if len(samples) == 1 else _("{count} samples")).format(count=len(samples))
    title = _("patient {patient}: {count}{span}{more}").format(
        patient=report.patient or _("(no patient column)"), count=count, span=span, more=more)
    labels = [sample_label(samples[i], samples) for i in shown]
    header = (_(FIXED_HEADER[0]), _(FIXED_HEADER[1]), *labels, *(_(name) for name in FIXED_HEADER[2:]))
    rows = []
    for row in report.rows:
        before, after = _row_cells(row, shown, _dated(report), lang)
        rows.append(tuple(before + after))
    return View(title, header, tuple(rows), tuple(_per_sample(report, shown, lang)), tuple(hys_lines(report, lang)),
                tuple(_convention_lines(report, lang)), tuple(_rule_sources(report, shown, lang)), _(DISCLAIMER))


def _per_sample(report: Cumulative, shown: Sequence[int], lang: Language = ENGLISH) -> list[Styled]:
    _, text = lang.gettext, lang.text
    lines: list[Styled] = []
    undated = sum(s.when is None for s in report.samples)
    if undated:
        lines.append(Styled(_("{count} sample(s) with an unreadable date: shown last; not compared with the others, "
                              "graded against ULN, left out of the trend, the worst grade and Hy's law over time").format(
                                  count=undated), "yellow"))
    lines.append(Styled(_("Rules met per sample (sources below)"), "bold"))
    status_style = {"met": "green", "not-met": "red", "incomplete": "yellow"}
    for index in shown:
        summary = report.summaries[index]
        ids = [h.rule_id for h in summary.hits]
        if summary.hys_law_with:
            ids.append(f"hys-law ({hys_partners(summary.label, summary.hys_law_with, lang)})")
        panel = summary.normal_panel
        lines.append(Styled(f"  {sample_label(report.samples[index], report.samples)}: {', '.join(ids) or _('none')}"))
        lines.append(Styled(f"      normal-panel {_(STATUS_WORDS[panel.status])}: {text(panel.reason)}",
                            status_style[panel.status]))
    statements = [(report.summaries[i].label, report.summaries[i].normal_panel.statement) for i in shown
                  if report.summaries[i].normal_panel.statement]
    if statements:
        lines.append(Styled(_("  normal-panel met on {samples}: {statement} (iLive, Uitzaaiingen naar de lever, "
                              "Biochemische indicatoren)").format(samples=", ".join(label for label, _s in statements),
                                                                  statement=text(statements[-1][1])), "green"))
    return lines


def hys_partners(label: str, partners: Sequence[str], lang: Language = ENGLISH) -> str:
    """`this sample`, `with 2024-09-04`, or both."""
    _ = lang.gettext
    others = [p for p in partners if p != label]
    parts = (([_("this sample")] if label in partners else [])
             + ([_("with {samples}").format(samples=", ".join(others))] if others else []))
    return "; ".join(parts)


def hys_lines(report: Cumulative, lang: Language = ENGLISH) -> list[Styled]:
    """Hy's law over the series: status, the samples that met it, the window and the ALP caveat."""
    _ = lang.gettext
    series, table = report.hys_law, hys_spec()
    head = _("hys-law over time (convention; transaminases then bilirubin within {days} d, ALP < 2x ULN on both)").format(
        days=series.window_days)
    lines = [Styled(""), Styled(head, "bold")]
    if series.status == "met":
        for pair in series.met:
            same = pair.transaminase is pair.bilirubin
            first, then = display_label(pair.transaminase, report.samples), display_label(pair.bilirubin, report.samples)
            where = (_("all legs on {first}").format(first=first) if same else
                     _("ALT/AST on {first}, bilirubin on {then} ({days} d later)").format(first=first, then=then, days=pair.days))
            lines.append(Styled(_("  met: {where}").format(where=where), "bold red"))
    elif series.status == "undecided":
        def named(sample: Sample) -> str:
            return display_label(sample, report.samples)

        pairs = [_("{first} with {then}").format(first=named(p.transaminase), then=named(p.bilirubin))
                 if p.transaminase is not p.bilirubin else named(p.transaminase) for p in series.undecided]
        more = _(" and {count} more").format(count=len(pairs) - 3) if len(pairs) > 3 else ""
        lines.append(Styled(_("  undecided: a leg is missing, censored or without a single ULN on {pairs}{more}").format(
            pairs="; ".join(pairs[:3]), more=more), "yellow"))
    else:
        lines.append(Styled(_("  not met"), "green"))
    lines.append(Styled(_("  note: {note}").format(note=table.note), "dim"))
    lines.append(Styled(_("  source: {source}; window: {window}").format(source=table.rule_source, window=table.window_short),
                        "dim"))
    return lines


def _convention_lines(report: Cumulative, lang: Language = ENGLISH) -> list[Styled]:
    _ = lang.gettext
    table = variation_table()
    lines = [Styled(""), Styled(_("How to read it (conventions, not claims of the source texts)"), "bold")]
    lines.append(Styled(_("  cell: value in the canonical unit, flag (L low, N in range, H raised, ? indeterminate); "
                          "↑/↓ = the change since the previous sample exceeds the RCV; G1-G4 = CTCAE grade (GnBL: against "
                          "the baseline)"), "dim"))
    lines.append(Styled(_("  change (RCV): latest result against the previous one; reference change value {formula}, "
                          "z = {z}; {source}").format(formula=table.formula, z=lang.numbers(str(table.z)),
                                                      source=table.formula_source), "dim"))
    sources: dict[str, list[str]] = {}
    for analyte_id, found in table.by_analyte.items():
        sources.setdefault(f"CVi {found.source}; CVa = {found.cva / found.cvi:g} x CVi, {found.cva_source}", []).append(
            f"{analyte_id} {found.cvi:g}%")
    for text, ids in sources.items():
        lines.append(Styled(f"    {', '.join(ids)}: {text}", "dim"))
    if table.unverified:
        lines.append(Styled(_("    no RCV for {analytes}: figures not verified").format(analytes=", ".join(table.unverified)),
                            "dim"))
    lines.append(Styled(_("  trend [band]: one block per sample (all of them, also those not shown as columns) on a scale "
                          "that includes the reference interval; [▁-▃] is where the interval lies on that scale (sparklines "
                          "alone make values look normal: {source})").format(source=TORSVIK), "dim"))
    base = report.baseline
    base_text = _("none") if base is None else f"{display_label(base, report.samples)}, {report.baseline_choice}"
    lines.append(Styled(_("  worst CTCAE: highest CTCAE v{version} grade after the baseline sample ({baseline}); the "
                          "baseline itself is graded against ULN; a baseline above ULN makes later values graded as "
                          "multiples of the baseline (BL), a normal baseline against ULN; the date is the first sample with "
                          "that grade, (+n) the number of later samples with it, +n? samples whose grade is undecided").format(
                              version=criteria().version, baseline=base_text), "dim"))
    for row in report.rows:
        if row.worst is not None and "multiples of the baseline" in row.worst.rule:
            lines.append(Styled(f"    {row.analyte}: {row.worst.rule}", "dim"))
    lines.append(Styled(_("  CTCAE source: {source}").format(source=criteria().source), "dim"))
    return lines


def _rule_sources(report: Cumulative, shown: Sequence[int], lang: Language = ENGLISH) -> list[Styled]:
    _ = lang.gettext
    lines: list[Styled] = []
    met_ids = {h.rule_id for i in shown for h in report.summaries[i].hits}
    if met_ids:
        lines.append(Styled(_("Rule sources"), "bold"))
        for rule in rules():
            if rule.id in met_ids:
                lines.append(Styled(f"  {rule.id} ({_(KIND_WORDS.get(rule.kind, rule.kind))}): {rule.source}, {rule.section}",
                                    "dim"))
    return lines


def view_text(shown_view: View) -> str:
    """The view as aligned plain text: nothing truncated, no colour."""
    rows = [tuple(shown_view.header), *(tuple(c.text for c in row) for row in shown_view.rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(shown_view.header))]
    out = [shown_view.title]
    for number, row in enumerate(rows):
        out.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if number == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    out.extend(line.text for line in shown_view.lines)
    return "\n".join(out) + "\n"


def _text(cell: Styled) -> Any:
    from rich.text import Text

    if cell.parts:
        return Text.assemble(*cell.parts, overflow="fold")
    return Text(cell.text, style=cell.style, overflow="fold")


def print_view(shown_view: View, console: Any) -> None:
    """The view as a coloured rich table on a terminal."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=shown_view.title, title_justify="left", title_style="bold")
    for index, name in enumerate(shown_view.header):
        # Text: "[band]" is no markup; fold, never an ellipsis: a narrow terminal wraps cells, it hides
        # nothing; min_width = the longest word, so a date or a value is never cut in two
        words = [len(word) for row in shown_view.rows for word in row[index].text.split()] + [
            len(word) for word in name.split()]
        table.add_column(Text(name), overflow="fold", min_width=max(words), justify="right" if name == "xULN" else "left")
    for row in shown_view.rows:
        table.add_row(*(_text(cell) for cell in row))
    console.print(table, crop=False)  # wider than the terminal: lines wrap, nothing is cut off
    for line in shown_view.lines:
        console.print(Text(line.text, style=line.style))
