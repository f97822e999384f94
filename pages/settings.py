"""Settings: host keys (status only), base URLs, limits, budgets, default provider and storage.

Only an owner (or the person at the machine) changes them; a member sees them read-only, and the door refuses anyway.
"""

import streamlit as st

from components.clip_cells import escape_markdown
from components.runtime import SESSION_KEYS, current_actor, get_lab
from kling_lab.capabilities import CAPABILITIES, PROVIDER_NAMES, create_endpoint
from kling_lab.lab import (
    DEFAULT_BASE_URLS,
    DEFAULT_CONCURRENCY,
    NotAllowed,
    UserSettings,
    allowed,
    parse_base_url,
    parse_budget,
)

lab, actor = get_lab(), current_actor()
settings = lab.settings_for(actor)
saved = lab.preferences(actor)
owner = allowed(actor, "settings")

st.title("Settings")
if not owner:
    st.info("Keys, base URLs, limits and budgets are the owner's to change; you see them here as they are.",
            icon=":material/visibility:")

st.subheader("Hosts and keys")
st.caption("Keys come from environment variables, .streamlit/secrets.toml, or the fields below, which keep a key "
           "for this browser session only. Kling Lab never shows a key and never stores one.")
base_urls: dict[str, str] = {}
concurrency: dict[str, int] = {}
for provider in PROVIDER_NAMES:
    caps = CAPABILITIES[provider]
    if caps.offline:
        continue
    with st.container(border=True, key=f"host_{provider}"):
        source = settings.key_source(provider)
        status = f":green[key set] from {source}" if source != "none" else ":orange[no key]"
        st.markdown(f"**{caps.label}** · {status}")
        cols = st.columns([2, 2, 1], vertical_alignment="bottom")
        with cols[0]:
            for name in caps.key_env if owner else ():
                st.text_input(name, type="password", key=f"key_input_{name}",
                              placeholder="•••••• set" if settings.keys.get(name) else "paste to use in this session")
        base_urls[provider] = cols[1].text_input(
            "Base URL", value=saved.base_urls.get(provider, ""), key=f"base_url_{provider}", disabled=not owner,
            placeholder=settings.base_url(provider), help=f"Public default: {DEFAULT_BASE_URLS[provider]}",
        )
        concurrency[provider] = cols[2].number_input(
            "At once", min_value=1, max_value=50, key=f"concurrency_{provider}", disabled=not owner,
            value=saved.concurrency.get(provider, DEFAULT_CONCURRENCY.get(provider, 5)),
            help="How many clips Kling Lab sends to this host at the same time.",
        )
        # The URL a create is sent to, resolved from what was typed (a version segment is taken either way).
        typed = parse_base_url(base_urls[provider])[0] or settings.base_urls.get(provider)
        endpoint = create_endpoint(provider, typed).replace("`", "%60")  # shown as code: no link, no markup
        in_use = settings.base_url(provider).replace("`", "%60")
        st.caption(f"Base URL in use: `{in_use}` · creates go to `{endpoint}`")


def _use_session_keys() -> None:
    # A callback, so the fields can be emptied before they are drawn: popping their state instead
    # would leave the typed key in the browser's password field (and the page's HTML).
    keys = dict(st.session_state.get(SESSION_KEYS, {}))
    for caps in CAPABILITIES.values():
        for name in caps.key_env:
            value = (st.session_state.get(f"key_input_{name}") or "").strip()
            if value:
                keys[name] = value
            st.session_state[f"key_input_{name}"] = ""
    st.session_state[SESSION_KEYS] = keys


if owner:
    st.button("Use these keys in this session", icon=":material/key:", key="settings_use_keys",
              on_click=_use_session_keys)

st.subheader("Budget and defaults")
cols = st.columns(3)
per_batch_text = cols[0].text_input("Per batch (USD)", value=str(saved.budget_per_batch or ""),
                                    placeholder="no limit", key="settings_budget_batch", disabled=not owner)
per_day_text = cols[1].text_input("Per day (USD)", value=str(saved.budget_per_day or ""), placeholder="no limit",
                                  key="settings_budget_day", disabled=not owner)
default_choice = saved.default_provider or settings.default_provider()
default_provider = cols[2].selectbox(
    "Default provider", PROVIDER_NAMES, index=PROVIDER_NAMES.index(default_choice),
    format_func=lambda p: CAPABILITIES[p].label, key="settings_default_provider", disabled=not owner,
    help="The animatic is the default while no host key is configured.",
)

if owner and st.button("Save settings", type="primary", icon=":material/save:", key="settings_save"):
    per_batch, batch_error = parse_budget(per_batch_text)
    per_day, day_error = parse_budget(per_day_text)
    url_errors = {p: parse_base_url(u)[1] for p, u in base_urls.items()}
    problems = [m for m in (batch_error, day_error) if m]
    problems += [f"{CAPABILITIES[p].label}: {m}" for p, m in url_errors.items() if m]
    if problems:
        for message in problems:  # they quote what was typed: shown as text, never markdown
            st.error(escape_markdown(message), icon=":material/error:")
    else:
        try:
            lab.change_settings(actor, UserSettings(
                budget_per_batch=per_batch,
                budget_per_day=per_day,
                default_provider=default_provider,
                concurrency={p: int(n) for p, n in concurrency.items()
                             if int(n) != DEFAULT_CONCURRENCY.get(p, 5)},
                base_urls={p: parse_base_url(u)[0] for p, u in base_urls.items() if parse_base_url(u)[0]},
            ))
        except (NotAllowed, ValueError) as exc:
            st.error(escape_markdown(str(exc)), icon=":material/block:")
        else:
            st.success("Saved. New base URLs and limits apply to clips sent from now on.", icon=":material/check:")

st.subheader("Storage")
if owner:  # a folder on the server is the owner's business, not a member's
    st.caption(f"Data folder: {settings.data_dir}")
if st.toggle("Measure disk used", key="settings_measure_disk"):
    st.caption(f"Media on disk: {lab.disk_usage_bytes(actor) / 1024 / 1024:.1f} MB")
