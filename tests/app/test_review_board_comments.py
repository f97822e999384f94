"""The batch review board shows everyone's comments and statuses, and lets a named reviewer comment and set one."""

from __future__ import annotations

import json

from kling_lab.lab import Actor, build_root
from tests.app.test_compare_review import _seeded


def test_the_board_needs_a_name_then_offers_comments_and_statuses_as_that_reviewer(app, data_dir, tiny_mp4) -> None:
    ids = _seeded(data_dir, tiny_mp4)
    root = build_root({"KLING_LAB_DATA_DIR": str(data_dir)}, {}, run_jobs=False)
    try:
        lab = root.lab
        url, _ = lab.make_review_link(Actor.local(), ids["fox"], "7d", base_url="http://localhost:8501")
        token = url.split("review=", 1)[1]
        ann = lab.open_review_link(token)
        lab.comment_on_take(ann, ids["snow"], at=0.5, text="<b>x</b>", name="Ann")
        lab.comment_on_take(Actor.local(), ids["snow"], at=1.0, text="lead note")
        lab.set_take_status(ann, ids["rain"], "changes", name="Ann")
    finally:
        root.close()
    app.query_params["review"] = token
    app.run()
    assert not app.exception

    def grid() -> dict:
        (g,) = [json.loads(c.proto.json) for c in app.get("bidi_component")]
        return g

    assert grid()["allow_comments"] is False and grid()["allow_status"] is False
    assert any("Type your name" in i.value for i in app.info)
    snow = next(c for c in grid()["clips"] if c["clip_id"] == ids["snow"])
    assert [(c["author"], c["text"], c["mine"]) for c in snow["comments"]] == [("Ann", "<b>x</b>", False),
                                                                              ("Lead", "lead note", False)]
    app.text_input(key="review_name").set_value("ann").run()  # the same reviewer, any case
    assert grid()["allow_comments"] is True and grid()["allow_status"] is True
    snow = next(c for c in grid()["clips"] if c["clip_id"] == ids["snow"])
    assert [c["mine"] for c in snow["comments"]] == [True, False]
    rain = next(c for c in grid()["clips"] if c["clip_id"] == ids["rain"])
    assert (rain["status"], rain["status_by"]) == ("changes", "Ann")
    assert all(c["cost_text"] is None for c in grid()["clips"])
