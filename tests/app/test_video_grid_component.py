"""AppTest coverage for components.video_grid: what Python sends to the browser, and what comes back.

AppTest runs no JavaScript: a CCv2 element shows up as an UnknownElement of type
"bidi_component" whose ``.proto`` is the BidiComponent message (data as JSON in ``proto.json``).
Browser behaviour is covered by tests/e2e/test_video_grid.py.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from components.video_grid import GridClip, GridComment, GridEvent, _parse_event, video_grid


def _three_clip_script() -> None:
    import streamlit as st

    from components.video_grid import GridClip, video_grid

    clips = [
        GridClip(
            "job-a",
            "fog",
            "Animatic (offline draft)",
            "done",
            "/app/static/clips/job-a.mp4",
            "16:9",
            5.0,
            "$0.35",
            None,
            "/app/static/clips/job-a.jpg",
            picked=True,
        ),
        GridClip(
            "job-b",
            "rain",
            "Animatic (offline draft)",
            "done",
            "/app/static/clips/job-b.mp4",
            "9:16",
            10.0,
            "$0.70",
            None,
            None,
            starred=True,
            rating=4,
        ),
        GridClip("job-c", "snow", "Kie", "running", None, "1:1", None, "$0.35", "rendering 40%", None),
    ]
    event = video_grid(clips, key="grid", show_cost=st.session_state.get("show_cost", True))
    st.write(f"event: {event}")


def _grid_element(at: AppTest):
    elements = at.get("bidi_component")
    assert len(elements) == 1, f"expected one grid element, found {len(elements)}"
    return elements[0]


def test_grid_sends_clip_urls_labels_and_states_to_the_browser() -> None:
    at = AppTest.from_function(_three_clip_script).run(timeout=20)

    assert not at.exception
    proto = _grid_element(at).proto
    assert proto.component_name == "kling_lab_video_grid"
    data = json.loads(proto.json)
    assert [c["clip_id"] for c in data["clips"]] == ["job-a", "job-b", "job-c"]
    assert [c["label"] for c in data["clips"]] == ["fog", "rain", "snow"]
    assert [c["url"] for c in data["clips"]] == ["/app/static/clips/job-a.mp4", "/app/static/clips/job-b.mp4", None]
    assert [c["state"] for c in data["clips"]] == ["done", "done", "running"]
    assert data["clips"][2]["detail"] == "rendering 40%"
    assert data["clips"][0]["picked"] is True and data["clips"][1]["rating"] == 4
    assert data["show_cost"] is True and data["allow_pick"] is True


def test_grid_ships_its_js_css_and_html_inline_and_no_video_bytes() -> None:
    at = AppTest.from_function(_three_clip_script).run(timeout=20)

    proto = _grid_element(at).proto
    assert "export default function" in proto.js_content
    assert ".kl-cells" in proto.css_content
    assert 'aria-label="Scrub all clips"' in proto.html_content
    assert proto.WhichOneof("data") == "json"  # URLs only: no bytes/Arrow payload
    assert not at.get("video")  # nothing went through st.video's in-memory media store


def test_show_cost_false_reaches_the_browser() -> None:
    at = AppTest.from_function(_three_clip_script)
    at.session_state["show_cost"] = False
    at.run(timeout=20)

    assert json.loads(_grid_element(at).proto.json)["show_cost"] is False


def test_no_event_is_reported_before_the_user_acts() -> None:
    at = AppTest.from_function(_three_clip_script).run(timeout=20)

    assert at.markdown[0].value == "event: None"


def test_more_than_ten_clips_is_refused_with_a_message() -> None:
    clips = [GridClip(f"j{i}", f"take {i}", "Kie", "queued", None) for i in range(11)]

    with pytest.raises(ValueError, match="at most 10 clips; got 11"):
        video_grid(clips, key="too-many")


@pytest.mark.parametrize(
    ("clip", "message"),
    [
        (GridClip("j", "x", "Kie", "done", "data:video/mp4;base64,AAAA"), "not embedded bytes"),
        (GridClip("j", "x", "Kie", "done", "/a.mp4", aspect_ratio="4:3"), "aspect ratio"),
        (GridClip("j", "x", "Kie", "finished", "/a.mp4"), "unknown state"),
        (GridClip("j", "x", "Kie", "done", "/a.mp4", rating=6), "rating must be 1–5"),
    ],
)
def test_invalid_clips_are_refused_before_anything_is_sent(clip: GridClip, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        video_grid([clip], key="bad")


def test_duplicate_clip_ids_are_refused() -> None:
    clips = [GridClip("same", "a", "Kie", "done", "/a.mp4"), GridClip("same", "b", "Kie", "done", "/b.mp4")]

    with pytest.raises(ValueError, match="Duplicate clip_id"):
        video_grid(clips, key="dupes")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"kind": "pick", "clip_id": "j1", "value": True}, GridEvent("pick", "j1", True)),
        ({"kind": "star", "clip_id": "j1", "value": False}, GridEvent("star", "j1", False)),
        ({"kind": "rate", "clip_id": "j1", "value": 3}, GridEvent("rate", "j1", 3)),
        ({"kind": "rate", "clip_id": "j1", "value": None}, GridEvent("rate", "j1", None)),
        ({"kind": "rate", "clip_id": "j1", "value": 9}, None),
        ({"kind": "rate", "clip_id": "j1", "value": True}, None),
        ({"kind": "delete", "clip_id": "j1", "value": True}, None),
        ({"kind": "pick", "value": True}, None),
        ("pick", None),
        (None, None),
    ],
)
def test_trigger_payloads_become_typed_events_or_none(payload: object, expected: GridEvent | None) -> None:
    assert _parse_event(payload) == expected


# ---------------------------------------------------------------- review: comments, statuses, picks by name

def _review_script() -> None:
    from components.video_grid import GridClip, GridComment, video_grid

    clip = GridClip(
        "job-a", "fog", "Kie", "done", "/a.mp4",
        comments=(GridComment(7, 1.5, 2.0, "Ann", "<b>x</b>", False),),
        status="changes", status_by="Bo", review_picks=("Ann", "Bo"), badge="SH010 · T004",
        lineage="T006 from T003: cfg 0.5 → 0.7",
    )
    video_grid([clip], key="grid", allow_comments=True, allow_status=True)


def test_review_fields_and_options_reach_the_browser_as_plain_data() -> None:
    at = AppTest.from_function(_review_script).run(timeout=20)

    assert not at.exception
    data = json.loads(_grid_element(at).proto.json)
    clip = data["clips"][0]
    assert clip["comments"] == [{"id": 7, "at": 1.5, "until": 2.0, "author": "Ann", "text": "<b>x</b>", "mine": False}]
    assert (clip["status"], clip["status_by"], clip["review_picks"]) == ("changes", "Bo", ["Ann", "Bo"])
    assert (clip["badge"], clip["lineage"]) == ("SH010 · T004", "T006 from T003: cfg 0.5 → 0.7")
    assert data["allow_comments"] is True and data["allow_status"] is True
    assert data["status_words"]["changes"] == "Changes requested" and data["max_comment_chars"] == 2000


def test_review_is_off_unless_asked_for() -> None:
    at = AppTest.from_function(_three_clip_script).run(timeout=20)

    data = json.loads(_grid_element(at).proto.json)
    assert data["allow_comments"] is False and data["allow_status"] is False
    assert data["clips"][0]["comments"] == [] and data["clips"][0]["status"] is None


def test_the_review_script_is_joined_into_the_one_module() -> None:
    at = AppTest.from_function(_three_clip_script).run(timeout=20)

    js = _grid_element(at).proto.js_content
    assert "Object.assign(Grid.prototype" in js and js.index("class Grid") < js.index("Object.assign(Grid.prototype")
    assert "innerHTML = c" not in js and ".innerHTML = clip" not in js  # data never goes in as markup


@pytest.mark.parametrize(
    ("clip", "message"),
    [
        (GridClip("j", "x", "Kie", "done", "/a.mp4", status="approve"), "status 'approve'"),
        (GridClip("j", "x", "Kie", "done", "/a.mp4", comments=(GridComment(1, -1.0, None, "A", "t", False),)),
         "not a number ≥ 0"),
        (GridClip("j", "x", "Kie", "done", "/a.mp4", comments=(GridComment(1, 1.0, float("nan"), "A", "t", False),)),
         "not a number ≥ 0"),
    ],
)
def test_invalid_review_fields_are_refused(clip: GridClip, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        video_grid([clip], key="bad-review")


def test_comments_must_be_grid_comments_and_picks_a_tuple_of_names() -> None:
    with pytest.raises(TypeError, match="GridComment"):
        video_grid([GridClip("j", "x", "Kie", "done", "/a.mp4", comments=({"at": 1},))], key="bad")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tuple of names"):
        video_grid([GridClip("j", "x", "Kie", "done", "/a.mp4", review_picks="Ann")], key="bad")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"kind": "comment", "clip_id": "j", "value": {"at": 2.125, "until": None, "text": " fog "}},
         GridEvent("comment", "j", {"at": 2.125, "until": None, "text": "fog"})),
        ({"kind": "comment", "clip_id": "j", "value": {"at": 0, "until": 3, "text": "<b>x</b>"}},
         GridEvent("comment", "j", {"at": 0.0, "until": 3.0, "text": "<b>x</b>"})),
        ({"kind": "comment", "clip_id": "j", "value": {"at": 1, "text": "no until key"}},
         GridEvent("comment", "j", {"at": 1.0, "until": None, "text": "no until key"})),
        ({"kind": "comment", "clip_id": "j", "value": {"at": 1, "until": None, "text": "x" * 2000}},
         GridEvent("comment", "j", {"at": 1.0, "until": None, "text": "x" * 2000})),
        ({"kind": "comment", "clip_id": "j", "value": {"at": 1, "until": None, "text": "x" * 2001}}, None),
        ({"kind": "comment", "clip_id": "j", "value": {"at": 1, "until": None, "text": "   "}}, None),
        ({"kind": "comment", "clip_id": "j", "value": {"at": -0.5, "until": None, "text": "x"}}, None),
        ({"kind": "comment", "clip_id": "j", "value": {"at": float("inf"), "until": None, "text": "x"}}, None),
        ({"kind": "comment", "clip_id": "j", "value": {"at": float("nan"), "until": None, "text": "x"}}, None),
        ({"kind": "comment", "clip_id": "j", "value": {"at": True, "until": None, "text": "x"}}, None),
        ({"kind": "comment", "clip_id": "j", "value": {"at": "1", "until": None, "text": "x"}}, None),
        ({"kind": "comment", "clip_id": "j", "value": {"at": 2, "until": 1, "text": "x"}}, None),
        ({"kind": "comment", "clip_id": "j", "value": {"at": 2, "until": "3", "text": "x"}}, None),
        ({"kind": "comment", "clip_id": "j", "value": {"at": 1, "until": None, "text": 5}}, None),
        ({"kind": "comment", "clip_id": "j", "value": "fog"}, None),
        ({"kind": "edit_comment", "clip_id": "j", "value": {"id": 4, "text": " new "}},
         GridEvent("edit_comment", "j", {"id": 4, "text": "new"})),
        ({"kind": "edit_comment", "clip_id": "j", "value": {"id": "4", "text": "new"}}, None),
        ({"kind": "edit_comment", "clip_id": "j", "value": {"id": True, "text": "new"}}, None),
        ({"kind": "edit_comment", "clip_id": "j", "value": {"id": 4, "text": ""}}, None),
        ({"kind": "edit_comment", "clip_id": "j", "value": {"id": 4, "text": "y" * 10_000}}, None),
        ({"kind": "delete_comment", "clip_id": "j", "value": {"id": 4}}, GridEvent("delete_comment", "j", {"id": 4})),
        ({"kind": "delete_comment", "clip_id": "j", "value": {"id": 4.0}}, None),
        ({"kind": "delete_comment", "clip_id": "j", "value": None}, None),
        ({"kind": "status", "clip_id": "j", "value": "approved"}, GridEvent("status", "j", "approved")),
        ({"kind": "status", "clip_id": "j", "value": "changes"}, GridEvent("status", "j", "changes")),
        ({"kind": "status", "clip_id": "j", "value": None}, GridEvent("status", "j", None)),
        ({"kind": "status", "clip_id": "j", "value": "Approved"}, None),
        ({"kind": "status", "clip_id": "j", "value": True}, None),
        ({"kind": "status", "value": "approved"}, None),
    ],
)
def test_review_payloads_become_typed_events_or_none(payload: object, expected: GridEvent | None) -> None:
    assert _parse_event(payload) == expected
