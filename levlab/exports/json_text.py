"""JSON text as `json.dumps(value, ensure_ascii=False)` writes it, made without setting up an
encoder per call; and the nonce of the markers JSONL's parts are cut at (`exports.panel_json`,
`exports.result_pieces`)."""

from __future__ import annotations

import json
import secrets
from typing import Any

#: in every marker put into a document to be cut out again: no text of an export holds it
NONCE = secrets.token_hex(8)
string = json.encoder.encode_basestring  # a str as a JSON string (ensure_ascii=False), quoted
_ENCODER = json.JSONEncoder(ensure_ascii=False)
# json.dumps sets up its C encoder on every call; one kept gives the same text (only the check for
# circular references, which these documents never have, is left out)
_C_ENCODE = None if json.encoder.c_make_encoder is None else json.encoder.c_make_encoder(
    None, _ENCODER.default, string, None, _ENCODER.key_separator, _ENCODER.item_separator, False, False, True)


def dumps(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False)`."""
    if isinstance(value, str):
        return string(value)
    if _C_ENCODE is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


def escaped(text: str) -> str:
    """`text` as inside a JSON string."""
    return dumps(text)[1:-1]


def braced(text: str) -> str:
    """`text` as literal text of a format string."""
    return text.replace("{", "{{").replace("}", "}}")
