"""Pricing: each host's price table with its source and date, your overrides, and what was spent.

Price overrides are the owner's: a member sees the tables read-only, and the door refuses anyway.
"""

from decimal import Decimal

import pandas as pd
import streamlit as st

from components.clip_cells import escape_markdown
from components.price_tables import compare_frame, price_table_frame
from components.runtime import current_actor, get_lab
from kling_lab.capabilities import CAPABILITIES, PROVIDER_NAMES
from kling_lab.lab import NotAllowed, allowed
from kling_lab.pricing import batch_names, compare_batch, format_usd, overrides_from_table
from kling_lab.spend import spend_by, spend_frame, spend_over_time

lab, actor = get_lab(), current_actor()
book = lab.price_book(actor)
owner = allowed(actor, "settings")

st.title("Pricing")
for message in book.override_errors:
    st.warning(message, icon=":material/warning:")

tables, spend = st.tabs(["Price tables", "Spend"])

with tables:
    provider = st.segmented_control("Host", PROVIDER_NAMES, key="pricing_host", default="fal", required=True,
                                    format_func=lambda p: CAPABILITIES[p].label)
    info = book.host_info(provider)
    st.markdown(f"**{info.label}** · {info.billing.replace('_', ' ')} · {info.status} · as of {info.as_of}")
    st.caption(" · ".join(info.sources) + (f" — {info.note}" if info.note else ""))
    frame = price_table_frame(book, provider)
    # A per-second rate has no length of its own: say "any" rather than show an empty cell as "None".
    frame["duration"] = [("any" if pd.isna(d) else f"{int(d)} s") for d in frame["duration"]]
    for column in ("usd_5s", "usd_10s"):  # a rate for one length has no price for the other: "—", not "None"
        frame[column] = [format_usd(None if pd.isna(v) else Decimal(str(v))) for v in frame[column]]
    edited = st.data_editor(
        frame[["mode", "duration", "audio", "voice", "value", "unit", "usd_5s", "usd_10s", "overridden"]],
        key=f"pricing_editor_{provider}",
        hide_index=True,
        disabled=True if not owner else ["mode", "duration", "audio", "voice", "unit", "usd_5s", "usd_10s",
                                         "overridden"],
        column_config={
            "mode": "Mode", "duration": "Length", "audio": "Audio", "voice": "Voice", "unit": "Unit",
            "overridden": "Overridden",
            "value": st.column_config.NumberColumn("Rate (edit to override)" if owner else "Rate", format="%.4f"),
            "usd_5s": "5 s clip", "usd_10s": "10 s clip",
        },
        alt=f"Price table of {info.label}",
    )
    unit_price = None
    if info.billing == "per_unit":
        unit_price = st.number_input("USD per unit", value=float(info.unit_price or 0), min_value=None,
                                     step=0.001, format="%.4f", key=f"pricing_unit_{provider}", disabled=not owner)
    if not owner:
        st.caption("Prices are the owner's to change.")
    save, reset = st.columns(2)
    if owner and save.button("Save my prices", type="primary", icon=":material/save:", key="pricing_save"):
        changes, errors = overrides_from_table(book, provider, list(edited["value"]), unit_price)
        if errors:
            for message in errors:
                st.error(message, icon=":material/error:")
        else:
            try:
                lab.save_prices(actor, provider, changes)
            except (NotAllowed, ValueError) as exc:
                st.error(escape_markdown(str(exc)), icon=":material/block:")
            else:
                st.toast(f"Saved {len(changes)} price(s) for {info.label} on this machine.")
                st.rerun()
    if owner and reset.button("Back to published prices", icon=":material/restart_alt:", key="pricing_reset"):
        try:
            lab.reset_prices(actor, provider)
        except NotAllowed as exc:
            st.error(str(exc), icon=":material/block:")
        else:
            st.rerun()

    st.subheader("One batch on every host")
    batches = lab.batches(actor, limit=30)
    if batches:
        chosen = st.selectbox("Batch", [b.id for b in batches], key="pricing_batch",
                              format_func=lambda i: next(b.template[:70] for b in batches if b.id == i))
        requests = [job.request for job in lab.batch_jobs(actor, chosen)]
        table = compare_frame(compare_batch(requests, book))
        shown = table[["label", "total_text", "priced", "clips", "status", "as_of", "note"]].rename(columns={
            "label": "Host", "total_text": "Total", "priced": "Priced", "clips": "Clips", "status": "Prices are",
            "as_of": "As of", "note": "Note"})
        st.dataframe(shown, hide_index=True, alt="The batch's cost on every host")
    else:
        st.caption("Generate a batch to compare its cost across hosts here (Compose shows it live too).")

with spend:
    records = lab.spend_records(actor)
    st.metric("Spent today (committed)", format_usd(lab.spend_today(actor)), border=True,
              help="Clips that may be charged today, at the host's reported charge when known, else the estimate.")
    frame = spend_frame(records)
    if not sum(r.charged for r in records):
        # No chart of zeros: failed takes, drafts and cancels before sending cost nothing.
        st.info("Nothing spent yet.", icon=":material/savings:")
        if records:
            st.caption(f"{len(records)} clip(s) so far cost nothing: animatic drafts, failed takes (hosts do not "
                       "charge for those) and clips canceled before they were sent.")
    else:
        names = batch_names((b.id, b.template, b.created_at) for b in lab.batches(actor, limit=1000))
        frame["batch"] = [names.get(batch_id, batch_id) for batch_id in frame["batch"]]
        st.bar_chart(spend_over_time(frame), y_label="USD", x_label="Day", stack=True)
        by_host, by_day = st.columns(2)
        by_host.dataframe(spend_by(frame, "host"), hide_index=True, alt="Spend per host")
        by_day.dataframe(spend_by(frame, "day"), hide_index=True, alt="Spend per day")
        st.dataframe(spend_by(frame, "batch"), hide_index=True, alt="Spend per batch, estimated against actual")
