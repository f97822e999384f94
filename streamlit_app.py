"""Kling Lab: the entry script. Page config and navigation only.

Pages live in pages/, not pages/: Streamlit also auto-discovers a pages/
folder as a legacy multipage app and shows that list whenever st.navigation is
hidden (the review board hides it).
"""

import streamlit as st

# An emoji icon is drawn in the page itself; a ":material/...:" icon would be fetched from
# fonts.gstatic.com, which a demo room without network cannot reach (and need not be told about).
st.set_page_config(page_title="Kling Lab", page_icon="🎬", layout="wide")

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
