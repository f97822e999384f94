"""The ASGI entry point: Streamlit plus the routes a browser grid and the hosts need.

Run with `streamlit run asgi_app.py` (the README's command). The lifespan starts
the job runner once per process, so unfinished jobs resume before anyone opens
the page. Every route asks the door (`kling_lab.lab.Lab`) as the actor it serves, so who
may fetch what is decided in one place. Routes:
    /api/health              liveness and runner state
    /webhook/<provider>      host callbacks: signed ones are applied, others only wake a poll
    /clips/<job>.mp4         finished clips from disk, with HTTP Range support
    /thumbs/<job>.jpg        thumbnails
    /frames/<sha256>.<ext>   uploaded start/end frames
    /exports/<batch>.zip     a batch's clips, manifest.json and clips.csv
    /auth/password, /auth/sign-out   the owner password's sign-in and sign-out (sign_in_routes.py)
The four file routes serve only a request whose `?t=` token covers the file:
pages put one, minted through the door for their session's actor, in every URL
they render (a review link's covers its batch's clips and thumbnails only).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import streamlit as st
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from kling_lab.auth import HOST_REFUSAL, HostPolicy, host_allowed
from kling_lab.lab import FILE_TOKEN_PARAM, Actor, Lab, NotAllowed
from sign_in_routes import ROUTES as SIGN_IN_ROUTES
from sign_in_routes import exit_if_exposed_without_sign_in

APP_DIR = Path(__file__).resolve().parent
MAX_WEBHOOK_BYTES = 1024 * 1024
log = logging.getLogger("kling_lab.routes")


def _lab() -> Lab:
    from components.runtime import get_lab

    return get_lab()


@functools.cache
def _host_policy() -> HostPolicy:
    """Which Host headers the routes answer: Streamlit's own options decide, as for its websocket."""
    from streamlit import config

    try:
        addresses = socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        addresses = []
    return HostPolicy.from_config(
        allowed_hosts=config.get_option("server.allowedHosts") or (),
        server_address=config.get_option("server.address"),
        browser_server_address=config.get_option("browser.serverAddress"),
        cors_allowed_origins=config.get_option("server.corsAllowedOrigins") or (),
        enable_cors=bool(config.get_option("server.enableCORS")),
        public_url=os.environ.get("KLING_LAB_PUBLIC_URL"),
        machine_addresses=addresses,
    )


