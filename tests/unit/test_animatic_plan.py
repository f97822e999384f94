"""The animatic's reading of a prompt: camera, mood, dialogue, ambience, text fitting. No rendering here."""

from __future__ import annotations

import json

import pytest
from PIL import Image, ImageDraw

from kling_lab.animatic import CAMERA_MOVES, plan_animatic
from kling_lab.animatic.ambience import choose_ambience
from kling_lab.animatic.camera import camera_pose, parse_camera
from kling_lab.animatic.dialogue import extract_dialogue, time_subtitles
from kling_lab.animatic.mood import (
    MOODS,
    PALETTES,
    choose_landmark,
    choose_mood,
    choose_scenery,
    choose_weather,
    palette_for,
)
from kling_lab.animatic.overlay import ELLIPSIS, fit_charset, load_font, subtitle_overlay, title_overlay, wrap_text
from kling_lab.images import FrameRef
from kling_lab.request import GenerationRequest

CAMERA_TABLE = [
    ("slow push-in on her face", "push_in"),
    ("the camera pushes in", "push_in"),
    ("zoom in on the clock", "push_in"),
    ("pull-out to reveal the valley", "pull_out"),
    ("camera pulls back slowly", "pull_out"),
    ("zoom out from the city", "pull_out"),
    ("pan left across the market", "pan_left"),
    ("the camera pans to the right", "pan_right"),
    ("panning right over the bay", "pan_right"),
    ("tilt up to the sky", "tilt_up"),
    ("tilts down to the floor", "tilt_down"),
    ("crane up over the crowd", "crane_up"),
    ("crane shot descending... crane down to the street", "crane_down"),
    ("boom up above the trees", "crane_up"),
    ("orbit around the statue", "orbit"),
    ("the camera orbits the dancer", "orbit"),
    ("arc shot around the car", "orbit"),
    ("dolly in toward the door", "dolly_in"),
    ("dolly-in on the hero", "dolly_in"),
    ("dolly out from the table", "dolly_out"),
    ("dolly back as he walks", "dolly_out"),
    ("static shot of a kitchen", "static"),
    ("locked-off wide shot", "static"),
    ("locked off", "static"),
    ("handheld through the crowd", "handheld"),
    ("shaky cam chase", "handheld"),
    ("hand-held close-up", "handheld"),
    ("a slow pan across the hills", "pan_right"),
    ("crane shot of the harbour", "crane_up"),
]


@pytest.mark.parametrize(("prompt", "move"), CAMERA_TABLE)
def test_camera_phrases_map_to_moves(prompt: str, move: str) -> None:
    direction = parse_camera(prompt)
    assert direction.move == move
    assert direction.phrase is not None


@pytest.mark.parametrize("prompt", ["a fox in the snow", "", "a knight pulls out a sword", "leaves moving in the wind"])
def test_no_camera_direction_means_gentle_push_in(prompt: str) -> None:
    direction = parse_camera(prompt)
    assert (direction.move, direction.speed, direction.phrase) == ("push_in", "slow", None)


def test_earliest_direction_wins_and_explicit_beats_bare() -> None:
    assert parse_camera("pan left, then a slow push-in").move == "pan_left"
    assert parse_camera("slow push-in, then pan left").move == "push_in"
    # "dolly" alone would mean dolly in; the explicit "dolly out" must win.
    assert parse_camera("a dolly shot: dolly out from the door").move == "dolly_out"


def test_speed_words_next_to_the_move() -> None:
    assert parse_camera("slow push-in").speed == "slow"
    assert parse_camera("a fast whip pan left").speed == "fast"
    assert parse_camera("pan left").speed == "normal"


def test_every_move_has_a_pose_that_moves_except_static() -> None:
    for move in CAMERA_MOVES:
        first, last = camera_pose(move, 0.0), camera_pose(move, 1.0)
        if move == "static":
            assert first == last
        elif move != "handheld":
            assert first != last, move
    wobble = {camera_pose("handheld", u / 10, seed=3) for u in range(11)}
    assert len(wobble) > 5


def test_zoom_has_no_parallax_but_dolly_does() -> None:
    zoom, dolly = camera_pose("push_in", 1.0), camera_pose("dolly_in", 1.0)
    assert zoom.zoom > 1.1 and zoom.z == 0
    assert dolly.zoom == 1.0 and dolly.z > 0.3


