"""The live cost badge: what this batch costs here, and on every other host."""

from __future__ import annotations

import streamlit as st

from kling_lab.capabilities import CAPABILITIES
from kling_lab.lab import BatchPlan
from kling_lab.pricing import PriceBook, format_usd


def cost_badge(plan: BatchPlan, book: PriceBook, *, has_prompt: bool = True) -> None:
    """Total for the chosen host(s) and a one-line comparison with the others; nothing priced before a prompt."""
    info = book.host_info(plan.provider)
    help_text = f"{info.label} prices as of {info.as_of} ({info.status}). Source: {info.source}"
    if not has_prompt:
        st.metric("Estimated cost · no takes yet", "—", help=help_text, border=True)
        return
    count = len(plan.takes)
    label = f"Estimated cost · {count} take{'s' if count != 1 else ''}"
    st.metric(label, format_usd(plan.total) if count else "—", help=help_text, border=True)
    if plan.estimate is not None and plan.estimate.unpriced:
        st.warning(f"{plan.estimate.unpriced} take(s) have no published price on their host.", icon=":material/help:")
    others = []
    for host in plan.comparison:
        if host.provider == plan.provider:
            continue
        name = CAPABILITIES[host.provider].label
        others.append(f"{name} {format_usd(host.total)}" if host.total is not None else f"{name} n/a")
    if others:
        st.caption("Same batch elsewhere: " + " · ".join(others))
