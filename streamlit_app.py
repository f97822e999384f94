"""Kling Lab: the entry script. Page config, the review-link visit, the sign-in gate and navigation.

Pages live in pages/: Streamlit also auto-discovers a pages/ folder as a legacy
multipage app and shows that list whenever st.navigation is not called, so every
run calls it (a review visit too, with its board as the only page).

A visit carrying a review link (`/?review=<token>`, on any page path) runs only
that batch's review board: no navigation, no other page, no sign-in (the link is
the capability). An expired, tampered or revoked link gets a plain page saying
so. Every other visit passes the sign-in gate first.
"""

import streamlit as st

from components.review_board import review_visit
from components.sign_in import sign_in_gate
from kling_lab.lab import REVIEW_PARAM

# An emoji icon is drawn in the page itself; a ":material/...:" icon would be fetched from
# fonts.gstatic.com, which a demo room without network cannot reach (and need not be told about).
st.set_page_config(page_title="Kling Lab", page_icon="🎬", layout="wide")

PAGES = (("compose", "Compose", ":material/edit_note:"), ("compare", "Compare", ":material/grid_view:"),
         ("sequence", "Sequence", ":material/movie_edit:"), ("history", "History", ":material/video_library:"),
         ("pricing", "Pricing", ":material/payments:"), ("settings", "Settings", ":material/settings:"))

token = st.query_params.get(REVIEW_PARAM)
if token is not None:
    # The board under every page path, so /compare?review=... or /settings?review=... shows the board only.
    def board() -> None:
        review_visit(token)

    review_pages = [st.Page(board, title="Review", url_path="review", default=True)]
    review_pages += [st.Page(board, title="Review", url_path=path) for path, _, _ in PAGES]
    st.navigation(review_pages, position="hidden").run()
else:
    sign_in_gate()
    pages = [st.Page(f"pages/{path}.py", title=title, icon=icon, default=path == "compose")
             for path, title, icon in PAGES]
    st.navigation(pages, position="sidebar").run()
