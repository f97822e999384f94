"""The Sequence page's strip of shots: each pick's key frame, its pick, its trims, its place and its continuity.

Every change goes through the door at once (a widget callback) and the store is
the truth: each run the widgets are set again from the shots as stored, so a
change the door refuses leaves the widget showing what is kept, with the
door's sentence under the shot. Trims are whole frames at 24 fps, shown with
their seconds and timecode. Everything a person typed (shot names, take
labels) is shown as text, never as markdown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from components.clip_cells import clip_url, escape_markdown, thumb_url, to_grid_clip
from components.reel_player import ReelShot
from components.runtime import current_actor, get_lab
from components.video_grid import GridEvent, video_grid
from kling_lab.lab import JobRecord, NotAllowed
from kling_lab.sequences.model import FPS, seconds_to_frames, take_code, timecode

PROBLEM = "sequence_problem"
"""{shot id: the sentence of the last change the door refused on that shot}."""
DONE = "sequence_done"
"""{shot id: the sentence saying what the last continuity action did}."""
OPEN_SHOT = "sequence_open_shot"
"""The shot whose takes are shown side by side (set by the reel's Takes button or the strip's)."""
COMPOSE_SEQ, COMPOSE_SHOT = "seq", "shot"
"""Compose's query parameters that preset its "Into shot" chooser (see components/shot_target.py)."""
DOOR_REFUSALS = (ValueError, NotAllowed, KeyError)


def pick_frames(job: JobRecord) -> int:
    """The pick's whole clip in frames at 24 fps (the length the file reports, else the length asked for)."""
    return seconds_to_frames(job.video_duration or float(job.request.duration))


def take_words(job: JobRecord | None) -> str:
    """ "T003 · rain" for a take, "" for none (the label is the person's text: escape it where markdown)."""
    if job is None:
        return ""
    code = take_code(job.take_number) if job.take_number else "T—"
    return f"{code} · {job.label}"


def picks(lab: Any, actor: Any, shots: Sequence[Any]) -> dict[str, JobRecord | None]:
    """Each shot's pick as a take record (None: no pick, or a pick that is no longer there)."""
    return {s.id: lab.job(actor, s.pick_job_id) if s.pick_job_id else None for s in shots}


def reel_shots(shots: Sequence[Any], chosen: dict[str, JobRecord | None], token: str) -> list[ReelShot]:
    """The reel player's shots: each pick's clip URL (with the file token) trimmed to its frames.

    A shot without a playable pick is passed with no URL (the player shows a slate and skips it).
    """
    out = []
    for shot in shots:
        job = chosen.get(shot.id)
        url = clip_url(job, token) if job is not None else None
        length = pick_frames(job) if job is not None else 1
        trim_in = shot.trim_in if shot.trim_in is not None else 0
        trim_out = shot.trim_out if shot.trim_out is not None else length
        if url is None or not 0 <= trim_in < trim_out:
            trim_in, trim_out, url = 0, max(1, length), None
        out.append(ReelShot(
            shot_id=shot.id,
            code=shot.code,
            take_code=take_code(job.take_number) if job is not None and job.take_number else "",
            label=shot.name or (job.label if job is not None else "No pick yet"),
            url=url,
            poster=thumb_url(job, token) if job is not None and url else None,
            trim_in=trim_in,
            trim_out=trim_out,
            has_audio=job is not None and (job.has_audio if job.has_audio is not None else bool(job.request.audio)),
            aspect_ratio=job.request.aspect_ratio if job is not None else "16:9",
        ))
    return out


def frames_words(frames: int) -> str:
    """ "36 f = 1.50 s · 00:00:01:12" """
    return f"{frames} f = {frames / FPS:.2f} s · {timecode(frames)}"


def _act(shot_id: str, call: Callable[..., Any], *args: Any) -> Any:
    """Run one door call for a shot; a refusal is kept as that shot's sentence instead of raising."""
    st.session_state.setdefault(PROBLEM, {}).pop(shot_id, None)
    try:
        return call(current_actor(), *args)
    except DOOR_REFUSALS as exc:
        sentence = "That shot or take is no longer there." if isinstance(exc, KeyError) else str(exc)
        st.session_state[PROBLEM][shot_id] = sentence
        return None


