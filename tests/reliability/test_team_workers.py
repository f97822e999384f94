"""A team's store: two `kling-lab worker` processes on one PostgreSQL database and one shared folder.

Both workers are real processes (`python -m kling_lab worker`) with
KLING_LAB_DATABASE_URL on the test cluster and one shared data dir (settings
and media), driving a 10-take batch that `kling-lab generate --detach`
enqueued against the host emulator. The emulator counts every create it
accepts, so "exactly 10 creates" is what the host saw, not what the store says.

In the second test the worker holding the batch is SIGKILLed while its clips
are being made at the host; once its leases run out (set to the past here,
as 30 s later) the other worker follows the same host tasks to the end
without sending any create again.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kling_lab.providers.base import JobState
from kling_lab.store import Store
from kling_lab.store.schema import jobs as jobs_table
from tests.emulator import Emulator
from tests.reliability.backends import Backend, open_backend
from tests.reliability.helpers import assert_no_partial_clips, wait_final
from tests.reliability.live import cli_env, json_of, run_cli, start_cli, wait_until

pytestmark = [pytest.mark.slow]

TEMPLATE = "a paper kite over the {dunes|harbor|glacier|canyon|meadow|delta|reef|tundra|steppe|fjord}"
TAKES = 10
OWNER_LINE = re.compile(r"Worker (\S+) is running jobs")


@pytest.fixture
def pg() -> Iterator[Backend]:
    backend = open_backend("postgresql")
    yield backend
    backend.close()


class Worker:
    """One `kling-lab worker` process and the owner id its leases carry."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = start_cli(["worker"], env)
        self.owner = ""
        self.stderr: list[str] = []
        for line in self.process.stderr:  # the note comes first, as soon as the runner runs
            self.stderr.append(line)
            found = OWNER_LINE.search(line)
            if found:
                self.owner = found.group(1).rstrip(".")
                break
        assert self.owner, ("the worker did not start", self.stderr, self.process.poll())

    def stop(self) -> subprocess.CompletedProcess[str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=60)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, "".join(self.stderr) + err)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def lease_owners(store: Store, batch_id: str) -> dict[str, str | None]:
    """Each job of the batch and who holds its lease now (the records leave leases out)."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(jobs_table.c.id, jobs_table.c.lease_owner)
                            .where(jobs_table.c.batch_id == batch_id)).all()
    return dict(rows)


class LeaseWatch:
    """Which owners held each job's lease, sampled from the store while the batch runs."""

    def __init__(self, store: Store, batch_id: str) -> None:
        self.store, self.batch_id = store, batch_id
        self.owners: dict[str, set[str]] = defaultdict(set)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            for job_id, owner in lease_owners(self.store, self.batch_id).items():
                if owner:
                    self.owners[job_id].add(owner)
            time.sleep(0.05)

    def stop(self) -> dict[str, set[str]]:
        self._stop.set()
        self._thread.join(5)
        return dict(self.owners)


def _enqueue(env: dict[str, str]) -> str:
    result = run_cli(["generate", TEMPLATE, "--provider", "fal", "--detach"], env)
    assert result.returncode == 0, (result.stdout, result.stderr)
    document = json_of(result)
    assert len(document["jobs"]) == TAKES
    return document["batch_id"]


def _assert_exactly_one_create_each(emu: Emulator, jobs: list) -> None:
    stats = emu.stats()
    assert stats["accepted_creates"] == {"fal": TAKES}, stats["accepted_creates"]
    assert len(stats["creates_by_prompt"]) == TAKES and set(stats["creates_by_prompt"].values()) == {1}
    created = Counter(record.task_id for record in emu.creates())
    assert sorted(created) == sorted(j.host_task_id for j in jobs) and set(created.values()) == {1}


