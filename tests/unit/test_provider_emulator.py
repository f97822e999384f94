"""The host emulator itself: real MP4s with Range support, fault rules, knobs, control API, callbacks."""

from __future__ import annotations

import io
import threading
import time

import av
import httpx
import pytest

from kling_lab.config import load_settings
from tests.emulator import Emulator, RemoteEmulator
from tests.emulator.media import clip_bytes, parse_range
from tests.emulator.testing import FrameStore, client_for, poll_until_final, run, text_request

pytestmark = pytest.mark.usefixtures("fresh")


@pytest.fixture(scope="module")
def web():
    with httpx.Client(timeout=10) as client:
        yield client


def _finished_video_url(emu: Emulator, provider: str = "replicate", prompt: str = "a fox", audio: bool = False) -> str:
    client = client_for(emu, provider)

    async def scenario(http):
        submission = await client.create(http, text_request(prompt, audio=audio), job_id=prompt, frames=FrameStore())
        return await poll_until_final(client, http, submission)

    return run(scenario).video_url


def _probe(data: bytes) -> dict:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return {
            "codec": video.codec_context.name,
            "size": (video.codec_context.width, video.codec_context.height),
            "pix_fmt": video.codec_context.pix_fmt,
            "fps": float(video.average_rate),
            "frames": frames,
            "audio": [s.codec_context.name for s in container.streams.audio],
        }


# -- media --------------------------------------------------------------------------------------


def test_served_clip_is_a_real_h264_mp4(web, emu):
    data = web.get(_finished_video_url(emu)).content
    assert _probe(data) == {"codec": "h264", "size": (320, 180), "pix_fmt": "yuv420p", "fps": 24.0, "frames": 24,
                            "audio": []}


def test_clip_with_audio_has_an_aac_track(web, emu):
    data = web.get(_finished_video_url(emu, audio=True)).content
    assert _probe(data)["audio"] == ["aac"]


def test_a_padded_clip_has_the_requested_size_and_still_decodes(web, emu):
    emu.configure(video_size=20_000_000)
    response = web.get(_finished_video_url(emu))
    assert len(response.content) == 20_000_000
    assert int(response.headers["content-length"]) == 20_000_000
    assert _probe(response.content)["frames"] == 24


