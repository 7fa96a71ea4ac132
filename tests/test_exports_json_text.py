"""levlab.exports.json_text: the text is json.dumps's, byte for byte."""

from __future__ import annotations

import json

import pytest

from levlab.exports.json_text import NONCE, dumps, escaped

VALUES = ["plain", 'quo"te\\ and \n\x01 é µ', 1.5, 0.1 + 0.2, 1e-7, 123456789012345678.0, 3, -0.0, None, True,
          {"a": [1, "b", None], "é": {"x": 2.5}}, [], {}, ["\u2028"]]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_is_json_dumps_without_ascii_escapes(value: object) -> None:
    assert dumps(value) == json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize("text", ["", "a\"b", "tab\there", "\x00nul", "é"])
def test_escaped_is_the_inside_of_the_json_string(text: str) -> None:
    assert f'"{escaped(text)}"' == json.dumps(text, ensure_ascii=False)


def test_the_nonce_is_sixteen_hex_digits() -> None:
    assert len(NONCE) == 16 and int(NONCE, 16) >= 0
