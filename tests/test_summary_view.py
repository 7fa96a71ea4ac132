"""The table summary's text (levlab.summary_view): to a pipe or a file, the bytes rich writes
there, made without rich; rich itself wherever a text could read otherwise to it."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import pytest

from levlab.render import make_console
from levlab.summary_view import Block, plain_summary, print_blocks, to_a_terminal, write_summary

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"


def rich_writes(blocks: list[Block]) -> str:
    """What rich writes to a pipe for the blocks (the expected text: rich's own rendering)."""
    stream = io.StringIO()
    print_blocks(blocks, make_console(stream))
    return stream.getvalue()


def words(rng: random.Random, alphabet: str, most: int) -> str:
    return " ".join("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(rng.randint(0, most)))


PLAIN = "abcxyzABC0123456789-_().,;!?/'\"#%&*+=<>|~{}^\\]@$`"


def random_blocks(rng: random.Random, alphabet: str = PLAIN) -> list[Block]:
    blocks = []
    for _ in range(rng.randint(1, 5)):
        kind = rng.choice(["text", "markup", "table", "table"])
        if kind != "table":
            blocks.append(Block(kind, words(rng, alphabet + (":[" if kind == "text" else ""), 12), rng.choice(["", "bold"])))
            continue
        columns = tuple((words(rng, alphabet, 3) or "h", rng.choice(["left", "right"])) for _ in range(rng.randint(1, 5)))
        rows = tuple(tuple(words(rng, alphabet, 4) for _ in columns) for _ in range(rng.randint(1, 12)))
        blocks.append(Block("table", words(rng, alphabet, 6) or "title", columns=columns, rows=rows))
    return blocks


@pytest.mark.parametrize("seed", range(60))
def test_the_plain_summary_is_what_rich_writes_to_a_pipe(seed: int) -> None:
    blocks = random_blocks(random.Random(seed))
    assert plain_summary(blocks) == rich_writes(blocks)


@pytest.mark.parametrize("text", ["[bold]x[/bold]", "a :smile: b", "two  spaces", " lead", "trail ", "tab\there",
                                  "café", "日本", "x" * 10_001])
@pytest.mark.parametrize("where", ["markup", "title", "header", "cell"])
def test_a_text_rich_could_read_otherwise_goes_to_rich(text: str, where: str) -> None:
    table = Block("table", text if where == "title" else "t", columns=((text if where == "header" else "h", "left"),),
                  rows=((text if where == "cell" else "c",),))
    blocks = [Block("markup", text), table] if where == "markup" else [table]
    assert plain_summary(blocks) is None


def test_a_text_line_may_hold_what_markup_would_read() -> None:
    blocks = [Block("text", "levlab csv: 3 panels [x] :smile:", "bold")]
    assert plain_summary(blocks) == rich_writes(blocks) == "levlab csv: 3 panels [x] :smile:\n"


@pytest.mark.parametrize(("environ", "terminal"), [
    ({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": ""}, True), ({"TTY_COMPATIBLE": "0"}, True),
    ({"NO_COLOR": "1"}, False)])
def test_to_a_terminal(environ: dict[str, str], terminal: bool) -> None:
    """Anything that may make rich treat a pipe as a terminal sends the summary to rich."""
    assert to_a_terminal(io.StringIO(), environ) is terminal


def test_write_summary_of_a_collected_run_equals_rich() -> None:
    from collections import Counter

    from levlab.exports.sinks import CollectSink

    collected = CollectSink()
    collected.total, collected.with_errors, collected.without_liver_test = 5_000, 12, 3
    collected.statuses = Counter({"met": 10, "not-met": 4_000, "incomplete": 987})
    collected.rule_counts = Counter({"ldh-dominant": 7, "bilirubin-over-2": 1_200, "hys-law": 7})
    stream = io.StringIO()
    write_summary(collected, stream)
    from levlab.summary_view import summary_blocks

    assert stream.getvalue() == rich_writes(summary_blocks(collected))
    assert "3 panels with no liver test result" in stream.getvalue()


def test_a_large_file_s_summary_to_a_pipe_never_loads_rich(tmp_path: Path) -> None:
    code = ("import sys\nfrom levlab.cli import main\ntry:\n    main(['csv', sys.argv[1], '--format', 'table'])\n"
            "except SystemExit:\n    pass\nsys.stderr.write('rich loaded' if 'rich' in sys.modules else 'no rich')\n")
    result = subprocess.run([sys.executable, "-c", code, str(GOLDEN / "wide_distinct.csv")], capture_output=True,
                            env={"PATH": "/usr/bin:/bin", "LEVLAB_PROCESSES": "1"}, check=False)
    assert b"rules met" in result.stdout and result.stderr.endswith(b"no rich")


def test_a_stream_not_in_utf_8_goes_to_rich() -> None:
    """rich draws ASCII boxes there: its text, not the plain one."""
    from collections import Counter

    from levlab.exports.sinks import CollectSink

    collected = CollectSink()
    collected.total, collected.statuses = 3, Counter({"met": 3})
    binary = io.BytesIO()
    stream = io.TextIOWrapper(binary, encoding="ascii", newline="")
    write_summary(collected, stream)
    stream.flush()
    assert binary.getvalue().decode("ascii").splitlines()[2].startswith("+")
