"""The live cost badge: what the ticked takes cost here and on every other host, and what is left of today's
budget, with a warning before Generate would cross it."""

from __future__ import annotations

import streamlit as st

from kling_lab.capabilities import CAPABILITIES
from kling_lab.lab import BatchPlan, BudgetLeft
from kling_lab.pricing import PriceBook, format_usd


def _takes(plan: BatchPlan) -> str:
    count = len(plan.takes)
    if plan.left_out:
        return f"{count} of {count + plan.left_out} takes"
    return f"{count} take{'s' if count != 1 else ''}"


def cost_badge(plan: BatchPlan, book: PriceBook, *, has_prompt: bool = True,
               budget: BudgetLeft | None = None) -> str | None:
    """Total for the chosen takes and a one-line comparison with the others; nothing priced before a prompt.

    Returns the budget warning shown (None when the takes fit today's budget, or none was given)."""
    info = book.host_info(plan.provider)
    help_text = f"{info.label} prices as of {info.as_of} ({info.status}). Source: {info.source}"
    if not has_prompt:
        st.metric("Estimated cost · no takes yet", "—", help=help_text, border=True)
        if budget is not None:
            st.caption(f":material/account_balance_wallet: {budget.line()}")
        return None
    count = len(plan.takes)
    st.metric(f"Estimated cost · {_takes(plan)}", format_usd(plan.total) if count else "—", help=help_text,
              border=True)
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
    if budget is None:
        return None
    warning = budget.warning(plan)
    if warning:  # a line, not a box: Generate stays above the fold at 1280×800
        st.caption(f":orange[:material/warning: {warning}]")
    else:
        st.caption(f":material/account_balance_wallet: {budget.line()}")
    return warning
