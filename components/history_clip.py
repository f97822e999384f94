"""One clip in History: its card in the gallery and the panel with everything about it."""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from components.clip_cells import clip_details, cost_text, escape_markdown, file_url, files_token, to_grid_clip
from components.runtime import current_actor, get_lab
from components.take_review import apply_review_event, batch_reviews, show_problem, take_lineage, with_review
from components.video_grid import video_grid
from kling_lab.capabilities import CAPABILITIES
from kling_lab.lab import MAX_TEXT_CHARS, STATUS_WORDS, BudgetExceeded, JobRecord, TakeStatusRecord, allowed
from kling_lab.pricing import PriceBook, format_usd

SELECTED = "history_selected"
STATUS_COLORS = {"approved": "green", "changes": "orange", "rejected": "red"}
PROMPT_CHARS = 220  # a card shows about this much of its prompt; the panel shows all of it
_TOKENS = re.compile(r"\s+|\S+")
_EDGE_PUNCT = re.compile(r"^([\"'(\[]*)(.*?)([\"'.,;:!?)\]]*)$", re.S)


def differing_words(prompt: str, siblings: Sequence[str]) -> list[tuple[str, bool]]:
    """`prompt` as (token, differs) pairs: a word differs when some sibling take's prompt has another there.

    Whitespace tokens are kept (never marked), so joining the tokens gives the prompt back. A take whose
    siblings share its prompt word for word (a sweep of settings) has nothing marked.
    """
    tokens = _TOKENS.findall(prompt)
    words = [i for i, t in enumerate(tokens) if not t.isspace()]
    mine = [tokens[i] for i in words]
    marked = [False] * len(mine)
    for other in {s for s in siblings if s != prompt}:
        theirs = _TOKENS.findall(other)
        matcher = difflib.SequenceMatcher(None, mine, [t for t in theirs if not t.isspace()], autojunk=False)
        for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
            if tag != "equal":
                marked[i1:i2] = [True] * (i2 - i1)
    flags = [False] * len(tokens)
    for index, flag in zip(words, marked, strict=True):
        flags[index] = flag
    return list(zip(tokens, flags, strict=True))


def prompt_markdown(prompt: str, siblings: Sequence[str] = (), *, limit: int | None = PROMPT_CHARS) -> str:
    """The prompt as inert markdown with what differs from its batch's other takes highlighted.

    Past `limit` characters it is cut at a word with "…", starting a little before the first
    highlighted word when that would otherwise fall outside what is shown.
    """
    pairs = []
    for token, differs in differing_words(" ".join(prompt.split()), siblings):
        lead, core, trail = _EDGE_PUNCT.match(token).groups() if differs else ("", token, "")
        if not core:
            lead, core, trail = "", token, ""
        pairs += [(t, d) for t, d in ((lead, False), (core, differs), (trail, False)) if t]
    start = 0
    if limit is not None:
        first = next((i for i, (_t, d) in enumerate(pairs) if d), None)
        offset = sum(len(t) for t, _d in pairs[:first]) if first is not None else 0
        if first is not None and offset > limit * 2 // 3:
            start, back = first, 0
            while start > 0 and back < limit // 4:
                start -= 1
                back += len(pairs[start][0])
    shown, used, cut = [], 0, False
    for token, differs in pairs[start:]:
        if limit is not None and used + len(token) > limit and used:
            cut = True
            break
        shown.append((token, differs))
        used += len(token)
    while shown and shown[0][0].isspace():
        shown.pop(0)
    # One highlight per run of differing words, the spaces between them included.
    spans: list[list] = []  # [text, differs]
    for i, (token, differs) in enumerate(shown):
        bridge = token.isspace() and bool(spans) and spans[-1][1] and i + 1 < len(shown) and shown[i + 1][1]
        mark = differs or bridge
        if spans and spans[-1][1] == mark:
            spans[-1][0] += token
        else:
            spans.append([token, mark])
    body = "".join(f":orange-background[**{escape_markdown(t)}**]" if d else escape_markdown(t) for t, d in spans)
    return ("…" if start else "") + body.rstrip() + ("…" if cut else "")


@st.cache_data(show_spinner=False, max_entries=500)
def _thumb_bytes(path: str, mtime: float) -> bytes:
    return Path(path).read_bytes()


