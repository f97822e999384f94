"""Fault soak: 30 jobs on four hosts against one emulator that injects every kind of fault it knows.

The emulator decides which job meets which fault (faults are per host × operation,
and jobs run at once), so the assertions are exact counts derived from what the
emulator reports it did (`stats()`, `tasks()`), not from a guess of the order:

- every job ends `done`, `failed` with a sentence, or `unknown` — and `unknown`
  exactly as often as a create's answer was really lost;
- the emulator accepted at most one create per job, and exactly one for every
  job that got a host task;
- no partial file is ever recorded as a clip.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kling_lab.config import load_settings
from kling_lab.media import MediaStore
from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.runner import JobRunner
from kling_lab.store import NewJob, Store
from tests.emulator import Emulator
from tests.reliability.backends import Backend
from tests.reliability.helpers import assert_no_partial_clips, fast_config, is_human_reason, wait_final

HANG = 3.0  # longer than the runner's 2 s read timeout
NO_LOOKUP_HOSTS = ("kie", "replicate", "fal")  # a lost create on these can't be found again
LOST_ANSWER_KINDS = ("reset_after", "timeout_after", "malformed_json")
DOWNLOAD_REFUSALS = ("html", "wrong_content_type")

# (kind, host, op, options): every fault fires once (count=1 unless given).
FAULTS: list[tuple[str, str, str, dict[str, Any]]] = [
    # creates: refused-and-retried, refused, answer lost
    ("http", "kie", "create", {"status": 429, "retry_after": "1", "count": 2}),
    ("http", "replicate", "create", {"status": 503, "retry_after": "1"}),
    ("http", "fal", "create", {"status": 429, "retry_after": "1"}),
    ("http", "fal", "create", {"status": 500}),
    ("http", "kie", "create", {"status": 502}),
    ("http", "kling", "create", {"status": 504}),
    ("reset_after", "replicate", "create", {}),
    ("reset_after", "kling", "create", {}),
    ("timeout_after", "fal", "create", {"hang_seconds": HANG}),
    ("timeout_after", "kling", "create", {"hang_seconds": HANG}),
    ("malformed_json", "kie", "create", {}),
    ("malformed_json", "kling", "create", {}),
    # status checks: every kind, all survivable
    ("http", "replicate", "status", {"status": 500, "count": 2}),
    ("http", "fal", "status", {"status": 502}),
    ("http", "fal", "status", {"status": 504}),
    ("http", "kie", "status", {"status": 503, "retry_after": "1"}),
    ("http", "kling", "status", {"status": 429, "retry_after": "1"}),
    ("reset_before", "kie", "status", {}),
    ("reset_after", "replicate", "status", {}),
    ("timeout", "fal", "status", {"hang_seconds": HANG}),
    ("timeout_after", "kling", "status", {"hang_seconds": HANG}),
    ("malformed_json", "kling", "status", {}),
    ("wrong_content_type", "kie", "status", {}),
    ("html", "replicate", "status", {}),
    # downloads: cut, reset, silent, server error (retried); a web page or an error body (refused)
    ("truncated", "kie", "download", {}),
    ("truncated", "fal", "download", {}),
    ("reset_before", "replicate", "download", {}),
    ("timeout", "fal", "download", {"hang_seconds": HANG}),
    ("http", "replicate", "download", {"status": 500}),
    ("html", "kling", "download", {}),
    ("wrong_content_type", "kie", "download", {}),
]

HOST_JOBS = {"kie": 8, "replicate": 8, "fal": 7, "kling": 7}
FAIL_AT_HOST = {"kie": 1, "replicate": 1, "fal": 1, "kling": 1}  # prompts with [emu:fail=...]


@dataclass(frozen=True)
class SoakResult:
    jobs: int
    faults_injected: int
    accepted_creates: int
    states: dict[str, int]


def _prompts(host: str, n: int) -> list[str]:
    prompts = []
    for i in range(n):
        if i < FAIL_AT_HOST.get(host, 0):
            prompts.append(f"[emu:fail=The render node ran out of memory on {host}] {host} take {i}")
        elif i == n - 1:
            prompts.append(f"{host} take {i}, a sunset over the bay")  # an add_outcome rule fails one of these
        else:
            prompts.append(f"{host} take {i}, a fox in the snow")
    return prompts


def run_soak(emu: Emulator, data_dir: Path, *, rounds: int = 1, database_url: str | None = None) -> SoakResult:
    """Run `rounds` × 30 jobs through one runner against `emu` with the fault table, and check every invariant.

    `database_url` runs it on that store (e.g. PostgreSQL) instead of the data dir's SQLite file.
    """
    emu.reset()
    emu.configure(latency=0.3)
    for _ in range(rounds):
        for kind, host, op, options in FAULTS:
            emu.add_fault(kind, host=host, op=op, **options)
    emu.add_outcome("fail", reason="The scene was too dark to render.", match="sunset", count=2 * rounds)

    database = {"KLING_LAB_DATABASE_URL": database_url} if database_url else {}
    settings = load_settings(environ={**emu.env(), "KLING_LAB_DATA_DIR": str(data_dir), **database}, secrets={})
    store = Store.from_url(settings.database_url, settings.database_path)
    runner = JobRunner(store, MediaStore(settings.media_dir), settings, config=fast_config())
    batches = []
    for round_no in range(rounds):
        for host, n in HOST_JOBS.items():
            fields = {"mode": "std"} if host == "kling" else {}
            jobs = [
                NewJob(f"{host} {round_no}.{i}", host, GenerationRequest(prompt=f"r{round_no} {p}", **fields),
                       Decimal("0.35"))
                for i, p in enumerate(_prompts(host, n))
            ]
            batches.append(store.create_batch(template="soak", provider=host, jobs=jobs))
    runner.start()
    try:
        jobs = wait_final(store, batches, timeout=60 * rounds)
    finally:
        runner.stop()
        store.close()

    stats = emu.stats()
    assert stats["server_errors"] == []
    fired = stats["faults_fired"]
    fired_kinds = Counter((f["kind"], f["host"], f["op"]) for f in fired)
    # The emulator logs which fault fired but not its status; the rules do.
    fired_http = Counter()
    for rule in emu.faults():
        if rule["kind"] == "http":
            fired_http[(rule["host"], rule["op"], rule["status"])] += rule["fired"]
    tasks = {t["prompt"]: t for t in emu.tasks()}
    creates = stats["creates_by_prompt"]

    # Exactly one accepted create per job that got a host task; never two for any job.
    for job in jobs:
        count = creates.get(job.prompt, 0)
        assert count <= 1, f"{job.label} was created {count} times"
        if job.host_task_id or job.state == JobState.DONE:
            assert count == 1, (job.label, job.state)

    # `unknown` exactly where a create's answer was lost and could not be found again.
    lost = sum(fired_kinds[(kind, host, "create")] for kind in LOST_ANSWER_KINDS for host in NO_LOOKUP_HOSTS)
    gateway = sum(n for (host, op, status), n in fired_http.items() if op == "create" and status in (502, 504))
    unknown = [j for j in jobs if j.state == JobState.UNKNOWN]
    assert len(unknown) == lost + gateway, [(j.label, j.error) for j in unknown]
    for job in unknown:
        assert "did not send it again" in job.error and is_human_reason(job.error), job.error

    # Everything else ends as the host and the faults say, each failure with a sentence.
    refused_downloads = sum(fired_kinds[(kind, host, "download")] for kind in DOWNLOAD_REFUSALS
                            for host in HOST_JOBS)
    refused_creates = sum(n for (host, op, status), n in fired_http.items() if op == "create" and status == 500)
    download_failures = 0
    create_failures = 0
    for job in jobs:
        if job.state == JobState.UNKNOWN:
            continue
        assert job.state in (JobState.DONE, JobState.FAILED), (job.label, job.state, job.error)
        if job.state == JobState.FAILED:
            assert is_human_reason(job.error), (job.label, job.error)
        task = tasks.get(job.prompt)
        if task is None:
            assert job.state == JobState.FAILED and job.error_kind == "server", (job.label, job.error)
            create_failures += 1
        elif task["outcome"] != "success":
            assert job.state == JobState.FAILED and job.error_kind == "generation_failed", (job.label, job.error)
            assert "ran out of memory" in job.error or "too dark" in job.error, job.error
        elif job.state == JobState.FAILED:
            assert job.error_kind == "download", (job.label, job.error)
            download_failures += 1
    assert create_failures == refused_creates
    assert download_failures == refused_downloads

    assert_no_partial_clips(jobs, settings.media_dir)
    accepted = sum(stats["accepted_creates"].values())
    assert accepted == sum(creates.get(j.prompt, 0) for j in jobs)
    return SoakResult(
        jobs=len(jobs),
        faults_injected=len(fired),
        accepted_creates=accepted,
        states=dict(Counter(j.state.value for j in jobs)),
    )


@pytest.fixture(scope="module")
def emu():
    with Emulator(latency=0.3) as emulator:
        yield emulator


@pytest.mark.slow
def test_thirty_jobs_under_every_fault_end_cleanly_with_one_create_each(emu, tmp_path, backend: Backend) -> None:
    result = run_soak(emu, tmp_path / "data", database_url=backend.url)
    assert result.jobs == 30
    assert result.faults_injected >= len(FAULTS)
    assert result.states.get("done", 0) >= 15
    print(
        f"\nfault soak ({backend.name}): jobs={result.jobs} faults_injected={result.faults_injected} "
        f"accepted_creates={result.accepted_creates} states={result.states}"
    )
