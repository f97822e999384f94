"""Fixtures of the host-client tests: one emulator per module, and a clean one for each test.

A client test module asks for the reset with `pytestmark = pytest.mark.usefixtures("fresh")`.
"""

from __future__ import annotations

import pytest

from tests.emulator import Emulator
from tests.emulator.testing import FrameStore


@pytest.fixture(scope="module")
def emu():
    with Emulator(latency=0) as emulator:
        yield emulator


@pytest.fixture
def fresh(emu):
    """A clean emulator for each test, and no server-side error left behind by it."""
    emu.reset()
    yield
    assert emu.stats()["server_errors"] == []


@pytest.fixture
def store() -> FrameStore:
    return FrameStore()
