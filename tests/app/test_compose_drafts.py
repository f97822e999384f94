"""Compose keeps its work as a draft in the store, and says plainly what is wrong and why Generate is off."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from streamlit.testing.v1 import AppTest

from components.runtime import get_lab
from kling_lab.images import inspect_frame
from kling_lab.lab import Actor
from kling_lab.media import MediaStore, make_thumbnail
from kling_lab.providers.base import JobState
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store
from tests.emulator.testing import make_png


def _store(data_dir: Path) -> Store:
    return Store(data_dir / "kling_lab.sqlite3")


def _param(at: AppTest, name: str) -> str | None:
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def _fresh(app: AppTest, draft: str | None = None) -> AppTest:
    """Another browser tab (a new session) on the same server, with or without ?draft=."""
    tab = AppTest.from_file(app._script_path, default_timeout=60)
    if draft:
        tab.query_params["draft"] = draft
    tab.run()
    assert not tab.exception
    return tab


def _text(element) -> str:  # noqa: ANN001 - an error element; its text is shown escaped (never markdown)
    return element.value.replace("\\", "")


def test_typing_saves_a_draft_named_in_the_url_and_another_tab_opens_it(app: AppTest, data_dir: Path) -> None:
    app.run()
    assert _param(app, "draft") is None and _store(data_dir).recent_drafts(owner_kind="local", owner_name="") == []
    app.text_area(key="compose_prompt").set_value("a fox in {weather}, {slow push-in|orbit}").run()
    draft_id = _param(app, "draft")
    assert draft_id and draft_id.startswith("d_")
    app.text_area(key="compose_variables").set_value("weather = snow | rain").run()
    app.segmented_control(key="compose_duration").set_value(10).run()
    app.selectbox(key="compose_provider").select("fal").run()
    assert _param(app, "draft") == draft_id
    stored = _store(data_dir).get_draft(draft_id).state
    assert stored["template"] == "a fox in {weather}, {slow push-in|orbit}"
    assert (stored["variables"], stored["duration"], stored["provider"]) == ("weather = snow | rain", 10, "fal")

    by_url = _fresh(app, draft_id)  # a reload (or a restart: nothing but the store and the URL survive)
    assert by_url.text_area(key="compose_prompt").value == "a fox in {weather}, {slow push-in|orbit}"
    assert by_url.text_area(key="compose_variables").value == "weather = snow | rain"
    assert by_url.segmented_control(key="compose_duration").value == 10
    assert by_url.selectbox(key="compose_provider").value == "fal"
    assert by_url.metric[0].value == "$2.80"  # 4 takes × 10 s on fal
    assert not [w for w in by_url.warning if "opens nothing" in w.value]

    new_tab = _fresh(app)  # no ?draft: the latest draft of this person
    assert new_tab.text_area(key="compose_prompt").value == "a fox in {weather}, {slow push-in|orbit}"
    assert _param(new_tab, "draft") == draft_id


def test_quick_changes_are_each_written_so_a_reload_right_after_loses_nothing(app: AppTest, data_dir: Path) -> None:
    app.run()
    app.text_area(key="compose_prompt").set_value("first").run()
    draft_id = _param(app, "draft")
    app.text_area(key="compose_prompt").set_value("second").run()
    app.text_area(key="compose_prompt").set_value("third").run()
    assert _store(data_dir).get_draft(draft_id).state["template"] == "third"
    reloaded = _fresh(app, draft_id)  # the very next moment: nothing was left waiting in the old session
    assert reloaded.text_area(key="compose_prompt").value == "third"
    assert [d.id for d in _store(data_dir).recent_drafts(owner_kind="local", owner_name="")] == [draft_id]


def test_an_untouched_compose_writes_no_draft_and_a_bad_draft_link_says_so(app: AppTest, data_dir: Path) -> None:
    app.run()
    app.run()
    assert _store(data_dir).recent_drafts(owner_kind="local", owner_name="") == []
    tab = _fresh(app, "d_0123456789ab")
    assert any("opens nothing" in w.value for w in tab.warning)
    assert tab.text_area(key="compose_prompt").value == ""


def test_recent_drafts_switch_and_new_draft_keeps_the_old_one(app: AppTest, data_dir: Path) -> None:
    app.run()
    app.text_area(key="compose_prompt").set_value("the lighthouse").run()
    first = _param(app, "draft")
    app.button(key="compose_new_draft").click().run()
    assert app.text_area(key="compose_prompt").value == ""
    app.text_area(key="compose_prompt").set_value("the harbour").run()
    second = _param(app, "draft")
    assert second != first
    app.button(key=f"compose_open_{first}").click().run()
    assert app.text_area(key="compose_prompt").value == "the lighthouse"
    assert _param(app, "draft") == first
    assert app.button(key=f"compose_open_{first}").disabled


def _seed_batch(data_dir: Path, tiny_mp4: bytes) -> str:
    store = _store(data_dir)
    media = MediaStore(data_dir / "media")
    png = make_png(640, 360)
    frame = inspect_frame(png).ref
    media.save_frame(frame, png)
    batch_id = store.create_batch(
        template="a fox in {weather}, {slow push-in|orbit}", provider="fal",
        settings={"variables": {"weather": ["snow", "rain"]}, "sweeps": {}},
        jobs=[NewJob("snow · orbit", "fal", GenerationRequest(prompt="a fox in snow, orbit", duration=10, audio=True,
                                                              negative_prompt="blur", start_frame=frame),
                     Decimal("1.40"))])
    job = store.jobs_for_batch(batch_id)[0]
    clip, thumb = media.clip_path(job.id), media.thumb_path(job.id)
    clip.write_bytes(tiny_mp4)
    make_thumbnail(clip, thumb)
    store.transition(job.id, JobState.DONE, owner=None, video_path=str(clip), thumb_path=str(thumb))
    return job.id


def test_load_into_compose_opens_the_template_and_variables_as_a_new_draft_and_undo_goes_back(
        app: AppTest, data_dir: Path, tiny_mp4: bytes) -> None:
    job_id = _seed_batch(data_dir, tiny_mp4)
    app.run()
    app.text_area(key="compose_prompt").set_value("what I was writing").run()
    mine = _param(app, "draft")
    app.switch_page("pages/history.py").run()
    app.button(key=f"open_{job_id}").click().run()
    app.button(key=f"load_{job_id}").click().run()
    assert not app.exception
    assert app.title[0].value == "Compose"
    assert app.text_area(key="compose_prompt").value == "a fox in {weather}, {slow push-in|orbit}"
    assert app.text_area(key="compose_variables").value == "weather = snow | rain"
    assert app.text_area(key="compose_negative").value == "blur"
    assert app.selectbox(key="compose_provider").value == "fal"
    assert app.segmented_control(key="compose_duration").value == 10
    assert app.session_state["compose_start_ref"] is not None
    assert len(app.dataframe[0].value) == 4
    loaded = _param(app, "draft")
    assert loaded != mine
    app.switch_page("pages/compose.py").run()  # AppTest stays on the page it was told, whatever the script switched to
    app.button(key="compose_draft_undo_button").click().run()
    assert not app.exception, app.exception
    assert app.text_area(key="compose_prompt").value == "what I was writing"
    assert app.session_state["compose_start_ref"] is None
    assert _param(app, "draft") == mine
    assert {d.id for d in _store(data_dir).recent_drafts(owner_kind="local", owner_name="")} == {mine, loaded}


def test_a_drafts_frame_comes_back_by_its_hash(app: AppTest, data_dir: Path) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("fal").run()
    app.file_uploader[0].upload("start.png", make_png(640, 360), "image/png").run()
    app.text_area(key="compose_prompt").set_value("a fox").run()
    draft_id = _param(app, "draft")
    sha = app.session_state["compose_start_ref"].sha256
    tab = _fresh(app, draft_id)
    assert tab.session_state["compose_start_ref"].sha256 == sha
    assert not tab.error


def test_the_uploaders_own_x_removes_the_frame_and_a_refused_upload_replaces_the_old_one(app: AppTest) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("fal").run()
    uploader = app.file_uploader[0]
    uploader.upload("bad.png", b"not an image", "image/png").run()
    assert any("start frame" in e.value.lower() for e in app.error)
    app.file_uploader[0].upload("good.png", make_png(640, 360), "image/png").run()
    assert app.session_state["compose_start_ref"] is not None
    assert not [e for e in app.error if "start frame" in e.value.lower()]  # the old error went with its file
    app.file_uploader[0].upload("bad2.png", b"still not an image", "image/png").run()
    assert app.session_state["compose_start_ref"] is None  # the previous frame is not kept behind the error
    assert len([e for e in app.error if "start frame" in e.value.lower()]) == 1
    app.file_uploader[0].upload("good.png", make_png(640, 360), "image/png").run()
    assert app.session_state["compose_start_ref"] is not None
    app.file_uploader[0].set_value(None).run()  # the uploader's own ✕
    assert "compose_start_ref" not in app.session_state or app.session_state["compose_start_ref"] is None
    assert not app.error


def test_an_empty_prompt_says_why_generate_is_off_and_prices_nothing(app: AppTest) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("fal").run()
    assert app.button(key="compose_generate").disabled
    assert any("Write a prompt to generate." in c.value for c in app.caption)
    assert app.metric[0].label == "Estimated cost · no takes yet" and app.metric[0].value == "—"
    assert not any("Same batch elsewhere" in c.value for c in app.caption)


def test_a_template_error_is_not_called_an_empty_prompt(app: AppTest) -> None:
    app.run()
    app.text_area(key="compose_prompt").set_value("a fox {snow|rain").run()
    assert any("never closed" in e.value for e in app.error)
    assert not any("Write a prompt" in i.value for i in app.info)
    assert any("Fix the problems under the prompt" in c.value for c in app.caption)


def test_an_undefined_variable_says_how_to_define_it(app: AppTest) -> None:
    app.run()
    app.text_area(key="compose_prompt").set_value("a fox, {camera}").run()
    (message,) = [_text(e) for e in app.error if "{camera}" in _text(e)]
    assert "camera = slow push-in" in message and "Template variables" in message


def test_over_the_cap_says_whether_sweeps_or_the_template_caused_it(app: AppTest) -> None:
    app.run()
    app.text_area(key="compose_prompt").set_value("a fox in {snow|rain|fog}").run()
    app.pills(key="sweep_duration").set_value([5, 10]).run()
    app.pills(key="sweep_aspect").set_value(["16:9", "9:16"]).run()
    (message,) = [_text(e) for e in app.error if "12" in e.value]
    assert message.startswith("The sweeps make 12 takes") and "Remove a sweep value" in message
    app.pills(key="sweep_duration").set_value([]).run()
    app.pills(key="sweep_aspect").set_value([]).run()
    app.text_area(key="compose_prompt").set_value("{a|b|c} {d|e|f} {g|h}").run()
    (message,) = [_text(e) for e in app.error if "18" in e.value]
    assert message.startswith("The template makes 18 variations")
    assert app.button(key="compose_generate").disabled


def test_native_audio_shows_off_with_the_reason_when_the_mode_forces_it(app: AppTest) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("kling").run()
    app.segmented_control(key="compose_mode").set_value("pro").run()
    app.toggle(key="compose_audio").set_value(True).run()
    app.segmented_control(key="compose_mode").set_value("std").run()
    forced = app.toggle(key="compose_audio_forced_off")
    assert forced.value is False and forced.disabled
    assert any("Off: Native audio needs pro mode." in c.value for c in app.caption)
    app.segmented_control(key="compose_mode").set_value("pro").run()
    assert app.toggle(key="compose_audio").value is True  # the person's choice is back when it applies


def test_placeholders_read_as_examples(app: AppTest) -> None:
    app.run()
    for key in ("compose_prompt", "compose_variables", "compose_negative"):
        assert app.text_area(key=key).placeholder.startswith("e.g. ")


def test_price_and_ready_come_right_after_the_label_so_they_show_without_scrolling(app: AppTest) -> None:
    app.run()
    app.text_area(key="compose_prompt").set_value("a fox {a|b}").run()
    columns = ["Run", "Label", "Price", "Ready", "Provider", "Settings", "Prompt"]  # Run: a narrow checkbox
    assert list(app.dataframe[0].value.columns) == columns


def test_native_audio_shows_off_with_the_reason_when_an_end_frame_forces_it(app: AppTest) -> None:
    app.run()
    app.selectbox(key="compose_provider").select("fal").run()
    app.toggle(key="compose_audio").set_value(True).run()
    app.file_uploader[0].upload("start.png", make_png(640, 360), "image/png").run()
    app.file_uploader[1].upload("end.png", make_png(640, 360), "image/png").run()
    forced = app.toggle(key="compose_audio_forced_off")
    assert forced.value is False and forced.disabled
    assert any("Off: Native audio is off when an end frame is used." in c.value for c in app.caption)


def test_a_restored_draft_sets_every_control_without_streamlit_warnings(app: AppTest, monkeypatch) -> None:
    from streamlit.elements.lib import policies

    logged: list[str] = []
    monkeypatch.setattr(policies._LOGGER, "warning", lambda message, *args, **kw: logged.append(message % args))
    app.run()
    saved = get_lab().save_draft(Actor.local(), {
        "template": "a fox", "provider": "kling", "mode": "std", "duration": 10, "aspect_ratio": "9:16",
        "cfg_on": True, "cfg_scale": 0.8, "audio": False, "sweep_duration": [5, 10], "sweep_cfg": "0.2, 0.4",
        "negative_prompt": "blur", "voice_ids": "v1", "speaker": "the keeper"})
    tab = _fresh(app, saved.id)
    assert tab.segmented_control(key="compose_duration").value == 10
    assert tab.segmented_control(key="compose_aspect").value == "9:16"
    assert tab.segmented_control(key="compose_mode").value == "std"
    assert tab.slider(key="compose_cfg").value == 0.8 and tab.toggle(key="compose_cfg_on").value is True
    assert tab.pills(key="sweep_duration").value == [5, 10]
    assert tab.text_input(key="sweep_cfg").value == "0.2, 0.4"
    assert tab.text_input(key="compose_speaker").value == "the keeper"
    assert not [m for m in logged if "Session State" in m]  # no widget both has a default and a value set
    assert len(tab.dataframe[0].value) == 4  # 2 durations × 2 cfg values
