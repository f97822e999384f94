"""The one atomic-write helper: the target holds the old bytes or the new ones, never a part."""

from __future__ import annotations

import pytest

from kling_lab.atomic import atomic_file, atomic_path, atomic_write_bytes, atomic_write_text


def test_write_bytes_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "clip.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["clip.bin"]


def test_text_is_written_with_unix_newlines(tmp_path):
    target = tmp_path / "settings.json"
    atomic_write_text(target, "a\nb\n")
    assert target.read_bytes() == b"a\nb\n"


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "prices.toml"
    target.write_bytes(b"published")
    with pytest.raises(RuntimeError), atomic_file(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"published"
    assert [p.name for p in tmp_path.iterdir()] == ["prices.toml"]


def test_atomic_path_keeps_the_suffix_writers_choose_formats_by(tmp_path):
    target = tmp_path / "thumb.jpg"
    with atomic_path(target, suffix=".jpg") as tmp:
        assert tmp.suffix == ".jpg" and tmp.parent == tmp_path and not target.exists()
        tmp.write_bytes(b"jpeg")
    assert target.read_bytes() == b"jpeg"
    assert [p.name for p in tmp_path.iterdir()] == ["thumb.jpg"]


def test_only_whole_file_modes_are_accepted(tmp_path):
    with pytest.raises(ValueError), atomic_file(tmp_path / "x", "ab"):
        pass
