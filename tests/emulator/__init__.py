"""A loopback HTTP emulator of every Kling 2.6 host's documented protocol, with latency and fault injection.

    from tests.emulator import Emulator

    with Emulator(latency=0) as emu:
        env = emu.env()          # KLING_LAB_<HOST>_BASE_URL, KLING_LAB_KIE_UPLOAD_URL and fake keys
        emu.add_fault("http", host="fal", op="status", status=503, retry_after="2")
        emu.stats()

Run it standalone for a separately started app: `python -m tests.emulator --port 8765`.
"""

from tests.emulator.core import DEFAULT_KEYS, CreateRecord, Emulator, Knobs
from tests.emulator.faults import FAULT_KINDS, OPERATIONS, FaultRule
from tests.emulator.remote import RemoteEmulator
from tests.emulator.tasks import OutcomeRule

__all__ = [
    "DEFAULT_KEYS",
    "FAULT_KINDS",
    "OPERATIONS",
    "CreateRecord",
    "Emulator",
    "FaultRule",
    "Knobs",
    "OutcomeRule",
    "RemoteEmulator",
]
