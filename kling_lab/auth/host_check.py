"""Which Host headers the custom routes answer, decided the way Streamlit decides for its websocket.

Streamlit 1.67 checks a websocket's Host against `server.allowedHosts` (exact names,
`*.example.com` for subdomains, `*` for any; ports ignored; a Host with user info, a
path or a bad port is refused), and its Origin against localhost, 0.0.0.0, 127.0.0.1,
`browser.serverAddress`, this machine's addresses and `server.corsAllowedOrigins`
(everything when `server.enableCORS` is false). An empty `server.allowedHosts` lets
Streamlit's websocket accept any Host; the routes here are stricter, because they
serve files and exports: with no list they accept exactly the names that Origin check
accepts, plus the hosts of `KLING_LAB_PUBLIC_URL` and of the sign-in `redirect_uri`.
That is what stops DNS rebinding from reading `/exports` through a visitor's browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlparse

_HOST_CHARS = re.compile(r"^[a-z0-9._:%-]+$")  # a DNS name or an IP literal, nothing else
_ALWAYS = ("localhost", "0.0.0.0", "127.0.0.1", "::1")  # noqa: S104 - names, not a bind


def _parse_host(host_header: str | None) -> str | None:
    """The lower-cased host name in a Host header, or None when it is not a plain host[:port]."""
    if not host_header:
        return None
    try:
        parsed = urlparse(f"//{host_header}")
        hostname = parsed.hostname
        _ = parsed.port  # validates a supplied port: numeric and in range
    except ValueError:
        return None
    if (
        hostname is None
        or parsed.username is not None
        or parsed.password is not None
        or parsed.path
        or parsed.query
        or parsed.fragment
    ):
        return None
    hostname = hostname.lower().rstrip(".")
    return hostname if _HOST_CHARS.match(hostname) else None


def _hostname_of(value: str | None) -> str | None:
    """The host name in a URL or a bare host ("lab.example.com", "https://lab.example.com:8443/x")."""
    if not value or not value.strip():
        return None
    text = value.strip()
    parsed = urlparse(text if "//" in text else f"//{text}")
    try:
        host = parsed.hostname
    except ValueError:
        return None
    return host.lower().rstrip(".") if host else None


def _matches(hostname: str, pattern: str) -> bool:
    pattern = pattern.strip().lower().rstrip(".")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return hostname.endswith(pattern[1:])
    return hostname == pattern


@dataclass(frozen=True)
class HostPolicy:
    """The Host names a route accepts. Build it with `from_config`."""

    allowed_hosts: tuple[str, ...] = ()
    """`server.allowedHosts`: when set, it is the whole answer, as for Streamlit's websocket."""
    known_hosts: tuple[str, ...] = _ALWAYS
    """Used when `allowed_hosts` is empty: loopback names, configured addresses, this machine's addresses."""
    any_host: bool = False
    """`server.enableCORS = false` with no `allowedHosts`: Streamlit then accepts every origin, and so do we."""

    @classmethod
    def from_config(
        cls,
        *,
        allowed_hosts: Iterable[str] = (),
        server_address: str | None = None,
        browser_server_address: str | None = None,
        cors_allowed_origins: Iterable[str] = (),
        enable_cors: bool = True,
        public_url: str | None = None,
        redirect_uri: str | None = None,
        machine_addresses: Iterable[str] = (),
    ) -> HostPolicy:
        """The policy for these Streamlit options (`server.*`, `browser.serverAddress`) and Kling Lab settings.

        `machine_addresses` are this machine's own addresses (Streamlit adds its internal and
        external IP); the caller looks them up, so this stays a pure function.
        """
        listed = tuple(h.strip() for h in allowed_hosts if h and h.strip())
        known: list[str] = list(_ALWAYS)
        wildcard_bind = {"", "0.0.0.0", "::"}  # noqa: S104 - names, not a bind
        candidates = [
            None if (server_address or "").strip() in wildcard_bind else server_address,
            browser_server_address,
            public_url,
            redirect_uri,
            *cors_allowed_origins,
            *machine_addresses,
        ]
        for candidate in candidates:
            host = _hostname_of(candidate)
            if host and host not in known:
                known.append(host)
        return cls(allowed_hosts=listed, known_hosts=tuple(known), any_host=not enable_cors and not listed)


def host_allowed(host_header: str | None, configured: HostPolicy) -> bool:
    """True when a request with this Host header may be answered."""
    hostname = _parse_host(host_header)
    if configured.allowed_hosts:
        return hostname is not None and any(_matches(hostname, p) for p in configured.allowed_hosts)
    if configured.any_host:
        return hostname is not None
    return hostname is not None and hostname in configured.known_hosts


HOST_REFUSAL = "This address is not one this lab is served at."
