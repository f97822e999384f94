"""Hostile or broken clip downloads: each is refused with a plain message, nothing is kept, and the app carries on.

The host here is a scripted fal-like client configured on a public HTTPS base
URL (so loopback and plain HTTP are not allowed), and every byte it serves
comes from an httpx.MockTransport that records each URL asked for. Name
resolution is faked for the few names used, so no test touches the network or
a private address: a refused hop must never reach the transport at all.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from kling_lab import media as media_module
from kling_lab.capabilities import CAPABILITIES
from kling_lab.config import Settings
from kling_lab.media import DownloadRefused, MediaStore, check_download_url
from kling_lab.providers.base import JobState, Submission, TaskStatus
from kling_lab.request import GenerationRequest
from kling_lab.runner import JobRunner
from kling_lab.store import NewJob
from tests.reliability.backends import Backend
from tests.reliability.helpers import assert_no_partial_clips, fast_config, is_human_reason, wait_final

HOST_BASE = "https://fal.example.com"
CDN = "https://cdn.example.com"
CAP = 1024 * 1024

PUBLIC_NAMES = {"cdn.example.com": "93.184.216.34", "cdn2.example.com": "93.184.216.35",
                "fal.example.com": "93.184.216.36", "internal.example.com": "10.1.2.3",
                "metadata.example.com": "169.254.169.254", "localhost": "127.0.0.1"}
_real_getaddrinfo = socket.getaddrinfo


def _fake_getaddrinfo(host, port, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    """Resolve the test's names from a table and IP literals as themselves; anything else does not exist."""
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name in PUBLIC_NAMES:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_NAMES[name], port or 0))]
    try:
        ipaddress.ip_address(name)
    except ValueError:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
    return _real_getaddrinfo(name, port, *args, **kwargs)


@pytest.fixture(autouse=True)
def offline_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media_module.socket, "getaddrinfo", _fake_getaddrinfo)


# ----------------------------------------------------------------------------- the URL check itself


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://cdn.example.com/clip.mp4", "not HTTPS"),
        ("ftp://cdn.example.com/clip.mp4", "not HTTPS"),
        ("file:///etc/passwd", "not HTTPS"),
        ("cdn.example.com/clip.mp4", "not HTTPS"),
        ("http://10.0.0.5/clip.mp4", "not HTTPS"),
        ("https://10.0.0.5/clip.mp4", "private network"),
        ("https://192.168.1.20/clip.mp4", "private network"),
        ("https://172.16.4.4/clip.mp4", "private network"),
        ("https://127.0.0.1/clip.mp4", "private network"),
        ("https://127.8.9.10/clip.mp4", "private network"),
        ("https://localhost/clip.mp4", "private network"),
        ("https://[::1]/clip.mp4", "private network"),
        ("https://[::ffff:10.0.0.5]/clip.mp4", "private network"),
        ("https://[fd12:3456::1]/clip.mp4", "private network"),
        ("https://[fe80::1]/clip.mp4", "private network"),
        ("https://169.254.169.254/latest/meta-data/", "private network"),
        ("https://100.100.100.200/latest/meta-data/", "private network"),  # Alibaba Cloud's metadata service
        ("https://100.64.0.1/clip.mp4", "private network"),
        ("https://0.0.0.0/clip.mp4", "private network"),
        ("https://internal.example.com/clip.mp4", "private network"),
        ("https://metadata.example.com/computeMetadata/v1/", "private network"),
        ("https:///clip.mp4", "private network"),
    ],
)
def test_check_download_url_refuses_plain_http_and_private_addresses(url: str, words: str) -> None:
    with pytest.raises(DownloadRefused) as refused:
        check_download_url(url, allow_loopback=False)
    assert words in str(refused.value)
    assert is_human_reason(str(refused.value))


@pytest.mark.parametrize("url", ["https://cdn.example.com/clip.mp4", "https://93.184.216.34/clip.mp4"])
def test_check_download_url_accepts_public_https(url: str) -> None:
    check_download_url(url, allow_loopback=False)


