"""Atomic writes and content hashes (connectivity._files)."""

from __future__ import annotations

import os
import stat

import pytest

from connectivity._files import atomic_path, cache_key, file_digest, write_text_atomic


def test_atomic_write_replaces_target_with_the_mode_of_a_plain_file(tmp_path):
    target = tmp_path / "out" / "a.txt"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two"
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(os.stat(target).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_digest_follows_content_not_name_and_key_follows_parameters(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_bytes(b"same")
    b.write_bytes(b"same")
    c.write_bytes(b"other")
    assert file_digest(a) == file_digest(b) != file_digest(c)
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "stops.txt").write_text("x")
    before = file_digest(folder)
    (folder / "stops.txt").write_text("y")
    assert file_digest(folder) != before
    assert cache_key("d", {"speed": 5}) == cache_key("d", {"speed": 5})
    assert cache_key("d", {"speed": 5}) != cache_key("d", {"speed": 6})
