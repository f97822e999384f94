"""History: every clip ever made, newest first; filter (by review status too), open, reuse, export, share and
revoke review links. Each card shows its take's review status (by whom) and lineage; a batch's group counts the
comments on its takes."""

import time

import streamlit as st

from components.clip_cells import escape_markdown, file_url, files_token
from components.history_clip import SELECTED, clip_card, clip_panel
from components.history_filters import history_filters
from components.review_board import lab_base_url
from components.runtime import current_actor, get_lab
from components.take_review import take_lineage
from kling_lab.lab import allowed
from kling_lab.pricing import batch_name, format_usd

PAGE_SIZE = 24
COLUMNS = 4

lab, actor = get_lab(), current_actor()
st.title("History")

selected_id = st.session_state.get(SELECTED)
if selected_id:
    job = lab.job(actor, selected_id)
    if job is not None:
        with st.container(border=True, key="history_panel"):
            if st.button("Close", icon=":material/close:", key="history_close"):
                st.session_state.pop(SELECTED, None)
                st.rerun()
            clip_panel(job, lab.price_book(actor))

query, grouped = history_filters()
if st.session_state.get("history_last_query") != (query, grouped):
    st.session_state["history_last_query"] = (query, grouped)
    st.session_state["history_page"] = 0
total = lab.count_jobs(actor, query)
pages = max(1, -(-total // PAGE_SIZE))
page = min(st.session_state.get("history_page", 0), pages - 1)
jobs = lab.search_jobs(actor, query, limit=PAGE_SIZE, offset=page * PAGE_SIZE)

if total == 0:
    if query == type(query)():
        st.info("No clips yet. Every clip you generate is kept here with its exact request and cost.",
                icon=":material/video_library:")
    else:
        st.info("No clip matches these filters.", icon=":material/filter_alt_off:")
    st.stop()

st.caption(f"{total:,} clip{'s' if total != 1 else ''} · page {page + 1} of {pages} · each card shows its prompt, "
           "with what differs from the other takes of its batch highlighted")

batches_on_page: dict[str, list] = {}
for job in jobs:
    batches_on_page.setdefault(job.batch_id, []).append(job)
batch_records = {i: b for i in batches_on_page if (b := lab.batch(actor, i)) is not None}
winners = {i: b.winner_job_id for i, b in batch_records.items()}
# Every take of each batch on the page (some may be on other pages): what a card's prompt is compared with.
prompts = {i: {j.id: j.prompt for j in lab.batch_jobs(actor, i)} for i in batches_on_page}
review_picks = {r.job_id for i in batches_on_page for r in lab.reviews(actor, i) if r.kind == "pick"}
statuses = {job_id: s for i in batches_on_page for job_id, s in lab.take_statuses(actor, i).items()}


def _review_links(batch_id: str) -> None:
    """The batch's live review links, each with Revoke, and a button for a new one."""
    now = time.time()
    live = [link for link in lab.review_links(actor, batch_id) if link.live(now)]
    with st.popover(f"Review links ({len(live)})", icon=":material/co_present:"):
        if st.button("New review link (7 days)", key=f"new_link_{batch_id}", icon=":material/add_link:"):
            url, _ = lab.make_review_link(actor, batch_id, "7d",
                                          base_url=lab_base_url(lab.settings_for(actor).public_url))
            st.session_state[f"review_link_{batch_id}"] = url
            st.rerun()
        if f"review_link_{batch_id}" in st.session_state:
            st.code(st.session_state[f"review_link_{batch_id}"], language=None, wrap_lines=True)
        for link in live:
            cols = st.columns([3, 1], vertical_alignment="center")
            until = time.strftime("%Y-%m-%d %H:%M", time.localtime(link.expires_at))
            cols[0].caption(f"Made {time.strftime('%m-%d %H:%M', time.localtime(link.created_at))} by "
                            f"{escape_markdown(link.created_by)} · open until {until}")
            if cols[1].button("Revoke", key=f"revoke_{link.id}", icon=":material/link_off:"):
                lab.revoke_review_link(actor, link.id)
                st.session_state.pop(f"review_link_{batch_id}", None)
                st.toast("Revoked: the link opens nothing from now on.")
                st.rerun()
        if not live:
            st.caption("No live review links for this batch.")


def _gallery(items: list) -> None:
    for start in range(0, len(items), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, job in zip(cols, items[start : start + COLUMNS], strict=False):
            with col:
                siblings = [p for i, p in prompts.get(job.batch_id, {}).items() if i != job.id]
                record = batch_records.get(job.batch_id)
                clip_card(job, picked=winners.get(job.batch_id) == job.id or job.id in review_picks,
                          siblings=siblings, batch=None if grouped or record is None else batch_name(record.template),
                          status=statuses.get(job.id), lineage=take_lineage(lab, actor, job))


if grouped:
    for batch_id, items in batches_on_page.items():
        batch = batch_records.get(batch_id)
        if batch is None:
            continue
        with st.container(border=True, key=f"batch_{batch_id}"):
            made = time.strftime("%Y-%m-%d %H:%M", time.localtime(batch.created_at))
            takes = len(prompts.get(batch_id, {}))
            comments = len(lab.take_comments(actor, batch_id))
            st.markdown(f"**{escape_markdown(batch_name(batch.template, limit=160))}**")
            st.caption(f"{made} · {takes} take{'s' if takes != 1 else ''} · "
                       f"{comments} comment{'s' if comments != 1 else ''} on its takes · estimated "
                       f"{format_usd(batch.estimated_total)}", help=f"Batch id, for the command line: {batch_id}")
            actions = st.columns(4)
            actions[0].page_link("pages/compare.py", label="Open in Compare", icon=":material/grid_view:",
                                 query_params={"batch": batch_id})
            actions[1].download_button(
                "Contact sheet", data=lambda b=batch_id: lab.contact_sheet(actor, b), file_name=f"{batch_id}.png",
                mime="image/png", icon=":material/photo_library:", key=f"sheet_{batch_id}", on_click="ignore",
            )
            if allowed(actor, "export"):
                actions[2].link_button("Export zip", file_url(f"/exports/{batch_id}.zip", files_token()),
                                       icon=":material/folder_zip:")
            if allowed(actor, "share"):
                with actions[3]:
                    _review_links(batch_id)
            reviews = lab.reviews(actor, batch_id)
            for review in reviews[-5:]:
                verb = "picked a take" if review.kind == "pick" else "said"
                text = f": {escape_markdown(review.text)}" if review.text else ""
                st.caption(f"{escape_markdown(review.name)} {verb}{text}")
            _gallery(items)
else:
    _gallery(jobs)

nav = st.columns([1, 2, 1])
if page > 0 and nav[0].button("Newer", icon=":material/arrow_back:", key="history_newer"):
    st.session_state["history_page"] = page - 1
    st.rerun()
if page + 1 < pages and nav[2].button("Older", icon=":material/arrow_forward:", key="history_older"):
    st.session_state["history_page"] = page + 1
    st.rerun()