def test_check_download_url_allows_loopback_only_when_the_host_itself_is_on_loopback() -> None:
    check_download_url("http://127.0.0.1:8765/files/x.mp4", allow_loopback=True)
    check_download_url("http://localhost:8765/files/x.mp4", allow_loopback=True)
    with pytest.raises(DownloadRefused):
        check_download_url("http://127.0.0.1:8765/files/x.mp4", allow_loopback=False)
    with pytest.raises(DownloadRefused):  # loopback allowed does not open the private network
        check_download_url("http://10.0.0.5/files/x.mp4", allow_loopback=True)
    with pytest.raises(DownloadRefused):
        check_download_url("https://192.168.0.1/files/x.mp4", allow_loopback=True)
    with pytest.raises(DownloadRefused, match="not HTTPS"):  # nor plain HTTP to the internet
        check_download_url("http://cdn.example.com/files/x.mp4", allow_loopback=True)


# ----------------------------------------------------------------------------- through the runner

Responder = Callable[[httpx.Request], httpx.Response]


class CdnHost:
    """A fal-like host on a public base URL whose finished tasks point at `video_urls[prompt]` (or the CDN)."""

    name = "fal"
    caps = CAPABILITIES["fal"]

    def __init__(self, clip: bytes) -> None:
        self.clip = clip
        self.created: list[str] = []
        self.prompts: dict[str, str] = {}
        self.video_urls: dict[str, str] = {}
        self.routes: dict[str, Responder] = {}
        self.requested: list[str] = []

    async def create(self, http, request, *, job_id, frames, create_key=None):  # noqa: ANN001
        self.created.append(job_id)
        task_id = f"task-{len(self.created)}"
        self.prompts[task_id] = request.prompt
        return Submission(task_id)

    async def status(self, http, submission):  # noqa: ANN001
        prompt = self.prompts[submission.task_id]
        url = self.video_urls.get(prompt, f"{CDN}/{submission.task_id}.mp4")
        return TaskStatus("succeeded", video_url=url, actual_cost=Decimal("0.35"))

    async def cancel(self, http, submission):  # noqa: ANN001
        return False

    async def lookup(self, http, job_id):  # noqa: ANN001
        return None

    def parse_webhook(self, body, headers, *, now=None):  # noqa: ANN001
        return None

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            url = str(request.url)
            self.requested.append(url)
            responder = self.routes.get(url)
            if responder is not None:
                return responder(request)
            if url.startswith(f"{CDN}/task-"):
                return httpx.Response(200, content=self.clip, headers={"content-type": "video/mp4"})
            raise AssertionError(f"the runner asked for a URL no test serves: {url}")

        return httpx.MockTransport(handle)


def _redirect(location: str, status: int = 302) -> Responder:
    return lambda request: httpx.Response(status, headers={"location": location})


def _body(content: bytes, content_type: str = "video/mp4", **headers: str) -> Responder:
    return lambda request: httpx.Response(200, content=content, headers={"content-type": content_type, **headers})


def _declared(length: int, content: bytes) -> Responder:
    """A body that announces `length` bytes but sends `content` (a cut connection)."""
    return lambda request: httpx.Response(
        200, headers={"content-type": "video/mp4", "content-length": str(length)}, stream=httpx.ByteStream(content)
    )


def _streamed(chunks: int, chunk: bytes) -> Responder:
    """A body with no Content-Length that keeps coming."""

    async def body():  # noqa: ANN202
        for _ in range(chunks):
            yield chunk

    class Stream(httpx.AsyncByteStream):
        async def __aiter__(self):  # noqa: ANN204
            async for piece in body():
                yield piece

    return lambda request: httpx.Response(200, headers={"content-type": "video/mp4"}, stream=Stream())


