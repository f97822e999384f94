"""History reads as a record of prompts: the prompt on every card with what differs highlighted,
batches named by their template, and a panel whose Keep and rating save the moment they change."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from components.clip_cells import escape_markdown
from components.history_clip import differing_words, prompt_markdown
from kling_lab.pricing import batch_name
from tests.app.test_history_pricing_settings import _history, _seed, _store


def _texts(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown] + [c.value for c in app.caption]


def test_every_card_shows_its_prompt_with_what_differs_highlighted(app, data_dir, tiny_mp4) -> None:
    _seed(data_dir, tiny_mp4)
    _history(app)

    texts = _texts(app)
    assert "a fox in :orange-background[**snow**]" in texts
    assert "a fox in :orange-background[**rain**]" in texts
    assert "a lighthouse at dusk" in texts  # a single take: nothing to compare with, nothing marked


def test_batches_are_named_by_the_start_of_their_template_not_their_id(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    store = _store(data_dir)
    batch_ids = {store.get_job(job_id).batch_id for job_id in ids.values()}
    _history(app)

    cards = " ".join(c.value for c in app.caption)
    assert "a fox \\{snow\\|rain\\}" in cards and "a lighthouse" in cards  # each card says where it came from
    app.toggle(key="history_grouped").set_value(True).run()
    headers = [m.value for m in app.markdown if m.value.startswith("**")]
    assert "**a fox \\{snow\\|rain\\}**" in headers and "**a lighthouse**" in headers
    shown = " ".join(_texts(app))
    assert not any(batch_id in shown for batch_id in batch_ids)  # ids only in a tooltip, for the CLI
    assert not app.exception


def test_the_panels_rating_and_keep_save_at_once_without_a_save_click(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    _history(app)
    app.button(key=f"open_{ids['rain']}").click().run()

    app.feedback(key=f"rating_{ids['rain']}").set_value(3).run()  # the fourth star
    assert _store(data_dir).get_job(ids["rain"]).rating == 4
    app.toggle(key=f"star_{ids['rain']}").set_value(True).run()
    assert _store(data_dir).get_job(ids["rain"]).starred is True
    assert not any(b.key == f"save_{ids['rain']}" and "rating" in b.label.lower() for b in app.button)
    assert "a fox in :orange-background[**rain**]" in [m.value for m in app.markdown]  # the whole prompt, too
    app.feedback(key=f"rating_{ids['rain']}").set_value(None).run()
    assert _store(data_dir).get_job(ids["rain"]).rating is None
    # One rating control in the panel: its player shows no keep, rating or pick of its own (none would be saved).
    (player,) = app.get("bidi_component")
    sent = json.loads(player.proto.json)
    assert sent["allow_marks"] is False and sent["allow_pick"] is False
    assert not app.exception


def test_a_word_diff_marks_only_what_differs_between_takes() -> None:
    pairs = differing_words("a fox at noon, slow orbit", ["a fox at dusk, slow orbit", "a fox at noon, push-in"])
    assert [t for t, d in pairs if d] == ["noon,", "slow", "orbit"]
    assert "".join(t for t, _ in pairs) == "a fox at noon, slow orbit"
    assert not any(d for _, d in differing_words("same words", ["same words"]))  # a sweep of settings only


def test_prompt_markdown_is_inert_and_keeps_a_late_difference_in_view() -> None:
    assert prompt_markdown("[a](http://x) *b*", []) == escape_markdown("[a](http://x) *b*")
    long = "word " * 80 + "dusk at the end"
    shown = prompt_markdown(long, ["word " * 80 + "noon at the end"], limit=120)
    assert shown.startswith("…") and ":orange-background[**dusk**]" in shown and len(shown) < 200


def test_batch_name_is_the_start_of_the_template_cut_at_a_word() -> None:
    assert batch_name("a fox in {snow|rain}") == "a fox in {snow|rain}"
    assert batch_name("a harbour at night, slow push-in across the frozen water at dawn") == (
        "a harbour at night, slow push-in across the…")
    assert batch_name("   ") == "(no prompt)"
