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


# -- write paths (issue 18, Build 1) -------------------------------------------------------


def test_interrupted_write_removes_its_temporary_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_failure_at_write_time_is_one_line_naming_the_path(tmp_path, monkeypatch):
    import errno

    from connectivity import _files
    from connectivity._errors import ConnectivityError, OutputError

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_files.os, "replace", full)
    target = tmp_path / "a.txt"
    with pytest.raises(OutputError, match=rf"cannot write {target} \(No space left on device\)"):
        write_text_atomic(target, "x" * 1000)
    assert list(tmp_path.iterdir()) == []
    assert issubclass(OutputError, ConnectivityError) and issubclass(OutputError, OSError)


def test_staged_folder_moves_everything_or_nothing(tmp_path):
    from connectivity._files import staged_folder

    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("kept")
    (out / "a.csv").write_text("old")
    with staged_folder(out) as stage:
        (stage / "a.csv").write_text("new")
        (stage / "sub").mkdir()
        (stage / "sub" / "b.txt").write_text("b")
        assert not (out / "sub").exists()  # nothing appears before the end
    assert (out / "a.csv").read_text() == "new"
    assert (out / "sub" / "b.txt").read_text() == "b"
    assert (out / "mine.txt").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    for failure in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(failure)), staged_folder(out) as stage:
            (stage / "a.csv").write_text("half")
            (stage / "c.csv").write_text("half")
            raise failure
        assert (out / "a.csv").read_text() == "new"
        assert not (out / "c.csv").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError), staged_folder(fresh) as stage:
        (stage / "x").write_text("x")
        raise RuntimeError
    assert not fresh.exists()
