"""`levlab csv --format table` for a large file: the summary (counts, rules met, the first panels
with findings) as blocks of text and tables, printed by rich on a terminal; written to a pipe or
a file, the same bytes rich writes there, made without loading rich (`plain_summary`; the tests
hold it against rich), unless a text could read otherwise to rich (markup, emoji codes, spacing,
characters beyond printable ASCII, lines past the pipe width): then rich prints it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from levlab import DISCLAIMER
from levlab.language import ENGLISH, N_, Language
from levlab.render import PIPE_WIDTH, STATUS_WORDS, _csv_panel_title


@dataclass(frozen=True)
class Block:
    """A line (`text`: shown as it is; `markup`: read by rich as console markup) or a table."""

    kind: str  # "text", "markup" or "table"
    text: str = ""
    style: str = ""
    columns: tuple[tuple[str, str], ...] = ()  # a table's (header, justify)
    rows: tuple[tuple[str, ...], ...] = ()


def summary_blocks(collected: Any, lang: Language = ENGLISH) -> list[Block]:
    """What the summary of a `CollectSink` says, in order."""
    _ = lang.gettext
    blocks = [Block("text", _("levlab csv: {total} panels, {errors} with row errors").format(
        total=collected.total, errors=collected.with_errors), "bold")]
    blocks.append(Block("table", "normal-panel", columns=((_("status"), "left"), (_("panels"), "right")), rows=tuple(
        (_(STATUS_WORDS[status]), str(collected.statuses.get(status, 0))) for status in ("met", "not-met", "incomplete"))))
    if collected.without_liver_test:
        blocks.append(Block("markup", _("{count} panels with no liver test result (a blood gas, a blood count...): "
                                        "counted apart, not in normal-panel above").format(count=collected.without_liver_test)))
    if collected.rule_counts:
        blocks.append(Block("table", _("rules met"), columns=((_("rule"), "left"), (_("panels"), "right")), rows=tuple(
            (rule_id, str(count)) for rule_id, count in collected.rule_counts.most_common())))
    if collected.findings:
        rows = tuple((_csv_panel_title(out, lang), " ".join(r.analyte for r in out.panel.results if r.flag == "H"),
                      " ".join(h.rule_id for h in out.panel.hits), _(STATUS_WORDS[out.panel.normal_panel.status]))
                     for out in collected.findings)
        blocks.append(Block("table", _("panels with findings (first ones)"), columns=tuple(
            (_(column), "left") for column in (N_("panel"), N_("raised"), N_("rules met"), "normal-panel")), rows=rows))
        if collected.more_findings:
            blocks.append(Block("markup", _("... and {count} more panels with findings (use --format jsonl or csv)").format(
                count=collected.more_findings)))
    blocks.append(Block("text", _(DISCLAIMER), "italic"))
    return blocks


def print_blocks(blocks: list[Block], console: Any) -> None:
    """The blocks through rich (a terminal: styles, the console's width)."""
    from rich.table import Table
    from rich.text import Text

    for block in blocks:
        if block.kind == "table":
            table = Table(title=block.text, title_justify="left")
            for header, justify in block.columns:
                table.add_column(header, justify=justify)  # type: ignore[arg-type]
            for row in block.rows:
                table.add_row(*row)
            console.print(table)
        else:
            console.print(Text(block.text, style=block.style) if block.kind == "text" else block.text)


#: a text rich writes to a pipe as it is: printable ASCII, single spaces between words, nothing rich
#: reads as markup (`[`) or an emoji code (`:name:`)
_PLAIN = re.compile(r"(?:[!-9;-Z\\\]^-~]+(?: [!-9;-Z\\\]^-~]+)*)?")
_PLAIN_TEXT = re.compile(r"(?:[!-~]+(?: [!-~]+)*)?")  # a Text: no markup or emoji codes are read in it


def plain_summary(blocks: list[Block]) -> str | None:
    """The blocks as rich writes them to a pipe (no styles, PIPE_WIDTH wide, nothing wrapped), or
    None when a text could read otherwise to rich."""
    lines: list[str] = []
    for block in blocks:
        if block.kind != "table":
            if not (_PLAIN_TEXT if block.kind == "text" else _PLAIN).fullmatch(block.text) or len(block.text) > PIPE_WIDTH:
                return None
            lines.append(block.text)
            continue
        texts = [block.text, *(header for header, _ in block.columns), *(cell for row in block.rows for cell in row)]
        if not all(map(_PLAIN.fullmatch, texts)) or not block.text:
            return None
        widths = [max(len(header), *(len(row[index]) for row in block.rows)) if block.rows else len(header)
                  for index, (header, _) in enumerate(block.columns)]
        if sum(widths) + 3 * len(widths) + 1 > PIPE_WIDTH or len(block.text) > PIPE_WIDTH:
            return None
        lines.append(block.text)
        lines.append("┏" + "┳".join("━" * (width + 2) for width in widths) + "┓")
        lines.append(_row(tuple(header for header, _ in block.columns), widths, block, "┃"))
        lines.append("┡" + "╇".join("━" * (width + 2) for width in widths) + "┩")
        lines.extend(_row(row, widths, block, "│") for row in block.rows)
        lines.append("└" + "┴".join("─" * (width + 2) for width in widths) + "┘")
    return "\n".join(lines) + "\n"


def _row(cells: tuple[str, ...], widths: list[int], block: Block, edge: str) -> str:
    """A table line: each cell padded to its column's width as the column justifies it."""
    return edge + edge.join(f" {cell.rjust(width) if justify == 'right' else cell.ljust(width)} "
                            for cell, width, (_, justify) in zip(cells, widths, block.columns, strict=True)) + edge


def to_a_terminal(stream: IO[str], environ: Mapping[str, str] | None = None) -> bool:
    """Whether rich may treat the stream as a terminal (styles, its width): it is one, or the
    environment says so (TTY_COMPATIBLE, FORCE_COLOR), or this runs inside IPython."""
    import builtins

    environ = os.environ if environ is None else environ
    if "TTY_COMPATIBLE" in environ or "FORCE_COLOR" in environ or hasattr(builtins, "get_ipython"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def write_summary(collected: Any, stream: IO[str], lang: Language = ENGLISH) -> None:
    """The summary of a `CollectSink` on the stream: as plain text to a pipe or a file, else by rich."""
    blocks = summary_blocks(collected, lang)
    # rich draws its boxes in ASCII for a stream whose encoding is not UTF
    utf = (getattr(stream, "encoding", None) or "utf-8").lower().startswith("utf")
    text = None if to_a_terminal(stream) or not utf else plain_summary(blocks)
    if text is not None:
        stream.write(text)
        return
    from levlab.render import make_console

    print_blocks(blocks, make_console(stream))


def load_views() -> None:
    """Import rich ahead of a summary it will print (a terminal): called while other processes
    count the panels (`CollectSink.while_waiting`)."""
    import rich.console
    import rich.table
    import rich.text  # noqa: F401
