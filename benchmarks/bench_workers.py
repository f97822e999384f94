"""A team's store under load: 4 `kling-lab worker` processes, one PostgreSQL database, 200 jobs on the emulator.

A throwaway PostgreSQL cluster (tests/pg.py) holds the store; four real worker
processes share it and one data dir (settings and media); 200 jobs spread over
four hosts (fal, Kie.ai, Replicate, Kling; 2–4 s of emulated work each) are
written as one batch, and the workers run them with the real poll schedule,
50 clips at once per host (the most Settings allows).

Figures and bars:
(a) claims per second: four stores (threads, each its own connection pool)
    claiming one job at a time from 2,000 queued jobs, FOR UPDATE SKIP LOCKED
    (bar ≥ 200/s, every job claimed exactly once);
(b) double creates seen by the emulator (bar: 0; every job created exactly once);
(c) batch wall time minus the slowest job's own time (host accepted it → clip
    saved): how long jobs waited for each other (bar ≤ 6 s: the runner's
    longest early poll step, 5 s, plus one claim tick, 1 s); also jobs per
    worker and how long after its emulated work a clip was saved.

Prints the figures; exits non-zero when a bar is missed. Needs PostgreSQL's
initdb and pg_ctl (see tests/pg.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from kling_lab.request import GenerationRequest  # noqa: E402
from kling_lab.store import NewJob, Store  # noqa: E402
from kling_lab.store.schema import jobs as jobs_table  # noqa: E402
from kling_lab.user_settings import UserSettings, save_user_settings  # noqa: E402
from tests.emulator import Emulator  # noqa: E402
from tests.pg import cluster  # noqa: E402
from tests.reliability.live import cli_env, start_cli  # noqa: E402

WORKERS = 4
JOBS = 200
HOSTS = ("fal", "kie", "replicate", "kling")
CLAIM_JOBS = 2000
BAR_CLAIMS_PER_SECOND = 200.0
BAR_LAG_SECONDS = 6.0


def _new_jobs(n: int, tag: str) -> list[NewJob]:
    jobs = []
    for i in range(n):
        host = HOSTS[i % len(HOSTS)]
        fields = {"mode": "std"} if host == "kling" else {}
        jobs.append(NewJob(f"{tag} {i}", host, GenerationRequest(prompt=f"{tag} shot {i}", **fields), Decimal("0.35")))
    return jobs


def claims_per_second(url: str, tmp: Path) -> bool:
    setup = Store.from_url(url, tmp / "unused")
    for start in range(0, CLAIM_JOBS, 500):
        setup.create_batch(template="t", provider="fal", jobs=_new_jobs(500, f"claim {start}"))
    stores = [Store.from_url(url, tmp / "unused") for _ in range(WORKERS)]
    claimed: list[list[str]] = [[] for _ in range(WORKERS)]
    barrier = threading.Barrier(WORKERS + 1)

    def claim(index: int) -> None:
        barrier.wait()
        for round_ in range(CLAIM_JOBS + 1):  # a new owner each time: an owner may claim its own jobs again
            ids = stores[index].claim_jobs(f"bench-{index}-{round_}", lease_seconds=600, limit=1)
            if not ids:
                return
            claimed[index].extend(ids)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    every = [job_id for ids in claimed for job_id in ids]
    rate = len(every) / elapsed
    ok = len(every) == len(set(every)) == CLAIM_JOBS and rate >= BAR_CLAIMS_PER_SECOND
    print(f"(a) {WORKERS} claimers, {CLAIM_JOBS} jobs one at a time: {rate:.0f} claims/s "
          f"(bar ≥ {BAR_CLAIMS_PER_SECOND:.0f}), claimed once each: {len(every) == len(set(every))}, "
          f"per claimer {[len(c) for c in claimed]} {'OK' if ok else 'MISSED'}")
    for store in (setup, *stores):
        store.close()
    return ok


def workers_run_a_batch(url: str, tmp: Path) -> bool:
    data = tmp / "shared"
    save_user_settings(data, UserSettings(concurrency={host: 50 for host in HOSTS}))
    with Emulator(latency=(2, 4), seed=11) as emu:
        env = cli_env(data, {**emu.env(), "KLING_LAB_DATABASE_URL": url})
        workers = [start_cli(["worker"], env) for _ in range(WORKERS)]
        try:
            for worker in workers:  # each says so once its runner runs
                line = worker.stderr.readline()
                if "is running jobs" not in line:
                    raise SystemExit(f"a worker did not start: {line}")
            store = Store.from_url(url, data / "unused")
            owners: dict[str, str] = {}
            start = time.time()
            batch_id = store.create_batch(template="bench", provider="fal", jobs=_new_jobs(JOBS, "batch"), now=start)
            deadline = start + 180
            while True:
                with store.engine.connect() as conn:
                    rows = conn.execute(select(jobs_table.c.id, jobs_table.c.lease_owner, jobs_table.c.state)
                                        .where(jobs_table.c.batch_id == batch_id)).all()
                for job_id, owner, _state in rows:
                    if owner:
                        owners.setdefault(job_id, owner)
                if all(state in ("done", "failed", "canceled", "unknown") for _, _, state in rows):
                    break
                if time.time() > deadline:
                    raise SystemExit("the batch did not finish in 180 s")
                time.sleep(0.1)
            done = store.jobs_for_batch(batch_id)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    worker.kill()
        stats = emu.stats()
        latency = {t["prompt"]: t["latency"] for t in emu.tasks()}
    wall = max(j.finished_at for j in done) - start
    # A job's own time: from the host accepting it to its clip being saved (emulated work, polls, download).
    own = {j.id: j.finished_at - j.submitted_at for j in done}
    slowest = max(own.values())
    lag = wall - slowest  # how long the slowest job waited before its host had it: claims and create slots
    noticed = sorted(j.finished_at - j.submitted_at - latency[j.prompt] for j in done)
    creates = stats["creates_by_prompt"]
    doubles = sum(1 for n in creates.values() if n > 1)
    all_done = all(j.state.value == "done" for j in done)
    once_each = len(creates) == JOBS and sum(stats["accepted_creates"].values()) == JOBS
    per_worker = sorted(Counter(owners.values()).values(), reverse=True)
    print(f"(b) {JOBS} jobs: {sum(stats['accepted_creates'].values())} accepted creates, {doubles} double creates "
          f"(bar 0), all done: {all_done} {'OK' if doubles == 0 and once_each and all_done else 'MISSED'}")
    ok_lag = lag <= BAR_LAG_SECONDS
    print(f"(c) batch wall {wall:.2f} s, slowest job's own time {slowest:.2f} s: {lag:.2f} s more "
          f"(bar ≤ {BAR_LAG_SECONDS:.0f} s, one poll step and a claim tick) {'OK' if ok_lag else 'MISSED'}; "
          f"jobs per worker {per_worker}; emulated work to saved clip: median {noticed[len(noticed) // 2]:.2f} s, "
          f"max {noticed[-1]:.2f} s")
    return doubles == 0 and once_each and all_done and ok_lag


def main() -> int:
    pg = cluster()
    tmp = Path(tempfile.mkdtemp(prefix="kling-lab-bench-workers-"))
    try:
        results = [claims_per_second(pg.url(), tmp), workers_run_a_batch(pg.url(), tmp)]
    finally:
        pg.stop()
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
