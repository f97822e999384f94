"""The SQL the SQLite-only releases (schema 1 to 3) ran, frozen here so tests can write their files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

LEGACY_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE IF NOT EXISTS batches (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        template TEXT NOT NULL,
        provider TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT 'app',
        estimated_total TEXT NOT NULL DEFAULT '0',
        settings_json TEXT NOT NULL DEFAULT '{}',
        winner_job_id TEXT,
        notes TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        batch_id TEXT NOT NULL REFERENCES batches(id),
        position INTEGER NOT NULL,
        label TEXT NOT NULL,
        provider TEXT NOT NULL,
        prompt TEXT NOT NULL,
        request_json TEXT NOT NULL,
        state TEXT NOT NULL,
        host_task_id TEXT,
        host_extra_json TEXT,
        error TEXT,
        error_kind TEXT,
        estimated_cost TEXT,
        actual_cost TEXT,
        progress REAL,
        video_path TEXT,
        thumb_path TEXT,
        video_bytes INTEGER,
        video_duration REAL,
        video_width INTEGER,
        video_height INTEGER,
        has_audio INTEGER,
        details_json TEXT NOT NULL DEFAULT '{}',
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        submitted_at REAL,
        finished_at REAL,
        lease_owner TEXT,
        lease_until REAL,
        starred INTEGER NOT NULL DEFAULT 0,
        rating INTEGER,
        notes TEXT NOT NULL DEFAULT '',
        deleted_at REAL
    );
    CREATE INDEX IF NOT EXISTS jobs_batch ON jobs(batch_id, position);
    CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
    CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at DESC);
    CREATE INDEX IF NOT EXISTS jobs_task ON jobs(provider, host_task_id);
    CREATE INDEX IF NOT EXISTS batches_created ON batches(created_at DESC);
    CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        at REAL NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX IF NOT EXISTS events_job ON events(job_id, id);
    """,
    2: """
    ALTER TABLE jobs ADD COLUMN duration INTEGER;
    ALTER TABLE jobs ADD COLUMN audio INTEGER;
    ALTER TABLE jobs ADD COLUMN aspect_ratio TEXT;
    UPDATE jobs SET duration = json_extract(request_json, '$.duration'),
                    audio = json_extract(request_json, '$.audio'),
                    aspect_ratio = json_extract(request_json, '$.aspect_ratio');
    CREATE INDEX IF NOT EXISTS jobs_provider_created ON jobs(provider, created_at DESC);
    CREATE INDEX IF NOT EXISTS jobs_state_created ON jobs(state, created_at DESC);
    CREATE INDEX IF NOT EXISTS jobs_starred_created ON jobs(starred, created_at DESC);
    CREATE TABLE IF NOT EXISTS reviews (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id TEXT NOT NULL REFERENCES batches(id),
        job_id TEXT,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        at REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS reviews_batch ON reviews(batch_id, at);
    """,
    3: """
    ALTER TABLE jobs ADD COLUMN cancel_requested_at REAL;
    """,
}


def write_legacy_store(path: Path, version: int) -> sqlite3.Connection:
    """A SQLite file exactly as the release at schema `version` left it (caller adds rows, commits, closes)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for step in range(1, version + 1):
        for statement in LEGACY_MIGRATIONS[step].split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute("INSERT INTO meta VALUES('schema_version', ?)", (str(version),))
    conn.commit()
    return conn
