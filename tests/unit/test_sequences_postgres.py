"""Sequences on a team's PostgreSQL store: take numbers under concurrent writers, and a round trip."""

from __future__ import annotations

import threading
from pathlib import Path

from kling_lab.lab import Actor, ShotTarget
from kling_lab.store import Store
from tests.pg import postgres_url_fixture  # noqa: F401 - the `postgres_url` fixture
from tests.unit.test_sequences import LOCAL, animatic_plan, made_take, make_lab

WRITERS = 6


def test_batches_and_filed_takes_for_one_shot_at_once_never_share_a_take_number(postgres_url: str,
                                                                                  tmp_path: Path) -> None:
    lab = make_lab(tmp_path, Store.from_url(postgres_url, tmp_path / "unused"))
    seq = lab.new_sequence(LOCAL, "Race")
    loose = [made_take(lab) for _ in range(WRITERS)]
    doors = [make_lab(tmp_path, Store.from_url(postgres_url, tmp_path / "unused")) for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        door = doors[index]
        try:
            start.wait()
            # Half the writers make a batch for the (new) shot, half file an existing take under it.
            if index % 2:
                door.submit(LOCAL, animatic_plan(), shot=ShotTarget(seq.id, "SH010"))
            else:
                door.add_take(LOCAL, seq.id, "SH010", loose[index])
            door.submit(LOCAL, animatic_plan("one more"), shot=ShotTarget(seq.id, "SH010"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    [shot] = lab.shots(LOCAL, seq.id)
    numbers = [t.take_number for t in lab.shot_takes(LOCAL, shot.id)]
    expected = (WRITERS // 2) * 2 + (WRITERS - WRITERS // 2) + WRITERS
    assert sorted(numbers) == list(range(1, expected + 1))
    for door in doors:
        door.store.close()
    lab.store.close()


def test_a_sequence_round_trip(postgres_url: str, tmp_path: Path) -> None:
    store = Store.from_url(postgres_url, tmp_path / "unused")
    lab = make_lab(tmp_path, store)
    seq = lab.new_sequence(LOCAL, "Round trip")
    one, two = made_take(lab, seconds=1.0), made_take(lab, seconds=2.0)
    lab.add_take(LOCAL, seq.id, "SH010", one)
    shot = lab.add_take(LOCAL, seq.id, "SH020", two)
    lab.add_shot(LOCAL, seq.id, code="SH015", name="insert")
    lab.trim_shot(LOCAL, shot.id, 6, 30)
    lab.move_shot(LOCAL, shot.id, 0)
    lab.renumber_shots(LOCAL, seq.id)
    url, link = lab.make_review_link(LOCAL, seq.id, base_url="http://localhost:8501", kind="sequence")
    store.close()

    again = make_lab(tmp_path, Store.from_url(postgres_url, tmp_path / "unused"))
    found = again.sequence(LOCAL, "ROUND TRIP")
    assert found is not None and found.id == seq.id
    shots = again.shots(LOCAL, seq.id)
    assert [(s.code, s.name, s.pick_job_id, s.trim_in, s.trim_out) for s in shots] == [
        ("SH010", "", two, 6, 30), ("SH020", "", one, None, None), ("SH030", "insert", None, None, None)]
    again.remove_shot(LOCAL, shots[2].id)
    cut = again.cut(LOCAL, seq.id)
    assert [(s.code, s.job_id, s.frames) for s in cut.shots] == [("SH010", two, 24), ("SH020", one, 24)]
    reviewer = again.open_review_link(url.split("review=", 1)[1])
    assert isinstance(reviewer, Actor) and reviewer.scope.link_id == link.id
    assert reviewer.scope.batches == {again.job(LOCAL, one).batch_id, again.job(LOCAL, two).batch_id}
    again.store.close()
