"""A host's base URL receives the owner's keys: only an owner saves one, and only one the URL policy accepts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kling_lab.config import load_settings, with_saved_settings
from kling_lab.lab import Actor, Lab, NotAllowed
from kling_lab.lab.changes import Changes
from kling_lab.media import MediaStore
from kling_lab.store import Store
from kling_lab.user_settings import UserSettings, load_user_settings

NAMES = {"api.gateway.example": ["93.184.216.34"], "sneaky.example": ["10.0.0.7"]}


def _lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **environ: str) -> Iterator[Lab]:
    monkeypatch.setattr(Changes, "base_url_resolver", staticmethod(lambda host: NAMES[host]))
    settings = load_settings({"KLING_LAB_DATA_DIR": str(tmp_path / "data"), **environ}, {})
    settings.data_dir.mkdir(parents=True)
    store = Store.from_url(None, settings.database_path)
    yield Lab(store, MediaStore(settings.media_dir), None,
              lambda: with_saved_settings(settings, load_user_settings(settings.data_dir).base_urls),
              lambda: load_user_settings(settings.data_dir))
    store.close()


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from _lab(tmp_path, monkeypatch)


@pytest.fixture
def operator_allows_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from _lab(tmp_path, monkeypatch, KLING_LAB_ALLOW_PRIVATE_BASE_URLS="1")


def _saved(lab: Lab) -> dict[str, str]:
    return lab.preferences(Actor("owner")).base_urls


def test_an_owner_saves_an_https_base_url_on_the_public_internet(lab) -> None:
    lab.change_settings(Actor("owner", name="alice@studio.example"),
                        UserSettings(base_urls={"fal": "https://api.gateway.example/fal"}))
    assert _saved(lab) == {"fal": "https://api.gateway.example/fal"}


@pytest.mark.parametrize(("url", "words"), [
    ("http://api.gateway.example", "must start with https://"),
    ("https://127.0.0.1:8443", "this machine"),
    ("https://169.254.169.254/latest", "link-local"),
    ("https://sneaky.example", "sneaky.example (10.0.0.7), which is a private network address"),
    ("https://2130706433", "this machine"),
])
def test_a_base_url_the_policy_refuses_is_a_plain_sentence_and_nothing_is_saved(lab, url, words) -> None:
    with pytest.raises(ValueError, match="fal.ai") as refused:
        lab.change_settings(Actor("owner"), UserSettings(budget_per_day=None, concurrency={"fal": 3},
                                                         base_urls={"fal": url}))
    assert words in str(refused.value) and "Traceback" not in str(refused.value)
    assert _saved(lab) == {} and lab.preferences(Actor("owner")).concurrency == {}


def test_the_operator_may_allow_private_hosts_such_as_the_emulator(operator_allows_private) -> None:
    lab = operator_allows_private
    lab.change_settings(Actor.local(), UserSettings(base_urls={"fal": "http://127.0.0.1:9/fal"}))
    assert _saved(lab) == {"fal": "http://127.0.0.1:9/fal"}
    with pytest.raises(ValueError, match="https://"):  # plain HTTP only for a private host, even then
        lab.change_settings(Actor.local(), UserSettings(base_urls={"fal": "http://api.gateway.example"}))


def test_a_member_cannot_point_a_host_anywhere_and_nothing_is_saved(lab) -> None:
    with pytest.raises(NotAllowed):
        lab.change_settings(Actor("member", name="bob@studio.example"),
                            UserSettings(base_urls={"fal": "https://api.gateway.example"}))
    assert _saved(lab) == {}
