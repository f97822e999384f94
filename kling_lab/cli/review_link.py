"""`kling-lab review-link BATCH [--expires 7d] [--json]`: a URL that opens that batch's review board only.

The link is made through the same door as the app's "Copy review link" button and
signed with the same server secret (KLING_LAB_SECRET_KEY, or the data folder's
secret.key), so the app accepts it. The URL is absolute: KLING_LAB_PUBLIC_URL
when set, else the address Streamlit serves at (`server.address` and
`server.port`, as the app reads them).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from kling_lab.auth.exposure import server_address_from, server_option, streamlit_config_files
from kling_lab.auth.secret_key import load_secret_key
from kling_lab.cli.output import EXIT_OK, InvalidInput, Output
from kling_lab.cli.running import _open
from kling_lab.config import Settings
from kling_lab.lab import Actor, LabRoot

DEFAULT_PORT = 8501
_ANY_ADDRESS = ("", "0.0.0.0", "::", "[::]")  # noqa: S104 - addresses to replace, not to bind


def server_port_from(config_files: Sequence[Path], environ: Mapping[str, str]) -> int:
    """`server.port` as Streamlit resolves it (config files, then STREAMLIT_SERVER_PORT), else 8501."""
    port = environ.get("STREAMLIT_SERVER_PORT") or server_option(config_files, "port")
    try:
        return int(port) if port is not None else DEFAULT_PORT  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return DEFAULT_PORT


def lab_base_url(settings: Settings, environ: Mapping[str, str], cwd: Path) -> str:
    """Where visitors reach the lab: KLING_LAB_PUBLIC_URL, or http://<server.address or localhost>:<port>."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    files = streamlit_config_files(cwd)
    address = server_address_from(files, environ)
    host = "localhost" if address is None or address.strip() in _ANY_ADDRESS else address.strip()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{server_port_from(files, environ)}"


def cmd_review_link(args: argparse.Namespace, out: Output, settings: Settings,
                    secrets_map: Mapping[str, object] | None = None) -> int:
    store, media = _open(settings)
    secret = load_secret_key(settings.data_dir, os.environ, secrets_map)
    lab = LabRoot(settings, store, media, None, secret).lab
    try:
        url, link = lab.make_review_link(Actor.cli(), args.batch, args.expires,
                                         base_url=lab_base_url(settings, os.environ, Path.cwd()))
    except ValueError as exc:
        raise InvalidInput([str(exc)]) from exc
    until = time.strftime("%Y-%m-%d %H:%M", time.localtime(link.expires_at))
    out.note(f"This link opens batch {args.batch}'s review board only, until {until}; revoke it in History.")
    out.emit({"url": url, "expires_at": link.expires_at, "link_id": link.id}, url)
    return EXIT_OK
