"""Host callbacks against the real app: only what the host signed moves a job; the rest is refused or a nudge.

The app runs with the README's command and `KLING_LAB_PUBLIC_URL` pointing at
itself, so every emulated host calls `/webhook/<host>` as a real one would.
For each host that calls back, a task is pinned running and a visitor who
knows its task id (Compare shows it) posts what the host would send on
success, on failure, and on a video of the visitor's choosing: unsigned, with
a wrong signature, and with a valid signature over a stale timestamp. None of
them may change the job. Then the task really ends and the host's own signed
callback (or, for hosts that sign nothing, the poll it prompts) finishes it.
"""

from __future__ import annotations

import copy
import json
import socket
import time
from collections import Counter

import httpx
import pytest

from kling_lab.providers.base import JobState
from tests.e2e.conftest import free_port, run_app
from tests.emulator import Emulator
from tests.reliability.backends import BACKENDS, open_backend
from tests.reliability.live import cli_env, json_of, run_cli, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SIGNING_HOSTS = ("replicate", "kie", "fal")
"""Hosts that sign callbacks (with a secret we hold, or fal's published keys)."""
UNSIGNED_HOSTS = ("kling", "inference")
"""Hosts that call back without a signature: a callback there only prompts a poll."""
EVIL_VIDEO = "http://127.0.0.1:9/visitor-supplied.mp4"
FORGERIES = ("none", "wrong", "stale")


@pytest.fixture(scope="module", params=BACKENDS)
def lab(request, tmp_path_factory):  # noqa: ANN001, ANN201
    """One app per store backend (SQLite, PostgreSQL), with its own emulator, for the whole module."""
    backend = open_backend(request.param)
    data_dir = tmp_path_factory.mktemp("callbacks")
    port = free_port()
    with Emulator(latency=1.0) as emu:
        env = {**emu.env(), "KLING_LAB_PUBLIC_URL": f"http://127.0.0.1:{port}", **backend.env}
        with run_app(data_dir, env, port=port) as app:
            yield emu, app, env, backend.store(data_dir)
    backend.close()


def _submit_and_pin(lab, host: str) -> tuple[str, str]:  # noqa: ANN001
    emu, app, env, store = lab
    result = run_cli(["generate", f"a lighthouse for {host}", "--provider", host, "--detach"],
                     cli_env(app.data_dir, env))
    assert result.returncode == 0, result.stderr
    job_id = json_of(result)["jobs"][0]["id"]
    job = wait_until(lambda: (j := store.get_job(job_id)) and j.host_task_id and j, 30, f"{host} task id")
    emu.force_phase(job.host_task_id, "running", host)
    return job_id, job.host_task_id


def _forged(emu: Emulator, host: str, task_id: str, phase: str, signature: str) -> tuple[bytes, dict[str, str]]:
    """What the host would POST if the task were in `phase`, signed as `signature` says, video swapped."""
    task = copy.copy(emu.task(task_id, host))
    task.forced_phase = phase
    body = json.dumps(emu.hosts[host].callback_body(task)).replace(emu.url + "/files/", "http://127.0.0.1:9/")
    content = body.encode()
    emu.configure(callback_signature=signature)
    try:
        headers = emu.hosts[host].callback_headers(task, content)
    finally:
        emu.configure(callback_signature="valid")
    return content, {"Content-Type": "application/json", **headers}


@pytest.mark.parametrize("host", SIGNING_HOSTS + UNSIGNED_HOSTS)
def test_forged_callbacks_change_no_job_and_the_hosts_own_finishes_it(lab, host):  # noqa: ANN001
    emu, app, _, store = lab
    job_id, task_id = _submit_and_pin(lab, host)
    answers: Counter[int] = Counter()
    with httpx.Client(base_url=app.url, timeout=10) as client:
        for phase in ("succeeded", "failed", "canceled"):
            for signature in FORGERIES:
                content, headers = _forged(emu, host, task_id, phase, signature)
                answers[client.post(f"/webhook/{host}", content=content, headers=headers).status_code] += 1
    time.sleep(1.5)  # long enough for a wrongly believed callback to be applied, or a prompted poll to answer
    job = store.get_job(job_id)
    assert job.state in (JobState.SUBMITTED, JobState.RUNNING), (job.state, job.error)
    assert job.video_path is None
    tried = sum(answers.values())
    if host in SIGNING_HOSTS:
        assert answers == Counter({401: tried}), answers  # every forgery refused outright
    else:
        assert answers == Counter({200: tried}), answers  # a nudge to poll, which says "running"
    print(f"\n{host}: {tried} forged callbacks, {answers.get(401, 0)} refused, job still {job.state.value}")

    emu.force_phase(task_id, None, host)
    emu.force_phase(task_id, "succeeded", host)
    done = wait_until(lambda: (j := store.get_job(job_id)).state.is_final and j, 60, f"{host} job to finish")
    assert done.state == JobState.DONE, done.error
    assert EVIL_VIDEO not in json.dumps(done.details)
    if host in SIGNING_HOSTS:  # the host's own signed callback is accepted (it may land after a poll finished it)
        def delivered() -> list[dict]:
            found = [c for c in emu.stats()["callbacks"] if c["task_id"] == task_id]
            return found if found and found[-1].get("status_code") == 200 else []

        deliveries = wait_until(delivered, 30, f"{host}'s signed callback to be delivered")
        assert deliveries[-1].get("status_code") == 200, deliveries


def test_a_callback_body_over_the_limit_is_refused_while_it_is_read(lab):  # noqa: ANN001
    _, app, _, _ = lab

    def chunks():  # noqa: ANN202 - no Content-Length: the server must count as it reads
        for _ in range(64):
            yield b"x" * 65536

    with httpx.Client(base_url=app.url, timeout=30) as client:
        streamed = client.post("/webhook/fal", content=chunks())
    assert streamed.status_code == 413


def test_a_declared_body_of_gigabytes_is_refused_before_it_is_sent(lab):  # noqa: ANN001
    _, app, _, _ = lab
    host, port = app.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /webhook/fal HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1500000000\r\n\r\n{")
        answer = sock.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