def _host_checked(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Refuse, before anything else, a request whose Host is not an address this lab is served at
    (what stops a DNS-rebinding page from reading files or exports through a visitor's browser)."""

    @functools.wraps(endpoint)
    async def checked(request: Request) -> Response:
        if not host_allowed(request.headers.get("host"), _host_policy()):
            log.warning("refused %s for a foreign Host header", request.url.path)
            return Response(HOST_REFUSAL, status_code=403, media_type="text/plain")
        return await endpoint(request)

    return checked


FILE_REFUSAL = "This file opens only from a page of the lab (or a review link) that covers it."


def _visitor(request: Request) -> Actor:
    """Who is asking for a file: the actor its `?t=` token was made for by a page (NotAllowed without one)."""
    actor = _lab().files_actor(request.query_params.get(FILE_TOKEN_PARAM))
    if actor is None:
        raise NotAllowed(FILE_REFUSAL)
    return actor


@asynccontextmanager
async def lifespan(app):  # noqa: ANN001 - Starlette passes the app
    from kling_lab.lab import STORE_PROBLEMS

    # Served beyond loopback (or KLING_LAB_REQUIRE_LOGIN=1) with no way to sign in: say how to set one up, and stop.
    exit_if_exposed_without_sign_in()
    try:
        _lab()  # builds the process's parts: the runner starts and resumes unfinished jobs before anyone visits
    except STORE_PROBLEMS as exc:
        # The operator's to fix (a database URL, an unreachable server): say it in one sentence and stop.
        print(f"Kling Lab cannot start: {exc}", file=sys.stderr, flush=True)
        os._exit(2)
    yield


async def health(request: Request) -> Response:
    """200 with the runner's state, or 503 when the store cannot be read (a monitor sees a broken store)."""
    try:
        report = _lab().health(Actor("anonymous"))
    except Exception:  # noqa: BLE001 - the process's parts could not be built: the store is the operator's to fix
        log.warning("health: the lab could not be opened", exc_info=True)
        report = {"status": "store unavailable", "reason": "Kling Lab could not open its store; see the server's log."}
    return JSONResponse(report, status_code=200 if report.get("status") == "ok" else 503)


class _TooLarge(Exception):
    pass


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused while it is read (not after) once it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def webhook(request: Request) -> Response:
    """A host's callback: believed only when signed; otherwise at most a nudge to ask the host ourselves."""
    provider = request.path_params["provider"]
    lab = _lab()
    if not lab.takes_callbacks(provider):
        return JSONResponse({"error": "unknown provider"}, status_code=404)
    try:
        body = await _read_limited(request, MAX_WEBHOOK_BYTES)
    except _TooLarge:
        return JSONResponse({"error": "too large"}, status_code=413)
    outcome = await anyio.to_thread.run_sync(lab.accept_callback, Actor.host(provider), provider, body,
                                             dict(request.headers))
    if outcome == "refused":
        return JSONResponse({"error": "the callback's signature did not verify"}, status_code=401)
    # 200 for anything well-formed, so hosts stop retrying; a wake-up or an unknown task changes nothing here.
    return JSONResponse({"ok": True, "outcome": outcome})


def _file(path: Path | None, media_type: str, download_name: str | None = None) -> Response:
    if path is None:
        return Response("Not found", status_code=404)
    return FileResponse(path, media_type=media_type, filename=download_name,
                        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


async def _visitor_of(request: Request) -> Actor:
    """`_visitor` off the event loop (it reads the store for a review link's revocation)."""
    return await anyio.to_thread.run_sync(_visitor, request)


def _refused(exc: NotAllowed) -> Response:
    return Response(str(exc), status_code=403, media_type="text/plain")


async def clip(request: Request) -> Response:
    job_id = request.path_params["job_id"]
    try:
        path = await anyio.to_thread.run_sync(_lab().clip_file, await _visitor_of(request), job_id)
    except NotAllowed as exc:
        return _refused(exc)
    download = f"kling-lab-{job_id}.mp4" if request.query_params.get("download") else None
    return _file(path, "video/mp4", download)


async def export(request: Request) -> Response:
    batch_id = request.path_params["batch_id"]
    try:
        path = await anyio.to_thread.run_sync(_lab().export_file, await _visitor_of(request), batch_id)
    except NotAllowed as exc:
        return _refused(exc)
    return _file(path, "application/zip", f"kling-lab-{batch_id}.zip")


async def thumb(request: Request) -> Response:
    try:
        visitor = await _visitor_of(request)
        path = await anyio.to_thread.run_sync(_lab().thumb_file, visitor, request.path_params["job_id"])
    except NotAllowed as exc:
        return _refused(exc)
    return _file(path, "image/jpeg")


async def frame(request: Request) -> Response:
    sha, ext = request.path_params["sha"], request.path_params["ext"]
    try:
        path = await anyio.to_thread.run_sync(_lab().frame_file, await _visitor_of(request), sha, ext)
    except NotAllowed as exc:
        return _refused(exc)
    return _file(path, "image/png" if ext == "png" else "image/jpeg")


def _no_legacy_pages_folder() -> None:
    """Every run goes through streamlit_app.py's st.navigation, the first one of the process included.

    Streamlit decides once per process, when the first session starts, whether
    this is a legacy multipage app: if a `pages/` folder sits beside the entry
    script, that first run is executed as one, so a first visit to
    `/compare?view=review` ran pages/compare.py by itself, without the entry
    script and with the folder listed as navigation. Calling st.navigation
    clears the flag, but only from the second run on; clearing it before any
    session exists makes the first run like every other.
    """
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


_no_legacy_pages_folder()

app = st.App(
    str(APP_DIR / "streamlit_app.py"),
    routes=[
        Route("/api/health", _host_checked(health)),
        Route("/webhook/{provider}", _host_checked(webhook), methods=["POST"]),
        Route("/clips/{job_id}.mp4", _host_checked(clip)),
        Route("/exports/{batch_id}.zip", _host_checked(export)),
        Route("/thumbs/{job_id}.jpg", _host_checked(thumb)),
        Route("/frames/{sha}.{ext}", _host_checked(frame)),
        *[Route(r.path, _host_checked(r.endpoint), methods=["POST"]) for r in SIGN_IN_ROUTES],
    ],
    lifespan=lifespan,
)
