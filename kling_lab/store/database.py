"""Which database the store talks to, and the two ways it talks: a read, and one write transaction.

SQLite (the default, one file beside the media) runs in WAL mode with a busy
timeout, so the app, a CLI run and a worker share one file; a write is one
`BEGIN IMMEDIATE` transaction, which SQLite serializes. PostgreSQL (a team's
shared store) is reached through psycopg 3; a write is an ordinary transaction
and the queue and the ledger take row locks inside it (see queue.py, ledger.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.exc import DBAPIError as _DBAPIError

from kling_lab.store.errors import DatabaseUnavailable, UnsupportedDatabase
from kling_lab.store.schema import LEDGER_LOCK_ID, ledger_lock

SUPPORTED = "a sqlite:///path/to/file.sqlite3 URL or a postgresql://user@host/database URL"

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)

SCHEMA_LOCK_KEY = 0x4B4C_4142  # "KLAB": the advisory lock a PostgreSQL store holds while it creates or migrates


class UnstorableText(ValueError):  # noqa: N818 - read as "this text is unstorable"
    """Text a statement would write or look for holds what no database here can keep (a NUL, a lone surrogate)."""


UNSTORABLE_TEXT = (
    "Kling Lab can't store text that contains a NUL character (\\0) or characters that are not valid Unicode; "
    "remove them and try again."
)


def unstorable(value: object) -> bool:
    """True for a string no database here can keep or look for (a NUL, a lone surrogate)."""
    if not isinstance(value, str):
        return False
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _refuse_unstorable_text(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any,
                            executemany: bool) -> None:
    """Before any statement reaches the database (SQLite or PostgreSQL): refuse text it can't hold.

    PostgreSQL rejects a NUL in text with a driver error and SQLite would keep
    it and hand it to every page and host later; both refuse here instead, with
    one sentence, whichever write path the text came through (a prompt, label,
    note, comment or reviewer's name).
    """
    rows = parameters if executemany else [parameters]
    for row in rows or ():
        values = row.values() if isinstance(row, dict) else row if isinstance(row, list | tuple) else ()
        if any(unstorable(v) for v in values):
            raise UnstorableText(UNSTORABLE_TEXT)


def parse_database_url(url: str) -> Path | URL:
    """A SQLite file path, or a PostgreSQL URL set to the psycopg 3 driver; UnsupportedDatabase otherwise."""
    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        raise UnsupportedDatabase(
            f"KLING_LAB_DATABASE_URL is not a database URL Kling Lab can read; use {SUPPORTED}."
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise UnsupportedDatabase(
                "KLING_LAB_DATABASE_URL names an in-memory SQLite database, which would forget every clip; "
                "give it a file, as in sqlite:///path/to/file.sqlite3."
            )
        return Path(parsed.database)
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend in ("postgresql", "postgres"):
        raise UnsupportedDatabase(
            f"KLING_LAB_DATABASE_URL asks for the “{driver}” PostgreSQL driver; Kling Lab talks to PostgreSQL "
            "through psycopg 3, so write the URL as postgresql://user@host/database."
        )
    raise UnsupportedDatabase(
        f"KLING_LAB_DATABASE_URL names a “{backend}” database, which Kling Lab does not support; use {SUPPORTED}."
    )


def describe(url: URL) -> str:
    """Where a PostgreSQL store lives, for messages: host, port and database, never the password."""
    host = url.host or "the local socket"
    port = f":{url.port}" if url.port else ""
    return f"the PostgreSQL database “{url.database or url.username or ''}” on {host}{port}"


class Database:
    """An engine and its dialect's way of running one read or one write transaction."""

    def __init__(self, engine: Engine, *, where: str) -> None:
        event.listen(engine, "before_cursor_execute", _refuse_unstorable_text)
        self.engine = engine
        self.where = where
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.is_postgres = engine.dialect.name == "postgresql"

    @classmethod
    def sqlite(cls, path: Path) -> Database:
        engine = create_engine(
            URL.create("sqlite+pysqlite", database=str(path)),
            # Autocommit at the driver: a read is its own snapshot, a write says BEGIN IMMEDIATE itself.
            isolation_level="AUTOCOMMIT",
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=8,
            max_overflow=-1,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine, where=f"the SQLite file {path.name}")

    @classmethod
    def postgres(cls, url: URL) -> Database:
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = 10
        if "application_name" not in url.query:
            connect_args["application_name"] = "kling-lab"
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args)
        return cls(engine, where=describe(url))

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads; on SQLite each statement sees the newest committed store."""
        with self._connect() as conn, self._damage_said():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back when it raises.

        On SQLite it is `BEGIN IMMEDIATE`, so reads inside it see a stable store
        and no other writer (thread or process) runs until it ends.
        """
        with self._connect() as conn, self._damage_said():
            if not self.is_sqlite:
                with conn.begin():
                    yield conn
                return
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                _sqlite_rollback(conn)
                raise
            conn.exec_driver_sql("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction whose reads agree with each other (SQLite: deferred BEGIN)."""
        with self._connect() as conn, self._damage_said():
            if not self.is_sqlite:
                with conn.begin():
                    yield conn
                return
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                _sqlite_rollback(conn)

    @contextmanager
    def schema_change(self) -> Iterator[Connection]:
        """A write transaction that also keeps every other process from creating or migrating the schema."""
        with self.write() as conn:
            if self.is_postgres:
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
            yield conn

    def lock_ledger(self, conn: Connection, *, shared: bool = False) -> None:
        """Inside a write (or snapshot): hold the ledger until the transaction ends.

        PostgreSQL: a row lock on `ledger_lock`, so budget checks and the
        inserts they allow are serialized across every app server and worker
        (`shared` lets readers run together while a writer waits). SQLite's
        immediate transaction already excludes every other writer.
        """
        if self.is_postgres:
            conn.execute(select(ledger_lock.c.id).where(ledger_lock.c.id == LEDGER_LOCK_ID)
                         .with_for_update(read=shared))

    def close(self) -> None:
        """Close the idle connections; the store opens new ones if it is used again."""
        self.engine.dispose()

    @contextmanager
    def _damage_said(self) -> Iterator[None]:
        """A damaged SQLite file (or one that is not a store) is one sentence saying what to do, not a driver error."""
        try:
            yield
        except _DBAPIError as exc:
            damaged = self._damaged(exc)
            if damaged is None:
                raise
            raise damaged from None

    def _damaged(self, exc: _DBAPIError) -> DatabaseUnavailable | None:
        # Exactly sqlite3.DatabaseError ("file is not a database", "database disk image is malformed"); its
        # subclasses (OperationalError: locked, busy; IntegrityError) are not damage.
        if not self.is_sqlite or type(exc.orig) is not sqlite3.DatabaseError:
            return None
        return DatabaseUnavailable(
            f"Kling Lab cannot read {self.where} in its data folder: it is damaged or is not a Kling Lab store. "
            "Stop Kling Lab, move that file (and any -wal and -shm files beside it) aside or restore a backup, "
            "and start again."
        )

    def _connect(self) -> Connection:
        try:
            return self.engine.connect()
        except _DBAPIError as exc:
            damaged = self._damaged(exc)
            if damaged is not None:
                raise damaged from None
            if not self.is_postgres:
                raise
            lines = str(exc.orig or "").strip().splitlines()
            reason = lines[0].rstrip(".") if lines else ""
            raise DatabaseUnavailable(
                f"Kling Lab could not connect to {self.where}" + (f" ({reason})." if reason else ".")
                + " Check KLING_LAB_DATABASE_URL and that the server is running."
            ) from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_rollback(conn: Connection) -> None:
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and dbapi.in_transaction:
        conn.exec_driver_sql("ROLLBACK")