@pytest.mark.parametrize(
    ("prompt", "mood"),
    [
        ("a lighthouse at dusk", "dusk"),
        ("a street at night", "night"),
        ("neon city at night", "neon"),
        ("sunset over the bay", "sunset"),
        ("a cabin in the forest", "forest"),
        ("a snowy village", "snow"),
        ("rain on a window", "rain"),
        ("fog over a lake", "fog"),
        ("a desert highway", "desert"),
        ("waves on the ocean", "ocean"),
        ("a campfire", "fire"),
        ("a cup of tea", "day"),
    ],
)
def test_mood_from_words(prompt: str, mood: str) -> None:
    assert choose_mood(prompt) == mood
    assert mood in MOODS and mood in PALETTES


def test_mood_and_palette_are_deterministic_and_vary_between_prompts() -> None:
    a = palette_for(choose_mood("a lighthouse at dusk"), "a lighthouse at dusk")
    assert a == palette_for(choose_mood("a lighthouse at dusk"), "a lighthouse at dusk")
    # Same mood, different words: a nudged palette, not a clone.
    b = palette_for("dusk", "an old barn at dusk with a red tractor")
    assert a != b
    assert max(abs(x - y) for x, y in zip(a.sky_top, PALETTES["dusk"].sky_top, strict=True)) <= 0.04 + 1e-9


def test_scenery_weather_landmark() -> None:
    assert choose_scenery("a lighthouse on the coast") == "sea"
    assert choose_scenery("downtown skyline") == "city"
    assert choose_scenery("pine forest") == "trees"
    assert choose_scenery("a red barn") == "hills"
    assert choose_weather("heavy rain") == "rain"
    assert choose_weather("a snowy street") == "snow"
    assert choose_weather("a clear day") is None
    assert choose_landmark("a lighthouse") == "lighthouse"
    assert choose_landmark("a meadow") is None


def test_dialogue_straight_and_curly_quotes_in_order() -> None:
    prompt = 'She says "Where are you?" and he answers “Right behind you.” then "" nothing, "unclosed'
    assert extract_dialogue(prompt) == ["Where are you?", "Right behind you."]


def test_subtitles_spread_across_clip_without_overlap() -> None:
    lines = ["Hi.", "A much longer line that needs more time on screen to read.", "Bye."]
    for duration in (5.0, 10.0):
        subs = time_subtitles(lines, duration)
        assert [s.text for s in subs] == lines
        assert subs[0].start > 0 and subs[-1].end < duration
        for sub in subs:
            assert sub.end - sub.start >= 0.5 - 1e-6
        for a, b in zip(subs, subs[1:], strict=False):
            assert a.end <= b.start
        # The long line gets the most time.
        assert max(subs, key=lambda s: s.end - s.start).text == lines[1]
        assert subs[-1].start > duration * 0.5  # spread, not bunched at the start


def test_a_short_line_lasts_about_as_long_as_it_takes_to_say() -> None:
    (line,) = time_subtitles(["We made it."], 5.0)
    assert 1.0 <= line.end - line.start <= 2.0
    (long_line,) = time_subtitles(["word " * 100], 5.0)
    assert long_line.end <= 5.0 - 0.2  # cut to the clip, not beyond it


def test_many_lines_are_capped_and_still_readable() -> None:
    subs = time_subtitles([f"Line {i}." for i in range(30)], 5.0)
    assert 1 <= len(subs) <= 8
    assert all(s.end - s.start >= 0.5 - 1e-6 for s in subs)
    assert subs[-1].end <= 5.0
    assert len(time_subtitles([f"Line {i}." for i in range(30)], 10.0)) == 8


@pytest.mark.parametrize(
    ("prompt", "ambience"),
    [
        ("rain on a tin roof", "rain"),
        ("a lighthouse at dusk", "sea"),
        ("a crackling campfire", "fire"),
        ("busy city street", "city"),
        ("wind over the desert", "wind"),
        ("birds in the forest", "forest"),
        ("a field at night", "night"),
        ("a kitchen at breakfast", "room"),
        ("a cup of tea", "room"),
    ],
)
def test_ambience_from_words(prompt: str, ambience: str) -> None:
    assert choose_ambience(prompt) == ambience


