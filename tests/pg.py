"""A throwaway PostgreSQL cluster for the tests: `initdb` + `pg_ctl` on a free loopback port, once per session.

Binaries come from PATH or /usr/lib/postgresql/*/bin. PostgreSQL refuses to run
as root, so as root the cluster belongs to the `postgres` system user (or
`nobody`) through `runuser`. Without binaries the PostgreSQL tests skip, except
when CI=true, where they fail: CI must exercise the team store.

Use it from a test module by importing the fixture under another name (so the
name pytest sees is `postgres_url`):

    from tests.pg import postgres_url_fixture  # noqa: F401
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

_CLUSTER: PostgresCluster | None = None


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _service_user() -> str | None:
    """The user to run PostgreSQL as: None when we are not root, else postgres (or nobody)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a postgres nor a nobody user exists to run PostgreSQL")


class PostgresCluster:
    """One initdb'd, running cluster; `url(schema)` gives a store URL confined to a fresh schema."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.user = _service_user()
        self.folder = Path(tempfile.mkdtemp(prefix="kling-lab-pg-"))
        self.data = self.folder / "data"
        self.port = 0
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "kling", "-A", "trust", "-E", "UTF8", "--no-sync")
        for _attempt in range(5):
            self.port = _free_port()
            options = f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off -c max_connections=200"
            started = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", options,
                                "-w", "-t", "60", "start", check=False)
            if started.returncode == 0:
                break
        else:
            log = (self.folder / "log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start:\n{log}")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.binaries / tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.folder, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}")
        return result

    @property
    def base_url(self) -> str:
        return f"postgresql://kling@127.0.0.1:{self.port}/postgres"

    def url(self, schema: str | None = None) -> str:
        """A URL whose search_path is a new, empty schema: each test gets a store of its own."""
        import psycopg

        schema = schema or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=kling dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return f"{self.base_url}?options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        """Stop the cluster and remove its folder (a second call does nothing)."""
        if not self.folder.exists():
            return
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def cluster() -> PostgresCluster:
    """The session's cluster, started on first use (skips, or fails under CI=true, without PostgreSQL)."""
    global _CLUSTER
    if _CLUSTER is None:
        binaries = find_binaries()
        if binaries is None:
            message = "PostgreSQL binaries (initdb, pg_ctl) not found; install Debian's postgresql package"
            if os.environ.get("CI") == "true":
                pytest.fail(message + " (CI=true: the PostgreSQL store tests must run)")
            pytest.skip(message)
        _CLUSTER = PostgresCluster(binaries)
        atexit.register(_CLUSTER.stop)
    return _CLUSTER


@pytest.fixture(name="postgres_url")
def postgres_url_fixture() -> str:
    """A PostgreSQL store URL on the session's cluster, in a schema no other test uses."""
    return cluster().url()