def _trim(shot_id: str, in_key: str, out_key: str) -> None:
    ss = st.session_state
    _act(shot_id, get_lab().trim_shot, shot_id, int(ss[in_key]), int(ss[out_key]))


def _pick(shot_id: str, key: str) -> None:
    _act(shot_id, get_lab().pick_take, shot_id, st.session_state.get(key) or None)


def _rename(shot_id: str, key: str) -> None:
    _act(shot_id, get_lab().rename_shot, shot_id, st.session_state.get(key, ""))


def _continue(shot_id: str, code: str) -> None:
    after = _act(shot_id, get_lab().continue_from, shot_id)
    if after is not None:
        st.session_state.setdefault(DONE, {})[shot_id] = (
            f"{after.code} now starts from the last frame of {code}'s pick: generate into {after.code} from Compose.")


def _set(key: str, value: object) -> None:
    """Show the stored value in a widget (before it is made this run)."""
    st.session_state[key] = value


def shot_row(sequence_id: str, shot: Any, index: int, count: int, pick: JobRecord | None, token: str) -> None:
    """One shot of the strip: key frame, code and name, pick chooser, trims, move, continuity, remove."""
    lab, actor = get_lab(), current_actor()
    with st.container(border=True, key=f"shot_{shot.id}"):
        frame, about, trims, actions = st.columns([2, 3, 3, 2.4], gap="small")
        with frame:
            poster = thumb_url(pick, token) if pick is not None else None
            if poster:
                st.markdown(f"![Key frame of {shot.code}]({poster})")
            elif pick is None:
                st.caption(":material/hide_image: No pick yet")
            else:
                st.caption(f":material/hide_image: {pick.state.value}")
            if shot.start_frame:
                st.caption(":material/start: starts from a kept frame (continuity)")
        with about:
            st.markdown(f"**{shot.code}** · {escape_markdown(take_words(pick)) or 'No pick yet'}")
            name_key = f"shot_name_{shot.id}"
            _set(name_key, shot.name)
            st.text_input("Shot name", key=name_key, max_chars=80, on_change=_rename, args=(shot.id, name_key),
                          placeholder="e.g. the keeper climbs the stairs")
            takes = lab.shot_takes(actor, shot.id)
            pick_key = f"shot_pick_{shot.id}"
            options = ["", *(t.id for t in takes)]  # "": no pick (a None option would show as an empty chooser)
            words = {t.id: take_words(t) for t in takes}
            _set(pick_key, shot.pick_job_id if shot.pick_job_id in words else "")
            st.selectbox("Pick", options, key=pick_key, on_change=_pick, args=(shot.id, pick_key),
                         format_func=lambda i: words.get(i, "No pick") if i else "No pick",
                         help="The take this shot plays in the reel and in every export.")
        with trims:
            length = pick_frames(pick) if pick is not None else 0
            in_key, out_key = f"trim_in_{shot.id}", f"trim_out_{shot.id}"
            _set(in_key, shot.trim_in if shot.trim_in is not None else 0)
            _set(out_key, shot.trim_out if shot.trim_out is not None else length)
            disabled = pick is None
            cols = st.columns(2)
            cols[0].number_input("In (frame)", key=in_key, step=1, format="%d", disabled=disabled,
                                 on_change=_trim, args=(shot.id, in_key, out_key),
                                 help="First frame used, counted from 0 at 24 fps.")
            cols[1].number_input("Out (frame)", key=out_key, step=1, format="%d", disabled=disabled,
                                 on_change=_trim, args=(shot.id, in_key, out_key),
                                 help=f"One past the last frame used; the clip has {length} frames.")
            if pick is not None:
                used = int(st.session_state[out_key]) - int(st.session_state[in_key])
                st.caption(f"In {frames_words(int(st.session_state[in_key]))}  \n"
                           f"Plays {frames_words(max(0, used))} of {length} f")
        with actions:
            up, down = st.columns(2)
            up.button("Up", key=f"shot_up_{shot.id}", disabled=index == 0, width="stretch",
                      help=f"Move {shot.code} up", on_click=_act, args=(shot.id, lab.move_shot, shot.id, index - 1))
            down.button("Down", key=f"shot_down_{shot.id}", width="stretch",
                        disabled=index == count - 1, help=f"Move {shot.code} down",
                        on_click=_act, args=(shot.id, lab.move_shot, shot.id, index + 1))
            st.button("Takes", key=f"shot_takes_{shot.id}", icon=":material/grid_view:", width="stretch",
                      disabled=not takes, help=f"{shot.code}'s takes side by side, to compare and pick",
                      on_click=_set, args=(OPEN_SHOT, shot.id))
            st.button("Last frame → next shot", key=f"shot_continue_{shot.id}", icon=":material/start:",
                      width="stretch", disabled=pick is None, on_click=_continue, args=(shot.id, shot.code),
                      help="Use this pick's last frame as the next shot's start frame (a new shot if this is the "
                           "last).")
            st.page_link("pages/compose.py", label="Generate into it", icon=":material/edit_note:",
                         query_params={COMPOSE_SEQ: sequence_id, COMPOSE_SHOT: shot.code})
            with st.popover("Remove", icon=":material/delete:", width="stretch"):
                st.caption(f"Take {shot.code} out of the sequence? Its takes stay in History.")
                st.button(f"Remove {shot.code}", key=f"shot_remove_{shot.id}", type="primary",
                          on_click=_act, args=(shot.id, lab.remove_shot, shot.id))
        problem = st.session_state.get(PROBLEM, {}).get(shot.id)
        if problem:
            st.error(escape_markdown(problem), icon=":material/error:")
        done = st.session_state.get(DONE, {}).pop(shot.id, None)
        if done:
            st.success(done, icon=":material/start:")


