"""Bring a database to this release's schema when a store opens it, cheaply when there is nothing to do.

- At the newest revision (every open but the first): one version read; Alembic is not even imported.
- Empty: the tables are created from `schema.py` and stamped at the newest revision, in one transaction.
- Written by a SQLite-only release (version in `meta`, no Alembic table): stamped at that
  version, then upgraded by the Alembic revisions, rows kept.
- At an older revision: upgraded by Alembic.
- At a revision this release does not know: refused (NewerSchema), nothing touched.

Creating and migrating happen under the schema lock (SQLite's immediate transaction,
PostgreSQL's advisory lock), so processes opening one new store at once agree.
`meta.schema_version` keeps mirroring the version, so a release from before Alembic
refuses a newer file instead of damaging it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Dialect, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import CreateIndex, CreateTable

from kling_lab.store.database import Database
from kling_lab.store.errors import DatabaseUnavailable, NewerSchema
from kling_lab.store.schema import (
    KLING_LAB_TABLES,
    LEDGER_LOCK_ID,
    LEGACY_SCHEMA_VERSION,
    SCHEMA_VERSION,
    alembic_version,
    ledger_lock,
    meta,
    metadata,
    revision_id,
    version_of,
)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HEAD = revision_id(SCHEMA_VERSION)


def current_revision(conn: Connection) -> str | None:
    """The Alembic revision the database is at, or None when it has no Alembic table."""
    if conn.dialect.name == "sqlite":
        # One plain statement on every open (no compile, no catalog read); SQLite reads run in autocommit.
        try:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except OperationalError as exc:
            if "no such table" in str(exc.orig):
                return None
            raise
    if not conn.dialect.has_table(conn, alembic_version.name):
        return None
    return conn.execute(select(alembic_version.c.version_num)).scalar()


def schema_version(db: Database) -> int:
    """The schema number the database is at (0 for an empty one)."""
    with db.read() as conn:
        revision = current_revision(conn)
        if revision is None:
            return _legacy_version(conn) or 0
    return int(revision) if revision.isdigit() else 0


def ensure_schema(db: Database) -> None:
    with db.read() as conn:
        if current_revision(conn) == HEAD:
            return
    with db.schema_change() as conn:
        revision = current_revision(conn)
        if revision == HEAD:
            return
        if revision is None:
            legacy = _legacy_version(conn)
            if not legacy:
                if _has_any_table(conn, besides=meta.name):
                    raise DatabaseUnavailable(
                        f"Kling Lab will not change {db.where}: it holds Kling Lab tables but no schema version. "
                        "Point KLING_LAB_DATABASE_URL at a new database or one Kling Lab wrote."
                    )
                _create_fresh(conn)
                return
            if legacy > LEGACY_SCHEMA_VERSION:
                raise _newer(str(legacy))
            revision = revision_id(legacy)
            _alembic(conn, "stamp", revision)
        if version_of(revision) is None:
            raise _newer(str(int(revision)) if revision.isdigit() else revision)
        _alembic(conn, "upgrade", HEAD)
        _mirror_version(conn)


def _newer(version: str) -> NewerSchema:
    return NewerSchema(f"This store was written by a newer Kling Lab (schema {version}); upgrade Kling Lab to open it.")


def _legacy_version(conn: Connection) -> int | None:
    if not conn.dialect.has_table(conn, meta.name):
        return None
    value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None and str(value).isdigit() else None


def _has_any_table(conn: Connection, *, besides: str) -> bool:
    return any(conn.dialect.has_table(conn, name) for name in KLING_LAB_TABLES if name != besides)


def _create_fresh(conn: Connection) -> None:
    for statement in _fresh_ddl(conn.dialect):
        conn.exec_driver_sql(statement)
    conn.execute(insert(alembic_version).values(version_num=HEAD))
    conn.execute(insert(ledger_lock).values(id=LEDGER_LOCK_ID))
    _mirror_version(conn)


_FRESH_DDL: dict[tuple[object, ...], tuple[str, ...]] = {}


def _fresh_ddl(dialect: Dialect) -> tuple[str, ...]:
    """CREATE statements for every table and index, compiled once per process and dialect.

    `IF NOT EXISTS`, because `meta` may be there, empty, from an old release that
    stopped before its first step. (Compiling them for each new store would cost
    more than running them: the test suite alone creates thousands of stores.)
    """
    key = (dialect.name, dialect.server_version_info)
    if key not in _FRESH_DDL:
        statements: list[str] = []
        for table in [*metadata.sorted_tables, alembic_version]:
            statements.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                statements.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
        _FRESH_DDL[key] = tuple(statements)
    return _FRESH_DDL[key]


def _mirror_version(conn: Connection) -> None:
    done = conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))
    if not done.rowcount:
        conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))


def alembic_config(conn: Connection | None = None):  # noqa: ANN201 - alembic.config.Config, imported lazily
    """An Alembic configuration for the packaged migrations, bound to `conn` when given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def _alembic(conn: Connection, command_name: str, revision: str) -> None:
    from alembic import command

    getattr(command, command_name)(alembic_config(conn), revision)
