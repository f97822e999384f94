"""Crash and restart: the server is SIGKILLed mid-batch and started again on the same data dir.

The batch is enqueued by `kling-lab generate --detach` (a separate process) and
driven by the app's own runner against the host emulator. At the kill, some
clips are done, some are running at their host, and two are caught in
`sending`: their creates were accepted by the host but the answer never came
(emulator `timeout_after`). After the restart every clip that has a host task
id is followed to the end, a clip lost in `sending` on Kling (which can look up
a task by our job id) is found there, and one on Kie.ai (which can't) becomes
`unknown`. No create is ever sent twice, and the Compare page shows the end
state from the store.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kling_lab.providers.base import JobState
from kling_lab.store import Store
from tests.e2e.conftest import GRID_VIDEOS_JS, run_app, wait_for_app
from tests.emulator import Emulator
from tests.reliability.backends import Backend
from tests.reliability.helpers import assert_no_partial_clips, wait_final
from tests.reliability.live import cli_env, json_of, kill_hard, run_cli, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Per-task latency directives: the snow takes finish before the kill, rain and fog are still running.
RUNNING_TEMPLATE = "a fox crossing a frozen river in {snow [emu:latency=1]|rain [emu:latency=7]|fog [emu:latency=9]}"
SENDING_PROMPT = "a heron lifting off a misty lake at dawn"
HANG = 120.0  # the lost answers never come while the first server lives (its read timeout is 60 s)


def _generate(template: str, hosts: str, env: dict[str, str]) -> tuple[str, list[str]]:
    result = run_cli(["generate", template, "--provider", hosts.split(",")[0], "--sweep", f"provider={hosts}",
                      "--detach"], env)
    assert result.returncode == 0, (result.stdout, result.stderr)
    document = json_of(result)
    return document["batch_id"], [job["id"] for job in document["jobs"]]


def test_a_server_killed_mid_batch_finishes_every_job_on_restart_without_a_second_create(
    tab, tmp_path: Path, backend: Backend
) -> None:
    data_dir = tmp_path / "data"
    with Emulator(latency=1.0) as emu:
        env = cli_env(data_dir, {**emu.env(), **backend.env})
        store: Store | None = None
        with run_app(data_dir, {**emu.env(), **backend.env}) as first:
            running_batch, running_ids = _generate(RUNNING_TEMPLATE, "kie,fal", env)
            assert len(running_ids) == 6
            store = backend.store(data_dir)
            wait_until(lambda: all(j.host_task_id for j in store.jobs_for_batch(running_batch)), 30,
                       "every running-batch job to be accepted by its host")

            # From now on, a create on Kie.ai or Kling is accepted but its answer is lost.
            emu.add_fault("timeout_after", host="kie", op="create", hang_seconds=HANG)
            emu.add_fault("timeout_after", host="kling", op="create", hang_seconds=HANG)
            sending_batch, sending_ids = _generate(SENDING_PROMPT, "kie,kling", env)

            def ready_to_kill() -> bool:
                creates = emu.stats()["accepted_creates"]
                sending = store.jobs_for_batch(sending_batch)
                running = store.jobs_for_batch(running_batch)
                return (creates.get("kie") == 4 and creates.get("kling") == 1
                        and all(j.state == JobState.SENDING for j in sending)
                        and any(j.state == JobState.DONE for j in running)
                        and any(j.state in (JobState.SUBMITTED, JobState.RUNNING) for j in running))

            wait_until(ready_to_kill, 30, "done, running and sending jobs at once")
            at_kill = {j.id: j for j in store.jobs_for_batch(running_batch) + store.jobs_for_batch(sending_batch)}
            creates_before = emu.stats()["accepted_creates"]
            kill_hard(first)

        states_at_kill = Counter(j.state.value for j in at_kill.values())
        assert states_at_kill[JobState.DONE.value] >= 1 and states_at_kill[JobState.SENDING.value] == 2, states_at_kill
        assert sum(creates_before.values()) == 8, creates_before

        with run_app(data_dir, {**emu.env(), **backend.env}) as second:
            jobs = wait_final(store, [running_batch, sending_batch], timeout=60)
            final = {j.id: j for j in jobs}
            stats = emu.stats()
            creates_after = stats["accepted_creates"]

            # Exactly one accepted create per job, before and after the restart: nothing was sent again.
            assert creates_after == creates_before == {"kie": 4, "fal": 3, "kling": 1}, (creates_before, creates_after)
            created_tasks = Counter(record.task_id for record in emu.creates())
            assert len(created_tasks) == 8 and set(created_tasks.values()) == {1}
            assert stats["creates_by_prompt"][SENDING_PROMPT] == 2  # once on Kie.ai, once on Kling
            for job_id, job in final.items():
                if job.host_task_id:
                    assert created_tasks[job.host_task_id] == 1, job
                    if at_kill[job_id].host_task_id:
                        assert job.host_task_id == at_kill[job_id].host_task_id, job  # followed, not re-made

            for job_id in running_ids:
                assert final[job_id].state == JobState.DONE, (final[job_id].label, final[job_id].error)
            by_provider = {final[i].provider: final[i] for i in sending_ids}
            kling, kie = by_provider["kling"], by_provider["kie"]
            assert kling.state == JobState.DONE and kling.host_task_id, (kling.state, kling.error)  # found by lookup
            assert stats["lookup_calls"], stats["lookup_calls"]
            assert kie.state == JobState.UNKNOWN and kie.host_task_id is None, (kie.state, kie.error)
            assert "did not send it again" in kie.error and "Retry" in kie.error, kie.error
            assert_no_partial_clips(jobs, data_dir / "media")

            # The Compare page, opened fresh and reloaded, shows the final state from the store.
            tab.goto(f"{second.url}/compare?batch={running_batch}")
            wait_for_app(tab)
            all_ready = (f"() => {{ const v = {GRID_VIDEOS_JS}; "
                         "return v.length === 6 && v.every(c => c.readyState >= 2); }")
            tab.wait_for_function(all_ready, timeout=60_000)
            tab.reload()
            wait_for_app(tab)
            tab.wait_for_function(all_ready, timeout=60_000)
            assert tab.get_by_text("6 of 6 done", exact=True).count() == 1
            sources = tab.evaluate(f"() => {GRID_VIDEOS_JS}.map(v => v.currentSrc)")
            # Each URL carries the page's file token (`?t=`): the file name is what names the clip.
            names = sorted(urlsplit(s).path.rsplit("/", 1)[-1] for s in sources)
            assert names == sorted(f"{i}.mp4" for i in running_ids)

            tab.goto(f"{second.url}/compare?batch={sending_batch}")
            wait_for_app(tab)
            tab.wait_for_function(f"() => {GRID_VIDEOS_JS}.length === 1", timeout=30_000)
            assert tab.get_by_text("1 of 2 done · 1 need attention", exact=True).count() == 1
            assert "Traceback" not in second.log()

        print(f"\ncrash/restart ({backend.name}): jobs={len(final)} states_at_kill={dict(states_at_kill)} "
              f"creates_before={creates_before} creates_after={creates_after} "
              f"final={dict(Counter(j.state.value for j in final.values()))}")
