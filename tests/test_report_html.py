"""report_html.py and svg_chart.py: the self-contained HTML report of `levlab trend -o`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from levlab.cli import main
from levlab.svg_chart import EdishPoint, Point, edish_chart, nice_ticks, series_chart

SERIES = """patient,date,sex,age,bilirubin (umol/L),alp (U/L),ldh (U/L),ast (U/L),alt (U/L),ggt (U/L)
P1,2024-01-10,F,62,12,88,180,22,18,25
P1,2024-09-20,F,62,58,150,300,180,210,200
P1,2024-09-04,F,62,22,130,260,120,160,140
P1,2025-01-08,F,62,30,118,220,60,<5,90
P2,2024-02-01,M,70,40,410,620,95,120,380
P2,2024-06-01,M,70,45,390,560,85,100,350
"""

SVG = "{http://www.w3.org/2000/svg}"


class Collector(HTMLParser):
    """Every start tag with its attributes, and whether the tags nest properly."""

    VOID = frozenset({"meta", "br", "img", "link", "input", "hr"})  # HTML elements without an end tag

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def write_report(tmp_path, *args: str) -> tuple[str, object]:
    source = tmp_path / "series.csv"
    source.write_text(SERIES, encoding="utf-8")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["trend", str(source), *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8"), result


def check_self_contained_and_well_formed(html: str) -> Collector:
    parser = Collector()
    parser.feed(html)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    for tag, attrs in parser.tags:
        assert tag != "script" and tag != "link" and tag != "iframe" and tag != "object"
        for name in ("src", "href", "xlink:href", "action"):
            assert not (attrs.get(name) or "").lower().startswith(("http:", "https:", "//")), (tag, attrs)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html), "no CSS from the network"
    assert "@import" not in html and "@page" in html
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL):
        ET.fromstring(svg)  # each inline SVG is well-formed XML
    return parser


def test_patient_report_is_self_contained_well_formed_and_has_a_chart_per_analyte(tmp_path):
    html, _ = write_report(tmp_path, "--patient", "P1")
    check_self_contained_and_well_formed(html)
    charts = re.findall(r'<figure class="analyte-chart" data-analyte="(\w+)">\s*<figcaption>.*?</figcaption>\s*(<svg.*?</svg>)',
                        html, flags=re.DOTALL)
    assert sorted(a for a, _ in charts) == sorted(["bilirubin", "alp", "ggt", "ldh", "ast", "alt"])
    for analyte, svg in charts:
        root = ET.fromstring(svg)
        assert root.findall(f"{SVG}rect[@class='band']"), f"{analyte}: no reference band"
        assert root.findall(f".//{SVG}circle"), f"{analyte}: no points"
        dates = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "date"]
        assert "2024-01-10" in dates, f"{analyte}: no dates on the axis"
    alt_svg = dict(charts)["alt"]
    # ALT <5 on 2025-01-08 is censored: an open triangle at 5, not a point on the line; three exact values
    alt_root = ET.fromstring(alt_svg)
    assert len(alt_root.findall(f"{SVG}circle")) == 3
    (censored,) = alt_root.findall(f"{SVG}polygon[@class='censored']")
    assert "<5" in censored.find(f"{SVG}title").text
    assert len(alt_root.find(f"{SVG}polyline").get("points").split()) == 3
    assert 'class="point flag-H"' in alt_svg
    text = re.sub(r"<[^>]+>", "", html)
    assert "patient P1: 4 samples" in text and "patient P2" not in text  # --patient P1: only P1


def test_patient_report_has_the_table_rules_with_sources_conventions_and_the_disclaimer(tmp_path):
    html, _ = write_report(tmp_path, "--patient", "P1")
    text = re.sub(r"<[^>]+>", " ", html)
    header = re.search(r'<table class="cumulative">\s*<thead><tr>(.*?)</tr>', html, flags=re.DOTALL).group(1)
    columns = re.findall(r"<th[^>]*>(.*?)</th>", header)
    # rows were given out of order: the columns are in time order, the newest right
    assert columns[2:6] == ["2024-01-10", "2024-09-04", "2024-09-20", "2025-01-08"]
    assert "normal-panel met" in text and "transaminases-raised" in text
    assert "iLive, Uitzaaiingen naar de lever" in text  # rule sources
    assert "hys-law over time" in text and "bone metastases" in text
    assert "Torsvik" in text and "RCV = z x sqrt(2)" in text and "Carobene" in text
    assert "Conventions used in this report" in text
    assert "levlab supports clinical judgement and does not replace it" in text


def test_cohort_report_draws_edish_with_a_point_per_patient(tmp_path):
    html, _ = write_report(tmp_path, "--edish")
    check_self_contained_and_well_formed(html)
    (svg,) = re.findall(r'<svg[^>]*class="chart edish".*?</svg>', html, flags=re.DOTALL)
    root = ET.fromstring(svg)
    assert len(root.findall(f"{SVG}circle[@class='patient']")) == 2
    assert len(root.findall(f"{SVG}line[@class='threshold']")) == 2
    assert "log scale" in svg


def test_edish_needs_an_output_file(tmp_path):
    source = tmp_path / "series.csv"
    source.write_text(SERIES, encoding="utf-8")
    result = CliRunner().invoke(main, ["trend", str(source), "--edish"])
    assert result.exit_code == 2 and "-o" in result.output


def test_without_the_extra_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_jinja(name, *args, **kwargs):
        if name == "jinja2":
            raise ImportError("No module named 'jinja2'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_jinja)
    source = tmp_path / "series.csv"
    source.write_text(SERIES, encoding="utf-8")
    result = CliRunner().invoke(main, ["trend", str(source), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "pip install 'levlab[report]'" in result.output
    assert not (tmp_path / "r.html").exists()


def test_the_report_refuses_to_overwrite_its_input(tmp_path):
    source = tmp_path / "series.csv"
    source.write_text(SERIES, encoding="utf-8")
    result = CliRunner().invoke(main, ["trend", str(source), "-o", str(source)])
    assert result.exit_code == 2 and source.read_text(encoding="utf-8") == SERIES


# --- svg_chart ----------------------------------------------------------------------------------

def test_series_chart_escapes_text_and_places_the_band():
    points = [Point(datetime(2024, 1, 1), 10, "N", "a<b & c"), Point(datetime(2024, 6, 1), 90, "H", "x")]
    root = ET.fromstring(series_chart("alt <U/L>", "U/L", points, None, 45))
    (band,) = root.findall(f"{SVG}rect[@class='band']")
    y_of = {c.find(f"{SVG}title").text: float(c.get("cy")) for c in root.findall(f"{SVG}circle")}
    band_top, band_bottom = float(band.get("y")), float(band.get("y")) + float(band.get("height"))
    assert band_top < y_of["a<b & c"] <= band_bottom  # 10 lies inside 0..45
    assert y_of["x"] < band_top  # 90 lies above the band (smaller y is higher)


def test_series_chart_without_points_says_so():
    assert "no exact dated values" in series_chart("alt", "U/L", [], None, 45)


def test_edish_axes_are_logarithmic():
    root = ET.fromstring(edish_chart([EdishPoint("A", 1.0, 1.0, False), EdishPoint("B", 10.0, 10.0, True)]))
    (a, b) = root.findall(f"{SVG}circle")
    c = ET.fromstring(edish_chart([EdishPoint("C", 100.0, 100.0, False)])).find(f"{SVG}circle")
    # equal steps in log10: 1 -> 10 is as far as 10 -> 100
    assert float(b.get("cx")) - float(a.get("cx")) == pytest.approx(float(c.get("cx")) - float(b.get("cx")), abs=0.2)
    assert b.get("fill") != a.get("fill")  # met over time is drawn filled


@pytest.mark.parametrize(("low", "high", "expected"), [(0, 60, [0, 20, 40, 60]), (0, 1, [0, 0.25, 0.5, 0.75, 1.0])])
def test_nice_ticks(low, high, expected):
    assert nice_ticks(low, high) == expected


def test_text_from_the_export_is_escaped_in_the_report(tmp_path):
    hostile = SERIES.replace("P1,", '"<script>alert(1)</script>",')
    source = tmp_path / "series.csv"
    source.write_text(hostile, encoding="utf-8")
    out = tmp_path / "report.html"
    for args in ([], ["--edish"]):
        result = CliRunner().invoke(main, ["trend", str(source), *args, "-o", str(out)])
        assert result.exit_code == 0, result.output
        html = out.read_text(encoding="utf-8")
        assert "<script" not in html and "&lt;script&gt;" in html
        check_self_contained_and_well_formed(html)


def test_the_terminal_view_and_json_need_no_jinja2(tmp_path):
    import subprocess
    import sys

    source = tmp_path / "series.csv"
    source.write_text(SERIES, encoding="utf-8")
    code = ("import sys\nsys.modules['jinja2'] = None\nsys.modules['markupsafe'] = None\n"  # as if not installed
            "from levlab.cli import main\n"
            f"main(['trend', {str(source)!r}, *sys.argv[1:]])\n")
    for args in ([], ["--format", "json"]):
        result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "P1" in result.stdout


def test_charts_of_a_patient_share_one_time_axis():
    start, end = datetime(2024, 1, 1), datetime(2024, 12, 1)
    short = [Point(datetime(2024, 6, 1), 10, "N", "a")]
    root = ET.fromstring(series_chart("cea", "µg/L", short, None, 5, (start, end)))
    dates = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "date"]
    assert dates[0] == "2024-01-01" and dates[-1] == "2024-12-01"
    (point,) = root.findall(f"{SVG}circle")
    full = ET.fromstring(series_chart("alt", "U/L", [Point(start, 1, "N", ""), short[0], Point(end, 1, "N", "")], None, 45))
    assert point.get("cx") == full.findall(f"{SVG}circle")[1].get("cx")  # June sits at the same x in both
