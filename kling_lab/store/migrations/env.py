"""Alembic's environment for the store.

Kling Lab runs migrations itself when it opens a store (`kling_lab.store.upgrade`),
handing this file the connection it already holds, inside its own transaction
and schema lock. A developer can also run Alembic by hand, with any ini that
sets `script_location = kling_lab/store/migrations` and `sqlalchemy.url`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from kling_lab.store.schema import metadata


def _run(connection) -> None:  # noqa: ANN001 - a SQLAlchemy Connection
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as own:
        _run(own)
        own.commit()
