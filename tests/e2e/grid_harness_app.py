"""A tiny Streamlit app that only exercises components.video_grid (used by e2e tests and benchmarks).

At startup it renders ten test clips with PyAV into ``static/grid_test/`` beside this file
(H.264 yuv420p, 24 fps, 320x180; clip 4 runs 10 s, the rest 5 s; clips 1 and 4 carry AAC
audio), served by Streamlit's static serving at ``/app/static/grid_test/clip_<n>.mp4``.

Query parameters: ``?pending=9,10`` shows those clips (1-based) as still rendering until the
"Finish clips" button is pressed. ``&fragment=1`` renders the grid inside an
``st.fragment(run_every=...)`` that refreshes every cell's detail text on each run and finishes
the pending clips by itself after a few runs (the Compare page's live-status pattern).
``?review=1`` shows clips 1–4 with comments, statuses, picks by name, a badge and a lineage, and
comments/status allowed; the events it gets change them as the door would (the viewer is "Lead").
"""

from __future__ import annotations

import json
import os
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.video_grid import GridClip, GridComment, GridEvent, video_grid  # noqa: E402

CLIP_DIR = Path(__file__).resolve().parent / "static" / "grid_test"
URL_PREFIX = "/app/static/grid_test"
FPS = 24
WIDTH, HEIGHT = 320, 180
LONG_CLIP = 4  # 1-based: the 10 s clip
AUDIO_CLIPS = {1, LONG_CLIP}
CLIP_COUNT = 10
SPEC_VERSION = "v1"  # bump to force regeneration when the clip recipe changes
FRAGMENT_EVERY_S = 0.5  # ?fragment=1: status refresh period, like the Compare page's live fragment
FRAGMENT_TICKS_TO_FINISH = 6  # ?fragment=1: pending clips arrive after this many refreshes
REVIEW_CLIPS = 4  # ?review=1: clips 1-4 (clip 4 is the 10 s one)
MARKUP = "<b>bold</b> **not bold** <img src=x onerror=\"window.__pwned=1\">"


def review_seed() -> dict:
    """What the review page starts from: comments by take, statuses, reviewers' picks, badge, lineage."""
    return {
        "next_id": 3,
        "comments": {
            "job-1": [GridComment(1, 1.0, None, "Ann", MARKUP, False),
                      GridComment(2, 2.5, 3.5, "Lead", "range note", True)],
        },
        "status": {"job-2": ("approved", "Ann"), "job-3": ("changes", "Bo")},
        "picks": {"job-2": ("Ann", "Bo")},
        "badge": {"job-3": "Pinned · T003 from an earlier batch"},
        "lineage": {"job-3": "T006 from T003: cfg 0.5 → 0.7"},
    }


def _apply_review(event: GridEvent) -> None:
    """Change the review state the way the door would, for the viewer "Lead"."""
    review = st.session_state["review"]
    comments = review["comments"].setdefault(event.clip_id, [])
    if event.kind == "comment":
        value = event.value
        comments.append(GridComment(review["next_id"], value["at"], value["until"], "Lead", value["text"], True))
        review["next_id"] += 1
    elif event.kind == "edit_comment":
        review["comments"][event.clip_id] = [
            GridComment(c.id, c.at, c.until, c.author, event.value["text"], c.mine) if c.id == event.value["id"] else c
            for c in comments
        ]
    elif event.kind == "delete_comment":
        review["comments"][event.clip_id] = [c for c in comments if c.id != event.value["id"]]
    elif event.kind == "status":
        if event.value is None:
            review["status"].pop(event.clip_id, None)
        else:
            review["status"][event.clip_id] = (event.value, "Lead")


def clip_seconds(n: int) -> int:
    return 10 if n == LONG_CLIP else 5


