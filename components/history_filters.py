"""History's filter bar: widgets in, a `JobQuery` out."""

from __future__ import annotations

import datetime as dt
import time

import streamlit as st

from kling_lab.capabilities import ASPECT_RATIOS, CAPABILITIES, PROVIDER_NAMES
from kling_lab.domain.jobs import JobState
from kling_lab.lab import STATUS_WORDS, JobQuery

KEEP = "session"
REVIEW_OPTIONS = (*STATUS_WORDS, "none")
"""The review-status filter's choices: each take status, and "none" (nobody set one)."""


def _status_word(option: str) -> str:
    return STATUS_WORDS.get(option, "No status")


def _day_start(day: dt.date) -> float:
    return time.mktime(day.timetuple())


def history_filters() -> tuple[JobQuery, bool]:
    """The filter bar; returns the query and whether to group clips by batch."""
    with st.container(border=True, key="history_filters"):
        top = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
        text = top[0].text_input("Search prompts, labels and notes", key="history_text", persist_state=KEEP,
                                 placeholder="e.g. lighthouse")
        hosts = top[1].multiselect("Hosts", PROVIDER_NAMES, key="history_hosts", persist_state=KEEP,
                                   format_func=lambda p: CAPABILITIES[p].label)
        states = top[2].multiselect("States", [s.value for s in JobState], key="history_states", persist_state=KEEP)
        days = top[3].date_input("Made between", value=(), key="history_days", persist_state=KEEP)
        # Rows that wrap: on a narrow window a control moves down instead of being squeezed.
        with st.container(horizontal=True, gap="large"):
            duration = st.segmented_control("Length", ["5 s", "10 s"], key="history_duration", persist_state=KEEP)
            audio = st.segmented_control("Audio", ["on", "off"], key="history_audio", persist_state=KEEP)
            aspect = st.segmented_control("Aspect", list(ASPECT_RATIOS), key="history_aspect", persist_state=KEEP)
            reviewed = st.segmented_control("Review status", REVIEW_OPTIONS, selection_mode="multi",
                                            key="history_review", persist_state=KEEP, format_func=_status_word,
                                            help="Takes with any of these statuses (set on Compare or a review "
                                                 "board); none chosen shows every take.")
        with st.container(horizontal=True, gap="large"):
            starred = st.toggle("Kept", key="history_starred", persist_state=KEEP,
                                help="Only takes bookmarked with Keep (in Compare's grid or a clip's panel).")
            picked = st.toggle("Picked", key="history_picked", persist_state=KEEP)
            grouped = st.toggle("Group by batch", key="history_grouped", persist_state=KEEP)
    since = until = None
    if isinstance(days, tuple | list) and len(days) >= 1 and days[0]:
        since = _day_start(days[0])
        last = days[1] if len(days) > 1 and days[1] else days[0]
        until = _day_start(last + dt.timedelta(days=1))
    query = JobQuery(
        text=text or None,
        providers=tuple(hosts),
        states=tuple(states),
        since=since,
        until=until,
        duration=int(duration.split()[0]) if duration else None,
        audio=None if audio is None else audio == "on",
        aspect_ratio=aspect,
        starred_only=starred,
        picked_only=picked,
        review_statuses=tuple(reviewed or ()),
    )
    return query, grouped