def test_two_workers_on_one_postgresql_store_finish_a_ten_take_batch_with_exactly_ten_creates(
    pg: Backend, tmp_path: Path
) -> None:
    data_dir = tmp_path / "shared"
    with Emulator(latency=1.0) as emu:
        env = cli_env(data_dir, {**emu.env(), **pg.env})
        workers = [Worker(env), Worker(env)]
        try:
            store = pg.store(data_dir)
            batch_id = _enqueue(env)
            watch = LeaseWatch(store, batch_id)
            jobs = wait_final(store, [batch_id], timeout=60)
            owners = watch.stop()
        finally:
            results = [w.stop() for w in workers]
        for result in results:
            assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
            assert "Traceback" not in result.stderr, result.stderr[-2000:]
        assert [j.state for j in jobs] == [JobState.DONE] * TAKES, [(j.label, j.state, j.error) for j in jobs]
        _assert_exactly_one_create_each(emu, jobs)
        assert_no_partial_clips(jobs, data_dir / "media")
        assert len({j.video_path for j in jobs}) == TAKES
        held_by = Counter(owner for seen in owners.values() for owner in seen)
        assert set(held_by) <= {w.owner for w in workers}, held_by
        assert all(len(seen) == 1 for seen in owners.values()), owners  # no job changed hands while both lived
    print(f"\ntwo workers: {TAKES} takes, creates={TAKES}, jobs per worker={dict(held_by)}")


def test_a_worker_killed_mid_batch_leaves_the_other_to_finish_without_a_second_create(
    pg: Backend, tmp_path: Path
) -> None:
    data_dir = tmp_path / "shared"
    with Emulator(latency=6.0) as emu:
        env = cli_env(data_dir, {**emu.env(), **pg.env})
        workers = [Worker(env), Worker(env)]
        by_owner = {w.owner: w for w in workers}
        try:
            store = pg.store(data_dir)
            batch_id = _enqueue(env)

            def all_at_the_host() -> list:
                current = store.jobs_for_batch(batch_id)
                ready = all(j.host_task_id and j.state in (JobState.SUBMITTED, JobState.RUNNING) for j in current)
                return current if ready else []

            at_kill = {j.id: j for j in wait_until(all_at_the_host, 30, "every take to be accepted by the host")}
            held = lease_owners(store, batch_id)
            holders = Counter(held.values())
            victim = by_owner[holders.most_common(1)[0][0]]
            survivor = next(w for w in workers if w is not victim)
            victim.kill()
            assert emu.stats()["accepted_creates"] == {"fal": TAKES}

            # The dead worker's leases run out (as 30 s later); the survivor claims its jobs on its next tick.
            with store.engine.begin() as conn:
                expired = conn.execute(update(jobs_table).where(jobs_table.c.lease_owner == victim.owner)
                                       .values(lease_until=0.0)).rowcount
            assert expired == holders[victim.owner]
            watch = LeaseWatch(store, batch_id)
            jobs = wait_final(store, [batch_id], timeout=60)
            owners_after = watch.stop()
        finally:
            survivor_result = workers[0].stop() if workers[0].process.poll() is None else None
            other = workers[1].stop() if workers[1].process.poll() is None else None
        for result in (survivor_result, other):
            if result is not None:
                assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
        assert victim.process.returncode == -signal.SIGKILL
        assert [j.state for j in jobs] == [JobState.DONE] * TAKES, [(j.label, j.state, j.error) for j in jobs]
        _assert_exactly_one_create_each(emu, jobs)
        for job in jobs:
            assert job.host_task_id == at_kill[job.id].host_task_id, job.label  # followed, not made again
        taken_over = {job_id for job_id, seen in owners_after.items() if survivor.owner in seen}
        assert {job_id for job_id, owner in held.items() if owner == victim.owner} <= taken_over
        assert_no_partial_clips(jobs, data_dir / "media")
    print(f"\nworker killed: {holders[victim.owner]} of {TAKES} takes held by the killed worker, "
          f"all finished by the other; creates={TAKES}")