def _run(backend: Backend, tmp_path: Path, host: CdnHost, bad_url: str, **config) -> tuple[list, Path]:  # noqa: ANN003
    """Run one job that meets the bad download, then one ordinary job; returns both jobs and the media root."""
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url=backend.url, base_urls={"fal": HOST_BASE},
                        keys={"FAL_KEY": "test-key"})
    store = backend.store(data)
    runner = JobRunner(store, MediaStore(settings.media_dir), settings, config=fast_config(**config),
                       client_factory=lambda provider, s, m: host, transport=host.transport())
    host.video_urls["the bad one"] = bad_url
    bad_batch = store.create_batch(template="t", provider="fal", jobs=[
        NewJob("bad", "fal", GenerationRequest(prompt="the bad one"), Decimal("0.35"))])
    runner.start()
    try:
        (bad,) = wait_final(store, [bad_batch], timeout=30)
        good_batch = store.create_batch(template="t", provider="fal", jobs=[
            NewJob("good", "fal", GenerationRequest(prompt="the next one"), Decimal("0.35"))])
        runner.wake()
        (good,) = wait_final(store, [good_batch], timeout=30)
    finally:
        runner.stop()
    return [bad, good], settings.media_dir


def _assert_refused(jobs: list, media_root: Path, host: CdnHost, *words: str) -> None:
    bad, good = jobs
    assert bad.state == JobState.FAILED, (bad.state, bad.error)
    assert bad.error_kind == "download"
    assert is_human_reason(bad.error), bad.error
    for word in words:
        assert word in bad.error, bad.error
    assert good.state == JobState.DONE, (good.state, good.error)
    assert host.created == [bad.id, good.id]  # one create each: a refused download never re-sends
    assert_no_partial_clips(jobs, media_root)


