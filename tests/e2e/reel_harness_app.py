"""A tiny Streamlit app that only exercises components.reel_player (used by tests/e2e/test_reel_player.py).

At startup it renders three test clips with PyAV into ``static/reel_test/`` beside this file (H.264
yuv420p, 24 fps, no B-frames), served by Streamlit's static serving at ``/app/static/reel_test/``:

* clip 1: 16:9 (320x180), 3 s, silent;
* clip 2: 9:16 (180x320), 2 s, with AAC sound;
* clip 3: 16:9 (320x180), 3 s, with AAC sound.

Every frame carries its own number and its clip's number as black/white blocks along the top
(``BITS`` blocks of ``BLOCK`` px: the frame index, then ``CLIP_BITS`` blocks: the clip number) on a
flat colour, so a test can read which frame of which clip the browser shows (draw the <video> on
a canvas and threshold the block centres).

The reel: SH010 (clip 1, frames 12–60), SH020 (clip 2, frames 6–42), SH025 (no pick yet: a slate),
SH030 (clip 3, frames 24–72, to the clip's end): 48 + 36 + 48 = 132 frames. ``?only=SH010,SH030``
keeps only those shots. The page shows the last event as ``last event: <kind> <shot_id>``; the
"Rerun" button reruns the script with the same shots (the player must keep playing).
"""

from __future__ import annotations

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

from components.reel_player import ReelEvent, ReelShot, reel_player  # noqa: E402

CLIP_DIR = Path(__file__).resolve().parent / "static" / "reel_test"
URL_PREFIX = "/app/static/reel_test"
FPS = 24
BLOCK = 16
BITS = 8  # frame index blocks (up to 255 frames)
CLIP_BITS = 2
SPEC_VERSION = "v1"  # bump to force regeneration when the clip recipe changes
CLIPS = {  # number: (width, height, seconds, sound)
    1: (320, 180, 3, False),
    2: (180, 320, 2, True),
    3: (320, 180, 3, True),
}
# shot_id, code, take, label, clip number (None: no pick), trim_in, trim_out
SHOTS = [
    ("sh-010", "SH010", "T002", "Wide: the <b>harbour</b> at dawn", 1, 12, 60),
    ("sh-020", "SH020", "T001", "Close: a face, vertical", 2, 6, 42),
    ("sh-025", "SH025", "", "Insert: the letter", None, 0, 0),
    ("sh-030", "SH030", "T004", "Push in on the boat", 3, 24, 72),
]


def frame_image(clip: int, index: int) -> np.ndarray:
    """A flat colour per clip; the frame index and the clip number as white (1) / black (0) blocks on top."""
    width, height, _seconds, _sound = CLIPS[clip]
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = ((60, 110, 160), (150, 80, 60), (70, 140, 80))[clip - 1]
    bits = [(index >> b) & 1 for b in range(BITS)] + [(clip >> b) & 1 for b in range(CLIP_BITS)]
    for b, bit in enumerate(bits):
        img[0:BLOCK, b * BLOCK : (b + 1) * BLOCK] = 255 if bit else 0
    return img


def _write_clip(path: Path, clip: int) -> None:
    width, height, seconds, sound = CLIPS[clip]
    part = path.with_name(path.stem + ".part.mp4")
    with av.open(str(part), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "g": "12", "bf": "0", "crf": "16"}
        audio = None
        if sound:
            audio = out.add_stream("aac", rate=48000)
            audio.layout = "mono"
        total = seconds * FPS
        for i in range(total):
            frame = av.VideoFrame.from_ndarray(frame_image(clip, i), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if audio is not None:
            samples, block = 48000 * seconds, 1024
            t = np.arange(samples, dtype=np.float32) / 48000
            tone = (0.2 * np.sin(2 * np.pi * (220 + 110 * clip) * t)).astype(np.float32)
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
def ensure_clips() -> dict[int, str]:
    """Render the test clips once per server process (skipped when this recipe's files exist)."""
    CLIP_DIR.mkdir(parents=True, exist_ok=True)
    (CLIP_DIR / ".gitignore").write_text("*\n")  # generated output, never committed
    urls = {}
    for clip in CLIPS:
        name = f"clip_{clip}_{SPEC_VERSION}.mp4"
        if not (CLIP_DIR / name).exists():
            _write_clip(CLIP_DIR / name, clip)
        urls[clip] = f"{URL_PREFIX}/{name}"
    return urls


def reel_shots(urls: dict[int, str], only: set[str] | None = None) -> list[ReelShot]:
    shots = []
    for shot_id, code, take, label, clip, trim_in, trim_out in SHOTS:
        if only and code not in only:
            continue
        width, height, _seconds, sound = CLIPS[clip] if clip else (320, 180, 0, False)
        aspect = "16:9" if width > height else "9:16"
        url = urls[clip] if clip else None
        shots.append(ReelShot(shot_id, code, take, label, url, None, trim_in, trim_out, sound, aspect))
    return shots


def _remember(event: ReelEvent) -> None:
    st.session_state["forwarded"] = st.session_state.get("forwarded", 0) + 1


st.set_page_config(page_title="Reel harness", layout="wide")
clip_urls = ensure_clips()
only_param = st.query_params.get("only", "")
only_codes = {c.strip() for c in only_param.split(",") if c.strip()} or None
st.session_state["runs"] = st.session_state.get("runs", 0) + 1
st.button("Rerun")
event = reel_player(reel_shots(clip_urls, only_codes), key="reel", on_event=_remember)
if event is not None:
    st.session_state["last_event"] = event
last = st.session_state.get("last_event")
st.code(f"last event: {last.kind} {last.shot_id}" if last else "last event: none")
st.code(f"runs: {st.session_state['runs']} forwarded: {st.session_state.get('forwarded', 0)}")
