"""Runner figures against the host emulator, with the real poll schedule.

(a) ten jobs whose emulated latency is spread over 2–4 s: batch wall time ÷ the
    slowest job's own time (first send to saved clip) (bar ≤ 1.10: the ten run side by side, not in turn);
(b) one 60 s emulated job: status requests (bar ≤ 15) and how late completion
    was noticed (bar ≤ 5 s).

Prints the figures; exits non-zero when a bar is missed. `--quick` skips (b).
"""

from __future__ import annotations

import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kling_lab.config import load_settings  # noqa: E402
from kling_lab.media import MediaStore  # noqa: E402
from kling_lab.request import GenerationRequest  # noqa: E402
from kling_lab.runner import JobRunner  # noqa: E402
from kling_lab.store import NewJob, Store  # noqa: E402
from tests.emulator import Emulator  # noqa: E402

BAR_RATIO = 1.10
BAR_STATUS_REQUESTS = 15
BAR_LATE_SECONDS = 5.0


def _runner(emu: Emulator) -> tuple[Store, JobRunner]:
    data = Path(tempfile.mkdtemp(prefix="kling-lab-bench-"))
    settings = load_settings(environ={**emu.env(), "KLING_LAB_DATA_DIR": str(data)}, secrets={})
    store = Store(settings.database_path)
    return store, JobRunner(store, MediaStore(settings.media_dir), settings)


def _wait(store: Store, batch_id: str, timeout: float) -> list:
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs = store.jobs_for_batch(batch_id)
        if all(j.state.is_final for j in jobs):
            return jobs
        time.sleep(0.02)
    raise SystemExit(f"batch {batch_id} did not finish in {timeout} s")


def ten_jobs_side_by_side() -> bool:
    with Emulator(latency=(2, 4), seed=7) as emu:
        store, runner = _runner(emu)
        jobs = [NewJob(f"take {i}", "fal", GenerationRequest(prompt=f"shot {i}"), Decimal("0.35")) for i in range(10)]
        runner.start()
        start = time.time()
        batch_id = store.create_batch(template="t", provider="fal", jobs=jobs, now=start)
        runner.wake()
        done = _wait(store, batch_id, 120)
        wall = max(j.finished_at for j in done) - start
        runner.stop()
        # A job's own time runs from its first send, not from the batch's creation: measured from creation, a
        # job that waited for the others would count its wait as its own, and ten jobs run in turn would pass.
        sent = {j.id: min(e.at for e in store.events_for_job(j.id) if e.to_state == "sending") for j in done}
    slowest = max(j.finished_at - sent[j.id] for j in done)
    ratio = wall / slowest
    ok = ratio <= BAR_RATIO and all(j.state.value == "done" for j in done)
    print(f"(a) ten jobs, emulated latency 2–4 s: batch wall {wall:.2f} s, slowest job {slowest:.2f} s, "
          f"ratio {ratio:.3f} (bar ≤ {BAR_RATIO}) {'OK' if ok else 'MISSED'}")
    return ok


def one_long_job() -> bool:
    with Emulator(latency=60) as emu:
        store, runner = _runner(emu)
        runner.start()
        batch_id = store.create_batch(
            template="t", provider="replicate",
            jobs=[NewJob("long", "replicate", GenerationRequest(prompt="a long shot"), Decimal("0.35"))],
        )
        runner.wake()
        (job,) = _wait(store, batch_id, 150)
        runner.stop()
        events = {e.to_state: e.at for e in store.events_for_job(job.id)}
        requests = sum(emu.stats()["status_calls"].values())
    late = events["downloading"] - (events["submitted"] + 60)
    ok = requests <= BAR_STATUS_REQUESTS and late <= BAR_LATE_SECONDS and job.state.value == "done"
    print(f"(b) one 60 s job: {requests} status requests (bar ≤ {BAR_STATUS_REQUESTS}), completion noticed "
          f"{late:.2f} s late (bar ≤ {BAR_LATE_SECONDS:.0f} s) {'OK' if ok else 'MISSED'}")
    return ok


def main() -> int:
    results = [ten_jobs_side_by_side()]
    if "--quick" not in sys.argv:
        results.append(one_long_job())
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
