"""levlab/data: the packaged TOML files, and their parsed form kept beside them (a cache that
returns exactly what tomllib returns, and is never used for a text other than the file's own)."""

from __future__ import annotations

import marshal
import os
import tomllib

import pytest

from levlab import data
from levlab.data import DATA_DIR, cache_path, read_toml

PACKAGED = sorted(name for name in os.listdir(DATA_DIR) if name.endswith(".toml"))


def parse_only(path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return tomllib.loads(handle.read())


@pytest.fixture
def a_file(tmp_path):
    """A small TOML file and where its cache goes."""
    source = tmp_path / "sample.toml"
    source.write_text('[[interval]]\nanalyte = "alt"\nlow = 0.5\nhigh = 45\nnote = "µkat/L"\nflag = true\n',
                      encoding="utf-8")
    return str(source), cache_path("sample.toml", str(tmp_path / "__pycache__"))


def refuse_to_parse(monkeypatch):
    def refused(text):
        raise AssertionError("parsed, though the cache holds this text")

    monkeypatch.setattr(tomllib, "loads", refused)


@pytest.mark.parametrize("name", PACKAGED)
def test_every_packaged_file_reads_the_same_parsed_and_from_its_cache(name, tmp_path):
    path = os.path.join(DATA_DIR, name)
    cached = cache_path(name, str(tmp_path))
    parsed = read_toml(path, cached)  # parses and writes the cache
    assert os.path.exists(cached)
    assert parsed == parse_only(path)
    assert read_toml(path, cached) == parse_only(path)  # from the cache


def test_the_second_read_comes_from_the_cache(a_file, monkeypatch):
    path, cached = a_file
    first = read_toml(path, cached)
    refuse_to_parse(monkeypatch)
    assert read_toml(path, cached) == first == {"interval": [{"analyte": "alt", "low": 0.5, "high": 45,
                                                              "note": "µkat/L", "flag": True}]}


def test_an_edited_file_is_parsed_again_whatever_its_timestamp(a_file):
    path, cached = a_file
    read_toml(path, cached)
    stat = os.stat(path)
    with open(path, "w", encoding="utf-8") as handle:  # same length, same time: only the text tells
        handle.write('[[interval]]\nanalyte = "ast"\nlow = 0.5\nhigh = 35\nnote = "µkat/L"\nflag = true\n')
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert read_toml(path, cached)["interval"][0]["analyte"] == "ast"
    assert read_toml(path, cached)["interval"][0]["high"] == 35


@pytest.mark.parametrize("garbage", [b"", b"not marshal", marshal.dumps(["a list"]), marshal.dumps(("text", [1])),
                                     marshal.dumps(("text",))])
def test_a_damaged_cache_is_parsed_over(a_file, garbage):
    path, cached = a_file
    expected = parse_only(path)
    os.makedirs(os.path.dirname(cached), exist_ok=True)
    with open(cached, "wb") as handle:
        handle.write(garbage)
    assert read_toml(path, cached) == expected
    assert read_toml(path, cached) == expected


def damage_last(cached: str, old: bytes, new: bytes) -> None:
    """Damage a cache file where it still reads: the last `old` in its bytes (in the kept value,
    after the text it was made from) becomes `new`, as a flipped bit or a bad sector would."""
    with open(cached, "rb") as handle:
        held = handle.read()
    at = held.rindex(old)
    with open(cached, "wb") as handle:
        handle.write(held[:at] + new + held[at + len(old):])


def test_a_cache_damaged_where_it_still_reads_is_parsed_over(a_file):
    """A kept value whose bytes changed (ALT's interval read as AST's) is never used: the file is
    parsed again, as when the cache does not read at all."""
    path, cached = a_file
    expected = parse_only(path)
    read_toml(path, cached)  # writes the cache
    damage_last(cached, b"alt", b"ast")
    assert read_toml(path, cached) == expected
    assert read_toml(path, cached) == expected  # (the cache written anew)


def test_a_cache_that_cannot_be_written_is_no_error(a_file, tmp_path):
    path, _ = a_file
    blocked = tmp_path / "a file, not a directory"
    blocked.write_text("", encoding="utf-8")
    cached = cache_path("sample.toml", str(blocked / "__pycache__"))
    assert read_toml(path, cached) == parse_only(path)
    assert not os.path.exists(cached)
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


def test_a_value_marshal_cannot_keep_leaves_no_cache(tmp_path):
    source = tmp_path / "dated.toml"
    source.write_text("since = 2024-03-01\n", encoding="utf-8")
    cached = cache_path("dated.toml", str(tmp_path / "__pycache__"))
    assert str(read_toml(str(source), cached)["since"]) == "2024-03-01"
    assert not os.path.exists(cached)


def test_load_toml_reads_the_packaged_files():
    assert data.load_toml("units.toml") == parse_only(os.path.join(DATA_DIR, "units.toml"))
