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
