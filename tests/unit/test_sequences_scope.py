"""A sequence's review link: its holder watches the reel and reviews its shots' batches, and nothing else."""

from __future__ import annotations

import pytest

from kling_lab.lab import Actor, NotAllowed, ShotTarget
from kling_lab.lab.actors import OUTSIDE_SEQUENCE, Scope, check
from tests.unit.test_sequences import LOCAL, animatic_plan, made_take, make_lab

BASE = "http://localhost:8501"


@pytest.fixture
def setup(tmp_path):  # noqa: ANN201
    lab = make_lab(tmp_path)
    seq = lab.new_sequence(LOCAL, "Opening")
    inside = made_take(lab, prompt="inside")
    lab.add_take(LOCAL, seq.id, "SH010", inside)
    made = lab.submit(LOCAL, animatic_plan("a hen"), shot=ShotTarget(seq.id, "SH020"))
    outside = made_take(lab, prompt="outside")
    url, link = lab.make_review_link(LOCAL, seq.id, "7d", base_url=BASE, kind="sequence")
    reviewer = lab.open_review_link(url.split("review=", 1)[1])
    assert isinstance(reviewer, Actor)
    return lab, seq, inside, made, outside, url, link, reviewer


def test_the_link_opens_the_sequence_and_the_batches_of_its_shots(setup):
    lab, seq, inside, made, outside, _url, link, reviewer = setup
    assert reviewer.scope == Scope("sequence", seq.id, link.id,
                                   frozenset({lab.job(LOCAL, inside).batch_id, made}))
    assert lab.review_links(LOCAL, seq.id, kind="sequence") == [link]
    assert link.kind == "sequence" and link.target == seq.id


def test_its_holder_reads_the_sequence_its_shots_and_its_cut_without_costs(setup):
    lab, seq, inside, made, outside, *_, reviewer = setup
    assert lab.sequence(reviewer, seq.id).id == seq.id
    assert [s.code for s in lab.shots(reviewer, seq.id)] == ["SH010", "SH020"]
    shot = lab.shots(reviewer, seq.id)[0]
    [take] = lab.shot_takes(reviewer, shot.id)
    assert take.id == inside and take.estimated_cost is None
    lab.remove_shot(LOCAL, lab.shots(LOCAL, seq.id)[1].id)
    cut = lab.cut(reviewer, seq.id)
    assert [s.cost for s in cut.shots] == [None]
    assert lab.cut(LOCAL, seq.id).shots[0].cost == "0.35"
    assert [j.id for j in lab.batch_jobs(reviewer, made)] and lab.job(reviewer, inside).actual_cost is None


def test_its_holder_reviews_its_batches_only(setup):
    lab, seq, inside, made, outside, *_, reviewer = setup
    inside_batch = lab.job(LOCAL, inside).batch_id
    lab.review(reviewer, inside_batch, kind="pick", name="Ana", job_id=inside)
    assert [r.name for r in lab.shot_reviews(LOCAL, lab.shots(LOCAL, seq.id)[0].id)] == ["Ana"]
    lab.comment_on_take(reviewer, inside, at=0.2, text="nice", name="Ana")
    with pytest.raises(NotAllowed, match="one sequence's reel"):
        lab.review(reviewer, lab.job(LOCAL, outside).batch_id, kind="comment", name="Ana", text="x")
    with pytest.raises(NotAllowed):
        lab.comment_on_take(reviewer, outside, at=0.2, text="nice", name="Ana")
    with pytest.raises(NotAllowed):
        lab.job(reviewer, outside)


@pytest.mark.parametrize("call", [
    lambda lab, a, seq: lab.sequences(a),
    lambda lab, a, seq: lab.new_sequence(a, "Mine"),
    lambda lab, a, seq: lab.add_shot(a, seq.id),
    lambda lab, a, seq: lab.pick_take(a, lab.shots(LOCAL, seq.id)[0].id, None),
    lambda lab, a, seq: lab.trim_shot(a, lab.shots(LOCAL, seq.id)[0].id, 1, 2),
    lambda lab, a, seq: lab.export_sequence(a, seq.id, "otio", "x.otio"),
    lambda lab, a, seq: lab.sequence_export_file(a, seq.id, "otio"),
    lambda lab, a, seq: lab.make_review_link(a, seq.id, base_url=BASE, kind="sequence"),
    lambda lab, a, seq: lab.batches(a),
    lambda lab, a, seq: lab.submit(a, animatic_plan("x"), shot=ShotTarget(seq.id)),
])
def test_its_holder_changes_nothing_and_lists_nothing(setup, call):
    lab, seq, *_, reviewer = setup
    with pytest.raises(NotAllowed):
        call(lab, reviewer, seq)


def test_another_sequence_is_closed_to_it(setup):
    lab, seq, *_, reviewer = setup
    other = lab.new_sequence(LOCAL, "Other")
    with pytest.raises(NotAllowed):
        lab.shots(reviewer, other.id)
    with pytest.raises(NotAllowed):
        lab.sequence(reviewer, "Other")
    with pytest.raises(NotAllowed):
        lab.sequence(reviewer, "no such sequence")


def test_a_new_batch_of_its_shots_opens_when_the_link_is_opened_again(setup):
    lab, seq, *_, url, _link, reviewer = setup
    later = lab.submit(LOCAL, animatic_plan("later"), shot=ShotTarget(seq.id, "SH030"))
    assert later not in reviewer.scope.batches
    again = lab.open_review_link(url.split("review=", 1)[1])
    assert later in again.scope.batches


def test_file_tokens_of_the_link_cover_its_batches_clips_only(setup):
    lab, seq, inside, made, outside, _url, link, reviewer = setup
    token = lab.file_token(reviewer)
    files = lab.files_actor(token)
    assert files is not None and files.scope.kind == "sequence" and files.scope.target == seq.id
    assert lab.clip_file(files, inside) is not None
    with pytest.raises(NotAllowed):
        lab.clip_file(files, outside)
    lab.revoke_review_link(LOCAL, link.id)
    assert lab.files_actor(token) is None
    assert lab.open_review_link(_url.split("review=", 1)[1]) is not None  # a refusal, not an actor
    assert not isinstance(lab.open_review_link(_url.split("review=", 1)[1]), Actor)


def test_a_link_for_no_such_sequence_is_refused(setup):
    lab, *_ = setup
    with pytest.raises(ValueError, match="no sequence"):
        lab.make_review_link(LOCAL, "s_000000000000", base_url=BASE, kind="sequence")
    with pytest.raises(ValueError, match="a batch or a sequence"):
        lab.make_review_link(LOCAL, "s_000000000000", base_url=BASE, kind="project")


def test_check_with_a_sequence_scope():
    actor = Actor.review_link("s_1", "l_1", kind="sequence", batches=frozenset({"b_1"}))
    check(actor, "read", sequence_id="s_1")
    check(actor, "read", batch_id="b_1")
    check(actor, "review", batch_id="b_1")
    for kwargs in ({"sequence_id": "s_2"}, {"batch_id": "b_2"}, {}):
        with pytest.raises(NotAllowed, match=OUTSIDE_SEQUENCE):
            check(actor, "read", **kwargs)
    with pytest.raises(NotAllowed, match=OUTSIDE_SEQUENCE):
        check(actor, "review", sequence_id="s_1")
    with pytest.raises(NotAllowed):
        check(actor, "sequence", sequence_id="s_1")
    batch_reviewer = Actor.review_link("b_1", "l_1")
    with pytest.raises(NotAllowed):
        check(batch_reviewer, "read", sequence_id="s_1")
