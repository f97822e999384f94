"""Compose: write the prompt, set the parameters, see every variation and its cost, then Generate."""

import streamlit as st

from components.clip_cells import escape_markdown
from components.compose_draft import drafts_bar, keep_draft, restore_draft
from components.compose_messages import cap_message, explained, generate_blocker, is_cap_message
from components.cost_badge import cost_badge
from components.frame_inputs import frame_input
from components.param_controls import parameter_controls, provider_picker
from components.runtime import current_actor, get_lab
from components.shot_target import origin_take, shot_target
from components.take_picker import choose_takes, left_out_by_key
from kling_lab.capabilities import CAPABILITIES
from kling_lab.lab import BudgetExceeded
from kling_lab.prompt_helpers import CAMERA_DIRECTIONS, append_phrase, dialogue_phrase, parse_variables
from kling_lab.request import GenerationRequest, find_problems

KEEP = "session"

lab, actor = get_lab(), current_actor()
settings = lab.settings_for(actor)
saved = lab.preferences(actor)
book = lab.price_book(actor)

st.title("Compose")
restore_draft()  # ?draft=<id>, or this person's latest draft in a new tab: before any widget is made
drafts_bar()


def _insert_camera() -> None:
    choice = st.session_state.get("compose_camera_choice")
    if choice:
        st.session_state["compose_prompt"] = append_phrase(st.session_state.get("compose_prompt", ""), choice)


def _insert_dialogue() -> None:
    phrase = dialogue_phrase(st.session_state.get("compose_speaker", ""), st.session_state.get("compose_line", ""))
    if phrase:
        st.session_state["compose_prompt"] = append_phrase(st.session_state.get("compose_prompt", ""), phrase)
        st.session_state["compose_line"] = ""


left, right = st.columns([3, 2], gap="large")

with right:
    badge_slot = st.container()  # filled once the plan is known: the price and Generate stay above the fold
    provider = provider_picker(settings, saved.default_provider or settings.default_provider())
    caps = CAPABILITIES[provider]
    if caps.offline:
        st.caption("Free drafts rendered on this machine: camera move, mood, subtitles and ambience from your "
                   "prompt. Labelled as animatics, never as Kling output.")
    elif not settings.has_key(provider):
        st.warning(f"No key for {caps.label} yet: add it in Settings to generate. Costs below are still exact.",
                   icon=":material/key_off:")

with left:
    st.text_area(
        "Prompt template",
        key="compose_prompt",
        persist_state=KEEP,
        height=140,
        placeholder='e.g. a lighthouse at dusk, {slow push-in|orbit around the subject}, the keeper says "We made it."',
        help="{a|b} makes one take per choice; {name} uses a variable below; {{ and }} are literal braces.",
    )
    prompt_text = st.session_state.get("compose_prompt", "")
    counter = f"{len(prompt_text):,} / {caps.prompt_max:,} characters"
    if len(prompt_text) > caps.prompt_max:
        st.caption(f":red[{counter}] ({caps.label} limit)")
    else:
        st.caption(counter + (f" ({caps.label} limit)" if caps.prompt_max < 2500 else ""))
    tools = st.columns([3, 1, 2, 3, 1], vertical_alignment="bottom")
    tools[0].selectbox("Camera direction", CAMERA_DIRECTIONS, key="compose_camera_choice", persist_state=KEEP)
    tools[1].button("Insert", key="compose_insert_camera", on_click=_insert_camera, icon=":material/videocam:")
    tools[2].text_input("Speaker", key="compose_speaker", persist_state=KEEP, placeholder="e.g. the keeper")
    tools[3].text_input("Dialogue line", key="compose_line", placeholder="e.g. We made it.")
    tools[4].button("Insert", key="compose_insert_line", on_click=_insert_dialogue, icon=":material/record_voice_over:")

    negative_note = None if caps.negative_prompt else caps.notes.get("negative_prompt")
    if caps.offline:
        negative_note = caps.notes.get("negative_prompt")
    st.text_area(
        "Negative prompt",
        key="compose_negative",
        persist_state=KEEP,
        height=68,
        disabled=not caps.negative_prompt,
        placeholder="e.g. blur, distortion, low quality",
        help=negative_note or "What the host should avoid.",
    )
    st.text_area(
        "Template variables",
        key="compose_variables",
        persist_state=KEEP,
        height=68,
        placeholder="e.g. camera = slow push-in | orbit | static wide shot   (then write {camera} in the prompt)",
        help="One per line: name = value | other value. Use {name} in the prompt.",
    )

