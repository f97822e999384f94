"""Every custom route answers only the addresses the lab is served at, as Streamlit's websocket does.

A page on another site that makes a visitor's browser resolve its own name to
this machine (DNS rebinding) sends its own name as the Host header; the routes
refuse it before looking anything up, so no clip, export or callback is reached.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import run_app
from tests.e2e.links import person_token

ROUTES = [
    ("GET", "/api/health"),
    ("GET", "/clips/j_000000000000.mp4"),
    ("GET", "/thumbs/j_000000000000.jpg"),
    ("GET", "/frames/" + "0" * 64 + ".png"),
    ("GET", "/exports/b_000000000000.zip"),
    ("POST", "/webhook/replicate"),
]


def _ask(url: str, method: str, path: str, host: str) -> tuple[int, str]:
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host)
        conn.putheader("Content-Length", "2" if method == "POST" else "0")
        conn.endheaders(b"{}" if method == "POST" else None)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory):  # noqa: ANN001, ANN201
    with run_app(tmp_path_factory.mktemp("route-hosts")) as running:
        yield running


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_foreign_host_header_is_refused_plainly_on_every_route(app, method, path) -> None:
    status, body = _ask(app.url, method, path, "rebind.attacker.example")
    assert status == 403, (status, body)
    assert "not one this lab is served at" in body and "Traceback" not in body and "/" not in body.strip(".")


FILE_ROUTES = [path for _, path in ROUTES if path.startswith(("/clips/", "/thumbs/", "/frames/", "/exports/"))]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_the_address_it_is_served_at_is_answered(app, method, path) -> None:
    port = urlparse(app.url).port
    if path in FILE_ROUTES:  # a file route needs the token its page puts in the URL
        path = f"{path}?t={person_token(app.data_dir)}"
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, body = _ask(app.url, method, path, host)
        assert status != 403, (host, path, body)


@pytest.mark.parametrize("path", FILE_ROUTES)
def test_a_file_route_without_a_token_that_covers_it_is_refused_plainly(app, path) -> None:
    port = urlparse(app.url).port
    for query in ("", "?t=", "?t=v1.e30.AAAA"):
        status, body = _ask(app.url, "GET", path + query, f"127.0.0.1:{port}")
        assert status == 403, (path, query, body)
        assert "opens only from a page of the lab" in body and "Traceback" not in body


def test_a_malformed_host_header_is_refused(app) -> None:
    status, _ = _ask(app.url, "GET", "/api/health", "127.0.0.1@evil.example")
    assert status == 403
