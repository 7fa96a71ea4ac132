"""Shared helper of the Excel tests: a workbook made with openpyxl, as bytes."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import pytest

openpyxl = pytest.importorskip("openpyxl")


def workbook(*sheets: tuple[str, Sequence[Sequence[Any]]], merges: Sequence[tuple[str, str]] = (),
             edit: Callable[[Any], None] | None = None) -> bytes:
    """A workbook of (sheet name, rows) with (sheet name, "A1:A3") merged ranges, saved to bytes."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    for name, ref in merges:
        book[name].merge_cells(ref)
    if edit is not None:
        edit(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
