"""A `Cut` as an OpenTimelineIO timeline: the one structure every editor file (OTIO, XML, EDL) is written from.

One video track of the picks in order (plus an audio track when any pick has sound, with a gap where a shot is
silent); each clip is named "SH010 T003", points at its media by the relative name it has beside the exported
timeline (`media/SH010_T003_j_….mp4`, so the files relink), plays the trimmed frames at 24 fps, carries the
take's prompt, host, cost and id under `metadata["kling_lab"]`, and holds the reviewers' comments (and the take's
status) as markers at their time in the clip.
"""

from __future__ import annotations

import opentimelineio as otio

from kling_lab.sequences.model import Cut, CutShot, Marker, seconds_to_frames

STATUS_COLOURS = {"approved": otio.schema.MarkerColor.GREEN, "changes": otio.schema.MarkerColor.YELLOW,
                  "rejected": otio.schema.MarkerColor.RED}
COMMENT_COLOUR = otio.schema.MarkerColor.CYAN
MAX_MARKER_NAME = 120
"""A marker's name is one line (an EDL locator is one line); its whole text is in the marker's comment."""


def one_line(text: str, limit: int = MAX_MARKER_NAME) -> str:
    """The text on one line, spaces collapsed, cut to `limit` characters (with an ellipsis)."""
    tidy = " ".join(str(text).split())
    return tidy if len(tidy) <= limit else tidy[: limit - 1] + "…"


def clip_name(shot: CutShot) -> str:
    return f"{shot.code} {shot.take_code}"


def reel_name(shot: CutShot) -> str:
    """The CMX 3600 reel: at most 8 characters, letters and digits ("SH010")."""
    return "".join(ch for ch in shot.code if ch.isalnum())[:8] or "AX"


def _rt(frames: int, fps: int) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, fps)


def _marker(shot: CutShot, marker: Marker, fps: int) -> otio.schema.Marker:
    start = min(max(seconds_to_frames(marker.at, fps), 0), max(shot.source_frames - 1, 0))
    length = 0
    if marker.until is not None:
        length = max(0, min(seconds_to_frames(marker.until, fps), shot.source_frames) - start)
    if marker.kind == "status":
        colour = STATUS_COLOURS.get(shot.status or "", COMMENT_COLOUR)
        name = one_line(f"Status: {marker.text} ({marker.author})" if marker.author else f"Status: {marker.text}")
    else:
        colour = COMMENT_COLOUR
        name = one_line(f"{marker.author}: {marker.text}" if marker.author else marker.text)
    return otio.schema.Marker(
        name=name, marked_range=otio.opentime.TimeRange(_rt(start, fps), _rt(length, fps)), color=colour,
        comment=marker.text,
        metadata={"kling_lab": {"author": marker.author, "text": marker.text, "kind": marker.kind,
                                "at": marker.at, "until": marker.until}})


def _clip(shot: CutShot, fps: int, *, markers: bool) -> otio.schema.Clip:
    reference = otio.schema.ExternalReference(
        target_url=shot.media_name,
        available_range=otio.opentime.TimeRange(_rt(0, fps), _rt(shot.source_frames, fps)))
    reference.name = shot.media_name.rsplit("/", 1)[-1]
    clip = otio.schema.Clip(
        name=clip_name(shot), media_reference=reference,
        source_range=otio.opentime.TimeRange(_rt(shot.trim_in, fps), _rt(shot.frames, fps)),
        metadata={"kling_lab": shot.metadata(), "cmx_3600": {"reel": reel_name(shot)}})
    if markers:
        clip.markers.extend(_marker(shot, m, fps) for m in shot.markers)
    return clip


def cut_timeline(cut: Cut, *, audio: bool = True) -> otio.schema.Timeline:
    """The cut as a timeline starting at 01:00:00:00; `audio` False leaves the audio track out (for an EDL)."""
    if not cut.shots:
        raise ValueError("The cut has no shots: there is nothing to export.")
    fps = cut.fps
    timeline = otio.schema.Timeline(name=cut.name, global_start_time=_rt(3600 * fps, fps))
    timeline.metadata["kling_lab"] = {"sequence_id": cut.sequence_id, "name": cut.name, "fps": fps}
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for shot in cut.shots:
        video.append(_clip(shot, fps, markers=True))
    timeline.tracks.append(video)
    if audio and any(s.has_audio for s in cut.shots):
        sound = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
        for shot in cut.shots:
            if shot.has_audio:
                sound.append(_clip(shot, fps, markers=False))
            else:
                sound.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(_rt(0, fps),
                                                                                  _rt(shot.frames, fps))))
        timeline.tracks.append(sound)
    return timeline