def test_a_plain_http_clip_address_is_refused_without_being_fetched(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    jobs, root = _run(backend, tmp_path, host, "http://cdn.example.com/clip.mp4")
    _assert_refused(jobs, root, host, "not HTTPS")
    assert not any(url.startswith("http://") for url in host.requested)


def test_a_file_address_from_a_paid_host_is_refused(tmp_path, tiny_mp4, backend) -> None:
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(tiny_mp4)
    host = CdnHost(tiny_mp4)
    jobs, root = _run(backend, tmp_path, host, secret.as_uri())
    _assert_refused(jobs, root, host, "file on this machine")


PRIVATE_HOPS = [
    "https://10.0.0.5/clip.mp4",
    "https://192.168.1.20/clip.mp4",
    "https://127.0.0.1/clip.mp4",
    "https://[::1]/clip.mp4",
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://100.100.100.200/latest/meta-data/",
    "https://internal.example.com/clip.mp4",
    "//10.0.0.5/clip.mp4",
]


@pytest.mark.parametrize("target", PRIVATE_HOPS)
def test_a_redirect_to_a_private_address_is_refused_before_the_next_hop(tmp_path, tiny_mp4, backend, target) -> None:
    host = CdnHost(tiny_mp4)
    first = f"{CDN}/signed/clip.mp4"
    host.routes[first] = _redirect(target)
    jobs, root = _run(backend, tmp_path, host, first)
    _assert_refused(jobs, root, host, "private network")
    bad_requests = [url for url in host.requested if not url.startswith(f"{CDN}/")]
    assert bad_requests == [], f"the runner fetched a refused hop: {bad_requests}"
    assert host.requested.count(first) == 1


def test_a_redirect_that_downgrades_to_plain_http_is_refused(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    first = f"{CDN}/signed/clip.mp4"
    host.routes[first] = _redirect("http://cdn2.example.com/clip.mp4", 301)
    jobs, root = _run(backend, tmp_path, host, first)
    _assert_refused(jobs, root, host, "not HTTPS")
    assert "http://cdn2.example.com/clip.mp4" not in host.requested


def test_a_redirect_loop_is_refused(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    first = f"{CDN}/loop/a.mp4"
    host.routes[first] = _redirect(f"{CDN}/loop/b.mp4")
    host.routes[f"{CDN}/loop/b.mp4"] = _redirect(first)
    jobs, root = _run(backend, tmp_path, host, first)
    _assert_refused(jobs, root, host, "redirected too many times")


def test_a_clip_declared_larger_than_the_cap_is_refused_before_reading_it(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    url = f"{CDN}/huge.mp4"
    host.routes[url] = _declared(5 * CAP, b"")
    jobs, root = _run(backend, tmp_path, host, url, max_clip_bytes=CAP)
    _assert_refused(jobs, root, host, "5 MB", "1 MB cap")


def test_a_clip_that_keeps_coming_past_the_cap_is_cut_off(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    url = f"{CDN}/endless.mp4"
    host.routes[url] = _streamed(200, tiny_mp4[:32] + b"\0" * (64 * 1024 - 32))  # an ftyp head, then 12 MB
    jobs, root = _run(backend, tmp_path, host, url, max_clip_bytes=CAP)
    _assert_refused(jobs, root, host, "larger than the 1 MB cap")


def test_an_html_page_instead_of_the_clip_is_refused(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    url = f"{CDN}/login.mp4"
    host.routes[url] = _body(b"<!DOCTYPE html><html><body>Sign in to continue</body></html>", "text/html")
    jobs, root = _run(backend, tmp_path, host, url)
    _assert_refused(jobs, root, host, "web page")


def test_html_labelled_as_video_is_refused(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    url = f"{CDN}/mislabelled.mp4"
    host.routes[url] = _body(b"<!DOCTYPE html><html><body>Access denied</body></html>" * 20)
    jobs, root = _run(backend, tmp_path, host, url)
    _assert_refused(jobs, root, host, "not a video file")


def test_random_bytes_labelled_as_video_are_refused(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    url = f"{CDN}/noise.mp4"
    host.routes[url] = _body(os.urandom(200_000))
    jobs, root = _run(backend, tmp_path, host, url)
    _assert_refused(jobs, root, host, "not a video file")


def test_a_video_header_over_garbage_is_refused_when_it_cannot_be_opened(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    url = f"{CDN}/garbage.mp4"
    host.routes[url] = _body(tiny_mp4[:32] + os.urandom(100_000))
    jobs, root = _run(backend, tmp_path, host, url)
    _assert_refused(jobs, root, host, "could not be opened as a video")


@pytest.mark.slow  # the runner waits 2 s, then 4 s, between download tries
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the store has no part in the waits
def test_a_clip_cut_short_of_its_length_is_retried_then_given_up_without_keeping_it(
    tmp_path, tiny_mp4, backend
) -> None:
    host = CdnHost(tiny_mp4)
    url = f"{CDN}/cut.mp4"
    host.routes[url] = _declared(len(tiny_mp4), tiny_mp4[: len(tiny_mp4) // 2])
    started = time.monotonic()
    jobs, root = _run(backend, tmp_path, host, url, download_attempts=2)
    _assert_refused(jobs, root, host, "could not be downloaded after 2 tries", "press Retry")
    assert host.requested.count(url) == 2
    assert time.monotonic() - started < 20


def test_a_clip_cut_short_without_a_declared_length_is_refused(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    url = f"{CDN}/half.mp4"
    host.routes[url] = _body(tiny_mp4[: len(tiny_mp4) // 2])
    jobs, root = _run(backend, tmp_path, host, url)
    _assert_refused(jobs, root, host, "could not be opened as a video")


def test_an_expired_clip_is_refused_with_a_plain_message(tmp_path, tiny_mp4, backend) -> None:
    host = CdnHost(tiny_mp4)
    url = f"{CDN}/expired.mp4"
    host.routes[url] = lambda request: httpx.Response(404, text="NoSuchKey")
    jobs, root = _run(backend, tmp_path, host, url)
    _assert_refused(jobs, root, host, "no longer has the clip")
