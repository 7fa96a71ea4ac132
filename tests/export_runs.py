"""Shared helpers of the tests of levlab.exports: run a CSV text, read the output back."""

from __future__ import annotations

import csv
import io
import json

from levlab.exports import CsvOptions, CsvRun, CsvSink, JsonlSink


def run_csv(text: str, **options: object) -> tuple[CsvRun, list[list[str]]]:
    """Run a CSV text through levlab; the output parsed back with the input's delimiter."""
    run = CsvRun(io.StringIO(text, newline=""), CsvOptions(**options))  # type: ignore[arg-type]
    out = io.StringIO(newline="")
    run.run(CsvSink(out, run.dialect))
    return run, list(csv.reader(io.StringIO(out.getvalue(), newline=""), delimiter=run.dialect.delimiter))


def run_jsonl(text: str, **options: object) -> tuple[CsvRun, list[dict]]:
    run = CsvRun(io.StringIO(text, newline=""), CsvOptions(**options))  # type: ignore[arg-type]
    out = io.StringIO()
    run.run(JsonlSink(out))
    return run, [json.loads(line) for line in out.getvalue().splitlines()]


def column(rows: list[list[str]], name: str) -> list[str]:
    at = rows[0].index(name)
    return [row[at] for row in rows[1:]]


WIDE = (
    "patient,sex,age,Total Bilirubin (mg/dL),ALP (U/L),LDH (U/L),AST (U/L),ALAT (U/L),GGT\n"
    "P1,F,62,0.6,88,180,22,18,25\n"
    "P2,M,70,2.9,410,620,95,120,380\n"
    "P3,V,55,<0.2,NA,175,19,>1000,31\n"
)

LONG_NL = (
    "PatiëntID;Geslacht;Leeftijd;Monsternummer;Bepaling;Uitslag;Eenheid;Referentiewaarde\n"
    "1;V;64;S1;Bilirubine totaal;12;µmol/L;< 17\n"
    "1;V;64;S1;Alkalische fosfatase;98;U/L;40 - 120\n"
    "1;V;64;S1;LD;212;U/L;< 248\n"
    "1;V;64;S1;ASAT;24;U/L;≤31\n"
    "1;V;64;S1;ALAT;19;U/L;< 34\n"
    "1;V;64;S1;Natrium;139;mmol/L;135 - 145\n"
    "2;M;71;S2;Bilirubine totaal;2,5;mg/dL;0,1 - 1,2\n"
    "2;M;71;S2;ALAT;<5;U/L;< 45\n"
)
