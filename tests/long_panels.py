"""Random long exports for the tests that hold a shortcut of the long path to the long way."""

from __future__ import annotations

import io
import random

from levlab.exports import CsvOptions, CsvRun, CsvSink, JsonlSink

#: (test name, unit, lab range, values ON and a hair around its bounds and CTCAE/rule thresholds)
TESTS = [
    ("ALAT", "U/L", "< 45", ["44", "45", "45.1", "44.9", "70", "135", "225", "<5", ">1000", "30"]),
    ("ASAT", "U/L", "< 35", ["34", "35", "35.01", "105", "20", "NA"]),
    ("AF", "U/L", "35 - 105", ["34.9", "35", "105", "105.1", "263", "525", "80"]),
    ("LD", "U/L", "", ["247", "248", "250", "251", "500", "180"]),
    ("Bilirubine totaal", "umol/L", "< 17", ["16.9", "17", "17.1", "25.5", "51", "12", "1.2 mg/dL"]),
    ("GGT", "U/L", "< 40", ["39", "40", "41", "150"]),
    ("Bilirubine totaal", "", "", ["12", "2.5"]),  # no unit: an error for a bare number that could be mg/dL
    ("Natrium", "mmol/L", "135 - 145", ["139"]),
    ("ALAT", "ukat/L", "", ["0.5", "0.75"]),  # the same ALT in another unit: no conflict when equal
]
SEXES = ["M", "V", "F", "", "NA", "X"]
AGES = ["17", "50", "64", "65", "75", "", "NA", "abc", "140"]
FLAGS = ["", "", "H", "L", "N", "*"]
SPECIMENS = ["serum", "serum", "plasma", "volbloed", "ascites", "urine", "sample42"]


def random_long_export(seed: int, *, decimal: str = ".", flags: bool = False, specimens: bool = False,
                       panels: int = 60) -> str:
    """A long export whose panels repeat a great deal (few patients, few values), with sex and age
    that disagree in some panels, the same analyte twice, missing values and unreadable cells."""
    rng = random.Random(seed)
    delimiter = ";" if decimal == "," else ","
    header = ["patient", "geslacht", "leeftijd", "monsternummer", "bepaling", "uitslag", "eenheid", "referentiewaarde"]
    header += ["vlag"] * flags + ["materiaal"] * specimens
    lines = [delimiter.join(header)]
    for sample in range(panels):
        patient = f"P{rng.randrange(8)}"
        sex = rng.choice(SEXES if rng.random() < 0.3 else SEXES[:3])  # now and then unknown or unreadable
        age = rng.choice(AGES if rng.random() < 0.3 else AGES[1:5])
        for _ in range(rng.randint(1, 7)):
            name, unit, lab_range, values = rng.choice(TESTS)
            value = rng.choice(values)
            row_sex = rng.choice(SEXES) if rng.random() < 0.08 else sex
            row_age = rng.choice(AGES) if rng.random() < 0.08 else age
            cells = [patient, row_sex, row_age, f"S{sample}", name, value.replace(".", decimal), unit,
                     lab_range.replace(".", decimal)]
            cells += [rng.choice(FLAGS)] * flags + [rng.choice(SPECIMENS)] * specimens
            lines.append(delimiter.join(cells))
    return "\n".join(lines) + "\n"


def outputs(text: str) -> tuple[str, list[str], str]:
    """(the CSV output, the closing lines, the JSONL output) of one text, as a stream."""
    run = CsvRun(io.StringIO(text, newline=""), CsvOptions())
    out = io.StringIO(newline="")
    run.run(CsvSink(out, run.dialect))
    lines = run.closing_lines()
    again = CsvRun(io.StringIO(text, newline=""), CsvOptions())
    jsonl = io.StringIO()
    again.run(JsonlSink(jsonl))
    return out.getvalue(), lines, jsonl.getvalue()
