"""Sequences, their shots and the numbering of takes within a shot: all the SQL of sequences.

A sequence is found by its id or by its name (unique whatever the case: `name_key`
is the casefolded name). Its shots are kept in `position` order (0, 1, … with no
gaps) and carry a code `number` (10 → SH010), unique within the sequence; a
renumbering goes through a temporary offset so the unique index never sees two
shots with one number. A take's number (T001 is 1) is the shot's highest plus one,
given inside the write transaction that files it, with the shot's row locked on
PostgreSQL (SQLite's immediate transaction excludes every other writer), so two
batches made for one shot at the same moment never share a number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from kling_lab.store.database import Database
from kling_lab.store.records import (
    JobRecord,
    SequenceRecord,
    ShotRecord,
    job_from_row,
    new_id,
    sequence_from_row,
    shot_from_row,
)
from kling_lab.store.schema import batches, jobs, sequences, shots

SHOT_STEP = 10
RENUMBER_OFFSET = 1_000_000
"""Numbers are moved this far out of the way while a renumbering rewrites them."""
MAX_SHOT_NUMBER = 999


@dataclass(frozen=True)
class ShotSlot:
    """The shot a new batch is filed under: an existing shot's number in a sequence, or a new one.

    `number` None: a new shot after the last (its highest number + 10). A number no shot has yet makes that shot.
    """

    sequence_id: str
    number: int | None = None
    name: str = ""


def name_key(name: str) -> str:
    """How a name is compared: spaces collapsed, case folded."""
    return " ".join(name.split()).casefold()


class SequenceBook:
    """Sequences, shots and take numbers, over the store's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- sequences ---------------------------------------------------------------------------

    def create(self, name: str, *, project: str = "", created_by: str = "", now: float | None = None) -> SequenceRecord:
        """Write a new sequence; ValueError with a sentence when another one has this name (any case)."""
        now = time.time() if now is None else now
        sequence_id = new_id("s")
        try:
            with self._db.write() as conn:
                if self._id_by_key(conn, name_key(name)) is not None:
                    raise ValueError(_taken(name))
                conn.execute(insert(sequences).values(id=sequence_id, name=name, name_key=name_key(name),
                                                      project=project, created_by=created_by[:200], created_at=now,
                                                      updated_at=now))
        except IntegrityError:  # another writer took the name a moment before (PostgreSQL)
            raise ValueError(_taken(name)) from None
        found = self.get(sequence_id)
        assert found is not None
        return found

    def get(self, sequence_id: str) -> SequenceRecord | None:
        with self._db.read() as conn:
            row = conn.execute(select(sequences).where(sequences.c.id == sequence_id)).mappings().first()
        return sequence_from_row(row) if row else None

    def by_name(self, name: str) -> SequenceRecord | None:
        with self._db.read() as conn:
            row = conn.execute(select(sequences).where(sequences.c.name_key == name_key(name))).mappings().first()
        return sequence_from_row(row) if row else None

    def all(self) -> list[SequenceRecord]:
        """Every sequence, the most recently changed first."""
        with self._db.read() as conn:
            rows = conn.execute(select(sequences).order_by(sequences.c.updated_at.desc(),
                                                           sequences.c.id.desc())).mappings().all()
        return [sequence_from_row(r) for r in rows]

    def rename(self, sequence_id: str, name: str, *, now: float | None = None) -> SequenceRecord:
        """Rename; ValueError when another sequence has the name, KeyError for no such sequence."""
        now = time.time() if now is None else now
        try:
            with self._db.write() as conn:
                other = self._id_by_key(conn, name_key(name))
                if other is not None and other != sequence_id:
                    raise ValueError(_taken(name))
                done = conn.execute(update(sequences).where(sequences.c.id == sequence_id).values(
                    name=name, name_key=name_key(name), updated_at=now)).rowcount
        except IntegrityError:
            raise ValueError(_taken(name)) from None
        if not done:
            raise KeyError(sequence_id)
        found = self.get(sequence_id)
        assert found is not None
        return found

    # -- shots -------------------------------------------------------------------------------

    def shots(self, sequence_id: str) -> list[ShotRecord]:
        """A sequence's shots in order."""
        with self._db.read() as conn:
            return self._shots(conn, sequence_id)

    def shot(self, shot_id: str) -> ShotRecord | None:
        with self._db.read() as conn:
            row = conn.execute(select(shots).where(shots.c.id == shot_id)).mappings().first()
        return shot_from_row(row) if row else None

    def add_shot(self, sequence_id: str, *, number: int | None = None, name: str = "",
                 now: float | None = None) -> ShotRecord:
        """A new shot: `number` None goes after the last (highest + 10); a given number is slotted in among
        the others by number. ValueError when the number is taken or out of range."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            shot_id = self._add_shot(conn, sequence_id, number, name, now)
        found = self.shot(shot_id)
        assert found is not None
        return found

    def update_shot(self, shot_id: str, *, now: float | None = None, **values: Any) -> ShotRecord:
        """Change a shot's name, pick (`pick_job_id`, `pick_by`, `pick_at`), trims or start frame (a dict)."""
        now = time.time() if now is None else now
        allowed = {"name", "pick_job_id", "pick_by", "pick_at", "trim_in", "trim_out", "start_frame"}
        unknown = set(values) - allowed
        if unknown:
            raise TypeError(f"update_shot takes {sorted(allowed)}, not {sorted(unknown)}")
        if "start_frame" in values:
            frame = values.pop("start_frame")
            values["start_frame_json"] = json.dumps(frame, sort_keys=True) if frame is not None else None
        with self._db.write() as conn:
            row = conn.execute(select(shots.c.sequence_id).where(shots.c.id == shot_id)).first()
            if row is None:
                raise KeyError(shot_id)
            conn.execute(update(shots).where(shots.c.id == shot_id).values(updated_at=now, **values))
            self._touch(conn, row[0], now)
        found = self.shot(shot_id)
        assert found is not None
        return found

    def reorder(self, sequence_id: str, shot_ids: Sequence[str], *, now: float | None = None) -> list[ShotRecord]:
        """Put the sequence's shots in this order (every shot once); ValueError otherwise."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            self._lock(conn, sequence_id)
            current = [s.id for s in self._shots(conn, sequence_id)]
            if sorted(current) != sorted(shot_ids) or len(set(shot_ids)) != len(shot_ids):
                raise ValueError("A new order must name every shot of the sequence once; reload and try again.")
            self._write_positions(conn, list(shot_ids), now)
            self._touch(conn, sequence_id, now)
            return self._shots(conn, sequence_id)

    def renumber(self, sequence_id: str, *, now: float | None = None) -> list[ShotRecord]:
        """SH010, SH020, … in the current order."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            self._lock(conn, sequence_id)
            ordered = self._shots(conn, sequence_id)
            conn.execute(update(shots).where(shots.c.sequence_id == sequence_id)
                         .values(number=shots.c.number + RENUMBER_OFFSET))
            for index, shot in enumerate(ordered):
                conn.execute(update(shots).where(shots.c.id == shot.id)
                             .values(number=(index + 1) * SHOT_STEP, updated_at=now))
            self._touch(conn, sequence_id, now)
            return self._shots(conn, sequence_id)

    def remove_shot(self, shot_id: str, *, now: float | None = None) -> None:
        """Delete a shot; its batches and takes stay (no longer filed under any shot)."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            row = conn.execute(select(shots.c.sequence_id).where(shots.c.id == shot_id)).first()
            if row is None:
                raise KeyError(shot_id)
            self._lock(conn, row[0])
            conn.execute(update(jobs).where(jobs.c.shot_id == shot_id).values(shot_id=None, take_number=None))
            conn.execute(update(batches).where(batches.c.shot_id == shot_id).values(shot_id=None))
            conn.execute(delete(shots).where(shots.c.id == shot_id))
            rest = [s.id for s in self._shots(conn, row[0])]
            self._write_positions(conn, rest, now)
            self._touch(conn, row[0], now)

    # -- takes -------------------------------------------------------------------------------

    def takes(self, shot_id: str) -> list[JobRecord]:
        """Every take filed under the shot, T001 first."""
        with self._db.read() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.shot_id == shot_id)
                                .order_by(jobs.c.take_number, jobs.c.created_at)).mappings().all()
        return [job_from_row(r) for r in rows]

    def takes_of_shots(self, shot_ids: Sequence[str]) -> list[JobRecord]:
        if not shot_ids:
            return []
        with self._db.read() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.shot_id.in_(list(shot_ids)))
                                .order_by(jobs.c.shot_id, jobs.c.take_number)).mappings().all()
        return [job_from_row(r) for r in rows]

    def file_take(self, sequence_id: str, number: int, job_id: str, *, by: str = "", pick: bool = True,
                  now: float | None = None) -> ShotRecord:
        """File an existing job under the sequence's shot `number` (made when new), as its next take; a shot
        nobody has picked for yet gets it as its pick when `pick` (the take is made). A take moved from
        another shot stops being that shot's pick. Filing a take already in that shot changes nothing."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            shot_id = self.slot_shot(conn, ShotSlot(sequence_id, number), now)
            current = conn.execute(select(jobs.c.shot_id).where(jobs.c.id == job_id)).first()
            if current is None:
                raise KeyError(job_id)
            if current[0] != shot_id:
                if current[0] is not None:
                    conn.execute(update(shots).where(shots.c.id == current[0], shots.c.pick_job_id == job_id)
                                 .values(pick_job_id=None, pick_by="", pick_at=None, trim_in=None, trim_out=None,
                                         updated_at=now))
                (take,) = self.next_take_numbers(conn, shot_id, 1)
                conn.execute(update(jobs).where(jobs.c.id == job_id).values(shot_id=shot_id, take_number=take))
                if pick:
                    conn.execute(update(shots).where(shots.c.id == shot_id, shots.c.pick_at.is_(None))
                                 .values(pick_job_id=job_id, pick_by=by[:200], pick_at=now, updated_at=now))
            self._touch(conn, sequence_id, now)
        found = self.shot(shot_id)
        assert found is not None
        return found

    def settle_first_picks(self, sequence_id: str, *, now: float | None = None) -> None:
        """A shot nobody has picked for yet gets its first finished take as its pick."""
        from kling_lab.domain.jobs import JobState

        now = time.time() if now is None else now
        with self._db.read() as conn:
            open_shots = conn.execute(select(shots.c.id).where(shots.c.sequence_id == sequence_id,
                                                               shots.c.pick_at.is_(None))).scalars().all()
        if not open_shots:
            return
        with self._db.write() as conn:
            for shot_id in open_shots:
                first = conn.execute(select(jobs.c.id).where(
                    jobs.c.shot_id == shot_id, jobs.c.state == JobState.DONE.value, jobs.c.deleted_at.is_(None),
                ).order_by(jobs.c.take_number).limit(1)).scalar()
                if first is not None:
                    conn.execute(update(shots).where(shots.c.id == shot_id, shots.c.pick_at.is_(None))
                                 .values(pick_job_id=first, pick_by="first take", pick_at=now))

    def batch_ids(self, sequence_id: str) -> frozenset[str]:
        """The batches a sequence's review link opens: those made for its shots and those holding its takes."""
        with self._db.read() as conn:
            shot_ids = select(shots.c.id).where(shots.c.sequence_id == sequence_id).scalar_subquery()
            made = conn.execute(select(batches.c.id).where(batches.c.shot_id.in_(shot_ids))).scalars().all()
            filed = conn.execute(select(jobs.c.batch_id).where(jobs.c.shot_id.in_(shot_ids))
                                 .distinct()).scalars().all()
        return frozenset(made) | frozenset(filed)

    def sequence_of_batch(self, batch_id: str) -> str | None:
        with self._db.read() as conn:
            return conn.execute(select(shots.c.sequence_id).join(batches, batches.c.shot_id == shots.c.id)
                                .where(batches.c.id == batch_id)).scalar()

    # -- inside a batch's write transaction (repository.create_batch) ----------------------------

    def slot_shot(self, conn: Connection, slot: ShotSlot, now: float) -> str:
        """The id of the slot's shot, making it when new; the row is locked until the transaction ends."""
        if not self._lock(conn, slot.sequence_id):
            raise ValueError("That sequence is gone; reload the page.")
        if slot.number is not None:
            found = conn.execute(select(shots.c.id).where(shots.c.sequence_id == slot.sequence_id,
                                                          shots.c.number == slot.number)
                                 .with_for_update()).scalar()
            if found is not None:
                return str(found)
        shot_id = self._add_shot(conn, slot.sequence_id, slot.number, slot.name, now)
        conn.execute(select(shots.c.id).where(shots.c.id == shot_id).with_for_update())
        return shot_id

    def next_take_numbers(self, conn: Connection, shot_id: str, count: int) -> list[int]:
        """The next `count` take numbers of a shot (its highest + 1, + 2, …); call with the shot row locked."""
        conn.execute(select(shots.c.id).where(shots.c.id == shot_id).with_for_update())
        highest = conn.execute(select(func.max(jobs.c.take_number)).where(jobs.c.shot_id == shot_id)).scalar()
        start = int(highest or 0) + 1
        return list(range(start, start + count))

    # -- helpers -----------------------------------------------------------------------------

    def _lock(self, conn: Connection, sequence_id: str) -> bool:
        """Hold the sequence's row until the transaction ends (PostgreSQL; SQLite's write already excludes every
        other writer), so shots are made, moved and renumbered one writer at a time. False: no such sequence."""
        found = conn.execute(select(sequences.c.id).where(sequences.c.id == sequence_id).with_for_update()).first()
        return found is not None

    def _id_by_key(self, conn: Connection, key: str) -> str | None:
        return conn.execute(select(sequences.c.id).where(sequences.c.name_key == key)).scalar()

    def _shots(self, conn: Connection, sequence_id: str) -> list[ShotRecord]:
        rows = conn.execute(select(shots).where(shots.c.sequence_id == sequence_id)
                            .order_by(shots.c.position, shots.c.number)).mappings().all()
        return [shot_from_row(r) for r in rows]

    def _add_shot(self, conn: Connection, sequence_id: str, number: int | None, name: str, now: float) -> str:
        if not self._lock(conn, sequence_id):
            raise ValueError("That sequence is gone; reload the page.")
        existing = self._shots(conn, sequence_id)
        if number is None:
            number = max((s.number for s in existing), default=0) + SHOT_STEP
        if not 1 <= number <= MAX_SHOT_NUMBER:
            raise ValueError(f"A shot code is SH001 to SH{MAX_SHOT_NUMBER}; SH{number:03d} is outside that.")
        if any(s.number == number for s in existing):
            raise ValueError(f"This sequence already has a shot SH{number:03d}.")
        ordered = [s.id for s in existing]
        shot_id = new_id("sh")
        conn.execute(insert(shots).values(id=shot_id, sequence_id=sequence_id, number=number, position=len(existing),
                                          name=name, created_at=now, updated_at=now))
        ordered.insert(_slot(existing, number), shot_id)
        self._write_positions(conn, ordered, now)
        self._touch(conn, sequence_id, now)
        return shot_id

    def _write_positions(self, conn: Connection, ordered: Sequence[str], now: float) -> None:
        for index, shot_id in enumerate(ordered):
            conn.execute(update(shots).where(shots.c.id == shot_id, shots.c.position != index)
                         .values(position=index, updated_at=now))

    def _touch(self, conn: Connection, sequence_id: str, now: float) -> None:
        conn.execute(update(sequences).where(sequences.c.id == sequence_id).values(updated_at=now))


def _slot(existing: Sequence[ShotRecord], number: int) -> int:
    """Where a new shot numbered `number` goes: after the last shot (in order) with a smaller number."""
    place = 0
    for index, shot in enumerate(existing):
        if shot.number < number:
            place = index + 1
    return place


def _taken(name: str) -> str:
    return f"There is already a sequence called “{' '.join(name.split())}”; choose another name."