def _renumber(sequence_id: str) -> None:
    _act("", get_lab().renumber_shots, sequence_id)


def _add_shot(sequence_id: str, key: str) -> None:
    if _act("", get_lab().add_shot, sequence_id, st.session_state.get(key, "")) is not None:
        st.session_state[key] = ""


def sequence_strip(sequence_id: str, shots: Sequence[Any], chosen: dict[str, JobRecord | None], token: str) -> None:
    """The whole strip: one row per shot in order, then Renumber and Add shot."""
    for index, shot in enumerate(shots):
        shot_row(sequence_id, shot, index, len(shots), chosen.get(shot.id), token)
    problem = st.session_state.get(PROBLEM, {}).get("")
    if problem:
        st.error(escape_markdown(problem), icon=":material/error:")
    cols = st.columns([3, 1, 1], vertical_alignment="bottom")
    cols[0].text_input("New shot's name", key="sequence_new_shot", max_chars=80, placeholder="optional")
    cols[1].button("Add shot", key="sequence_add_shot", icon=":material/add:", width="stretch",
                   on_click=_add_shot, args=(sequence_id, "sequence_new_shot"))
    cols[2].button("Renumber", key="sequence_renumber", icon=":material/format_list_numbered:", width="stretch",
                   disabled=not shots, on_click=_renumber, args=(sequence_id,),
                   help="SH010, SH020, … in the order shown.")


def shot_takes_panel(shot: Any | None, chosen: dict[str, JobRecord | None], token: str) -> None:
    """The open shot's takes side by side in the synchronized grid (the latest ten), with a Pick per take."""
    if shot is None:
        return
    lab, actor = get_lab(), current_actor()
    with st.container(border=True, key="sequence_takes"):
        head, close = st.columns([5, 1], vertical_alignment="center")
        pick = chosen.get(shot.id)
        head.subheader(f"{shot.code} takes")
        head.caption(f"Pick: {escape_markdown(take_words(pick))}" if pick else "No pick yet: press Pick under a take.")
        close.button("Close", key="sequence_takes_close", icon=":material/close:",
                     on_click=lambda: st.session_state.pop(OPEN_SHOT, None))

        def picked(event: GridEvent) -> None:
            if event.kind == "pick":
                _act(shot.id, lab.pick_take, shot.id, event.clip_id if event.value else None)

        takes = lab.shot_takes(actor, shot.id)[-10:]  # the grid plays ten at most: the latest
        clips = [dataclasses.replace(to_grid_clip(t, None, token=token), picked=t.id == shot.pick_job_id)
                 for t in takes]
        video_grid(clips, key=f"shot_grid_{shot.id}", allow_marks=False, on_event=picked)
        problem = st.session_state.get(PROBLEM, {}).get(shot.id)
        if problem:
            st.error(escape_markdown(problem), icon=":material/error:")
