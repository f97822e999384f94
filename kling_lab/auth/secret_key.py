"""The server secret that signs sessions and review links: from configuration, or made once on disk.

`KLING_LAB_SECRET_KEY` (environment, then `.streamlit/secrets.toml`) wins; a team
running several app servers sets it so that a link made on one is valid on all.
Otherwise a random key is generated once into `<data_dir>/secret.key`, readable
by this user only (mode 0600), written atomically so no reader ever sees half a
key. It never goes into the database, and it is never logged. Each use gets its
own key derived from it (`derive_key`), so a session token can never pass for a
review link or the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from kling_lab.atomic import atomic_file

log = logging.getLogger("kling_lab.auth")

SECRET_KEY_ENV = "KLING_LAB_SECRET_KEY"  # noqa: S105 - a variable name
SECRET_FILE_NAME = "secret.key"  # noqa: S105 - a file name
MIN_SECRET_CHARS = 32
_GENERATED_BYTES = 32


class SecretKeyError(Exception):
    """The secret cannot be used; the message says what to do, and never contains the secret."""


def _configured(environ: Mapping[str, str], secrets_map: Mapping[str, object] | None) -> tuple[str | None, str]:
    value = environ.get(SECRET_KEY_ENV)
    if value:
        return value, "the environment"
    try:
        from_file = (secrets_map or {}).get(SECRET_KEY_ENV)
    except Exception:  # noqa: BLE001 - st.secrets raises when no secrets file exists
        from_file = None
    if isinstance(from_file, str) and from_file:
        return from_file, ".streamlit/secrets.toml"
    return None, ""


def load_secret_key(
    data_dir: Path,
    environ: Mapping[str, str] | None = None,
    secrets_map: Mapping[str, object] | None = None,
) -> bytes:
    """The server secret as bytes: configured, or read from (or first written to) `<data_dir>/secret.key`."""
    env = os.environ if environ is None else environ
    value, where = _configured(env, secrets_map)
    if value is not None:
        value = value.strip()
        if len(value) < MIN_SECRET_CHARS:
            raise SecretKeyError(
                f"{SECRET_KEY_ENV} in {where} is shorter than {MIN_SECRET_CHARS} characters. "
                "Use a long random value, for example the output of "
                "`python -c \"import secrets; print(secrets.token_hex(32))\"`."
            )
        return value.encode("utf-8")
    return _key_file(Path(data_dir) / SECRET_FILE_NAME)


def _key_file(path: Path) -> bytes:
    existing = _read(path)
    if existing is not None:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    with _creation_lock(path):
        existing = _read(path)  # another process may have made it while we waited
        if existing is not None:
            return existing
        text = secrets.token_hex(_GENERATED_BYTES)
        with atomic_file(path, "w") as handle:
            os.chmod(handle.name, 0o600)
            handle.write(text + "\n")
        log.info("Generated a new server secret in %s.", path.name)
        return text.encode("utf-8")


def _read(path: Path) -> bytes | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        os.chmod(path, 0o600)
        log.warning("Tightened the permissions of %s to owner-only.", path.name)
    text = path.read_text(encoding="utf-8").strip()
    if len(text) < MIN_SECRET_CHARS:
        raise SecretKeyError(
            f"The server secret file {SECRET_FILE_NAME} in the data folder is shorter than {MIN_SECRET_CHARS} "
            f"characters. Delete it to have a new one made (every review link and password session made "
            f"with the old one stops working), or set {SECRET_KEY_ENV}."
        )
    return text.encode("utf-8")


@contextmanager
def _creation_lock(path: Path) -> Iterator[None]:
    """Serialise first-time creation between processes sharing the data folder (POSIX advisory lock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: atomic replace alone
        yield
        return
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose ("session", "review-link", ...), derived from the server secret."""
    if not purpose:
        raise ValueError("a derived key names its purpose")
    return hmac.new(secret, b"kling-lab/" + purpose.encode("utf-8"), hashlib.sha256).digest()
