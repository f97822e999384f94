"""Whether a host base URL an owner types is safe to send the owner's keys to.

A base URL receives `Authorization: Bearer <key>` on every request, so it must be
HTTPS and must point at the public internet: not at this machine, the local network,
a link-local or cloud-metadata address (169.254.169.254), or any other address that
is not globally routable. Literal IPs are checked as written (including the old
integer and hex spellings such as `2130706433`); a name is checked by what it
resolves to right now, through an injectable resolver. An operator who runs a host
on their own network (or the test emulator) sets `KLING_LAB_ALLOW_PRIVATE_BASE_URLS=1`:
then private addresses are accepted, and plain HTTP is accepted for them only.
A name that resolves differently later (DNS rebinding) is the connecting client's
to check; this is the check at the moment the URL is saved.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

ALLOW_PRIVATE_ENV = "KLING_LAB_ALLOW_PRIVATE_BASE_URLS"

Resolver = Callable[[str], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class NameNotFound(Exception):
    """The resolver could not find the name."""


def system_resolver(host: str) -> list[str]:
    """Every address `host` resolves to on this machine."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise NameNotFound(host) from exc
    return sorted({str(info[4][0]) for info in infos})


def private_base_urls_allowed(environ: Mapping[str, str], secrets_map: Mapping[str, object] | None = None) -> bool:
    value = environ.get(ALLOW_PRIVATE_ENV)
    if value is None:
        try:
            from_file = (secrets_map or {}).get(ALLOW_PRIVATE_ENV)
        except Exception:  # noqa: BLE001 - st.secrets raises when no secrets file exists
            from_file = None
        value = str(from_file) if from_file is not None else ""
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _literal_ip(host: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        if not _LEGACY_IPV4.match(host):
            return None
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _public(address: IPAddress) -> bool:
    """Globally routable unicast (Python counts some multicast ranges as global; keys never go there)."""
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)


def _describe(address: IPAddress) -> str:
    if address.is_loopback:
        return "this machine (a loopback address)"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private network address"
    return "an address that is not on the public internet"


def base_url_problem(
    url: str,
    *,
    allow_private: bool = False,
    resolve: Resolver = system_resolver,
) -> str | None:
    """None when `url` may be used as a host's base URL; otherwise the sentence that says why not."""
    text = (url or "").strip()
    if not text:
        return "The base URL is empty."
    try:
        parts = urlsplit(text)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        return f"“{text}” is not a web address Kling Lab can use."
    if parts.scheme not in ("https", "http") or not host:
        return f"“{text}” is not a web address. A base URL looks like https://api.example.com."
    if parts.username is not None or parts.password is not None:
        return "A base URL cannot carry a user name or password; keys are set separately."
    if parts.query or parts.fragment:
        return "A base URL has no ?query or #fragment part."

    addresses: list[IPAddress]
    literal = _literal_ip(host)
    if literal is not None:
        addresses = [literal]
    elif host == "localhost" or host.endswith(".localhost"):
        addresses = [ipaddress.ip_address("127.0.0.1")]
    else:
        try:
            resolved = resolve(host)
        except NameNotFound:
            return f"The name {host} could not be found, so Kling Lab cannot check where it points."
        addresses = [a for a in (_literal_ip(r) for r in resolved) if a is not None]
        if not addresses:
            return f"The name {host} could not be found, so Kling Lab cannot check where it points."

    not_public = [a for a in addresses if not _public(a)]
    if not_public and not allow_private:
        where = host if literal is not None else f"{host} ({not_public[0]})"
        return (
            f"The base URL points at {where}, which is {_describe(not_public[0])}. Keys are only sent to "
            f"hosts on the public internet unless the operator sets {ALLOW_PRIVATE_ENV}=1."
        )
    if parts.scheme != "https" and (not allow_private or not_public != addresses):
        return "The base URL must start with https://, so that keys never travel unencrypted."
    return None
