"""What a sequence's review link opens: the reel, each shot's takes, and the reviewer's picks and comments.

`components.review_board.review_visit` calls `sequence_board` when the link's
actor is scoped to a sequence. Everything goes through the door as that
reviewer: the door hands a link's holder its sequence's shots and their takes
without costs, and lets it pick and comment only on its shots' batches. The
reviewer is the link plus the name they type (kept in the URL as `?name=`, as
on a batch's board). A comment is at a time of the shot as it plays in the
reel, kept at that time of the take's own clip (where the editor's marker goes).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from components.clip_cells import escape_markdown, to_grid_clip
from components.reel_player import reel_player
from components.review_board import NAME_KEY, _remember_name, refusal_page
from components.runtime import get_lab
from components.sequence_strip import picks, reel_shots, take_words
from components.video_grid import GridComment, GridEvent, video_grid
from kling_lab.lab import Actor, LinkRefusal, NotAllowed
from kling_lab.sequences.model import FPS, timecode

OPEN = "sequence_review_shot"
PROBLEM = "sequence_review_problem"


def _me(token: str, actor: Actor) -> Actor | None:
    """The link's reviewer again (a revoked link stops here), with the name typed on this board."""
    opened = get_lab().open_review_link(token)
    if isinstance(opened, LinkRefusal):
        return None
    return dataclasses.replace(opened, name=st.session_state.get(NAME_KEY, "").strip())


def _review_event(token: str, actor: Actor, event: GridEvent, batches: dict[str, str]) -> None:
    """Store what the reviewer did in a shot's takes grid: a pick of a take, or a comment on one."""
    me = _me(token, actor)
    if me is None or not me.name:
        return
    lab = get_lab()
    st.session_state.pop(PROBLEM, None)
    value: Any = event.value
    try:
        if event.kind == "pick" and event.clip_id in batches:
            lab.review(me, batches[event.clip_id], kind="pick", name=me.name,
                       job_id=event.clip_id if value else None)
        elif event.kind == "comment":
            lab.comment_on_take(me, event.clip_id, at=value["at"], until=value["until"], text=value["text"],
                                name=me.name)
        elif event.kind == "edit_comment":
            lab.edit_take_comment(me, value["id"], value["text"], name=me.name)
        elif event.kind == "delete_comment":
            lab.delete_take_comment(me, value["id"], name=me.name)
    except (ValueError, NotAllowed) as exc:
        st.session_state[PROBLEM] = str(exc)


def _comment_form(token: str, actor: Actor, shot: Any, pick: Any) -> None:
    """A comment at a time of the shot as it plays (no player needed): kept at that time of the pick's clip."""
    trim_in = shot.trim_in or 0
    with st.form(f"comment_{shot.id}", clear_on_submit=True, border=True):
        st.markdown(f"**Comment on {shot.code}** ({escape_markdown(take_words(pick))})")
        at = st.number_input("At, seconds into the shot", min_value=0.0, step=1 / FPS, format="%.2f",
                             key=f"review_at_{shot.id}")
        text = st.text_area("Comment", max_chars=2000, key=f"review_text_{shot.id}",
                            placeholder="What works, what to change")
        if not st.form_submit_button("Send comment", icon=":material/send:"):
            return
    me = _me(token, actor)
    if me is None:
        return
    if not me.name:
        st.error("Type your name first, so the team knows whose comment it is.")
        return
    try:
        get_lab().comment_on_take(me, pick.id, at=trim_in / FPS + float(at), text=text, name=me.name)
    except (ValueError, NotAllowed) as exc:
        st.error(escape_markdown(str(exc)), icon=":material/error:")
    else:
        st.toast("Thanks, your comment is saved.")


def _shot_takes(token: str, actor: Actor, shot: Any, files: str) -> None:
    """The shot's takes side by side: the reviewer's pick, and comments on the cells (with a name)."""
    lab = get_lab()
    name = actor.name
    takes = lab.shot_takes(actor, shot.id)[-10:]
    batches = {t.id: t.batch_id for t in takes}
    mine: set[str] = set()
    comments: dict[str, list[GridComment]] = {}
    for batch_id in sorted(set(batches.values())):
        if name and (picked := lab.my_pick(actor, batch_id, name)):
            mine.add(picked)
        for c in lab.take_comments(actor, batch_id):
            comments.setdefault(c.job_id, []).append(GridComment(
                c.id, c.at, c.until, c.author_name, c.text, lab.is_my_comment(actor, c, name=name)))
    clips = [dataclasses.replace(to_grid_clip(t, None, token=files, show_cost=False), picked=t.id in mine,
                                 comments=tuple(comments.get(t.id, ())), badge=f"{shot.code} · {take_words(t)}")
             for t in takes]
    video_grid(clips, key=f"review_shot_{shot.id}_{name.casefold()}", show_cost=False, allow_pick=bool(name),
               allow_marks=False, allow_comments=bool(name),
               on_event=lambda event: _review_event(token, actor, event, batches))
    problem = st.session_state.pop(PROBLEM, None)
    if problem:
        st.error(escape_markdown(problem), icon=":material/error:")
    if not name:
        st.info("Type your name above to pick a take or comment.", icon=":material/badge:")


def _comments_list(actor: Actor, shots: list[Any]) -> None:
    """Every comment on the shots' takes, by shot, each with its author and its timecode."""
    lab = get_lab()
    for shot in shots:
        takes = lab.shot_takes(actor, shot.id)
        codes = {t.id: take_words(t) for t in takes}
        for batch_id in sorted({t.batch_id for t in takes}):
            for c in lab.take_comments(actor, batch_id):
                if c.job_id in codes:
                    at = timecode(round(c.at * FPS))
                    st.caption(f"{shot.code} {escape_markdown(codes[c.job_id])} · {at} · "
                               f"{escape_markdown(c.author_name)}: {escape_markdown(c.text)}")


def sequence_board(token: str, actor: Actor) -> None:
    """The board a sequence's review link opens: its reel, a shot's takes, the reviewer's picks and comments."""
    lab = get_lab()
    sequence_id = actor.scope.target if actor.scope is not None else ""
    sequence = lab.sequence(actor, sequence_id) if sequence_id else None
    if sequence is None:
        refusal_page(LinkRefusal.INVALID.sentence)
        return
    st.title("Review")
    st.text(sequence.name)
    st.text_input("Your name", key=NAME_KEY, max_chars=80, on_change=_remember_name,
                  placeholder="so the team knows whose pick or comment it is")
    actor = dataclasses.replace(actor, name=st.session_state.get(NAME_KEY, "").strip())
    shots = lab.shots(actor, sequence_id)
    if not shots:
        st.info("This sequence has no shots yet.", icon=":material/movie_edit:")
        return
    chosen = picks(lab, actor, shots)
    files = lab.file_token(actor)
    event = reel_player(reel_shots(shots, chosen, files), key=f"review_reel_{sequence_id}")
    codes = {s.id: s.code + (f" · {s.name}" if s.name else "") for s in shots}
    if event is not None and event.kind == "open_shot":
        st.session_state[OPEN] = event.shot_id
    if st.session_state.get(OPEN) not in codes:
        st.session_state[OPEN] = shots[0].id
    shot_id = st.selectbox("Shot", list(codes), key=OPEN, format_func=codes.get,
                           help="Its takes side by side below; the reel's Takes button opens the shot playing.")
    shot = next(s for s in shots if s.id == shot_id)
    _shot_takes(token, actor, shot, files)
    pick = chosen.get(shot.id)
    if pick is not None:
        _comment_form(token, actor, shot, pick)
    _comments_list(actor, shots)
