"""AppTest coverage for components.reel_player: what Python sends to the browser, what it refuses, and what
comes back.

AppTest runs no JavaScript: a CCv2 element shows up as an UnknownElement of type "bidi_component" whose
``.proto`` is the BidiComponent message (data as JSON in ``proto.json``). Browser behaviour is covered by
tests/e2e/test_reel_player.py.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from components.reel_player import MAX_SHOTS, ReelEvent, ReelShot, _parse_event, reel_player


def _shot(shot_id: str = "s1", **changes) -> ReelShot:
    values = {
        "shot_id": shot_id,
        "code": "SH010",
        "take_code": "T001",
        "label": "wide",
        "url": "/media/j1.mp4",
        "poster": None,
        "trim_in": 0,
        "trim_out": 24,
        "has_audio": False,
        "aspect_ratio": "16:9",
    }
    values.update(changes)
    return ReelShot(**values)


def _reel_script() -> None:
    import streamlit as st

    from components.reel_player import ReelShot, reel_player

    shots = [
        ReelShot("s-1", "SH010", "T003", "Wide <b>harbour</b>", "/media/j1.mp4", "/media/j1.jpg", 12, 60, True),
        ReelShot("s-2", "SH020", "T001", "Close", "/media/j2.mp4", None, 0, 36, False, "9:16"),
        ReelShot("s-3", "SH030", "", "Insert", None, None, 0, 0, False),
    ]
    event = reel_player(shots, key="reel", fps=st.session_state.get("fps", 24))
    st.write(f"event: {event}")


def _reel_element(at: AppTest):
    elements = at.get("bidi_component")
    assert len(elements) == 1, f"expected one reel element, found {len(elements)}"
    return elements[0]


def test_the_reel_sends_each_shot_its_trims_urls_and_codes() -> None:
    at = AppTest.from_function(_reel_script).run(timeout=20)

    assert not at.exception
    proto = _reel_element(at).proto
    assert proto.component_name == "kling_lab_reel_player"
    data = json.loads(proto.json)
    assert data["fps"] == 24
    shots = data["shots"]
    assert [s["shot_id"] for s in shots] == ["s-1", "s-2", "s-3"]
    assert [(s["code"], s["take_code"]) for s in shots] == [("SH010", "T003"), ("SH020", "T001"), ("SH030", "")]
    assert [(s["trim_in"], s["trim_out"]) for s in shots] == [(12, 60), (0, 36), (0, 0)]
    assert [s["url"] for s in shots] == ["/media/j1.mp4", "/media/j2.mp4", None]
    assert shots[0]["poster"] == "/media/j1.jpg" and shots[0]["has_audio"] is True
    assert shots[1]["aspect_ratio"] == "9:16"
    assert shots[0]["label"] == "Wide <b>harbour</b>"  # sent as data; the browser sets it as text


def test_the_reel_ships_its_js_css_and_html_inline_and_no_video_bytes() -> None:
    at = AppTest.from_function(_reel_script).run(timeout=20)

    proto = _reel_element(at).proto
    assert "export default function" in proto.js_content
    assert "requestVideoFrameCallback" in proto.js_content
    assert "innerHTML" not in proto.js_content.replace("this.playIcon.innerHTML", "")  # data goes in as text only
    assert ".kl-reel-stage" in proto.css_content and "object-fit: contain" in proto.css_content
    assert 'data-testid="reel-current-shot"' in proto.html_content
    assert proto.WhichOneof("data") == "json"
    assert not at.get("video")


def test_no_event_is_reported_before_the_person_acts() -> None:
    at = AppTest.from_function(_reel_script).run(timeout=20)

    assert at.markdown[0].value == "event: None"


def test_a_frame_rate_reaches_the_browser() -> None:
    at = AppTest.from_function(_reel_script)
    at.session_state["fps"] = 25
    at.run(timeout=20)

    assert json.loads(_reel_element(at).proto.json)["fps"] == 25


def test_shot_frames_count_the_trimmed_part_and_nothing_for_a_shot_without_a_pick() -> None:
    assert _shot(trim_in=12, trim_out=60).frames == 48
    assert _shot(url=None, trim_in=0, trim_out=0).frames == 0


def test_more_than_sixty_shots_is_refused_with_a_message() -> None:
    shots = [_shot(f"s{i}") for i in range(MAX_SHOTS + 1)]

    with pytest.raises(ValueError, match="at most 60 shots; got 61"):
        reel_player(shots, key="too-many")


@pytest.mark.parametrize(
    ("shots", "message"),
    [
        ([_shot("a"), _shot("a")], "Duplicate shot_id 'a'"),
        ([_shot(shot_id="")], "needs a shot_id"),
        ([_shot(aspect_ratio="4:3")], "aspect ratio '4:3'"),
        ([_shot(trim_in=24, trim_out=24)], "in point must come before the out point"),
        ([_shot(trim_in=30, trim_out=24)], "in point must come before the out point"),
        ([_shot(trim_in=-1, trim_out=24)], "in point must come before the out point"),
        ([_shot(trim_in=1.5, trim_out=24)], "trims are whole frames"),
        ([_shot(trim_out=True)], "trims are whole frames"),
        ([_shot(url="data:video/mp4;base64,AAAA")], "not embedded bytes"),
        ([_shot(url="BLOB:http://x/1")], "not embedded bytes"),
        ([_shot(poster="javascript:alert(1)")], "poster URL"),
    ],
)
def test_invalid_shots_are_refused_before_anything_is_sent(shots: list[ReelShot], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        reel_player(shots, key="bad")


def test_a_shot_without_a_pick_needs_no_trims() -> None:
    from components.reel_player import _validate

    _validate([_shot(url=None, trim_in=0, trim_out=0)], 24)  # a slate card: nothing to refuse


@pytest.mark.parametrize("fps", [0, -24, 121, 23.976, True])
def test_a_bad_frame_rate_is_refused(fps: object) -> None:
    with pytest.raises(ValueError, match="frame rate"):
        reel_player([_shot()], key="fps", fps=fps)  # type: ignore[arg-type]


def test_items_that_are_not_reel_shots_are_refused() -> None:
    with pytest.raises(TypeError, match="expects ReelShot items"):
        reel_player([{"shot_id": "a"}], key="dicts")  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"kind": "open_shot", "shot_id": "s-2"}, ReelEvent("open_shot", "s-2")),
        ({"kind": "jump", "shot_id": "s-1"}, ReelEvent("jump", "s-1")),
        ({"kind": "open_shot", "shot_id": "gone"}, None),  # a shot no longer in the reel
        ({"kind": "pick", "shot_id": "s-1"}, None),
        ({"kind": "jump", "shot_id": ""}, None),
        ({"kind": "jump", "shot_id": 3}, None),
        ({"kind": "jump"}, None),
        ("jump s-1", None),
        (None, None),
    ],
)
def test_events_from_the_browser_are_parsed_strictly(payload: object, expected: ReelEvent | None) -> None:
    assert _parse_event(payload, frozenset({"s-1", "s-2"})) == expected