def test_range_requests_get_partial_content(web, emu):
    url = _finished_video_url(emu)
    whole = web.get(url).content
    part = web.get(url, headers={"Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == whole[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(whole)}"
    tail = web.get(url, headers={"Range": "bytes=-16"})
    assert tail.content == whole[-16:]
    beyond = web.get(url, headers={"Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(whole)}"
    head = web.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(whole) and head.content == b""


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("bytes=0-9", (0, 9)), ("bytes=5-", (5, 99)), ("bytes=-10", (90, 99)), ("bytes=0-500", (0, 99)),
     ("bytes=100-", "unsatisfiable"), ("bytes=0-1,5-6", None), ("items=0-1", None), ("bytes=9-2", None)],
)
def test_range_header_parsing(header, expected):
    assert parse_range(header, 100) == expected


def test_clip_bytes_pads_with_a_free_box():
    base = clip_bytes()
    padded = clip_bytes(size=len(base) + 100)
    assert padded[: len(base)] == base and padded[len(base) + 4 : len(base) + 8] == b"free"


def test_downloads_are_counted_per_task(web, emu):
    url = _finished_video_url(emu)
    web.get(url)
    web.get(url, headers={"Range": "bytes=0-9"})
    [(task_id, count)] = emu.stats()["downloads"].items()
    assert count == 2 and emu.stats()["download_bytes"] > 10


# -- download faults ----------------------------------------------------------------------------


def test_a_truncated_download_fails_the_read(web, emu):
    url = _finished_video_url(emu)
    emu.add_fault("truncated", host="replicate", op="download")
    with pytest.raises(httpx.RemoteProtocolError):
        web.get(url)


def test_an_html_page_can_stand_in_for_the_video(web, emu):
    url = _finished_video_url(emu)
    emu.add_fault("html", host="replicate", op="download")
    response = web.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")


def test_a_wrong_content_type_download_is_a_json_error_body(web, emu):
    url = _finished_video_url(emu)
    emu.add_fault("wrong_content_type", host="replicate", op="download")
    response = web.get(url)
    assert response.headers["content-type"] == "application/json" and response.json()["error"] == "AccessDenied"


def test_http_faults_on_download_are_plain_text(web, emu):
    url = _finished_video_url(emu)
    emu.add_fault("http", host="replicate", op="download", status=503, retry_after="5")
    response = web.get(url)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"


# -- rules and knobs ----------------------------------------------------------------------------


def test_fault_rules_skip_then_fire_count_times(web, emu):
    emu.add_fault("http", host="replicate", op="status", status=500, skip=1, count=2)
    url = f"{emu.base_url('replicate')}/v1/predictions/nope"
    auth = {"Authorization": f"Bearer {emu.keys['REPLICATE_API_TOKEN']}"}
    codes = [web.get(url, headers=auth).status_code for _ in range(4)]
    assert codes == [404, 500, 500, 404]
    [rule] = emu.faults()
    assert (rule["seen"], rule["fired"], rule["remaining"]) == (3, 2, 0)


def test_fault_rules_match_by_host(web, emu):
    emu.add_fault("http", host="kie", op="*", status=500, count=None)
    url = f"{emu.base_url('replicate')}/v1/predictions/nope"
    assert web.get(url).status_code == 401


@pytest.mark.parametrize(
    "options", [{"kind": "explode"}, {"kind": "http"}, {"kind": "http", "status": 200}, {"kind": "html", "op": "x"},
                {"kind": "html", "host": "mars"}, {"kind": "html", "count": 0}],
)
def test_invalid_fault_rules_are_refused(emu, options):
    with pytest.raises(ValueError):
        emu.add_fault(**options)


def test_unknown_knobs_are_refused(emu):
    with pytest.raises(ValueError):
        emu.configure(latnecy=3)


def test_latency_range_and_prompt_latency_directive(emu):
    emu.configure(latency=(5, 6))
    client = client_for(emu, "replicate")
    store = FrameStore()
    run(lambda http: client.create(http, text_request("slow"), job_id="a", frames=store))
    run(lambda http: client.create(http, text_request("quick [emu:latency=0.5]"), job_id="b", frames=store))
    latencies = {t["prompt"]: t["latency"] for t in emu.tasks()}
    assert 5 <= latencies["slow"] <= 6 and latencies["quick [emu:latency=0.5]"] == 0.5


def test_outcome_rules_apply_to_matching_prompts_count_times(emu):
    emu.add_outcome("fail", reason="Owls are not allowed", match="owl", count=1)
    client = client_for(emu, "replicate")
    store = FrameStore()
    for prompt in ("an owl", "another owl", "a fox"):
        run(lambda http, prompt=prompt: client.create(http, text_request(prompt), job_id=prompt, frames=store))
    outcomes = {t["prompt"]: t["outcome"] for t in emu.tasks()}
    assert outcomes == {"an owl": "fail", "another owl": "success", "a fox": "success"}


def test_creates_are_counted_per_host_and_prompt(emu):
    store = FrameStore()
    for provider in ("replicate", "fal", "fal"):
        client = client_for(emu, provider)
        run(lambda http, client=client: client.create(http, text_request("same"), job_id="j", frames=store))
    stats = emu.stats()
    assert stats["accepted_creates"] == {"replicate": 1, "fal": 2}
    assert stats["creates_by_prompt"] == {"same": 3}


def test_env_points_settings_at_the_emulator(emu):
    settings = load_settings(environ=emu.env(), secrets={})
    assert settings.base_url("kie") == f"{emu.url}/kie"
    assert settings.base_url("replicate") == f"{emu.url}/replicate"
    assert settings.kie_upload_url == f"{emu.url}/kie-upload"
    assert all(settings.has_key(p) for p in ("kie", "replicate", "aimlapi", "fal", "kling", "inference"))


def test_fal_status_under_the_model_path_is_not_found(web, emu):
    url = f"{emu.base_url('fal')}/fal-ai/kling-video/v2.6/pro/text-to-video/requests/abc/status"
    assert web.get(url, headers={"Authorization": f"Key {emu.keys['FAL_KEY']}"}).status_code == 404


def test_stop_releases_hanging_requests_promptly():
    with Emulator(latency=0) as local:
        local.add_fault("timeout", host="replicate", op="status", hang_seconds=60)
        errors: list[BaseException] = []

        def call():
            try:
                httpx.get(f"{local.base_url('replicate')}/v1/predictions/x", timeout=30)
            except httpx.HTTPError as exc:
                errors.append(exc)

        worker = threading.Thread(target=call)
        worker.start()
        assert local.wait_until(lambda: local.stats()["faults_fired"])
        started = time.monotonic()
    worker.join(timeout=5)
    assert time.monotonic() - started < 5 and not worker.is_alive() and errors


def test_undeliverable_callbacks_are_recorded(emu):
    client = client_for(emu, "replicate", KLING_LAB_PUBLIC_URL="http://127.0.0.1:9")
    run(lambda http: client.create(http, text_request(), job_id="j", frames=FrameStore()))
    assert emu.wait_until(lambda: emu.stats()["callbacks"])
    [record] = emu.stats()["callbacks"]
    assert record["url"] == "http://127.0.0.1:9/webhook/replicate" and "error" in record


# -- control API --------------------------------------------------------------------------------


def test_control_api_steers_the_emulator_from_another_process(emu):
    with RemoteEmulator(emu.url) as remote:
        assert remote.health()["ok"] is True
        assert remote.env() == emu.env()
        assert remote.configure(latency=[1, 2], outcome="fail")["latency"] == [1.0, 2.0]
        assert emu.knobs.outcome == "fail"
        rule = remote.add_fault("http", host="kie", op="create", status=429, retry_after="2")
        assert rule["id"] >= 1 and remote.faults()[0]["status"] == 429
        remote.add_outcome("policy", match="owl")
        remote.clear_faults()
        assert remote.faults() == []
        client = client_for(emu, "replicate")
        submission = run(lambda http: client.create(http, text_request(), job_id="j", frames=FrameStore()))
        remote.force_phase(submission.task_id, "running")
        assert remote.tasks("replicate")[0]["phase"] == "running"
        assert remote.stats()["accepted_creates"] == {"replicate": 1}
        remote.reset()
        assert remote.tasks() == [] and emu.knobs.outcome == "success"


def test_control_api_refuses_bad_input(web, emu):
    base = f"{emu.url}/_emulator"
    assert web.post(f"{base}/config", json={"nope": 1}).status_code == 400
    assert web.post(f"{base}/faults", json={"kind": "http", "status": 99}).status_code == 400
    assert web.post(f"{base}/faults", json={"kind": "html", "colour": "red"}).status_code == 400
    assert web.post(f"{base}/tasks/phase", json={"task_id": "missing", "phase": "running"}).status_code == 404
    assert web.get(f"{emu.url}/nowhere").status_code == 404