def status_markdown(status: TakeStatusRecord) -> str:
    """A take's status as inert markdown: a coloured badge with the fixed word, then "by NAME" (escaped)."""
    word = STATUS_WORDS.get(status.status, status.status)
    color = STATUS_COLORS.get(status.status, "gray")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(status.set_at))
    return f":{color}-badge[{word}] by {escape_markdown(status.set_by)} · {when}"


def clip_card(job: JobRecord, *, picked: bool, siblings: Sequence[str] = (), batch: str | None = None,
              status: TakeStatusRecord | None = None, lineage: str | None = None) -> None:
    """A gallery card: thumbnail, label, its review status and lineage, the prompt (what differs from
    `siblings` highlighted), facts, Open.

    `siblings` are the prompts of the other takes of its batch; `batch` names the batch it came from.
    """
    with st.container(border=True, key=f"card_{job.id}"):
        thumb = get_lab().thumb_file(current_actor(), job.id) if job.thumb_path else None
        if thumb is not None:
            st.image(_thumb_bytes(str(thumb), thumb.stat().st_mtime), alt=f"Key frame of {job.label}")
        else:
            st.caption(f":material/hide_image: {job.state.value}")
        marks = (" :material/bookmark: kept" if job.starred else "") + (
            " :material/check_circle: pick" if picked else "")
        st.markdown(f"**{escape_markdown(job.label)}**{marks}")
        if status is not None:
            st.markdown(status_markdown(status))
        if lineage:
            st.caption(f":material/account_tree: {escape_markdown(lineage)}")
        st.markdown(prompt_markdown(job.prompt, siblings))
        audio = "audio" if job.request.audio else "silent"
        made = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created_at))
        if batch:
            st.caption(f":material/stacks: Batch: {escape_markdown(batch)}")
        st.caption(f"{CAPABILITIES[job.provider].label} · {job.request.duration} s · {audio} · "
                   f"{cost_text(job)} · {made} · {job.state.value}"
                   + (f" · rated {'★' * job.rating}" if job.rating else ""))
        if st.button("Open", key=f"open_{job.id}", icon=":material/open_in_full:", width="stretch"):
            st.session_state[SELECTED] = job.id
            st.rerun()


def clip_panel(job: JobRecord, book: PriceBook) -> None:
    """Play, read the exact request, annotate, reuse, download or delete one clip."""
    lab, actor = get_lab(), current_actor()
    batch = lab.batch(actor, job.batch_id)
    st.subheader(escape_markdown(job.label))  # a label is the person's text: never markdown
    if job.video_path and job.deleted_at is None:
        # Keep and rating live under the player (saved at once), so the player shows neither. The take's
        # comments and status are on it, and the lead comments and sets the status right there.
        key = f"history_player_{job.id}"
        review = batch_reviews(lab, actor, job.batch_id, [job]).get(job.id)
        can_review = allowed(actor, "review")
        video_grid([with_review(to_grid_clip(job, batch, token=files_token()), review)], key=key,
                   allow_pick=False, allow_marks=False, allow_comments=can_review, allow_status=can_review,
                   on_event=lambda event: apply_review_event(lab, actor, event, key=key))
        show_problem(key)
    else:
        statuses = lab.take_statuses(actor, job.batch_id)
        if job.id in statuses:
            st.markdown(status_markdown(statuses[job.id]))
    lineage = take_lineage(lab, actor, job)
    if lineage:
        st.caption(f":material/account_tree: {escape_markdown(lineage)}")
    siblings = [j.prompt for j in lab.batch_jobs(actor, job.batch_id) if j.id != job.id]
    st.markdown(prompt_markdown(job.prompt, siblings, limit=None))
    cols = st.columns([1, 1, 1, 1, 1])
    if cols[0].button("Load into Compose", icon=":material/edit_note:", key=f"load_{job.id}",
                      help="Opens the template and variables this take came from as a new draft; "
                           "Undo in Compose goes back to the draft you had."):
        from components.compose_draft import open_in_compose  # the Compose draft's own module (helper D)

        open_in_compose(job)
    rerun_price = book.price_for(job.request, job.provider)
    if cols[1].button(f"Re-run · {format_usd(rerun_price)}", icon=":material/replay:", key=f"rerun_{job.id}",
                      help="Sends the same request again as a new clip; the price shown is what it costs now."):
        st.session_state[f"confirm_rerun_{job.id}"] = True
    if job.video_path and job.deleted_at is None:
        cols[2].link_button("Download MP4", file_url(f"/clips/{job.id}.mp4", files_token(), download="1"),
                            icon=":material/download:")
    cols[3].page_link("pages/compare.py", label="Open batch", icon=":material/grid_view:",
                      query_params={"batch": job.batch_id})
    if allowed(actor, "delete"):
        _delete_button(cols[4], job)
    if st.session_state.get(f"confirm_rerun_{job.id}"):
        _confirm_rerun(job, book)
    left, right = st.columns([1, 1])
    with left:
        st.toggle("Keep", value=job.starred, key=f"star_{job.id}", on_change=_save_mark, args=(job.id, "starred"),
                  help="Bookmark this take to find it again (the Kept filter). Saved at once; not a rating.")
        st.caption("Your rating (saved at once; click the same star again to clear it)")
        st.feedback("stars", key=f"rating_{job.id}", default=(job.rating - 1) if job.rating else None,
                    on_change=_save_mark, args=(job.id, "rating"))
        notes = st.text_area("Notes", value=job.notes, key=f"notes_{job.id}", max_chars=MAX_TEXT_CHARS)
        if st.button("Save notes", key=f"save_{job.id}", icon=":material/save:"):
            lab.annotate(actor, job.id, notes=notes)
            st.toast("Notes saved.")
            st.rerun()
    with right:
        reviews = [r for r in lab.reviews(actor, job.batch_id) if r.job_id in (None, job.id)]
        if reviews:
            st.markdown("**Review board**")
            for review in reviews:
                verb = "picked this" if review.kind == "pick" else "said"
                text = f": {escape_markdown(review.text)}" if review.text else ""
                st.caption(f"{escape_markdown(review.name)} {verb}{text}")
    with st.expander("Exact request, task id and events", icon=":material/receipt_long:"):
        clip_details(job)


