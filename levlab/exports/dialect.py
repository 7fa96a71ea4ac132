"""Dialect: how an export is written — delimiter, decimal mark, line ending — and where each came from.

The delimiter is sniffed from the first `SAMPLE_LINES` lines unless given; the decimal mark
follows it (`,` for `;`-delimited files, else `.`) unless given.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from levlab.errors import UsageError

SAMPLE_LINES = 50  # lines read ahead to sniff the delimiter
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True, slots=True)
class Dialect:
    """How the file is written: delimiter, decimal mark, line ending, and where each came from."""

    delimiter: str
    decimal: str
    lineterminator: str = "\n"
    delimiter_source: str = "sniffed"
    decimal_source: str = "follows the delimiter"

    def describe(self) -> str:
        """`delimiter ';' (sniffed), decimal ',' (follows the delimiter)`."""
        from levlab.language import N_, Msg

        sources = {"sniffed": N_("sniffed"), "given": N_("given"), "follows the delimiter": N_("follows the delimiter")}
        shown_delimiter = Msg("tab") if self.delimiter == "\t" else repr(self.delimiter)
        return Msg("delimiter {delimiter} ({source}), decimal mark {decimal!r} ({decimal_source})",
                   delimiter=shown_delimiter, source=Msg(sources.get(self.delimiter_source, self.delimiter_source)),
                   decimal=self.decimal, decimal_source=Msg(sources.get(self.decimal_source, self.decimal_source)))


def sniff_delimiter(sample: Sequence[str]) -> str | None:
    """The delimiter among `, ; tab |` that splits the sample into the most consistent rows."""
    best, best_score = None, (0.0, 0)
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(sample, delimiter=delimiter) if row]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(width == widths[0] for width in widths) / len(widths)
        score = (consistent, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def open_dialect(lines: Iterable[str], delimiter: str | None = None, decimal: str | None = None,
                 ) -> tuple[Dialect, Iterator[str]]:
    """Sniff the dialect from the first lines; the lines come back whole, to be read again."""
    iterator = iter(lines)
    sample = list(itertools.islice(iterator, SAMPLE_LINES))
    if not sample:
        raise UsageError("the input is empty: no header row")
    source = "given"
    if delimiter is None:
        delimiter = sniff_delimiter(sample) or ","
        source = "sniffed"
    decimal_source = "given"
    if decimal is None:
        decimal = "," if delimiter == ";" else "."
        decimal_source = "follows the delimiter"
    first = sample[0]
    ending = "\r\n" if first.endswith("\r\n") else ("\r" if first.endswith("\r") else "\n")  # CR alone: old Mac files
    return Dialect(delimiter, decimal, ending, source, decimal_source), itertools.chain(sample, iterator)
