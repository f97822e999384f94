"""Kling Lab: the entry script. Page config and navigation only; each page lives in pages/."""

import streamlit as st

st.set_page_config(page_title="Kling Lab", page_icon=":material/movie:", layout="wide")

pages = [
    st.Page("pages/compose.py", title="Compose", icon=":material/edit_note:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/grid_view:"),
    st.Page("pages/history.py", title="History", icon=":material/video_library:"),
    st.Page("pages/pricing.py", title="Pricing", icon=":material/payments:"),
    st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
]
# A review link (?view=review) is a clean board for a meeting: no navigation to the rest of the lab.
review = st.query_params.get("view") == "review"
st.navigation(pages, position="hidden" if review else "sidebar").run()
