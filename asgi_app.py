"""The ASGI entry point: Streamlit plus the routes a browser grid and the hosts need.

Run with `streamlit run asgi_app.py` (the README's command). The lifespan starts
the job runner once per process, so unfinished jobs resume before anyone opens
the page. Routes:
    /api/health              liveness and runner state
    /webhook/<provider>      host callbacks: signed ones are applied, others only wake a poll
    /clips/<job>.mp4         finished clips from disk, with HTTP Range support
    /thumbs/<job>.jpg        thumbnails
    /frames/<sha256>.<ext>   uploaded start/end frames
    /exports/<batch>.zip     a batch's clips, manifest.json and clips.csv
"""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import streamlit as st
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

APP_DIR = Path(__file__).resolve().parent
JOB_ID = re.compile(r"^j_[0-9a-f]{12}$")
SHA = re.compile(r"^[0-9a-f]{64}$")
BATCH_ID = re.compile(r"^b_[0-9a-f]{12}$")
MAX_WEBHOOK_BYTES = 1024 * 1024


@asynccontextmanager
async def lifespan(app):  # noqa: ANN001 - Starlette passes the app
    from components.runtime import get_runner

    get_runner()
    yield


def _media_root() -> Path:
    from components.runtime import get_media

    return get_media().root


async def health(request: Request) -> Response:
    from components.runtime import get_runner, get_store

    runner = get_runner()
    return JSONResponse(
        {"status": "ok", "runner": "running" if runner.running else "stopped",
         "unfinished_jobs": get_store().has_unfinished()}
    )


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
    from components.runtime import get_runner
    from kling_lab.capabilities import CAPABILITIES

    provider = request.path_params["provider"]
    if provider not in CAPABILITIES or CAPABILITIES[provider].offline:
        return JSONResponse({"error": "unknown provider"}, status_code=404)
    try:
        body = await _read_limited(request, MAX_WEBHOOK_BYTES)
    except _TooLarge:
        return JSONResponse({"error": "too large"}, status_code=413)
    runner = get_runner()
    outcome = await anyio.to_thread.run_sync(runner.accept_webhook, provider, body, dict(request.headers))
    if outcome == "refused":
        return JSONResponse({"error": "the callback's signature did not verify"}, status_code=401)
    # 200 for anything well-formed, so hosts stop retrying; a wake-up or an unknown task changes nothing here.
    return JSONResponse({"ok": True, "outcome": outcome})


def _file(path: Path, media_type: str, download_name: str | None = None) -> Response:
    if not path.is_file():
        return Response("Not found", status_code=404)
    return FileResponse(path, media_type=media_type, filename=download_name,
                        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


async def clip(request: Request) -> Response:
    job_id = request.path_params["job_id"]
    if not JOB_ID.match(job_id):
        return Response("Not found", status_code=404)
    download = f"kling-lab-{job_id}.mp4" if request.query_params.get("download") else None
    return _file(_media_root() / "clips" / f"{job_id}.mp4", "video/mp4", download)


async def export(request: Request) -> Response:
    from components.runtime import current_settings_for_runner, get_store
    from kling_lab.exports import export_batch

    batch_id = request.path_params["batch_id"]
    store = get_store()
    if not BATCH_ID.match(batch_id) or store.get_batch(batch_id) is None:
        return Response("Not found", status_code=404)
    out = current_settings_for_runner().data_dir / "exports" / f"{batch_id}.zip"
    await anyio.to_thread.run_sync(export_batch, store, batch_id, out)
    return _file(out, "application/zip", f"kling-lab-{batch_id}.zip")


async def thumb(request: Request) -> Response:
    job_id = request.path_params["job_id"]
    if not JOB_ID.match(job_id):
        return Response("Not found", status_code=404)
    return _file(_media_root() / "thumbs" / f"{job_id}.jpg", "image/jpeg")


async def frame(request: Request) -> Response:
    sha, ext = request.path_params["sha"], request.path_params["ext"]
    if not SHA.match(sha) or ext not in ("png", "jpg"):
        return Response("Not found", status_code=404)
    return _file(_media_root() / "frames" / f"{sha}.{ext}", "image/png" if ext == "png" else "image/jpeg")


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
        Route("/api/health", health),
        Route("/webhook/{provider}", webhook, methods=["POST"]),
        Route("/clips/{job_id}.mp4", clip),
        Route("/exports/{batch_id}.zip", export),
        Route("/thumbs/{job_id}.jpg", thumb),
        Route("/frames/{sha}.{ext}", frame),
    ],
    lifespan=lifespan,
)
