"""The reel MP4 probed with PyAV: frame-exact length, sound when any take has it, mixed aspects letterboxed."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from kling_lab.sequences.export import export_cut
from kling_lab.sequences.model import Cut
from kling_lab.sequences.reel import reel_size
from tests.unit.test_sequence_export import cut_shot, make_clip


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("reel_clips")
    return {"wide": make_clip(work / "wide.mp4", seconds=1.0, width=320, height=180, audio=True),
            "quiet": make_clip(work / "quiet.mp4", seconds=1.0, width=320, height=180, colour=(40, 60, 200)),
            "tall": make_clip(work / "tall.mp4", seconds=1.0, width=180, height=320, colour=(250, 250, 250))}


def _probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video)]
        info = {"frames": frames, "size": (video.codec_context.width, video.codec_context.height),
                "codec": video.codec_context.name, "audio": None}
    with av.open(str(path)) as container:
        if container.streams.audio:
            audio = container.streams.audio[0]
            samples = np.concatenate([f.to_ndarray() for f in container.decode(audio)], axis=1)
            info["audio"] = (audio.codec_context.name, audio.codec_context.sample_rate, samples)
    return info


@pytest.fixture(scope="module")
def mixed(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Cut, dict]:
    cut = Cut(sequence_id="s_1", name="Mixed", shots=(
        cut_shot(0, clips["wide"], trim_in=4, trim_out=20, source_frames=24, audio=True),
        cut_shot(1, clips["tall"], trim_in=0, trim_out=24, source_frames=24, width=180, height=320),
        cut_shot(2, clips["quiet"], trim_in=10, trim_out=17, source_frames=24),
    ))
    out = export_cut(cut, "mp4", tmp_path_factory.mktemp("reel") / "reel.mp4")
    return cut, _probe(out)


def test_the_reel_is_frame_exact_h264_with_sound(mixed: tuple[Cut, dict]) -> None:
    cut, info = mixed
    assert info["codec"] == "h264" and info["size"] == (320, 180) == reel_size(cut)
    assert len(info["frames"]) == cut.total_frames == 47
    codec, rate, samples = info["audio"]
    assert (codec, rate) == ("aac", 48000)
    assert abs(samples.shape[1] / rate - cut.seconds) <= 1 / 24 + 1024 / rate  # within a frame (plus AAC priming)
    first = np.abs(samples[0, 2000:28000]).mean()  # SH010 (16 frames, 32,000 samples) has its tone
    silent = np.abs(samples[0, 36000:90000]).mean()  # SH020 and SH030 have none
    assert first > 0.1 and silent < 0.01


def test_mixed_aspects_are_pillarboxed_on_black(mixed: tuple[Cut, dict]) -> None:
    _, info = mixed
    tall = info["frames"][16 + 12]  # inside SH020, the portrait take
    assert tall[:, :100].max() < 30 and tall[:, -100:].max() < 30  # black bars either side
    assert tall[90, 160].min() > 200  # the white take in the middle
    wide = info["frames"][2]
    assert wide[90, 5].min() > 20 and wide[90, 315, 0] > 150  # the wide take fills the frame


def test_the_trimmed_frames_play_in_order(mixed: tuple[Cut, dict]) -> None:
    _, info = mixed
    # The test clips brighten the top quarter's green by 2 a frame: SH010 starts at its frame 4, SH030 at 10.
    assert abs(int(info["frames"][0][5, 160, 1]) - 8) <= 6
    assert abs(int(info["frames"][15][5, 160, 1]) - 38) <= 6
    assert abs(int(info["frames"][40][5, 160, 1]) - 20) <= 6


def test_no_audio_stream_when_no_take_has_sound_and_the_slate_burns_in(clips: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    shots = (cut_shot(0, clips["quiet"], trim_in=0, trim_out=12, source_frames=24),)
    plain = _probe(export_cut(Cut(sequence_id="s_2", name="Quiet", shots=shots), "mp4", tmp_path / "a.mp4"))
    slated = _probe(export_cut(Cut(sequence_id="s_2", name="Quiet", shots=shots), "mp4", tmp_path / "b.mp4",
                               slate=True))
    assert plain["audio"] is None and len(plain["frames"]) == len(slated["frames"]) == 12
    corner = (slice(0, 40), slice(0, 120))
    def white(frame: np.ndarray) -> int:
        return int((frame[corner].min(axis=2) > 200).sum())

    assert white(slated["frames"][0]) > 20 and white(plain["frames"][0]) == 0  # the slate's white text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4"]


def test_a_clip_that_is_not_a_video_is_a_sentence_and_no_file(clips: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"garbage")
    cut = Cut(sequence_id="s_3", name="Bad", shots=(
        cut_shot(0, clips["quiet"], trim_in=0, trim_out=12, source_frames=24),
        cut_shot(1, bad, trim_in=0, trim_out=12, source_frames=24)))
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="SH020 could not be read as a video"):
        export_cut(cut, "mp4", out / "reel.mp4")
    assert list(out.iterdir()) == []
