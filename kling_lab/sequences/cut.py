"""A sequence's stored shots and picks resolved to a `Cut`: every rule that stops a cut is a sentence.

`build_cut` is handed what the door read (the sequence, its shots in order, each
pick's job, where each clip is on disk, the picks' comments and statuses) and
either returns the `Cut` every exporter and the reel player read, or raises one
ValueError listing everything wrong, one sentence a line: no shots, a shot with
no pick, a pick deleted, not made or whose file is gone, trims outside the clip.
It reads no store and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from kling_lab.sequences.model import FPS, Cut, CutShot, Marker, seconds_to_frames, take_code
from kling_lab.store.records import JobRecord, SequenceRecord, ShotRecord, TakeCommentRecord, TakeStatusRecord
from kling_lab.take_review import STATUS_WORDS

NO_SHOTS = "This sequence has no shots yet: add a shot and pick a take for it first."



def clip_frames(job: JobRecord) -> int:
    """The take's whole length in frames at 24 fps (its probed duration, else the duration it asked for)."""
    seconds = job.video_duration if job.video_duration else float(job.request.duration)
    return seconds_to_frames(seconds, FPS)


def trim_problem(code: str, job: JobRecord, trim_in: int | None, trim_out: int | None) -> str | None:
    """Why these trims do not fit the take's clip, naming the shot and the clip's length; None when they do."""
    frames = clip_frames(job)
    first = 0 if trim_in is None else trim_in
    last = frames if trim_out is None else trim_out
    length = f"{code}'s take is {frames / FPS:.1f} s ({frames} frames)"
    if first < 0:
        return f"The in point of {code} can't be before the clip's first frame (0); it is {first}."
    if trim_out is not None and last > frames:
        return f"{length}; the out point {last} is past it."
    if trim_in is not None and first >= frames:
        return f"{length}; the in point {first} is past it."
    if first >= last:
        return f"{code}'s in point ({first}) must come before its out point ({last})."
    return None


def media_name(code: str, take: str, job_id: str) -> str:
    """`media/SH010_T003_j_0123456789ab.mp4`: a clip's name beside an exported timeline."""
    return f"media/{code}_{take}_{job_id}.mp4"


def host_label(provider: str) -> str:
    from kling_lab.capabilities import CAPABILITIES

    capability = CAPABILITIES.get(provider)
    return capability.label if capability is not None else provider


def build_cut(
    sequence: SequenceRecord,
    shots: Sequence[ShotRecord],
    picks: Mapping[str, JobRecord],
    clip_path: Callable[[JobRecord], Path | None],
    *,
    comments: Sequence[TakeCommentRecord] = (),
    statuses: Mapping[str, TakeStatusRecord] | None = None,
    with_costs: bool = True,
) -> Cut:
    """The cut of `sequence`; ValueError with one sentence a line for everything that stops it.

    `picks` maps a pick's job id to its job; `clip_path` gives a done take's MP4 on disk (None when missing).
    `with_costs` False leaves every clip's cost out (a reviewer's cut).
    """
    if not shots:
        raise ValueError(NO_SHOTS)
    statuses = statuses or {}
    by_job: dict[str, list[Marker]] = {}
    for comment in sorted(comments, key=lambda c: (c.at, c.id)):
        by_job.setdefault(comment.job_id, []).append(
            Marker(at=comment.at, until=comment.until, author=comment.author_name, text=comment.text))
    problems: list[str] = []
    cut_shots: list[CutShot] = []
    for shot in shots:
        code = shot.code
        job = picks.get(shot.pick_job_id) if shot.pick_job_id else None
        if shot.pick_job_id is None:
            problems.append(f"{code} has no pick: pick one of its takes (or remove the shot).")
            continue
        if job is None or job.deleted_at is not None:
            problems.append(f"{code}'s pick was deleted: pick another of its takes.")
            continue
        take = take_code(job.take_number) if job.take_number is not None else "T000"
        if job.state.value != "done":
            problems.append(f"{code}'s pick {take} is not made yet ({job.state.value}): wait for it, or pick "
                            "another take.")
            continue
        path = clip_path(job)
        if path is None:
            problems.append(f"{code}'s pick {take} has no video file on disk any more: pick another take.")
            continue
        problem = trim_problem(code, job, shot.trim_in, shot.trim_out)
        if problem:
            problems.append(problem)
            continue
        frames = clip_frames(job)
        trim_in = shot.trim_in or 0
        trim_out = frames if shot.trim_out is None else shot.trim_out
        markers = list(by_job.get(job.id, ()))
        status = statuses.get(job.id)
        if status is not None:
            markers.append(Marker(at=trim_in / FPS, until=None, author=status.set_by,
                                  text=STATUS_WORDS.get(status.status, status.status), kind="status"))
        cost = job.cost if with_costs else None
        cut_shots.append(CutShot(
            shot_id=shot.id, code=code, name=shot.name, take_code=take, job_id=job.id, clip_path=path.resolve(),
            media_name=media_name(code, take, job.id), source_frames=frames, trim_in=trim_in, trim_out=trim_out,
            width=job.video_width or 0, height=job.video_height or 0, has_audio=bool(job.has_audio),
            prompt=job.prompt, host=host_label(job.provider), provider=job.provider,
            cost=str(cost) if cost is not None else None, status=status.status if status is not None else None,
            markers=tuple(markers),
        ))
    if problems:
        raise ValueError("\n".join(problems))
    return Cut(sequence_id=sequence.id, name=sequence.name, shots=tuple(cut_shots), fps=FPS)