with right:
    target = shot_target()  # into a sequence's shot (which may carry its start frame), or a batch on its own
    frame_cols = st.columns(2)
    with frame_cols[0]:
        start_ref = frame_input("Start frame", "compose_start", disabled=not caps.start_frame,
                                help_text="JPG or PNG, at most 10 MB, at least 300 px per side.")
    with frame_cols[1]:
        end_note = None if caps.end_frame else caps.notes.get("end_frame")
        end_ref = frame_input("End frame", "compose_end", disabled=not caps.end_frame or start_ref is None,
                              help_text=end_note or "Needs a start frame and pro mode; silent only.")

params = parameter_controls(caps, image_to_video=start_ref is not None)

variables, variable_errors = parse_variables(st.session_state.get("compose_variables", ""))
base = GenerationRequest(
    prompt="",
    negative_prompt=st.session_state.get("compose_negative", "") if caps.negative_prompt else "",
    mode=params.mode,
    duration=params.duration,
    aspect_ratio=params.aspect_ratio,
    cfg_scale=params.cfg_scale,
    audio=params.audio,
    start_frame=start_ref if caps.start_frame else None,
    end_frame=end_ref if caps.end_frame else None,
    voice_ids=params.voice_ids,
)
plan = lab.plan(actor, prompt_text, base, provider, variables=variables, sweeps=params.sweeps)

has_prompt = bool(prompt_text.strip())
cap = cap_message(prompt_text, variables, params.sweeps, plan.expansion.count) if has_prompt else None
with left:
    input_problems = variable_errors + list(params.sweep_errors)
    input_problems += [explained(m) for m in plan.expansion.errors if not is_cap_message(m)] + ([cap] if cap else [])
    if plan.takes and has_prompt:
        first = plan.takes[0].variation
        input_problems += [p.message for p in find_problems(first.request, first.provider) if p.field == "prompt"]
    for message in dict.fromkeys(input_problems):  # messages quote the template: shown as text, never markdown
        st.error(escape_markdown(message), icon=":material/error:")

st.subheader("Variations")
chosen = plan
if plan.takes and has_prompt:
    chosen = choose_takes(plan, settings)  # a Run checkbox per row: Generate sends the ticked takes
elif cap:
    st.info("Too many takes to list: see the message under the prompt.", icon=":material/filter_9_plus:")
elif has_prompt:
    st.info("Fix the template to see its variations and their cost.", icon=":material/error:")
else:
    st.info("Write a prompt to see its variations and their cost.", icon=":material/edit:")

with right:
    shown_left = set(input_problems)
    if has_prompt:
        other_problems = [m for m in chosen.errors if m not in plan.expansion.errors and m not in shown_left]
    else:  # no prompt yet: still say what is wrong with a frame
        other_problems = [p.message for p in find_problems(base, provider) if p.field == "frames"]
    for message in dict.fromkeys(other_problems):
        st.error(escape_markdown(message), icon=":material/error:")

frame_errors = st.session_state.get("compose_start_errors") or st.session_state.get("compose_end_errors") or []
with badge_slot:
    cost_badge(chosen, book, has_prompt=has_prompt, budget=lab.budget_left(actor))  # warns before a budget is crossed
    blockers = lab.missing_keys(actor, chosen) if has_prompt else []
    for message in blockers:
        st.info(message, icon=":material/key:")
    not_run = left_out_by_key(plan, chosen, settings) if has_prompt else None
    if not_run:
        st.caption(f":material/key_off: {not_run}")
    blocked = generate_blocker(prompt_text, chosen, input_problems=input_problems, missing_keys=blockers,
                               frame_errors=frame_errors)
    clicked = st.button("Generate", type="primary", icon=":material/play_arrow:", disabled=blocked is not None,
                        width="stretch", key="compose_generate", help=blocked)
    if blocked:
        st.caption(f":material/block: {blocked}")

keep_draft()  # every change is written to the store at once, so a reload or a restart loses nothing

if clicked:
    try:
        batch_id = lab.submit(actor, chosen, shot=target, parent_job_id=origin_take())
    except BudgetExceeded as exc:
        st.error(str(exc), title="Over budget", icon=":material/account_balance_wallet:")
    except ValueError as exc:
        st.error(escape_markdown(str(exc)), title="Not sent", icon=":material/block:")  # it may quote the template
    else:
        st.switch_page("pages/compare.py", query_params={"batch": batch_id})
