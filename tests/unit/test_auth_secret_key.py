"""The server secret: configured, or generated once into <data_dir>/secret.key (0600, atomic), never too short."""

from __future__ import annotations

import logging
import os
import stat
import threading

import pytest

from kling_lab.auth.secret_key import SecretKeyError, derive_key, load_secret_key

LONG = "k" * 40


def test_the_environment_wins_over_the_secrets_file_and_no_file_is_written(tmp_path) -> None:
    key = load_secret_key(tmp_path, {"KLING_LAB_SECRET_KEY": LONG}, {"KLING_LAB_SECRET_KEY": "f" * 40})
    assert key == LONG.encode()
    assert load_secret_key(tmp_path, {}, {"KLING_LAB_SECRET_KEY": "f" * 40}) == b"f" * 40
    assert not (tmp_path / "secret.key").exists()


def test_a_short_configured_secret_is_refused_without_showing_it(tmp_path) -> None:
    with pytest.raises(SecretKeyError) as info:
        load_secret_key(tmp_path, {"KLING_LAB_SECRET_KEY": "hunter2"})
    assert "hunter2" not in str(info.value)
    assert "shorter than 32 characters" in str(info.value)
    assert "the environment" in str(info.value)


def test_without_configuration_a_key_is_generated_once_with_owner_only_permissions(tmp_path, caplog) -> None:
    data = tmp_path / "data"
    with caplog.at_level(logging.INFO, logger="kling_lab.auth"):
        first = load_secret_key(data, {})
    path = data / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 64
    assert load_secret_key(data, {}) == first
    assert first.decode() not in caplog.text
    assert [p.name for p in data.iterdir() if not p.name.startswith(".secret.key.lock")] == ["secret.key"]


def test_a_file_others_can_read_is_tightened(tmp_path) -> None:
    path = tmp_path / "secret.key"
    path.write_text("x" * 64 + "\n")
    os.chmod(path, 0o644)
    assert load_secret_key(tmp_path, {}) == b"x" * 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_file_is_a_plain_error_not_a_silent_new_key(tmp_path) -> None:
    (tmp_path / "secret.key").write_text("short")
    with pytest.raises(SecretKeyError, match="Delete it to have a new one made"):
        load_secret_key(tmp_path, {})
    assert (tmp_path / "secret.key").read_text() == "short"


def test_processes_starting_together_agree_on_one_key(tmp_path) -> None:
    barrier = threading.Barrier(8)
    keys: list[bytes] = []

    def start() -> None:
        barrier.wait()
        keys.append(load_secret_key(tmp_path, {}))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1
    assert (tmp_path / "secret.key").read_bytes().strip() == keys[0]


def test_derived_keys_differ_by_purpose_and_by_secret() -> None:
    a = derive_key(b"s" * 32, "session")
    assert a != derive_key(b"s" * 32, "review-link")
    assert a != derive_key(b"t" * 32, "session")
    assert a == derive_key(b"s" * 32, "session")
    assert len(a) == 32
    with pytest.raises(ValueError):
        derive_key(b"s" * 32, "")
