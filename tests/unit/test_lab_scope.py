"""A review link's holder at the door: one batch only, its clips and reviews; nothing that names no batch.

And the links themselves (made, listed, revoked, opened in the order signature, revocation, expiry) and the
file tokens the routes check.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.auth import make_link_token
from kling_lab.config import Settings
from kling_lab.domain.jobs import JobState
from kling_lab.images import FrameRef
from kling_lab.lab import Actor, JobQuery, Lab, LinkRefusal, NotAllowed
from kling_lab.media import MediaStore
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store
from kling_lab.user_settings import UserSettings

BASE = "http://127.0.0.1:8501"


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    settings = Settings(data_dir=tmp_path / "data", keys={})
    store = Store(tmp_path / "data" / "db.sqlite3")
    media = MediaStore(tmp_path / "data" / "media")
    return Lab(store, media, None, lambda: settings, lambda: UserSettings(), secret=lambda: b"s" * 32)


def _batch(lab: Lab, tiny_mp4: bytes, labels: tuple[str, ...] = ("snow", "rain")) -> tuple[str, list[str]]:
    batch_id = lab.store.create_batch(template="a fox", provider="animatic", jobs=[
        NewJob(label, "animatic", GenerationRequest(prompt=label), Decimal("0.35")) for label in labels])
    ids = []
    for job in lab.store.jobs_for_batch(batch_id):
        clip, thumb = lab.media.clip_path(job.id), lab.media.thumb_path(job.id)
        clip.write_bytes(tiny_mp4)
        thumb.parent.mkdir(parents=True, exist_ok=True)
        thumb.write_bytes(b"\xff\xd8jpeg")
        lab.store.transition(job.id, JobState.DONE, owner=None, video_path=str(clip), thumb_path=str(thumb),
                             host_task_id="task-secret-123", actual_cost="0.42")
        lab.store.annotate(job.id, starred=True, rating=5, notes="lead's private note")
        ids.append(job.id)
    lab.store.set_winner(batch_id, ids[0])
    return batch_id, ids


def _reviewer(lab: Lab, batch_id: str) -> Actor:
    url, _ = lab.make_review_link(Actor.local(), batch_id, base_url=BASE)
    actor = lab.open_review_link(url.split("review=", 1)[1])
    assert isinstance(actor, Actor)
    return actor


def test_a_link_holder_reads_its_batch_without_costs_task_ids_or_the_leads_marks(lab, tiny_mp4):
    batch_id, ids = _batch(lab, tiny_mp4)
    ana = _reviewer(lab, batch_id)
    jobs = lab.batch_jobs(ana, batch_id)
    assert [j.id for j in jobs] == ids
    assert all(j.cost is None and j.host_task_id is None and not j.starred and j.rating is None and not j.notes
               for j in jobs)
    batch = lab.batch(ana, batch_id)
    assert batch.winner_job_id is None and batch.estimated_total == 0
    assert lab.job(ana, ids[0]).host_task_id is None
    assert lab.clip_file(ana, ids[0]) == lab.media.clip_path(ids[0])
    assert lab.thumb_file(ana, ids[1]) == lab.media.thumb_path(ids[1])
    assert lab.is_moving(ana, batch_id) is False


def test_a_link_holder_reaches_nothing_of_another_batch(lab, tiny_mp4):
    batch_id, _ = _batch(lab, tiny_mp4)
    other_id, other_jobs = _batch(lab, tiny_mp4, ("fog",))
    ana = _reviewer(lab, batch_id)
    for call in (lambda: lab.batch(ana, other_id), lambda: lab.batch_jobs(ana, other_id),
                 lambda: lab.job(ana, other_jobs[0]), lambda: lab.clip_file(ana, other_jobs[0]),
                 lambda: lab.thumb_file(ana, other_jobs[0]), lambda: lab.reviews(ana, other_id),
                 lambda: lab.review(ana, other_id, kind="comment", name="Ana", text="hi"),
                 lambda: lab.clip_file(ana, "j_000000000000")):
        with pytest.raises(NotAllowed, match="one batch's board only"):
            call()


@pytest.mark.parametrize("call", [
    lambda lab, a, b: lab.batches(a),
    lambda lab, a, b: lab.search_jobs(a, JobQuery()),
    lambda lab, a, b: lab.count_jobs(a, JobQuery()),
    lambda lab, a, b: lab.spend_records(a),
    lambda lab, a, b: lab.spend_today(a),
    lambda lab, a, b: lab.settings_for(a),
    lambda lab, a, b: lab.preferences(a),
    lambda lab, a, b: lab.price_book(a),
    lambda lab, a, b: lab.disk_usage_bytes(a),
    lambda lab, a, b: lab.is_moving(a),
    lambda lab, a, b: lab.events(a, lab.store.jobs_for_batch(b)[0].id),
    lambda lab, a, b: lab.export_file(a, b),
    lambda lab, a, b: lab.contact_sheet(a, b),
    lambda lab, a, b: lab.pick(a, b, None),
    lambda lab, a, b: lab.annotate(a, lab.store.jobs_for_batch(b)[0].id, starred=False),
    lambda lab, a, b: lab.delete(a, lab.store.jobs_for_batch(b)[0].id),
    lambda lab, a, b: lab.cancel(a, lab.store.jobs_for_batch(b)[0].id),
    lambda lab, a, b: lab.frame_file(a, "0" * 64, "png"),
    lambda lab, a, b: lab.save_frame(a, FrameRef("0" * 64, "png", 8, 8, 1), b"x"),
    lambda lab, a, b: lab.make_review_link(a, b, base_url=BASE),
    lambda lab, a, b: lab.review_links(a, b),
], ids=["batches", "search", "count", "spend", "spend_today", "settings", "preferences", "prices", "disk",
        "moving_any", "events", "export", "contact_sheet", "lead_pick", "annotate", "delete", "cancel", "frame",
        "upload", "make_link", "list_links"])
def test_a_link_holder_is_refused_everything_that_is_not_its_board(lab, tiny_mp4, call):
    batch_id, _ = _batch(lab, tiny_mp4)
    with pytest.raises(NotAllowed):
        call(lab, _reviewer(lab, batch_id), batch_id)


def test_a_reviewer_without_a_link_may_do_nothing_but_ask_for_health(lab, tiny_mp4):
    batch_id, ids = _batch(lab, tiny_mp4)
    bare = Actor("reviewer", name="Ana")
    for call in (lambda: lab.batch_jobs(bare, batch_id), lambda: lab.clip_file(bare, ids[0]),
                 lambda: lab.review(bare, batch_id, kind="comment", name="Ana", text="x")):
        with pytest.raises(NotAllowed):
            call()
    assert lab.health(bare)["status"] == "ok"


def test_one_pick_per_reviewer_changeable_and_taken_back_comments_pile_up(lab, tiny_mp4):
    batch_id, ids = _batch(lab, tiny_mp4)
    ana, bo = _reviewer(lab, batch_id), _reviewer(lab, batch_id)
    lab.review(ana, batch_id, kind="pick", name="Ana", job_id=ids[0])
    lab.review(ana, batch_id, kind="pick", name=" ana ", job_id=ids[1])  # the same reviewer: case, spaces
    lab.review(bo, batch_id, kind="pick", name="Ana", job_id=ids[0])  # another link: another reviewer
    assert lab.my_pick(ana, batch_id, "Ana") == ids[1] and lab.my_pick(bo, batch_id, "Ana") == ids[0]
    assert len([r for r in lab.reviews(ana, batch_id) if r.kind == "pick"]) == 2
    lab.review(ana, batch_id, kind="pick", name="Ana", job_id=None)
    assert lab.my_pick(ana, batch_id, "Ana") is None
    assert [r.job_id for r in lab.reviews(ana, batch_id) if r.kind == "pick"] == [ids[0]]
    for text in ("one", "two"):
        lab.review(ana, batch_id, kind="comment", name="Ana", text=text)
    assert [r.text for r in lab.reviews(ana, batch_id) if r.kind == "comment"] == ["one", "two"]
    assert lab.store.get_batch(batch_id).winner_job_id == ids[0]  # the lead's pick is untouched


def test_a_pick_needs_a_name_and_a_clip_of_this_batch(lab, tiny_mp4):
    batch_id, ids = _batch(lab, tiny_mp4)
    _, other_jobs = _batch(lab, tiny_mp4, ("fog",))
    ana = _reviewer(lab, batch_id)
    with pytest.raises(ValueError, match="Type your name"):
        lab.review(ana, batch_id, kind="pick", name="  ", job_id=ids[0])
    with pytest.raises(ValueError, match="not one of this batch"):
        lab.review(ana, batch_id, kind="pick", name="Ana", job_id=other_jobs[0])


def test_links_are_listed_and_a_revoked_or_expired_or_forged_link_opens_nothing(lab, tiny_mp4):
    batch_id, _ = _batch(lab, tiny_mp4)
    url, link = lab.make_review_link(Actor.local(), batch_id, "2h", base_url=BASE + "/", now=1000.0)
    assert url.startswith(BASE + "/?review=v1.") and link.expires_at == 1000.0 + 7200
    token = url.split("review=", 1)[1]
    assert lab.open_review_link(token, now=1001.0) == Actor.review_link(batch_id, link.id)
    assert lab.open_review_link(token, now=1000.0 + 7200) is LinkRefusal.EXPIRED
    assert lab.open_review_link(token[:-2] + ("AA" if not token.endswith("AA") else "BB"), now=1001.0) \
        is LinkRefusal.INVALID
    # Signed with the right key but never made here (no row): not valid, and nothing is looked up by it.
    assert lab.open_review_link(make_link_token(b"s" * 32, batch_id, 5000.0, "l_" + "1" * 16), now=1001.0) \
        is LinkRefusal.REVOKED
    assert [x.id for x in lab.review_links(Actor.local(), batch_id)] == [link.id]
    lab.revoke_review_link(Actor.local(), link.id)
    assert lab.open_review_link(token, now=1001.0) is LinkRefusal.REVOKED
    assert lab.review_links(Actor.local(), batch_id)[0].revoked_at is not None
    with pytest.raises(KeyError):
        lab.revoke_review_link(Actor.local(), "l_" + "2" * 16)


def test_making_a_link_refuses_an_unknown_batch_a_bad_duration_and_a_reviewer(lab, tiny_mp4):
    batch_id, _ = _batch(lab, tiny_mp4)
    with pytest.raises(ValueError, match="no batch"):
        lab.make_review_link(Actor.cli(), "b_000000000000", base_url=BASE)
    with pytest.raises(ValueError, match="length of time"):
        lab.make_review_link(Actor.cli(), batch_id, "soon", base_url=BASE)
    with pytest.raises(NotAllowed):
        lab.make_review_link(Actor("anonymous"), batch_id, base_url=BASE)
    assert lab.store.review_links_for("batch", batch_id) == []


def test_the_store_keeps_the_link_id_and_times_never_the_key_or_the_token(lab, tiny_mp4):
    batch_id, _ = _batch(lab, tiny_mp4)
    url, _ = lab.make_review_link(Actor.local(), batch_id, base_url=BASE)
    token = url.split("review=", 1)[1]
    with lab.store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM review_links").all()
    text = repr(rows)
    assert token not in text and token.split(".")[2] not in text and "ssss" not in text


def test_file_tokens_cover_what_their_actor_may_read_and_nothing_else(lab, tiny_mp4):
    batch_id, ids = _batch(lab, tiny_mp4)
    other_id, other_jobs = _batch(lab, tiny_mp4, ("fog",))
    ana = _reviewer(lab, batch_id)
    as_ana = lab.files_actor(lab.file_token(ana))
    assert as_ana == Actor.review_link(batch_id, ana.scope.link_id)
    assert lab.clip_file(as_ana, ids[0]) is not None
    with pytest.raises(NotAllowed):
        lab.clip_file(as_ana, other_jobs[0])
    with pytest.raises(NotAllowed):
        lab.export_file(as_ana, batch_id)
    person = lab.files_actor(lab.file_token(Actor.local()))
    assert person == Actor("local") and lab.export_file(person, other_id) is not None
    assert lab.files_actor(None) is None and lab.files_actor("v1.garbage.x") is None
    # A review link's token is no file token, and the other way round.
    url, _ = lab.make_review_link(Actor.local(), batch_id, base_url=BASE)
    assert lab.files_actor(url.split("review=", 1)[1]) is None
    assert lab.open_review_link(lab.file_token(Actor.local())) is LinkRefusal.INVALID
    # Revoking the link ends its file tokens too; a person's expire within about 13 hours.
    lab.revoke_review_link(Actor.local(), ana.scope.link_id)
    assert lab.files_actor(lab.file_token(Actor.local(), now=0.0), now=13 * 3600 + 1) is None
    token = lab.file_token(Actor.local(), now=100.0)
    assert lab.file_token(Actor.local(), now=200.0) == token  # the same URL on every rerun within the hour
    with pytest.raises(NotAllowed):
        lab.file_token(ana)
    with pytest.raises(NotAllowed):
        lab.file_token(Actor("anonymous"))
