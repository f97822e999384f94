"""History and queue: batches, jobs, events, reviews and spend, on SQLite or PostgreSQL.

The store is the queue. A runner claims unfinished jobs with a lease (so two
runners never drive one job), writes every state transition here before taking
the next step, and the UI only reads from here. The same SQLAlchemy Core code
runs on SQLite (the default: one WAL file the app, the CLI and a worker share)
and on PostgreSQL (a team's store: row-locked claims and budget checks).

    schema.py      the tables (SQLAlchemy Core) and the schema version
    migrations/    Alembic environment and revisions 0001..; upgrade.py runs them on open
    database.py    URLs, engines, one read / one write transaction per dialect
    records.py     the frozen records rows become, ids
    queries.py     history filters (JobQuery) as SQL expressions
    queue.py       claims, leases, transitions, cancel requests, retries
    ledger.py      spend and budget checks
    review_book.py comments, one pick per reviewer, review links
    sequence_book.py sequences, their shots in order, and take numbers within a shot
    drafts.py      Compose drafts (the whole Compose state as JSON, per person)
    repository.py  Store, the one object the rest of Kling Lab holds
"""

from kling_lab.store.database import UnstorableText
from kling_lab.store.errors import BudgetExceeded, DatabaseUnavailable, LeaseLost, NewerSchema, UnsupportedDatabase
from kling_lab.store.queries import JobQuery
from kling_lab.store.records import (
    MAX_TEXT_CHARS,
    BatchRecord,
    DraftRecord,
    EventRecord,
    JobRecord,
    LinkRecord,
    NewJob,
    ReviewRecord,
    SequenceRecord,
    ShotRecord,
    SpendRecord,
    new_batch_id,
    new_id,
    retry_sends_create,
)
from kling_lab.store.repository import Store
from kling_lab.store.schema import SCHEMA_VERSION
from kling_lab.store.sequence_book import ShotSlot

__all__ = [
    "MAX_TEXT_CHARS",
    "SCHEMA_VERSION",
    "BatchRecord",
    "BudgetExceeded",
    "DatabaseUnavailable",
    "DraftRecord",
    "EventRecord",
    "JobQuery",
    "JobRecord",
    "LeaseLost",
    "LinkRecord",
    "NewJob",
    "NewerSchema",
    "ReviewRecord",
    "SequenceRecord",
    "ShotRecord",
    "ShotSlot",
    "SpendRecord",
    "Store",
    "UnstorableText",
    "UnsupportedDatabase",
    "new_batch_id",
    "new_id",
    "retry_sends_create",
]
