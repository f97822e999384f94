"""The review board as a review link opens it: that batch only, no costs or task ids, one changeable pick."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kling_lab.lab import Actor, build_root
from tests.app.test_history_pricing_settings import _seed, _store


def _link(data_dir: Path, batch_id: str) -> tuple[str, str]:
    root = build_root({"KLING_LAB_DATA_DIR": str(data_dir)}, {}, run_jobs=False)
    url, link = root.lab.make_review_link(Actor.local(), batch_id, base_url="http://localhost:8501")
    root.close()
    return url.split("review=", 1)[1], link.id


def _grid(app: AppTest) -> dict:
    (grid,) = app.get("bidi_component")
    return json.loads(grid.proto.json)


def _visit(app: AppTest, token: str, page: str | None = None) -> AppTest:
    app.query_params["review"] = token
    app.run()
    if page:
        app.switch_page(page).run()
    assert not app.exception
    return app


def test_the_board_shows_its_batch_without_costs_task_ids_or_marks(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    batch_id = _store(data_dir).get_job(ids["snow"]).batch_id
    store = _store(data_dir)
    store.annotate(ids["snow"], starred=True, rating=5, notes="the lead's secret note")
    store.set_winner(batch_id, ids["snow"])
    _visit(app, _link(data_dir, batch_id)[0])
    assert app.title[0].value == "Review"
    data = _grid(app)
    assert [c["label"] for c in data["clips"]] == ["snow", "rain"]  # not the other batch's lighthouse
    assert data["show_cost"] is False and data["allow_marks"] is False
    assert all(c["cost_text"] is None and not c["starred"] and c["rating"] is None and not c["picked"]
               for c in data["clips"])
    assert all("?t=v1." in c["url"] and "?t=v1." in c["poster"] for c in data["clips"])
    page = str(app._tree)
    for secret in ("$", "task-snow", "the lead's secret note", "lighthouse", "Compose", "Settings"):
        assert secret not in page, secret
    assert not app.sidebar.children or "Compose" not in str(app.sidebar)


def test_a_named_pick_changes_and_is_taken_back_and_comments_pile_up(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    batch_id = _store(data_dir).get_job(ids["snow"]).batch_id
    token, link_id = _link(data_dir, batch_id)
    _visit(app, token)
    assert _grid(app)["allow_pick"] is False  # no name yet: nobody's pick
    app.text_input(key="review_name").set_value("Ana").run()
    assert app.query_params["name"] == "Ana" and _grid(app)["allow_pick"] is True
    store = _store(data_dir)
    store.add_review(batch_id, name="Ana", kind="pick", job_id=ids["rain"], link_id=link_id)  # as the grid does
    app.run()
    assert [c["clip_id"] for c in _grid(app)["clips"] if c["picked"]] == [ids["rain"]]
    assert "Your pick: rain" in str(app.success[0].value)
    app.button(key="review_unpick").click().run()
    assert store.review_pick(batch_id, link_id=link_id, name="Ana") is None
    assert not any(c["picked"] for c in _grid(app)["clips"])
    for text in ("snow reads best", "rain too"):
        app.text_area[0].set_value(text)
        app.button[0].click().run()
    assert [r.text for r in store.reviews_for_batch(batch_id) if r.kind == "comment"] == ["snow reads best",
                                                                                         "rain too"]


def test_every_page_path_with_the_token_shows_only_the_board(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    batch_id = _store(data_dir).get_job(ids["snow"]).batch_id
    token, _ = _link(data_dir, batch_id)
    app.query_params["review"] = token
    app.run()
    for page in ("pages/settings.py", "pages/history.py", "pages/compose.py", "pages/compare.py"):
        with pytest.raises(ValueError, match="Could not find"):  # no page of the lab is in this visit
            app.switch_page(page)
    # (Their URL paths, /settings?review=... and so on, show the board: tests/e2e/test_review_link_browser.py.)


def test_a_tampered_or_revoked_link_gets_a_plain_sentence(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    batch_id = _store(data_dir).get_job(ids["snow"]).batch_id
    token, link_id = _link(data_dir, batch_id)
    _visit(app, token[:-3] + ("xyz" if not token.endswith("xyz") else "abc"))
    assert "not valid" in app.warning[0].value and not app.get("bidi_component")
    _store(data_dir).revoke_review_link(link_id)
    _visit(app, token)
    assert "was revoked" in app.warning[0].value and not app.get("bidi_component")
    assert "Traceback" not in str(app._tree) and str(data_dir) not in str(app._tree)


def test_compare_copies_a_review_link_and_history_lists_and_revokes_it(app, data_dir, tiny_mp4) -> None:
    ids = _seed(data_dir, tiny_mp4)
    batch_id = _store(data_dir).get_job(ids["snow"]).batch_id
    app.query_params["batch"] = batch_id
    app.run()
    app.switch_page("pages/compare.py").run()
    app.button(key="make_review_link").click().run()
    assert not app.exception
    url = app.code[0].value
    assert url.startswith("http://") and "/?review=v1." in url
    (link,) = _store(data_dir).review_links_for("batch", batch_id)
    app.switch_page("pages/history.py").run()
    app.toggle(key="history_grouped").set_value(True).run()  # a batch's links are listed with the batch
    app.button(key=f"revoke_{link.id}").click().run()
    assert not app.exception
    assert _store(data_dir).review_link(link.id).revoked_at is not None
    assert not [b for b in app.button if b.key == f"revoke_{link.id}"]  # only live links are listed
    export = next(b for b in app.get("link_button") if "Export" in b.proto.label)
    assert "/exports/" in export.proto.url and "?t=v1." in export.proto.url
