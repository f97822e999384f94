"""Keys typed in a browser session pay only for that session's batches, and are dropped when they end."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.config import Settings
from kling_lab.media import MediaStore
from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.runner import JobRunner
from kling_lab.store import NewJob, Store, new_batch_id
from kling_lab.waiting import wait_for_batch, wait_until
from tests.unit.runner_fakes import FAST, ScriptedHost


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / "db.sqlite3")


class KeyRecordingFactory:
    """Builds the scripted host and remembers which FAL_KEY each client was built with."""

    def __init__(self, clip: bytes) -> None:
        self.host = ScriptedHost(clip)
        self.created_with: dict[str, str | None] = {}

    def __call__(self, provider: str, settings: Settings, media: MediaStore) -> ScriptedHost:
        key = settings.keys.get("FAL_KEY")
        factory = self

        class Bound:
            """The same host, but every create notes the key this client was built with."""

            name, caps = factory.host.name, factory.host.caps

            def __getattr__(self, attr: str):  # noqa: ANN204
                return getattr(factory.host, attr)

            async def create(self, http, request, *, job_id, frames, create_key=None):  # noqa: ANN001, ANN202
                factory.created_with[job_id] = key
                return await factory.host.create(http, request, job_id=job_id, frames=frames, create_key=create_key)

        return Bound()  # type: ignore[return-value]


def _runner(store: Store, tmp_path: Path, factory: KeyRecordingFactory, env_key: str | None = None) -> JobRunner:
    keys = {"FAL_KEY": env_key} if env_key else {}
    settings = Settings(data_dir=tmp_path / "data", base_urls={"fal": "http://127.0.0.1:9"}, keys=keys)
    return JobRunner(store, MediaStore(tmp_path / "data" / "media"), settings, config=FAST,
                     client_factory=factory, transport=factory.host.transport())


def _batch(store: Store, batch_id: str | None = None) -> str:
    job = NewJob("take", "fal", GenerationRequest(prompt="a fox"), Decimal("0.35"))
    return store.create_batch(template="t", provider="fal", jobs=[job], batch_id=batch_id)


def _wait(store: Store, batch_id: str) -> list:
    return wait_for_batch(store, batch_id, timeout=15)


def test_a_typed_key_pays_for_its_own_batch_and_not_for_the_next_one(store, tmp_path, tiny_mp4):
    factory = KeyRecordingFactory(tiny_mp4)
    runner = _runner(store, tmp_path, factory).start()
    try:
        mine = new_batch_id()
        runner.hold_keys(mine, {"FAL_KEY": "typed-in-tab-a"})
        _batch(store, mine)
        runner.wake()
        (first,) = _wait(store, mine)
        # dropped once the batch stopped moving: the job's task lets go of them just after it writes DONE
        wait_until(lambda: not runner.holds_keys_for(mine), timeout=5, what="the typed key to be dropped")
        theirs = _batch(store)  # another tab, or the CLI, with no key of its own
        runner.wake()
        (second,) = _wait(store, theirs)
    finally:
        runner.stop()
    assert first.state == JobState.DONE
    assert second.state == JobState.FAILED
    assert "No key is set for fal.ai" in second.error
    assert factory.created_with == {first.id: "typed-in-tab-a"}


def test_two_sessions_keys_each_pay_for_their_own_batch_only(store, tmp_path, tiny_mp4):
    factory = KeyRecordingFactory(tiny_mp4)
    runner = _runner(store, tmp_path, factory, env_key="operator-key").start()
    try:
        a, b = new_batch_id(), new_batch_id()
        runner.hold_keys(a, {"FAL_KEY": "tab-a-key"})
        runner.hold_keys(b, {"FAL_KEY": "tab-b-key"})
        _batch(store, a)
        _batch(store, b)
        plain = _batch(store)
        runner.wake()
        jobs = {batch: _wait(store, batch)[0] for batch in (a, b, plain)}
    finally:
        runner.stop()
    assert factory.created_with == {jobs[a].id: "tab-a-key", jobs[b].id: "tab-b-key", jobs[plain].id: "operator-key"}


def test_keys_for_a_refused_submit_are_released_at_once(store, tmp_path, tiny_mp4):
    runner = _runner(store, tmp_path, KeyRecordingFactory(tiny_mp4))
    batch_id = new_batch_id()
    runner.hold_keys(batch_id, {"FAL_KEY": "typed"})
    runner.release_keys(batch_id)  # the batch was never written (over budget, invalid)
    assert not runner.holds_keys_for(batch_id)


def test_keys_are_kept_while_the_batch_still_has_a_job_moving(store, tmp_path, tiny_mp4):
    runner = _runner(store, tmp_path, KeyRecordingFactory(tiny_mp4))
    batch_id = new_batch_id()
    runner.hold_keys(batch_id, {"FAL_KEY": "typed"})
    _batch(store, batch_id)  # queued, runner not started
    runner.release_keys(batch_id)
    assert runner.holds_keys_for(batch_id)


def test_the_runners_settings_never_carry_a_typed_key(store, tmp_path, tiny_mp4):
    runner = _runner(store, tmp_path, KeyRecordingFactory(tiny_mp4))
    runner.hold_keys(new_batch_id(), {"FAL_KEY": "typed"})
    assert "FAL_KEY" not in runner.settings.keys