def _frame(n: int, index: int, total: int) -> np.ndarray:
    """A flat colour per clip with a white bar that sweeps across with time (easy to eyeball)."""
    hue = (n * 37) % 180
    img = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    img[:] = (40 + hue, 200 - hue // 2, 90 + (n * 53) % 120)
    x = int(index / max(total - 1, 1) * (WIDTH - 8))
    img[:, x : x + 8] = 255
    img[: 10 + n * 4, :12] = 0  # clip number as a bar height in the corner
    return img


def _write_clip(path: Path, n: int) -> None:
    seconds = clip_seconds(n)
    part = path.with_name(path.stem + ".part.mp4")
    with av.open(str(part), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        # Short GOP, no B-frames: seeks (the grid's drift correction) decode little.
        video.options = {"preset": "ultrafast", "g": "12", "bf": "0"}
        audio = None
        if n in AUDIO_CLIPS:
            audio = out.add_stream("aac", rate=48000)
            audio.layout = "mono"
        total = seconds * FPS
        for i in range(total):
            frame = av.VideoFrame.from_ndarray(_frame(n, i, total), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if audio is not None:
            samples, block = 48000 * seconds, 1024
            t = np.arange(samples, dtype=np.float32) / 48000
            tone = (0.2 * np.sin(2 * np.pi * (220 + 40 * n) * t)).astype(np.float32)
            for start in range(0, samples, block):
                chunk = tone[start : start + block]
                aframe = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
                aframe.sample_rate = 48000
                aframe.pts = start
                aframe.time_base = Fraction(1, 48000)
                out.mux(audio.encode(aframe))
            out.mux(audio.encode())
    os.replace(part, path)


@st.cache_resource
def ensure_clips() -> list[str]:
    """Render the test clips once per server process (skipped when this recipe's files exist)."""
    CLIP_DIR.mkdir(parents=True, exist_ok=True)
    (CLIP_DIR / ".gitignore").write_text("*\n")  # generated output, never committed
    urls = []
    for n in range(1, CLIP_COUNT + 1):
        name = f"clip_{n}_{SPEC_VERSION}.mp4"
        if not (CLIP_DIR / name).exists():
            _write_clip(CLIP_DIR / name, n)
        urls.append(f"{URL_PREFIX}/{name}")
    return urls


def _remember(event: GridEvent) -> None:
    if event.kind in ("comment", "edit_comment", "delete_comment", "status"):
        _apply_review(event)
        return
    marks = st.session_state.setdefault("marks", {})
    marks.setdefault(event.clip_id, {})[event.kind] = event.value


def render_grid() -> None:
    """The grid and the last event; with ?fragment=1 this runs as a run_every fragment."""
    ticks = st.session_state["ticks"] = st.session_state.get("ticks", 0) + 1
    if in_fragment and ticks > FRAGMENT_TICKS_TO_FINISH:
        st.session_state["finished"] = True
    finished = st.session_state.get("finished", False)
    marks = st.session_state.get("marks", {})
    review = st.session_state.setdefault("review", review_seed()) if in_review else None
    clips = []
    for n, url in enumerate(urls, start=1):
        if in_review and n > REVIEW_CLIPS:
            break
        waiting = n in pending and not finished
        clip_id = f"job-{n}"
        mark = marks.get(clip_id, {})
        extra = {}
        if review is not None:
            status, status_by = review["status"].get(clip_id, (None, None))
            extra = {
                "comments": tuple(review["comments"].get(clip_id, ())),
                "status": status,
                "status_by": status_by,
                "review_picks": review["picks"].get(clip_id, ()),
                "badge": review["badge"].get(clip_id),
                "lineage": review["lineage"].get(clip_id),
            }
        clips.append(
            GridClip(
                clip_id=clip_id,
                label=f"Take {n}",
                host="Animatic (offline draft)",
                state="running" if waiting else "done",
                url=None if waiting else url,
                aspect_ratio="16:9",
                duration=float(clip_seconds(n)),
                cost_text=f"${0.35 if clip_seconds(n) == 5 else 0.70:.2f}",
                # Changes on every run, like the app's "generating · 12 s" status lines.
                detail=f"rendering {min(ticks * 10, 90)}%" if waiting else f"refreshed {ticks} times",
                poster=None,
                picked=bool(mark.get("pick", False)),
                starred=bool(mark.get("star", False)),
                rating=mark.get("rate"),
                **extra,
            )
        )
    event = video_grid(clips, key="grid", on_event=_remember, allow_comments=in_review, allow_status=in_review)
    if event is not None:
        st.session_state["last_event"] = event
    last = st.session_state.get("last_event")
    st.code(f"last event: {last.kind} {last.clip_id} {last.value}" if last else "last event: none")
    if in_review:
        payload = {"kind": last.kind, "clip_id": last.clip_id, "value": last.value} if last else None
        st.code(f"event json: {json.dumps(payload)}")


st.set_page_config(page_title="Grid harness", layout="wide")
urls = ensure_clips()
pending_param = st.query_params.get("pending", "")
pending = {int(p) for p in pending_param.split(",") if p.strip().isdigit()}
in_fragment = st.query_params.get("fragment") == "1"
in_review = st.query_params.get("review") == "1"

if st.button("Finish clips"):
    st.session_state["finished"] = True

if in_fragment:
    st.fragment(render_grid, run_every=FRAGMENT_EVERY_S)()
else:
    render_grid()
