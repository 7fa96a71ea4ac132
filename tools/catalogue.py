"""levlab's gettext catalogue: read a .po file, write its compiled .mo (no GNU gettext needed).

    python tools/catalogue.py            # levlab/locale/*/LC_MESSAGES/levlab.po -> levlab.mo

The .mo is shipped as package data; tests/test_language.py checks it is in sync with the .po.
Only what levlab's catalogue uses is read: msgctxt-free entries, msgid/msgstr (no plurals),
`#` comments, escapes \\n \\t \\" \\\\.
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "levlab" / "locale"


def read_po(text: str) -> dict[str, str]:
    """The msgid -> msgstr pairs of a .po text (the header under the empty msgid)."""
    entries: dict[str, str] = {}
    key: str | None = None
    parts: dict[str, list[str]] = {}

    def flush() -> None:
        if "msgid" in parts:
            msgid = "".join(parts["msgid"])
            if msgid in entries:
                raise ValueError(f"msgid repeated in the catalogue: {msgid!r}")
            entries[msgid] = "".join(parts.get("msgstr", []))
        parts.clear()

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("msgid ", "msgstr ")):
            key, _, rest = line.partition(" ")
            if key == "msgid":
                flush()
            parts[key] = [_string(rest, number)]
        elif line.startswith('"') and key is not None:
            parts[key].append(_string(line, number))
        else:
            raise ValueError(f"line {number}: not understood: {raw!r}")
    flush()
    return entries


def _string(literal: str, number: int) -> str:
    if not (literal.startswith('"') and literal.endswith('"')):
        raise ValueError(f"line {number}: a string in double quotes expected: {literal!r}")
    return ast.literal_eval(literal)


def write_mo(entries: dict[str, str]) -> bytes:
    """The GNU .mo bytes of the catalogue (untranslated entries left out, as msgfmt does)."""
    pairs = sorted((k.encode(), v.encode()) for k, v in entries.items() if v)
    header_size, table_size = 7 * 4, len(pairs) * 8
    ids_start = header_size + 2 * table_size
    ids = b"".join(k + b"\0" for k, _ in pairs)
    strs_start = ids_start + len(ids)
    id_table, str_table, offset_id, offset_str = [], [], ids_start, strs_start
    for key, value in pairs:
        id_table += [len(key), offset_id]
        str_table += [len(value), offset_str]
        offset_id += len(key) + 1
        offset_str += len(value) + 1
    header = struct.pack("<7I", 0x950412DE, 0, len(pairs), header_size, header_size + table_size, 0, 0)
    strs = b"".join(v + b"\0" for _, v in pairs)
    return header + struct.pack(f"<{len(id_table)}I", *id_table) + struct.pack(f"<{len(str_table)}I", *str_table) + ids + strs


#: calls whose first argument is a text for the catalogue: gettext's `_` and `N_`, levlab's `Msg`,
#: the separator of `Joined`, and `<language>.gettext(...)`
MARKERS = frozenset({"_", "N_", "Msg", "Joined", "gettext"})


def extract(source: str) -> list[str]:
    """The catalogue texts marked in one Python source, in order (string constants only)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        first = node.args[0]
        if name in MARKERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.append(first.value)
    return found


def compile_all(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every levlab.po under `locale_dir` next to itself; the .mo files written."""
    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/levlab.po")):
        mo = po.with_suffix(".mo")
        mo.write_bytes(write_mo(read_po(po.read_text(encoding="utf-8"))))
        written.append(mo)
    return written


if __name__ == "__main__":
    for path in compile_all():
        print(path, file=sys.stderr)
