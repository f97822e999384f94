"""The review board: what a review link opens. One batch: playback, prompt and labels, your pick, comments.

With a name typed, the reviewer comments on a take at a frame or a range (the
grid's Comment button, or the key C), edits and deletes their own comments,
and marks a take approved, changes requested or rejected; everyone's comments
show as marks on the takes and rows under them. A sequence's link opens that
sequence's board instead (`components.sequence_review`).

A visit with `?review=<token>` runs only this (streamlit_app.py). The token is
checked again on every run (signature, revocation, expiry), so a revoked link
stops at the next click. The reviewer is the link plus the name they type (kept
in the URL as `?name=`, so a reload keeps it and shows their pick). No costs,
task ids, stars, ratings, notes or the lead's pick reach this page: the door
hands a link's holder its batch without them, and the grid shows no star or
rating buttons.
"""

from __future__ import annotations

import dataclasses
import time

import streamlit as st

from components.clip_cells import escape_markdown, to_grid_clip
from components.runtime import get_lab
from components.take_review import apply_review_event, batch_reviews, show_problem, with_review
from components.video_grid import GridEvent, video_grid
from kling_lab.lab import REVIEW_PARAM, Actor, LinkRefusal, NotAllowed

NAME_PARAM = "name"
NAME_KEY = "review_name"


def lab_base_url(public_url: str | None) -> str:
    """Where visitors reach this lab: KLING_LAB_PUBLIC_URL, or http://<server.address or localhost>:<port>."""
    if public_url:
        return public_url.rstrip("/")
    address = (st.config.get_option("server.address") or "").strip()
    host = "localhost" if address in ("", "0.0.0.0", "::") else address  # noqa: S104 - replaced, not bound
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{st.config.get_option('server.port') or 8501}"


def refusal_page(sentence: str) -> None:
    """The plain page an expired, tampered or revoked link gets."""
    st.title("Review link")
    st.warning(sentence, icon=":material/link_off:")


def _reviewer(token: str) -> Actor | None:
    """The link's reviewer with the name typed here, or None (refusal shown) when the link no longer opens."""
    opened = get_lab().open_review_link(token)
    if isinstance(opened, LinkRefusal):
        refusal_page(opened.sentence)
        return None
    return dataclasses.replace(opened, name=st.session_state.get(NAME_KEY, "").strip())


def review_visit(token: str) -> None:
    """Run the board for the batch (or the sequence) a review link opens, or the plain refusal page."""
    if NAME_KEY not in st.session_state:
        st.session_state[NAME_KEY] = st.query_params.get(NAME_PARAM, "")[:80]
    actor = _reviewer(token)
    if actor is None:
        return
    try:
        if actor.scope is not None and actor.scope.kind == "sequence":
            from components.sequence_review import sequence_board  # it imports this module's name helpers

            sequence_board(token, actor)
        else:
            review_board(token, actor)
    except NotAllowed as exc:  # revoked or expired while open: say so, nothing else
        refusal_page(str(exc))


def _remember_name() -> None:
    name = st.session_state.get(NAME_KEY, "").strip()
    if name:
        st.query_params[NAME_PARAM] = name
    else:
        st.query_params.pop(NAME_PARAM, None)


def review_board(token: str, actor: Actor) -> None:
    """The board for the batch `actor`'s link opens."""
    lab = get_lab()
    batch_id = actor.scope.target if actor.scope is not None else ""
    batch = lab.batch(actor, batch_id)
    if batch is None:
        refusal_page(LinkRefusal.INVALID.sentence)
        return
    st.title("Review")
    st.caption(time.strftime("%Y-%m-%d %H:%M", time.localtime(batch.created_at)))
    st.text(batch.template)
    st.text_input("Your name", key=NAME_KEY, max_chars=80, on_change=_remember_name,
                  placeholder="so the team knows whose pick, comments and statuses they are")
    moving = lab.is_moving(actor, batch_id)

    @st.fragment(run_every=3 if moving else None)
    def board() -> None:
        me = _reviewer(token)
        if me is None:
            return
        name = me.name
        jobs = lab.batch_jobs(me, batch_id)
        mine = lab.my_pick(me, batch_id, name) if name else None
        files = lab.file_token(me)

        grid_key = f"review_{batch_id}_{name.casefold()}"

        def record(event: GridEvent) -> None:
            # Checked again as it is written: a link revoked since this grid was drawn records nothing.
            opened = lab.open_review_link(token)
            if not name or isinstance(opened, LinkRefusal):
                return
            now = dataclasses.replace(opened, name=name)
            if apply_review_event(lab, now, event, key=grid_key, name=name):
                return
            if event.kind == "pick":
                lab.review(now, batch_id, kind="pick", name=name, job_id=event.clip_id if event.value else None)

        reviews = batch_reviews(lab, me, batch_id, jobs, name=name)
        clips = [with_review(dataclasses.replace(to_grid_clip(job, None, token=files, show_cost=False),
                                                 picked=job.id == mine), reviews.get(job.id)) for job in jobs]
        video_grid(clips, key=grid_key, show_cost=False, allow_pick=bool(name), allow_marks=False,
                   allow_comments=bool(name), allow_status=bool(name), on_event=record)
        show_problem(grid_key)
        mine = lab.my_pick(me, batch_id, name) if name else None
        label = next((j.label for j in jobs if j.id == mine), None)
        if not name:
            st.info("Type your name above to pick a take, comment on a moment of one or mark it approved, "
                    "changes requested or rejected.", icon=":material/badge:")
        elif label is not None:
            left, right = st.columns([3, 1], vertical_alignment="center")
            left.success(f"Your pick: {escape_markdown(label)}", icon=":material/check_circle:")
            right.button("Take back my pick", icon=":material/undo:", key="review_unpick",
                         on_click=lambda: lab.review(me, batch_id, kind="pick", name=name, job_id=None))
        else:
            st.caption("You have not picked a take yet: press Pick under the one you like best. To comment on a "
                       "moment, pause there and press Comment (or the key C); shift-drag a take's track for a range.")
        if moving and not lab.is_moving(me, batch_id):
            st.rerun()

    board()
    name = st.session_state.get(NAME_KEY, "").strip()
    with st.form("review_comment", clear_on_submit=True, border=True):
        comment = st.text_area("Comment", max_chars=2000, placeholder="What works, what to try next")
        if st.form_submit_button("Send comment", icon=":material/send:") and comment.strip():
            if not name:
                st.error("Type your name first, so the team knows whose comment it is.")
            else:
                lab.review(dataclasses.replace(actor, name=name), batch_id, kind="comment", name=name,
                           text=comment.strip())
                st.toast("Thanks, your comment is saved.")
    labels = {j.id: j.label for j in lab.batch_jobs(actor, batch_id)}
    for review in lab.reviews(actor, batch_id):
        if review.kind == "pick":
            st.caption(f"{escape_markdown(review.name)} picked {escape_markdown(labels.get(review.job_id, 'a take'))}")
        else:
            st.caption(f"{escape_markdown(review.name)} said: {escape_markdown(review.text)}")


__all__ = ["NAME_PARAM", "REVIEW_PARAM", "lab_base_url", "refusal_page", "review_board", "review_visit"]
