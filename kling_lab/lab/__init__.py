"""The door into the lab: every action and read a person or a script takes, with who is asking.

Screens, the CLI and the routes call a `Lab` instead of reaching the store, the
runner or the media folder, so the rules that keep money and keys safe hold on
every path. Each call names its `Actor`; `allowed` is the one table of who may
do what, where sign-in and roles plug in. `build_root` composes the process's
parts once and hands out the `Lab`.

- `actors`: `Actor`, `Scope`, `allowed`, `NotAllowed`: who may do what, and the one-batch rule of review links.
- `door`: `Lab` and its actions (submit, re-run, retry, cancel, delete, pick, annotate, review).
- `reads`, `files`, `changes`: what the screens read, the files the routes serve, settings and prices.
- `drafts`: Compose drafts (save as you type, open by id, the latest, recent ones, one made from a take).
- `links`: review links (make, list, revoke, open) and the file tokens in route URLs.
- `sequences`: sequences of shots, takes filed under a shot, picks, trims, continuity, the cut and exports.
- `take_reviews`: comments at a time or a range of a take (author-only edits), and each take's status.
- `root`: `build_root` / `LabRoot`, the composition root.

The types and constants a screen needs come from here too, so pages and
components never import the store, the runner, the media folder or the config.
"""

from __future__ import annotations

from kling_lab.auth.review_links import LinkRefusal
from kling_lab.auth.secret_key import SecretKeyError
from kling_lab.batches import BatchPlan, BudgetLeft
from kling_lab.config import DEFAULT_BASE_URLS, Settings
from kling_lab.lab.actors import ACTION_WORDS, Action, Actor, ActorKind, NotAllowed, Scope, allowed
from kling_lab.lab.door import Lab
from kling_lab.lab.drafts import RECENT_DRAFTS, draft_title, normal_state, same_state
from kling_lab.lab.links import FILE_TOKEN_PARAM, REVIEW_PARAM
from kling_lab.lab.root import LabRoot, build_root
from kling_lab.lab.sequences import ShotTarget, parse_shot_code
from kling_lab.lab.take_reviews import LEAD
from kling_lab.runner import DEFAULT_CONCURRENCY
from kling_lab.sequences.lineage import lineage_line
from kling_lab.sequences.model import FPS, Cut, CutShot, Marker, seconds_to_frames, shot_code, take_code, timecode
from kling_lab.store import (
    MAX_TEXT_CHARS,
    BatchRecord,
    BudgetExceeded,
    DatabaseUnavailable,
    DraftRecord,
    EventRecord,
    JobQuery,
    JobRecord,
    LinkRecord,
    NewerSchema,
    ReviewRecord,
    UnsupportedDatabase,
)
from kling_lab.store.records import SequenceRecord, ShotRecord, TakeCommentRecord, TakeStatusRecord
from kling_lab.take_review import MAX_COMMENT_CHARS, STATUS_WORDS, TAKE_STATUSES, format_time
from kling_lab.user_settings import UserSettings, parse_base_url, parse_budget

STORE_PROBLEMS = (UnsupportedDatabase, DatabaseUnavailable, NewerSchema, SecretKeyError)
"""What building the process's parts (the store, the server secret) can fail with that the operator must fix;
each says so in one plain sentence."""

__all__ = [
    "BudgetLeft",
    "STORE_PROBLEMS",
    "ACTION_WORDS",
    "DEFAULT_BASE_URLS",
    "DEFAULT_CONCURRENCY",
    "RECENT_DRAFTS",
    "FILE_TOKEN_PARAM",
    "REVIEW_PARAM",
    "MAX_TEXT_CHARS",
    "MAX_COMMENT_CHARS",
    "STATUS_WORDS",
    "FPS",
    "Cut",
    "CutShot",
    "Marker",
    "SequenceRecord",
    "ShotRecord",
    "ShotTarget",
    "lineage_line",
    "parse_shot_code",
    "seconds_to_frames",
    "shot_code",
    "take_code",
    "timecode",
    "TAKE_STATUSES",
    "LEAD",
    "Action",
    "Actor",
    "ActorKind",
    "BatchPlan",
    "BatchRecord",
    "BudgetExceeded",
    "DraftRecord",
    "EventRecord",
    "JobQuery",
    "JobRecord",
    "Lab",
    "LabRoot",
    "LinkRecord",
    "LinkRefusal",
    "NotAllowed",
    "ReviewRecord",
    "TakeCommentRecord",
    "TakeStatusRecord",
    "format_time",
    "Scope",
    "Settings",
    "UserSettings",
    "allowed",
    "build_root",
    "draft_title",
    "normal_state",
    "parse_base_url",
    "parse_budget",
    "same_state",
]
