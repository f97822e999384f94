"""Sequences through the door: sequences, their shots in order, takes filed under a shot, picks, trims,
continuity frames, the cut and its exports.

Editing a sequence is the "sequence" action (the person at this machine, the
command line, owners and members). A sequence review link's holder reads its
sequence, its shots, its cut and its shots' batches (never a cost), and nothing
else. Every mistake a person can make is a ValueError with a sentence, raised
before anything is written.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from kling_lab.images import FrameRef, inspect_frame
from kling_lab.lab.actors import Actor, check
from kling_lab.lab.base import DoorBase
from kling_lab.lab.reads import _board_job
from kling_lab.sequences.cut import build_cut, clip_frames, trim_problem
from kling_lab.sequences.lineage import lineage_words
from kling_lab.sequences.model import Cut, check_name
from kling_lab.store import JobRecord, ReviewRecord, SequenceRecord, ShotRecord, ShotSlot

SHOT_CODE = re.compile(r"^\s*(?:SH)?(\d{1,3})\s*$", re.IGNORECASE)
MAX_SHOT_NAME_CHARS = 200
MAX_PROJECT_CHARS = 80


@dataclass(frozen=True)
class ShotTarget:
    """Where Compose (or `generate --sequence --shot`) files a new batch: a sequence's shot by its code
    ("SH010"; a code it does not have yet makes that shot), or a new shot after the last (`code` None)."""

    sequence_id: str
    code: str | None = None
    name: str = ""


def parse_shot_code(code: str) -> int:
    """10 for "SH010" (or "sh10", "10"); ValueError with a sentence for anything else."""
    match = SHOT_CODE.match(str(code))
    if not match or not 1 <= int(match.group(1)) <= 999:
        raise ValueError(f"“{code}” is not a shot code: write it as SH010 (SH001 to SH999).")
    return int(match.group(1))


def _shot_name(name: str) -> str:
    tidy = " ".join(str(name).split())
    if len(tidy) > MAX_SHOT_NAME_CHARS:
        raise ValueError(f"A shot's name is at most {MAX_SHOT_NAME_CHARS} characters; this one has {len(tidy):,}.")
    return tidy


def _who(actor: Actor) -> str:
    return actor.name or actor.kind


class Sequences(DoorBase):
    """Sequences, shots, takes, picks, trims, continuity, the cut and its exports."""

    # -- sequences ---------------------------------------------------------------------------

    def new_sequence(self, actor: Actor, name: str, *, project: str = "") -> SequenceRecord:
        """A new, empty sequence; ValueError for an empty, too long, markup or path name, or one in use."""
        check(actor, "sequence")
        tidy = check_name(name)
        project = check_name(project, "A project name") if project.strip() else ""
        return self.store.sequences.create(tidy, project=project, created_by=_who(actor))

    def sequences(self, actor: Actor) -> list[SequenceRecord]:
        """Every sequence, the most recently changed first."""
        check(actor, "read")
        return self.store.sequences.all()

    def sequence(self, actor: Actor, ref: str) -> SequenceRecord | None:
        """A sequence by its id ("s_…") or its name (any case); None when there is none."""
        found = self.store.sequences.get(ref) if str(ref).startswith("s_") else None
        if found is None:
            found = self.store.sequences.by_name(str(ref))
        if found is None:
            check(actor, "read")
            return None
        check(actor, "read", sequence_id=found.id)
        return found

    def rename_sequence(self, actor: Actor, sequence_id: str, name: str) -> SequenceRecord:
        check(actor, "sequence")
        tidy = check_name(name)
        self._sequence(sequence_id)
        return self.store.sequences.rename(sequence_id, tidy)

    # -- shots -------------------------------------------------------------------------------

    def shots(self, actor: Actor, sequence_id: str) -> list[ShotRecord]:
        """A sequence's shots in order (a shot nobody picked for yet gets its first finished take)."""
        check(actor, "read", sequence_id=sequence_id)
        self._sequence(sequence_id)
        self.store.sequences.settle_first_picks(sequence_id)
        return self.store.sequences.shots(sequence_id)

    def shot(self, actor: Actor, shot_id: str) -> ShotRecord | None:
        found = self.store.sequences.shot(shot_id)
        if found is None:
            check(actor, "read")
            return None
        check(actor, "read", sequence_id=found.sequence_id)
        if found.pick_at is None:
            self.store.sequences.settle_first_picks(found.sequence_id)
            found = self.store.sequences.shot(shot_id)
        return found

    def add_shot(self, actor: Actor, sequence_id: str, *, name: str = "", code: str | None = None) -> ShotRecord:
        """A new shot: `code` "SH015" slots it in by number; None puts it after the last (highest + 10)."""
        check(actor, "sequence")
        self._sequence(sequence_id)
        number = parse_shot_code(code) if code is not None else None
        return self.store.sequences.add_shot(sequence_id, number=number, name=_shot_name(name))

    def rename_shot(self, actor: Actor, shot_id: str, name: str) -> ShotRecord:
        check(actor, "sequence")
        self._shot(shot_id)
        return self.store.sequences.update_shot(shot_id, name=_shot_name(name))

    def move_shot(self, actor: Actor, shot_id: str, position: int) -> list[ShotRecord]:
        """Move a shot to a 0-based place in its sequence (past the end: last)."""
        check(actor, "sequence")
        shot = self._shot(shot_id)
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise ValueError("A shot's new place is a whole number from 0 (the first).")
        order = [s.id for s in self.store.sequences.shots(shot.sequence_id) if s.id != shot_id]
        order.insert(min(position, len(order)), shot_id)
        return self.store.sequences.reorder(shot.sequence_id, order)

    def reorder_shots(self, actor: Actor, sequence_id: str, shot_ids: list[str]) -> list[ShotRecord]:
        """The sequence's shots in this whole new order (a drag); ValueError unless it names each shot once."""
        check(actor, "sequence")
        self._sequence(sequence_id)
        return self.store.sequences.reorder(sequence_id, list(shot_ids))

    def renumber_shots(self, actor: Actor, sequence_id: str) -> list[ShotRecord]:
        """SH010, SH020, … in the current order."""
        check(actor, "sequence")
        self._sequence(sequence_id)
        return self.store.sequences.renumber(sequence_id)

    def remove_shot(self, actor: Actor, shot_id: str) -> None:
        """Remove a shot from its sequence; its batches and takes stay in History."""
        check(actor, "sequence")
        self._shot(shot_id)
        self.store.sequences.remove_shot(shot_id)

    # -- takes and picks ---------------------------------------------------------------------

    def add_take(self, actor: Actor, sequence_id: str, shot_code: str, job_id: str) -> ShotRecord:
        """File an existing take under the sequence's shot (made when the code is new) as its next take; a
        shot with no pick yet gets it as its pick when it is made."""
        check(actor, "sequence")
        self._sequence(sequence_id)
        number = parse_shot_code(shot_code)
        job = self.store.get_job(job_id)
        if job is None or job.deleted_at is not None:
            raise ValueError(f"There is no take “{job_id}” in this Kling Lab's history (or it was deleted).")
        shot = self.store.sequences.file_take(sequence_id, number, job_id, by=_who(actor),
                                              pick=job.state.value == "done")
        self.store.sequences.settle_first_picks(sequence_id)
        return self._shot(shot.id)

    def shot_takes(self, actor: Actor, shot_id: str) -> list[JobRecord]:
        """All the shot's takes, T001 first (a reviewer: without deleted takes or costs)."""
        shot = self._shot(shot_id)
        check(actor, "read", sequence_id=shot.sequence_id)
        takes = self.store.sequences.takes(shot_id)
        if actor.scope is not None:
            return [_board_job(j) for j in takes if j.deleted_at is None]
        return takes

    def pick_take(self, actor: Actor, shot_id: str, job_id: str | None) -> ShotRecord:
        """Make a made take of this shot its pick (None: no pick); ValueError with a sentence otherwise."""
        check(actor, "sequence")
        shot = self._shot(shot_id)
        if job_id is not None:
            job = self.store.get_job(job_id)
            if job is None or job.shot_id != shot_id:
                raise ValueError(f"That clip is not one of {shot.code}'s takes; file it under the shot first.")
            if job.deleted_at is not None:
                raise ValueError(f"That take of {shot.code} was deleted; pick another.")
            if job.state.value != "done":
                raise ValueError(f"That take of {shot.code} is not made yet ({job.state.value}); pick it once it "
                                 "is done.")
            problem = trim_problem(shot.code, job, shot.trim_in, shot.trim_out)
            if problem:  # the old trims do not fit the new pick's clip: start from the whole clip
                return self.store.sequences.update_shot(shot_id, pick_job_id=job_id, pick_by=_who(actor),
                                                        pick_at=self._now(), trim_in=None, trim_out=None)
        return self.store.sequences.update_shot(shot_id, pick_job_id=job_id, pick_by=_who(actor),
                                                pick_at=self._now())

    def trim_shot(self, actor: Actor, shot_id: str, trim_in: int | None, trim_out: int | None) -> ShotRecord:
        """Set the pick's in and out points in frames at 24 fps (None: the clip's start / end)."""
        check(actor, "sequence")
        shot = self._shot(shot_id)
        for value, what in ((trim_in, "in"), (trim_out, "out")):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"The {what} point of {shot.code} is a whole number of frames at 24 fps.")
        job = self.store.get_job(shot.pick_job_id) if shot.pick_job_id else None
        if job is None or job.deleted_at is not None:
            raise ValueError(f"{shot.code} has no pick to trim: pick one of its takes first.")
        problem = trim_problem(shot.code, job, trim_in, trim_out)
        if problem:
            raise ValueError(problem)
        frames = clip_frames(job)
        return self.store.sequences.update_shot(
            shot_id, trim_in=trim_in or None,
            trim_out=None if trim_out is None or trim_out == frames else trim_out)

    def continue_from(self, actor: Actor, shot_id: str) -> ShotRecord:
        """The pick's last frame becomes the next shot's start frame (a next shot is made when this is the
        last); returns the next shot. The frame is checked and kept like an uploaded one."""
        from kling_lab.sequences.frames import last_frame_png

        check(actor, "sequence")
        check(actor, "upload")
        shot = self._shot(shot_id)
        job = self.store.get_job(shot.pick_job_id) if shot.pick_job_id else None
        if job is None or job.deleted_at is not None or job.state.value != "done":
            raise ValueError(f"{shot.code} has no made pick to continue from: pick one of its takes first.")
        path = self._clip_on_disk(job)
        if path is None:
            raise ValueError(f"{shot.code}'s pick has no video file on disk any more: pick another take.")
        try:
            data = last_frame_png(path)
        except (OSError, ValueError) as exc:
            raise ValueError(f"Kling Lab could not read the last frame of {shot.code}'s pick: {exc}") from exc
        inspection = inspect_frame(data, f"The last frame of {shot.code}'s pick")
        if inspection.ref is None or inspection.errors:
            raise ValueError("\n".join(inspection.errors) or "The last frame could not be read.")
        self.media.save_frame(inspection.ref, data)
        ordered = self.store.sequences.shots(shot.sequence_id)
        index = next(i for i, s in enumerate(ordered) if s.id == shot.id)
        following = ordered[index + 1] if index + 1 < len(ordered) else \
            self.store.sequences.add_shot(shot.sequence_id)
        return self.store.sequences.update_shot(following.id, start_frame=inspection.ref.to_dict())

    def shot_start_frame(self, actor: Actor, shot_id: str) -> FrameRef | None:
        """The start frame kept for the shot's next batch (e.g. the previous shot's last frame), when on disk."""
        shot = self._shot(shot_id)
        check(actor, "read", sequence_id=shot.sequence_id)
        if not shot.start_frame:
            return None
        try:
            ref = FrameRef.from_dict(shot.start_frame)
        except (KeyError, TypeError, ValueError):
            return None
        return ref if self.media.frame_path(ref).is_file() else None

    def take_lineage(self, actor: Actor, job: JobRecord) -> str:
        """"T006 from T003: cfg 0.5 → 0.7" for a take that came from another, "" for one that did not (the
        parent named by id when this actor may not read it, or it is gone)."""
        from kling_lab.sequences.lineage import lineage_line

        if not job.parent_job_id:
            return ""
        parent = self.store.get_job(job.parent_job_id)
        if parent is not None and actor.scope is not None and not actor.scope.covers("batch", parent.batch_id):
            parent = None
        return lineage_line(job, parent)

    def shot_reviews(self, actor: Actor, shot_id: str) -> list[ReviewRecord]:
        """Reviewers' picks and comments on the shot's batches (those made for it, and those of its takes)."""
        shot = self._shot(shot_id)
        check(actor, "read", sequence_id=shot.sequence_id)
        takes = self.store.sequences.takes(shot_id)
        batch_ids = sorted({t.batch_id for t in takes})
        records: list[ReviewRecord] = []
        for batch_id in batch_ids:
            records += self.store.reviews_for_batch(batch_id)
        return sorted(records, key=lambda r: r.at)

    # -- the cut and its exports -------------------------------------------------------------

    def cut(self, actor: Actor, sequence_id: str) -> Cut:
        """The sequence resolved for the reel and the exports; ValueError listing what stops it."""
        check(actor, "read", sequence_id=sequence_id)
        sequence = self._sequence(sequence_id)
        shots = self.shots(actor, sequence_id)
        pick_ids = [s.pick_job_id for s in shots if s.pick_job_id]
        picks = {j.id: j for j in (self.store.get_job(i) for i in pick_ids) if j is not None}
        notes = self.store.take_notes
        return build_cut(sequence, shots, picks, self._clip_on_disk, comments=notes.for_jobs(pick_ids),
                         statuses=notes.statuses_for_jobs(pick_ids), with_costs=actor.scope is None)

    def export_sequence(self, actor: Actor, sequence_id: str, fmt: str, out_path: Path | str, *,
                        slate: bool = False) -> Path:
        """Write the cut as otio, fcp7xml, fcpxml, edl, mp4 or zip at `out_path` (whole or not at all)."""
        check(actor, "export")
        from kling_lab.sequences.export import EXPORT_FORMATS, export_cut

        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"“{fmt}” is not an export format: use one of {', '.join(EXPORT_FORMATS)}.")
        cut = self.cut(actor, sequence_id)
        return export_cut(cut, fmt, Path(out_path), slate=slate)

    def sequence_export_file(self, actor: Actor, sequence_id: str, fmt: str, *, slate: bool = False) -> Path:
        """The export for a download, under the data folder's exports: `<name>-<hash>.<ext>`, the hash of the
        cut, so a file in place is the same cut and is not written again."""
        check(actor, "export")
        from kling_lab.sequences.export import EXPORT_FORMATS

        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"“{fmt}” is not an export format: use one of {', '.join(EXPORT_FORMATS)}.")
        cut = self.cut(actor, sequence_id)
        digest = hashlib.sha256(repr((cut, fmt, slate, [_stamp(s.clip_path) for s in cut.shots])).encode())
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", cut.name).strip("-.")[:40] or "sequence"
        path = self._settings().data_dir / "exports" / f"{safe}-{digest.hexdigest()[:12]}{EXPORT_FORMATS[fmt]}"
        if path.is_file():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        return self.export_sequence(actor, sequence_id, fmt, path, slate=slate)

    # -- for submit / rerun (door.py) ----------------------------------------------------------

    def _shot_slot(self, actor: Actor, target: ShotTarget | None) -> ShotSlot | None:
        if target is None:
            return None
        check(actor, "sequence")
        self._sequence(target.sequence_id)
        number = parse_shot_code(target.code) if target.code is not None else None
        return ShotSlot(target.sequence_id, number, _shot_name(target.name))

    def _rerun_slot(self, job: JobRecord) -> ShotSlot | None:
        shot = self.store.sequences.shot(job.shot_id) if job.shot_id else None
        return ShotSlot(shot.sequence_id, shot.number) if shot is not None else None

    def _lineages(self, parent_job_id: str | None, takes: list[tuple[object, str]]) -> list[str] | None:
        """What changed from the parent to each planned (request, provider); None without a parent."""
        if parent_job_id is None:
            return None
        parent = self.store.get_job(parent_job_id)
        if parent is None:
            raise ValueError(f"There is no take “{parent_job_id}” to load from in this Kling Lab's history.")
        return [lineage_words(parent.request, request, before_provider=parent.provider,  # type: ignore[arg-type]
                              after_provider=provider) for request, provider in takes]

    # -- helpers -----------------------------------------------------------------------------

    def _sequence(self, sequence_id: str) -> SequenceRecord:
        found = self.store.sequences.get(sequence_id)
        if found is None:
            raise ValueError(f"There is no sequence “{sequence_id}”; it may have been removed. Reload the page.")
        return found

    def _shot(self, shot_id: str) -> ShotRecord:
        found = self.store.sequences.shot(shot_id)
        if found is None:
            raise ValueError("That shot is gone (removed from its sequence); reload the page.")
        return found

    def _clip_on_disk(self, job: JobRecord) -> Path | None:
        for candidate in (job.video_path, self.media.clip_path(job.id)):
            if candidate and Path(candidate).is_file():
                return Path(candidate)
        return None

    @staticmethod
    def _now() -> float:
        import time

        return time.time()


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns

