"""History shows each take's review status (by whom) on its card and filters by it; a batch counts its comments."""

from __future__ import annotations

from kling_lab.lab import Actor, build_root
from tests.app.test_compare_review import _seeded
from tests.app.test_history_pricing_settings import _card_labels, _history


def test_cards_show_statuses_the_filter_narrows_and_groups_count_comments(app, data_dir, tiny_mp4) -> None:
    ids = _seeded(data_dir, tiny_mp4)
    root = build_root({"KLING_LAB_DATA_DIR": str(data_dir)}, {}, run_jobs=False)
    try:
        root.lab.set_take_status(Actor.local(), ids["snow"], "approved", name="<b>Ann</b>")
        root.lab.comment_on_take(Actor.local(), ids["rain"], at=1.0, text="later")
    finally:
        root.close()
    _history(app)
    badges = [m.value for m in app.markdown if "-badge[" in m.value]
    assert len(badges) == 1 and badges[0].startswith(":green-badge[Approved] by")
    assert "<b>" not in badges[0] and "\\<b\\>Ann\\</b\\>" in badges[0]  # the typed name stays inert
    app.session_state["history_review"] = ["approved"]
    app.run()
    assert _card_labels(app) == [ids["snow"]]
    app.session_state["history_review"] = ["none"]
    app.run()
    assert sorted(_card_labels(app)) == sorted([ids["rain"], ids["lighthouse"]])
    app.session_state["history_review"] = []
    app.toggle(key="history_grouped").set_value(True).run()
    assert any("1 comment on its takes" in c.value for c in app.caption)