def _save_mark(job_id: str, mark: str) -> None:
    """A Keep or rating change in the panel, written to the store the moment it is made."""
    if mark == "starred":
        kept = bool(st.session_state.get(f"star_{job_id}"))
        get_lab().annotate(current_actor(), job_id, starred=kept)
        st.toast("Kept." if kept else "No longer kept.")
        return
    stars = st.session_state.get(f"rating_{job_id}")
    get_lab().annotate(current_actor(), job_id, rating=None if stars is None else int(stars) + 1)
    st.toast("Rating cleared." if stars is None else f"Rated {int(stars) + 1} of 5.")


def _delete_button(where: st.delta_generator.DeltaGenerator, job: JobRecord) -> None:
    """Delete, only for someone allowed to (the door refuses anyone else anyway)."""
    with where.popover("Delete", icon=":material/delete:"):
        st.write("Delete this clip's video and thumbnail? Its request and cost stay in the spend record.")
        if st.button("Delete for good", type="primary", key=f"delete_{job.id}"):
            try:
                get_lab().delete(current_actor(), job.id)
            except (ValueError, KeyError) as exc:
                st.error(escape_markdown(str(exc) if not isinstance(exc, KeyError) else "That clip no longer exists."))
                return
            st.session_state.pop(SELECTED, None)
            st.toast("Clip deleted; its spend record is kept.")
            st.rerun()


def _confirm_rerun(job: JobRecord, book: PriceBook) -> None:
    price = book.price_for(job.request, job.provider)
    with st.container(border=True):
        st.write(f"Send this exact request to {CAPABILITIES[job.provider].label} again for {format_usd(price)}?")
        go, cancel = st.columns(2)
        if go.button("Send it", type="primary", key=f"rerun_go_{job.id}"):
            try:
                batch_id = get_lab().rerun(current_actor(), job.id, book)
            except (BudgetExceeded, ValueError, KeyError) as exc:
                st.error(escape_markdown(str(exc) if not isinstance(exc, KeyError) else "That clip no longer exists."),
                         title="Not sent")
                return
            st.session_state.pop(f"confirm_rerun_{job.id}", None)
            st.switch_page("pages/compare.py", query_params={"batch": batch_id})
        if cancel.button("Cancel", key=f"rerun_no_{job.id}"):
            st.session_state.pop(f"confirm_rerun_{job.id}", None)
            st.rerun()
