"""Fixtures of the oracle tests: the host-client tests' own (tests/unit/conftest.py), with the reset for every test.

Each module gets one emulator (`emu`) and each test a fresh `store`; every test starts on a clean emulator and
must leave no server-side error behind (`fresh`, here applied to every test, as each oracle module asked for).
"""

from __future__ import annotations

import pytest

from tests.unit import conftest as unit_fixtures

emu = unit_fixtures.emu
fresh = unit_fixtures.fresh
store = unit_fixtures.store


@pytest.fixture(autouse=True)
def _fresh_for_every_test(fresh) -> None:
    """Every oracle test runs with `fresh`."""
