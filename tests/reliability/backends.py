"""The store a reliability test runs on: the default SQLite file in the data dir, or a PostgreSQL schema of its own.

A test takes the `backend` fixture (tests/reliability/conftest.py), which runs
it once per backend. `backend.env` is what every process of the test adds to
its environment (the app, the CLI, a worker): nothing for SQLite,
`KLING_LAB_DATABASE_URL` for PostgreSQL. `backend.store(data_dir)` opens the
same store from the test itself. The PostgreSQL schema is new and empty for
each test, made on the one cluster of the test process (tests/pg.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kling_lab.store import Store

BACKENDS = ["sqlite", "postgresql"]


@dataclass
class Backend:
    """One test's store: `name` is "sqlite" or "postgresql"; `url` None means the data dir's SQLite file."""

    name: str
    url: str | None = None
    opened: list[Store] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {"KLING_LAB_DATABASE_URL": self.url} if self.url else {}

    def store(self, data_dir: Path) -> Store:
        """The store every process of the test shares, opened here (closed when the test ends)."""
        store = Store.from_url(self.url, data_dir / "kling_lab.sqlite3")
        self.opened.append(store)
        return store

    def close(self) -> None:
        for store in self.opened:
            store.close()
        self.opened.clear()


def open_backend(name: str) -> Backend:
    """A Backend named `name`; for PostgreSQL a fresh schema on the session's cluster."""
    if name == "sqlite":
        return Backend("sqlite")
    from tests.pg import cluster

    return Backend("postgresql", cluster().url())
