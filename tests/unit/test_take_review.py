"""Take reviews: the rules of a timecoded comment and a status, and the door that applies them to each actor."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kling_lab.config import Settings
from kling_lab.domain.jobs import JobState
from kling_lab.lab import MAX_COMMENT_CHARS, STATUS_WORDS, TAKE_STATUSES, Actor, Lab, NotAllowed
from kling_lab.media import MediaStore
from kling_lab.request import GenerationRequest
from kling_lab.store import NewJob, Store
from kling_lab.take_review import check_comment, check_status, clean_text, format_time
from kling_lab.user_settings import UserSettings

MARKUP = "<script>alert(1)</script> **bold** [x](javascript:alert(1))"
FORMULA = '=HYPERLINK("http://evil","x")'


# -- the rules ---------------------------------------------------------------------------------

def test_the_constants_are_the_contract() -> None:
    assert TAKE_STATUSES == ("approved", "changes", "rejected")
    assert STATUS_WORDS == {"approved": "Approved", "changes": "Changes requested", "rejected": "Rejected"}
    assert MAX_COMMENT_CHARS == 2000


@pytest.mark.parametrize(("seconds", "shown"), [(0, "0:00.00"), (7, "0:07.00"), (62.5, "1:02.50"),
                                                 (2.004, "0:02.00"), (59.999, "1:00.00")])
def test_format_time(seconds: float, shown: str) -> None:
    assert format_time(seconds) == shown


def test_a_good_comment_is_kept_as_typed() -> None:
    assert check_comment(1.5, None, 5.0, f"  {MARKUP}  ") == (1.5, None, MARKUP)
    assert check_comment(0, 5.0, 5.0, FORMULA) == (0.0, 5.0, FORMULA)
    assert check_comment("2.25", "3", 5.0, "ok") == (2.25, 3.0, "ok")


@pytest.mark.parametrize(("at", "until", "text", "words"), [
    (7, None, "x", "0:07.00 is past the end of this take (5.00 s)."),
    (1, 6, "x", "0:06.00 is past the end of this take (5.00 s)."),
    (-0.5, None, "x", "can't be before the start"),
    (3, 2, "x", "A range ends after it starts: 0:03.00 to 0:02.00 does not."),
    (3, 3, "x", "A range ends after it starts"),
    (float("nan"), None, "x", "is a number of seconds"),
    ("soon", None, "x", "“soon” is not"),
    (1, None, "   \n\t ", "A comment needs some text"),
    (1, None, "\x00\x07", "A comment needs some text"),
    (1, None, "x" * 10_000, "A comment is at most 2,000 characters; this one has 10,000."),
])
def test_a_bad_comment_is_one_sentence(at, until, text, words: str) -> None:
    with pytest.raises(ValueError, match=None) as raised:
        check_comment(at, until, 5.0, text)
    assert words in str(raised.value)


def test_a_take_without_a_clip_has_no_moment_to_comment_on() -> None:
    with pytest.raises(ValueError, match="no clip yet"):
        check_comment(0, None, None, "x")


def test_control_characters_are_cleaned_and_newlines_kept() -> None:
    assert clean_text("a\x00b\x1b[31mc\r\nd\te\x7f") == "ab[31mc\nd\te"
    assert len(check_comment(0, None, 5.0, "é" * 2000)[2]) == 2000


def test_statuses() -> None:
    assert [check_status(s) for s in ("approved", "Changes", "changes requested", " rejected ", None)] == [
        "approved", "changes", "changes", "rejected", None]
    with pytest.raises(ValueError, match="approved, changes or rejected") as raised:
        check_status("maybe")
    assert "“maybe”" in str(raised.value)


# -- the door ----------------------------------------------------------------------------------

@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    settings = Settings(data_dir=tmp_path / "data", keys={})
    store = Store(tmp_path / "data" / "db.sqlite3")
    media = MediaStore(tmp_path / "data" / "media")
    return Lab(store, media, None, lambda: settings, lambda: UserSettings())


def _batch(lab: Lab, tiny_mp4: bytes, takes: int = 2, *, made: bool = True) -> tuple[str, list[str]]:
    jobs = [NewJob(f"take {i}", "animatic", GenerationRequest(prompt="x"), Decimal(0)) for i in range(takes)]
    batch_id = lab.store.create_batch(template="t", provider="animatic", jobs=jobs)
    ids = [j.id for j in lab.store.jobs_for_batch(batch_id)]
    if made:
        for job_id in ids:
            clip = lab.media.clip_path(job_id)
            clip.write_bytes(tiny_mp4)
            lab.store.transition(job_id, JobState.DONE, owner=None, video_path=str(clip), video_duration=5.0)
    return batch_id, ids


def _reviewer(batch_id: str, link: str = "l_abc") -> Actor:
    return Actor.review_link(batch_id, link)


def test_the_lead_comments_at_a_time_and_a_range(lab: Lab, tiny_mp4: bytes) -> None:
    batch_id, (first, second) = _batch(lab, tiny_mp4)
    late = lab.comment_on_take(Actor.local(), second, at=4.0, text="too dark")
    early = lab.comment_on_take(Actor.local(), second, at=1.0, until=2.5, text=MARKUP)
    on_first = lab.comment_on_take(Actor("owner", name="Ada"), first, at=3.0, text=FORMULA)
    assert (early.at, early.until, early.text, early.author_name) == (1.0, 2.5, MARKUP, "Lead")
    assert on_first.author_name == "Ada" and on_first.author_kind == "owner"
    # By take (the batch's order), then by time.
    assert [c.id for c in lab.take_comments(Actor.local(), batch_id)] == [on_first.id, early.id, late.id]
    assert lab.store.take_notes.for_jobs([second, first]) == [early, late, on_first]


def test_a_reviewer_comments_with_the_name_typed_on_their_batch_only(lab: Lab, tiny_mp4: bytes) -> None:
    batch_id, (job_id, _) = _batch(lab, tiny_mp4)
    other_batch, (other_job, _) = _batch(lab, tiny_mp4)
    reviewer = _reviewer(batch_id)
    with pytest.raises(ValueError, match="Type your name first"):
        lab.comment_on_take(reviewer, job_id, at=1, text="hi")
    comment = lab.comment_on_take(reviewer, job_id, at=1, text="hi", name="  Jo   Lee ")
    assert (comment.author_name, comment.author_kind, comment.link_id) == ("Jo Lee", "reviewer", "l_abc")
    with pytest.raises(NotAllowed, match="review link"):
        lab.comment_on_take(reviewer, other_job, at=1, text="outside", name="Jo")
    with pytest.raises(NotAllowed):
        lab.set_take_status(reviewer, other_job, "approved", name="Jo")
    with pytest.raises(NotAllowed):
        lab.comment_on_take(reviewer, "j_nonexistent", at=1, text="x", name="Jo")
    with pytest.raises(NotAllowed):
        lab.take_comments(reviewer, other_batch)
    assert lab.store.take_notes.for_batch(other_batch) == []
    assert lab.store.take_notes.statuses_for_batch(other_batch) == {}
    assert lab.take_comments(reviewer, batch_id) == [comment]


def test_bad_input_stores_nothing(lab: Lab, tiny_mp4: bytes) -> None:
    batch_id, (job_id, _) = _batch(lab, tiny_mp4)
    for kwargs in ({"at": 7}, {"at": 1, "text": ""}, {"at": 1, "text": "x" * 10_000}, {"at": 2, "until": 1}):
        with pytest.raises(ValueError):
            lab.comment_on_take(Actor.local(), job_id, **{"text": "x", **kwargs})
    with pytest.raises(ValueError, match="There is no take"):
        lab.comment_on_take(Actor.local(), "j_000000000000", at=1, text="x")
    with pytest.raises(ValueError, match="approved, changes or rejected"):
        lab.set_take_status(Actor.local(), job_id, "great")
    assert lab.take_comments(Actor.local(), batch_id) == []
    assert lab.take_statuses(Actor.local(), batch_id) == {}


def test_an_unmade_or_deleted_take_refuses(lab: Lab, tiny_mp4: bytes) -> None:
    _, (queued, _) = _batch(lab, tiny_mp4, made=False)
    with pytest.raises(ValueError, match="no clip yet"):
        lab.comment_on_take(Actor.local(), queued, at=0, text="x")
    with pytest.raises(ValueError, match="no clip yet"):
        lab.set_take_status(Actor.local(), queued, "approved")
    _, (made, _) = _batch(lab, tiny_mp4)
    lab.delete(Actor.local(), made)
    with pytest.raises(ValueError, match="deleted"):
        lab.comment_on_take(Actor.local(), made, at=0, text="x")


def test_only_the_author_edits_or_deletes(lab: Lab, tiny_mp4: bytes) -> None:
    batch_id, (job_id, _) = _batch(lab, tiny_mp4)
    reviewer = _reviewer(batch_id)
    mine = lab.comment_on_take(reviewer, job_id, at=1, text="first", name="Jo")
    lead = lab.comment_on_take(Actor.local(), job_id, at=2, text="lead's")
    assert lab.is_my_comment(reviewer, mine, name="jo ") and not lab.is_my_comment(reviewer, lead, name="Jo")
    assert not lab.is_my_comment(reviewer, mine, name="Sam") and not lab.is_my_comment(reviewer, mine)
    assert not lab.is_my_comment(_reviewer(batch_id, "l_other"), mine, name="Jo")
    assert lab.is_my_comment(Actor.local(), lead) and not lab.is_my_comment(Actor.local(), mine)
    for actor, name in ((reviewer, "Sam"), (_reviewer(batch_id, "l_other"), "Jo"), (Actor.local(), ""),
                        (Actor("owner", name="Ada"), "")):
        with pytest.raises(NotAllowed, match="Only the person who wrote a comment can edit it"):
            lab.edit_take_comment(actor, mine.id, "changed", name=name)
        with pytest.raises(NotAllowed, match="can delete it"):
            lab.delete_take_comment(actor, mine.id, name=name)
    with pytest.raises(ValueError, match="Type your name first"):
        lab.edit_take_comment(reviewer, mine.id, "changed")
    with pytest.raises(ValueError, match="at most 2,000"):
        lab.edit_take_comment(reviewer, mine.id, "x" * 2001, name="Jo")
    assert lab.take_comments(Actor.local(), batch_id) == [mine, lead]
    edited = lab.edit_take_comment(reviewer, mine.id, FORMULA, name="JO")
    assert (edited.text, edited.at, edited.author_name) == (FORMULA, 1.0, "Jo")
    lab.delete_take_comment(reviewer, mine.id, name="Jo")
    assert lab.take_comments(Actor.local(), batch_id) == [lead]
    with pytest.raises(ValueError, match="deleted, or never existed"):
        lab.edit_take_comment(reviewer, mine.id, "again", name="Jo")
    with pytest.raises(ValueError, match="deleted, or never existed"):
        lab.delete_take_comment(Actor.local(), 999_999)


def test_the_local_person_is_told_apart_by_the_name_they_typed(lab: Lab, tiny_mp4: bytes) -> None:
    _, (job_id, _) = _batch(lab, tiny_mp4)
    ana = lab.comment_on_take(Actor.local(), job_id, at=1, text="x", name="Ana")
    assert ana.author_name == "Ana"
    with pytest.raises(NotAllowed):
        lab.delete_take_comment(Actor.local(), ana.id, name="Bo")
    lab.delete_take_comment(Actor.local(), ana.id, name="ana")


def test_a_status_is_one_per_take_with_who_and_when(lab: Lab, tiny_mp4: bytes) -> None:
    batch_id, (first, second) = _batch(lab, tiny_mp4)
    reviewer = _reviewer(batch_id)
    with pytest.raises(ValueError, match="Type your name first"):
        lab.set_take_status(reviewer, first, "approved")
    lab.set_take_status(reviewer, first, "changes", name="Jo")
    status = lab.set_take_status(Actor("member", name="Mia"), first, "approved")
    assert status is not None and (status.status, status.set_by, status.batch_id) == ("approved", "Mia", batch_id)
    lab.set_take_status(Actor.cli(), second, "rejected", name="Meeting")
    statuses = lab.take_statuses(reviewer, batch_id)
    assert {k: (v.status, v.set_by) for k, v in statuses.items()} == {first: ("approved", "Mia"),
                                                                      second: ("rejected", "Meeting")}
    assert lab.set_take_status(Actor.local(), first, None) is None
    assert set(lab.take_statuses(Actor.local(), batch_id)) == {second}


@pytest.mark.parametrize("actor", [Actor("worker"), Actor("anonymous"), Actor("host", name="fal"),
                                   Actor("reviewer", name="Jo")])
def test_who_may_not_review_is_refused(lab: Lab, tiny_mp4: bytes, actor: Actor) -> None:
    batch_id, (job_id, _) = _batch(lab, tiny_mp4)
    with pytest.raises(NotAllowed):
        lab.comment_on_take(actor, job_id, at=1, text="x", name="Jo")
    with pytest.raises(NotAllowed):
        lab.set_take_status(actor, job_id, "approved", name="Jo")
    with pytest.raises(NotAllowed):
        lab.take_comments(actor, batch_id)
    assert lab.store.take_notes.for_batch(batch_id) == []


def test_a_sequence_link_reviews_the_batches_of_its_shots_only(lab: Lab, tiny_mp4: bytes) -> None:
    inside, (job_id, _) = _batch(lab, tiny_mp4)
    outside, (other_job, _) = _batch(lab, tiny_mp4)
    reviewer = Actor.review_link("s_seq", "l_seq", kind="sequence", batches=frozenset({inside}))
    comment = lab.comment_on_take(reviewer, job_id, at=2, text="cut earlier", name="Client")
    assert lab.set_take_status(reviewer, job_id, "approved", name="Client").set_by == "Client"
    assert lab.take_comments(reviewer, inside) == [comment]
    with pytest.raises(NotAllowed):
        lab.comment_on_take(reviewer, other_job, at=2, text="x", name="Client")
    with pytest.raises(NotAllowed):
        lab.take_statuses(reviewer, outside)
    assert lab.store.take_notes.for_batch(outside) == []
