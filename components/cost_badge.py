"""The live cost badge: what this batch costs here, and on every other host."""

from __future__ import annotations

import streamlit as st

from kling_lab.capabilities import CAPABILITIES
from kling_lab.lab import BatchPlan
from kling_lab.pricing import PriceBook, format_usd


def cost_badge(plan: BatchPlan, book: PriceBook) -> None:
    """Total for the chosen host(s) and a one-line comparison with the others."""
    count = len(plan.takes)
    label = f"Estimated cost · {count} take{'s' if count != 1 else ''}"
    info = book.host_info(plan.provider)
    help_text = f"{info.label} prices as of {info.as_of} ({info.status}). Source: {info.source}"
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
