"""Fixtures of the reliability suite: the browser (Debian's Chromium) and the store backend.

`backend` runs a test once on SQLite and once on PostgreSQL (a fresh schema on
the test process's throwaway cluster, see tests/pg.py and backends.py).
"""

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import chromium, tab  # noqa: F401 - re-exported as fixtures for this folder
from tests.reliability.backends import BACKENDS, Backend, open_backend


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The store of one test: the data dir's SQLite file, or a PostgreSQL schema nobody else uses."""
    chosen = open_backend(request.param)
    yield chosen
    chosen.close()
