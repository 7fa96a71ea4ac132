"""trend_view.py: the terminal view of the cumulative report."""

from __future__ import annotations

from levlab.cumulative import build
from levlab.interpret import interpret_panel
from levlab.model import Patient
from levlab.serial import Sample, link, order, parse_datetime
from levlab.tokens import read_tokens
from levlab.trend_view import band_sparkline, columns_that_fit, view, view_text

WOMAN = Patient(sex="F", age=60)


def report(count: int):
    samples = [Sample("P1", f"2024-{month:02d}-01", parse_datetime(f"2024-{month:02d}-01"),
                      interpret_panel(read_tokens([f"alt={20 + 10 * month}", "bili=10umol/L"]), WOMAN))
               for month in range(1, count + 1)]
    return build("P1", link(order(samples)["P1"]))


def test_band_sparkline_puts_values_and_the_interval_on_one_scale():
    # scale 0..80 in 7 steps: 20 -> 1.75 -> ▃, 40 -> 3.5 -> ▅, 80 -> █; the interval 0..45 (3.9) spans ▁ to ▅
    assert band_sparkline([20, 40, 80], None, 45) == ("▃▅█", "▁-▅")
    # all values inside a wide interval stay low on the scale: they do not look like peaks
    line, band = band_sparkline([10, 11], 5, 100)
    assert line == "▁▁" and band == "▁-█"
    assert band_sparkline([None, 3], None, None) == (" ▄", "")


def test_the_newest_samples_are_shown_right_and_last_n_limits_them():
    made = report(6)
    assert columns_that_fit(made, None, None) == [0, 1, 2, 3, 4, 5]
    assert columns_that_fit(made, None, 2) == [4, 5]
    assert columns_that_fit(made, None, 99) == [0, 1, 2, 3, 4, 5]


def test_a_narrow_terminal_shows_the_newest_that_fit():
    made = report(12)
    shown = columns_that_fit(made, 120, None)
    assert 1 <= len(shown) < 12 and shown[-1] == 11
    text = view_text(view(made, shown))
    assert f"showing the newest {len(shown)}" in text


def test_plain_text_is_never_truncated():
    made = report(12)
    text = view_text(view(made, columns_that_fit(made, None, None)))
    alt = next(line for line in text.splitlines() if line.strip().startswith("alt"))
    assert "30 N" in alt and "140 H" in alt and "…" not in text
    assert "levlab supports clinical judgement" in text


# --- through the command line ---------------------------------------------------------------------

EXPORT = """patient,date,sex,age,alt (U/L),ast (U/L),bilirubin (umol/L),alp (U/L)
P1,2024-03-01,F,60,160,30,20,90
P1,2024-03-12,F,60,60,30,60,90
P1,2024-01-02,F,60,30,20,10,80
"""


def run(tmp_path, *args):
    from click.testing import CliRunner

    from levlab.cli import main

    path = tmp_path / "export.csv"
    path.write_text(EXPORT, encoding="utf-8")
    return CliRunner().invoke(main, ["trend", str(path), *args])


def test_hy_window_option_decides_hys_law_over_time(tmp_path):
    within = run(tmp_path, "--hy-window", "11")  # bilirubin 11 days after the transaminase rise
    assert within.exit_code == 0, within.output
    assert "met: ALT/AST on 2024-03-01, bilirubin on 2024-03-12 (11 d later)" in within.output
    assert "hys-law (with 2024-03-12)" in within.output
    beyond = run(tmp_path, "--hy-window", "10")
    assert "  met: " not in beyond.output and "\n  not met\n" in beyond.output


def test_last_n_keeps_the_newest_columns(tmp_path):
    result = run(tmp_path, "--last", "2")
    header = next(line for line in result.output.splitlines() if line.strip().startswith("analyte"))
    assert "2024-01-02" not in header and header.index("2024-03-01") < header.index("2024-03-12")
    assert "showing the newest 2" in result.output


def test_json_keeps_its_shape_and_adds_the_cumulative_report(tmp_path):
    import json

    (patient,) = json.loads(run(tmp_path, "--format", "json").stdout)
    assert [s["date"] for s in patient["samples"]] == ["2024-01-02", "2024-03-01", "2024-03-12"]
    assert set(patient["samples"][0]) >= {"date", "datetime", "since_previous", "analytes", "flags", "normal_panel"}
    cumulative = patient["cumulative"]
    assert cumulative["hys_law_over_time"]["status"] == "met"
    assert cumulative["hys_law_over_time"]["met"] == [
        {"transaminase_sample": "2024-03-01", "bilirubin_sample": "2024-03-12", "days": 11}]
    alt = cumulative["analytes"]["alt"]
    assert alt["worst_ctcae_after_baseline"]["grade"] == 2 and alt["change_since_previous"]["exceeds_rcv"] is True
