"""levlab.exports.long_rows: a decided long panel's rows written with levlab's fields."""

from __future__ import annotations

from levlab.exports.long_rows import LongChunkOutput


def test_a_chunks_output_lays_out_each_panels_columns_row_by_row() -> None:
    """The rule columns kept once per panel, errors and warnings only where there are any: laid
    out per row, they are what adding each row's texts in turn gives."""
    out = LongChunkOutput()
    out.add([["a"], ["b"]], ["a", "b"], ["alt", "ast"], ["F1", "F2"], "P1", None)
    out.add([["c"]], ["c"], ["ldh"], ["F3"], "P2", ["E3"], ["W3"])
    out.add([["d"], ["e"], ["f"]], ["d", "e", None], ["", "alp", "alt"], ["F4", "F5", "F6"], "P3", ["", "E5", ""])
    assert out.rows == [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]] and out.originals == ["a", "b", "c", "d", "e", None]
    assert out.columns() == [
        ["alt", "ast", "ldh", "", "alp", "alt"],
        ["F1", "F2", "F3", "F4", "F5", "F6"],
        ["P1", "P1", "P2", "P3", "P3", "P3"],
        ["", "", "E3", "", "E5", ""],
        ["", "", "W3", "", "", ""],
    ]


def test_follow_up_columns_come_before_the_warnings() -> None:
    out = LongChunkOutput()
    out.add([["a"], ["b"]], ["a", "b"], ["alt", "ast"], ["F1", "F2"], "P1", None, None,
            [["2024-01-01"] * 2, ["B1", ""], [""] * 2])
    assert out.columns() == [["alt", "ast"], ["F1", "F2"], ["P1", "P1"], ["", ""],
                             ["2024-01-01", "2024-01-01"], ["B1", ""], ["", ""], ["", ""]]


def test_an_empty_chunk_gives_the_sink_nothing() -> None:
    class Refusing:
        def chunk(self, *args: object) -> None:
            raise AssertionError("no rows, no chunk")

    LongChunkOutput().give(Refusing())  # type: ignore[arg-type]
