"""Sequence: the shots of a sequence in order, played as one reel, trimmed, picked and exported for an editor.

The sequence comes from `?seq=<id>`, so a reload or a bookmark shows the same one.
The reel plays every shot's pick through, gapless; its Takes button (or a
shot's) opens that shot's takes side by side right here, to compare and pick.
"""

import streamlit as st

from components.clip_cells import escape_markdown, files_token
from components.reel_player import reel_player
from components.review_board import lab_base_url
from components.runtime import current_actor, get_lab
from components.sequence_exports import sequence_exports
from components.sequence_strip import OPEN_SHOT, picks, reel_shots, sequence_strip, shot_takes_panel
from kling_lab.lab import NotAllowed, allowed

SEQ_PARAM = "seq"

lab, actor = get_lab(), current_actor()
st.title("Sequence")


def _new_sequence() -> None:
    ss = st.session_state
    try:
        made = lab.new_sequence(actor, ss.get("sequence_new_name", ""))
    except (ValueError, NotAllowed) as exc:
        ss["sequence_new_problem"] = str(exc)
        return
    ss.pop("sequence_new_problem", None)
    ss["sequence_new_name"] = ""
    st.query_params[SEQ_PARAM] = made.id


sequences = lab.sequences(actor)
wanted = st.query_params.get(SEQ_PARAM)
sequence = lab.sequence(actor, wanted) if wanted else (sequences[0] if sequences else None)

chooser, maker = st.columns([3, 2], vertical_alignment="bottom")
with maker.popover("New sequence", icon=":material/add:", width="stretch"):
    st.text_input("Name", key="sequence_new_name", max_chars=80, placeholder="e.g. Opening")
    st.button("Make sequence", key="sequence_make", type="primary", on_click=_new_sequence)
if st.session_state.get("sequence_new_problem"):
    st.error(escape_markdown(st.session_state["sequence_new_problem"]), icon=":material/error:")

if wanted and sequence is None:
    st.error(f"There is no sequence “{escape_markdown(wanted)}” here.", icon=":material/search_off:")
if sequence is None:
    if not sequences:
        st.info("No sequences yet. Make one with New sequence, then generate into its shots from Compose "
                "(Into sequence) or file takes with `kling-lab sequence add`.", icon=":material/movie_edit:")
    st.stop()
if wanted != sequence.id:
    st.query_params[SEQ_PARAM] = sequence.id

options = [s.id for s in sequences]
names = {s.id: s.name for s in sequences}
choice = chooser.selectbox("Sequence", options, index=options.index(sequence.id), format_func=names.get)
if choice != sequence.id:
    st.query_params[SEQ_PARAM] = choice
    st.rerun()

shots = lab.shots(actor, sequence.id)
chosen = picks(lab, actor, shots)
token = files_token()
st.caption(f"{len(shots)} shot{'s' if len(shots) != 1 else ''} · "
           f"{sum(p is not None for p in chosen.values())} picked")

try:
    lab.cut(actor, sequence.id)
except ValueError as exc:  # what stops the cut, line by line: the reel plays what it can
    for line in str(exc).splitlines():
        if line.strip():
            st.warning(escape_markdown(line.strip()), icon=":material/warning:")

event = reel_player(reel_shots(shots, chosen, token), key=f"reel_{sequence.id}")
if event is not None and event.kind == "open_shot":
    st.session_state[OPEN_SHOT] = event.shot_id

shot_takes_panel(next((s for s in shots if s.id == st.session_state.get(OPEN_SHOT)), None), chosen, token)

st.subheader("Shots")
sequence_strip(sequence.id, shots, chosen, token)

st.subheader("Exports")
sequence_exports(sequence, shots)

if allowed(actor, "share"):
    share, shown = st.columns([1, 4], vertical_alignment="center")
    if share.button("Copy review link", icon=":material/share:", key="sequence_review_link",
                    help="A link that opens this sequence's reel and its takes for review only, for 7 days."):
        url, _ = lab.make_review_link(actor, sequence.id, "7d", kind="sequence",
                                      base_url=lab_base_url(lab.settings_for(actor).public_url))
        st.session_state[f"sequence_link_{sequence.id}"] = url
    if f"sequence_link_{sequence.id}" in st.session_state:
        shown.code(st.session_state[f"sequence_link_{sequence.id}"], language=None, wrap_lines=True)
