"""How long a panel takes inside `levlab shell` (issue 14: no start-up per panel).

    python bench/shell.py              # 100 panels after 20 of warm-up, 5 rounds
    python bench/shell.py --panels 500

Each panel is a distinct line of six analytes (bilirubin in µmol/L or mg/dL, ALP in U/L or
µkat/L, LDH, AST, ALT, GGT; values drawn at random, a fixed seed), typed into one Session with
the patient set, as a clinician would. Timed per line:
  evaluate  Session.evaluate(line): tokens read, judged, rules, plain-text report (what a pipe gets)
  + rich    the same, then the rich table a terminal shows (render.print_panel to a terminal-like
            console writing into memory)
The figures are medians over all panels of all rounds, in milliseconds.
"""

from __future__ import annotations

import argparse
import io
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from levlab.render import make_console, print_panel
from levlab.session import Session


def panel_lines(count: int, seed: int = 14) -> list[str]:
    """Distinct panel lines with the units a Dutch or an English lab would send."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        bili = (f"bili={rng.uniform(3, 80):.0f}umol/L" if rng.random() < 0.5 else f"bili={rng.uniform(0.2, 4.5):.1f}mg/dL")
        alp = f"alp={rng.uniform(40, 600):.0f}U/L" if rng.random() < 0.5 else f"alp={rng.uniform(0.6, 9):.2f}ukat/L"
        lines.append(f"{bili} {alp} ldh={rng.uniform(120, 900):.0f}U/L ast={rng.uniform(10, 300):.0f}U/L "
                     f"alt={rng.uniform(8, 400):.0f}U/L ggt={rng.uniform(10, 500):.0f}U/L")
    return lines


def timed(lines: list[str], session: Session, rich: bool) -> list[float]:
    console = make_console(io.StringIO())
    console.is_terminal  # noqa: B018 - resolved once, as on a terminal
    times = []
    for line in lines:
        start = time.perf_counter()
        reply = session.evaluate(line)
        if rich:
            print_panel(reply.panel, console)
        times.append((time.perf_counter() - start) * 1000)
        assert reply.panel is not None, reply.text
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--panels", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    session = Session()
    for setting in ("sex F", "age 62", "baseline alt=60 ast=40"):
        session.evaluate(setting)
    timed(panel_lines(20, seed=1), session, rich=True)  # warm-up: imports, pint registry, caches of the data
    results: dict[str, list[float]] = {"evaluate": [], "+ rich": []}
    for round_number in range(args.rounds):
        lines = panel_lines(args.panels, seed=100 + round_number)
        results["evaluate"] += timed(lines, session, rich=False)
        results["+ rich"] += timed(lines, session, rich=True)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}; "
          f"{args.panels} panels x {args.rounds} rounds after 20 of warm-up")
    for name, times in results.items():
        quartiles = statistics.quantiles(times, n=4)
        print(f"{name:<9} median {statistics.median(times):.2f} ms  (quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f},"
              f" max {max(times):.1f})")


if __name__ == "__main__":
    main()
