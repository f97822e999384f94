"""Who a runner is to the store: the lease owner name it claims jobs under."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import uuid
from pathlib import Path


class RunnerIdentity:
    """A stable lease owner for the main runner of a data dir, so a restart reclaims its own jobs at once.

    The first runner on a data dir takes an exclusive lock on `runner.lock` and
    the owner name "main"; the OS drops the lock when that process dies, even
    on SIGKILL, so the next start can pick up its jobs without waiting for the
    leases to run out. Any other concurrent runner gets a unique owner name.
    """

    def __init__(self, data_dir: Path) -> None:
        self._fh = None
        path = data_dir / "runner.lock"
        data_dir.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")  # noqa: SIM115 - held open for the process lifetime
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            self.owner = f"runner-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        else:
            self._fh = fh
            self.owner = "main"

    def release(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def one_off_owner() -> str:
    """The lease owner of a runner that drives one batch (the CLI's), unique per process and run."""
    return f"cli-{os.getpid()}-{uuid.uuid4().hex[:6]}"
