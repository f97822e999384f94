"""One module per emulated host; `HOST_CLASSES` maps provider names to them."""

from __future__ import annotations

from tests.emulator.hosts.aimlapi import AimlapiHost
from tests.emulator.hosts.base import HostEmulator
from tests.emulator.hosts.fal import FalHost
from tests.emulator.hosts.inference import InferenceHost
from tests.emulator.hosts.kie import KieHost
from tests.emulator.hosts.kling import KlingHost
from tests.emulator.hosts.replicate import ReplicateHost

HOST_CLASSES: dict[str, type[HostEmulator]] = {
    "kie": KieHost,
    "replicate": ReplicateHost,
    "aimlapi": AimlapiHost,
    "fal": FalHost,
    "kling": KlingHost,
    "inference": InferenceHost,
}

__all__ = ["HOST_CLASSES", "HostEmulator"]