def test_plan_fields_sizes_and_audio() -> None:
    sizes = {"16:9": (640, 360), "9:16": (360, 640), "1:1": (480, 480)}
    for ratio, size in sizes.items():
        plan = plan_animatic(GenerationRequest(prompt="a fox", aspect_ratio=ratio, duration=10))
        assert (plan.width, plan.height) == size
        assert plan.frame_count == 240 and plan.fps == 24
    quiet = plan_animatic(GenerationRequest(prompt='a lighthouse at dusk, "We made it."', audio=False))
    loud = plan_animatic(GenerationRequest(prompt='a lighthouse at dusk, "We made it."', audio=True))
    assert quiet.ambience is None and loud.ambience == "sea"
    assert loud.subtitles[0].text == "We made it."
    assert loud.picture == "mood card"
    assert "Camera: slow push-in (default)" in loud.describe()
    json.dumps(loud.to_dict())  # JSON-ready for the job's details


def test_plan_is_pure_and_seed_aware() -> None:
    request = GenerationRequest(prompt="an orbit around a statue in fog")
    assert plan_animatic(request) == plan_animatic(request)
    assert plan_animatic(request.with_changes(seed=7)).seed == 7
    spaced = GenerationRequest(prompt="An  orbit around a statue in fog")
    assert plan_animatic(request).seed == plan_animatic(spaced).seed


def test_plan_picture_kind_follows_frames() -> None:
    ref = FrameRef("0" * 64, "image/png", 800, 600, 1000)
    assert plan_animatic(GenerationRequest(prompt="x", start_frame=ref)).picture == "start frame"
    both = GenerationRequest(prompt="x", start_frame=ref, end_frame=ref)
    assert plan_animatic(both).picture == "start and end frames"


def test_wrap_never_overflows_and_ellipsises() -> None:
    font, _ = load_font(19)
    text = ("a very long shot description with many words " * 60).strip()
    lines = wrap_text(text, font, 300, 3)
    assert len(lines) == 3
    assert lines[-1].endswith(ELLIPSIS)
    assert all(font.getlength(line) <= 300 for line in lines)
    one_word = wrap_text("x" * 2500, font, 200, 2)
    assert len(one_word) == 2 and all(font.getlength(line) <= 200 for line in one_word)
    assert wrap_text("short", font, 300, 3) == ["short"]


def test_title_of_2500_characters_fits_the_frame() -> None:
    overlay = title_overlay("word " * 500, 360, 640, top=30)
    assert overlay is not None
    assert overlay.image.width == 360 and overlay.image.height < 640 // 2


def test_bundled_font_works_without_system_fonts() -> None:
    font, bundled = load_font(20, system_fonts=False)
    assert bundled
    assert fit_charset("Zoë — “hi” · ok", bundled=True) == "Zoe - “hi” · ok"
    overlay = subtitle_overlay("Ça va? Über gut — 東京", 640, 360, system_fonts=False)
    assert 0 < overlay.image.width <= 640
    # Something white was actually drawn.
    assert overlay.image.convert("L").getextrema()[1] > 200


def test_overlay_blend_matches_pillow_compositing() -> None:
    import numpy as np

    base = Image.new("RGB", (80, 40), (10, 120, 200))
    sprite = Image.new("RGBA", (30, 20), (0, 0, 0, 0))
    ImageDraw.Draw(sprite).rectangle((2, 2, 27, 17), fill=(255, 255, 255, 128))
    from kling_lab.animatic.overlay import Overlay

    overlay = Overlay(sprite, 60, 30)  # partly off the frame: must clip, not fail
    planes = np.asarray(base, dtype=np.float32).transpose(2, 0, 1).copy()
    overlay.blend_into(planes)
    expected = base.copy()
    expected.paste(sprite, (60, 30), sprite)
    got = planes.transpose(1, 2, 0)
    assert np.abs(got - np.asarray(expected, dtype=np.float32)).max() <= 1.0


def test_the_animatic_never_imports_streamlit() -> None:
    import subprocess
    import sys

    code = (
        "import sys, kling_lab.animatic, kling_lab.providers.animatic; "
        "sys.exit(1 if any(m == 'streamlit' or m.startswith('streamlit.') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_every_camera_direction_the_compose_page_offers_is_a_real_move() -> None:
    from kling_lab.prompt_helpers import CAMERA_DIRECTIONS

    for phrase in CAMERA_DIRECTIONS:
        direction = parse_camera(f"a lighthouse at dusk, {phrase}")
        assert direction.phrase is not None, phrase
