"""The store's tables as SQLAlchemy Core, the one description both SQLite and PostgreSQL are built from.

The layout is the one the SQLite-only releases wrote (and that their files
still hold): text ids, costs as decimal text, JSON as text, flags as 0/1
integers and times as epoch floats. A fresh database is created from these
tables and stamped at the newest migration; an older one is brought here by
the Alembic revisions in `migrations/versions`, which must end at exactly this
schema (tests compare the two).
"""

from __future__ import annotations

from sqlalchemy import (
    REAL,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from kling_lab.domain.jobs import FINAL_STATES, JobState

SCHEMA_VERSION = 8
"""The newest schema this release knows; migration revision ids are this number, zero-padded to four digits."""

LEGACY_SCHEMA_VERSION = 3
"""The newest schema the SQLite-only releases wrote (their version lives in `meta`, not in Alembic's table)."""

UNFINISHED_STATES = tuple(s.value for s in JobState if s not in FINAL_STATES)

LEDGER_LOCK_ID = 1

EPOCH_SECONDS = Float().with_variant(REAL(), "sqlite")
"""Times: REAL in SQLite (as the SQLite-only releases wrote them), double precision in PostgreSQL."""


def revision_id(version: int) -> str:
    return f"{version:04d}"


def version_of(revision: str) -> int | None:
    """The schema number of an Alembic revision id, or None when this release does not know it."""
    return int(revision) if revision.isdigit() and 1 <= int(revision) <= SCHEMA_VERSION else None


metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
"""key schema_version mirrors the Alembic revision, so a release from before Alembic refuses a newer file."""

batches = Table(
    "batches",
    metadata,
    Column("id", Text, primary_key=True),
    Column("created_at", EPOCH_SECONDS, nullable=False),
    Column("template", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("source", Text, nullable=False, server_default="app"),
    Column("estimated_total", Text, nullable=False, server_default="0"),
    Column("settings_json", Text, nullable=False, server_default="{}"),
    Column("winner_job_id", Text),
    Column("notes", Text, nullable=False, server_default=""),
    # schema 7: the shot the batch was made for (its takes are numbered within the shot)
    Column("shot_id", Text),
    Index("batches_created", text("created_at DESC")),
    Index("batches_shot", "shot_id", "created_at"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("label", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("prompt", Text, nullable=False),
    Column("request_json", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("host_task_id", Text),
    Column("host_extra_json", Text),
    Column("error", Text),
    Column("error_kind", Text),
    Column("estimated_cost", Text),
    Column("actual_cost", Text),
    Column("progress", EPOCH_SECONDS),
    Column("video_path", Text),
    Column("thumb_path", Text),
    Column("video_bytes", Integer),
    Column("video_duration", EPOCH_SECONDS),
    Column("video_width", Integer),
    Column("video_height", Integer),
    Column("has_audio", Integer),
    Column("details_json", Text, nullable=False, server_default="{}"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("created_at", EPOCH_SECONDS, nullable=False),
    Column("updated_at", EPOCH_SECONDS, nullable=False),
    Column("submitted_at", EPOCH_SECONDS),
    Column("finished_at", EPOCH_SECONDS),
    Column("lease_owner", Text),
    Column("lease_until", EPOCH_SECONDS),
    Column("starred", Integer, nullable=False, server_default=text("0")),
    Column("rating", Integer),
    Column("notes", Text, nullable=False, server_default=""),
    Column("deleted_at", EPOCH_SECONDS),
    # schema 2: the history filters read these instead of parsing request_json
    Column("duration", Integer),
    Column("audio", Integer),
    Column("aspect_ratio", Text),
    # schema 3
    Column("cancel_requested_at", EPOCH_SECONDS),
    # schema 7: a take of a shot (T001, … across the shot's batches) and the take it came from
    Column("shot_id", Text),
    Column("take_number", Integer),
    Column("parent_job_id", Text),
    Column("lineage", Text, nullable=False, server_default=""),
    Index("jobs_batch", "batch_id", "position"),
    Index("jobs_state", "state"),
    Index("jobs_created", text("created_at DESC")),
    Index("jobs_task", "provider", "host_task_id"),
    Index("jobs_provider_created", "provider", text("created_at DESC")),
    Index("jobs_state_created", "state", text("created_at DESC")),
    Index("jobs_starred_created", "starred", text("created_at DESC")),
    Index("jobs_shot_take", "shot_id", "take_number"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Text, nullable=False),
    Column("batch_id", Text, nullable=False),
    Column("at", EPOCH_SECONDS, nullable=False),
    Column("from_state", Text),
    Column("to_state", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Index("events_job", "job_id", "id"),
    sqlite_autoincrement=True,
)

reviews = Table(
    "reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("job_id", Text),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("text", Text, nullable=False, server_default=""),
    Column("at", EPOCH_SECONDS, nullable=False),
    Index("reviews_batch", "batch_id", "at"),
    sqlite_autoincrement=True,
)

ledger_lock = Table(
    "ledger_lock",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
)
"""One row (schema 4): a budget check locks it, so two writers never both pass the same budget."""

review_links = Table(
    "review_links",
    metadata,
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("created_at", EPOCH_SECONDS, nullable=False),
    Column("expires_at", EPOCH_SECONDS, nullable=False),
    Column("revoked_at", EPOCH_SECONDS),
    Column("created_by", Text, nullable=False, server_default=""),
    Column("label", Text, nullable=False, server_default=""),
    Index("review_links_target", "kind", "target", "created_at"),
)
"""Schema 5: the review links made, so History can list and revoke them. Never the signing key."""

review_picks = Table(
    "review_picks",
    metadata,
    Column("batch_id", Text, ForeignKey("batches.id"), nullable=False),
    Column("reviewer", Text, nullable=False),
    Column("link_id", Text, nullable=False, server_default=""),
    Column("name", Text, nullable=False),
    Column("job_id", Text, nullable=False),
    Column("at", EPOCH_SECONDS, nullable=False),
    PrimaryKeyConstraint("batch_id", "reviewer", name="review_picks_pkey"),
)
"""Schema 5: one pick per reviewer per batch (the link id and the typed name), changed in place, deleted to un-pick.
`reviews` keeps the comments (a list)."""

drafts = Table(
    "drafts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("owner_kind", Text, nullable=False),
    Column("owner_name", Text, nullable=False, server_default=""),
    Column("state_json", Text, nullable=False, server_default="{}"),
    Column("origin", Text, nullable=False, server_default=""),
    Column("created_at", EPOCH_SECONDS, nullable=False),
    Column("updated_at", EPOCH_SECONDS, nullable=False),
    Index("drafts_owner_updated", "owner_kind", "owner_name", text("updated_at DESC")),
)
"""Schema 6: Compose work in progress (template, variables, parameters, sweeps, frames by hash, toggles) as JSON,
whose it is, and where it came from (a take it was loaded from), so a reload, a new tab or a restart loses nothing."""

sequences = Table(
    "sequences",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),
    Column("project", Text, nullable=False, server_default=""),
    Column("created_by", Text, nullable=False, server_default=""),
    Column("created_at", EPOCH_SECONDS, nullable=False),
    Column("updated_at", EPOCH_SECONDS, nullable=False),
    Index("sequences_name", "name_key", unique=True),
    Index("sequences_project", "project", "name_key"),
)
"""Schema 7: a project's sequences (`project` names the project; "" is the default one). `name_key` is the
casefolded name, unique, so a sequence is found by its name as well as its id."""

shots = Table(
    "shots",
    metadata,
    Column("id", Text, primary_key=True),
    Column("sequence_id", Text, ForeignKey("sequences.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False, server_default=""),
    Column("pick_job_id", Text),
    Column("pick_by", Text, nullable=False, server_default=""),
    Column("pick_at", EPOCH_SECONDS),
    Column("trim_in", Integer),
    Column("trim_out", Integer),
    Column("start_frame_json", Text),
    Column("created_at", EPOCH_SECONDS, nullable=False),
    Column("updated_at", EPOCH_SECONDS, nullable=False),
    Index("shots_sequence", "sequence_id", "position"),
    Index("shots_number", "sequence_id", "number", unique=True),
)
"""Schema 7: a sequence's shots in order (`number` 10, 20, … is the SH010 code; `position` the order), each with
its one pick, trims in frames at 24 fps (None: the clip's start / end), and a start frame for its next batch
(a FrameRef as JSON, e.g. the previous shot's last frame)."""

take_comments = Table(
    "take_comments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Text, nullable=False),
    Column("batch_id", Text, nullable=False),
    Column("at_seconds", EPOCH_SECONDS, nullable=False),
    Column("until_seconds", EPOCH_SECONDS),
    Column("text", Text, nullable=False),
    Column("author_name", Text, nullable=False),
    Column("author_kind", Text, nullable=False),
    Column("author_key", Text, nullable=False),
    Column("link_id", Text, nullable=False, server_default=""),
    Column("created_at", EPOCH_SECONDS, nullable=False),
    Column("updated_at", EPOCH_SECONDS, nullable=False),
    Column("deleted_at", EPOCH_SECONDS),
    Index("take_comments_batch", "batch_id", "job_id", "at_seconds"),
    sqlite_autoincrement=True,
)
"""Schema 8: comments at a time (or a range) of a take, with their author (`author_key`: who may edit or
delete it: the link and name of a reviewer, or the signed-in person)."""

take_statuses = Table(
    "take_statuses",
    metadata,
    Column("job_id", Text, primary_key=True),
    Column("batch_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("set_by", Text, nullable=False),
    Column("author_key", Text, nullable=False, server_default=""),
    Column("set_at", EPOCH_SECONDS, nullable=False),
    Index("take_statuses_batch", "batch_id"),
)
"""Schema 8: one status per take (approved, changes, rejected), who set it and when; changed in place."""

KLING_LAB_TABLES = ("meta", "batches", "jobs", "events", "reviews", "ledger_lock", "review_links", "review_picks",
                    "drafts", "sequences", "shots", "take_comments", "take_statuses")

# Alembic's own bookkeeping table, written directly when a fresh database is stamped (same DDL Alembic uses).
version_metadata = MetaData()
alembic_version = Table(
    "alembic_version",
    version_metadata,
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)
