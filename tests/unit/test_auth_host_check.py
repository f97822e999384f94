"""The routes' Host check follows Streamlit's websocket rules (server.allowedHosts, its Origin allow-list)."""

from __future__ import annotations

import pytest

from kling_lab.auth.host_check import HostPolicy, host_allowed

DEFAULT = HostPolicy.from_config()


@pytest.mark.parametrize("host", ["localhost", "localhost:8501", "127.0.0.1:8501", "[::1]:8501", "LOCALHOST.",
                                  "0.0.0.0:8501"])
def test_loopback_names_are_always_accepted(host) -> None:
    assert host_allowed(host, DEFAULT)


@pytest.mark.parametrize("host", [None, "", "evil.example", "evil.example:8501", "127.0.0.1.evil.example",
                                  "localhost:99999", "localhost:abc", "user@localhost", "localhost/path",
                                  "localhost?x=1", "localhost#f", "localhost evil"])
def test_other_or_malformed_hosts_are_refused_by_default(host) -> None:
    assert not host_allowed(host, DEFAULT)


def test_configured_addresses_and_urls_are_accepted() -> None:
    policy = HostPolicy.from_config(
        server_address="10.0.0.5", browser_server_address="lab.example.com",
        public_url="https://public.example.com:8443/base", redirect_uri="https://sso.example.com/oauth2callback",
        cors_allowed_origins=["https://tools.example.com"], machine_addresses=["192.168.1.20"])
    for host in ("10.0.0.5:8501", "lab.example.com", "public.example.com:8443", "sso.example.com",
                 "tools.example.com", "192.168.1.20:8501", "Lab.Example.Com."):
        assert host_allowed(host, policy), host
    assert not host_allowed("other.example.com", policy)


def test_a_wildcard_bind_address_adds_no_host() -> None:
    assert HostPolicy.from_config(server_address="0.0.0.0").known_hosts == DEFAULT.known_hosts  # noqa: S104
    assert HostPolicy.from_config(server_address="::").known_hosts == DEFAULT.known_hosts


def test_allowed_hosts_is_the_whole_answer_when_set() -> None:
    policy = HostPolicy.from_config(allowed_hosts=["app.example.com", "*.team.example.com"],
                                    browser_server_address="lab.example.com")
    assert host_allowed("app.example.com:443", policy)
    assert host_allowed("a.team.example.com", policy)
    assert host_allowed("x.y.team.example.com", policy)
    assert not host_allowed("team.example.com", policy)  # as Streamlit: "*." needs a subdomain
    assert not host_allowed("localhost", policy)
    assert not host_allowed("lab.example.com", policy)
    assert not host_allowed("evilteam.example.com", policy)


def test_a_star_in_allowed_hosts_accepts_any_well_formed_host() -> None:
    policy = HostPolicy.from_config(allowed_hosts=["*"])
    assert host_allowed("anything.example", policy)
    assert not host_allowed("user@anything.example", policy)
    assert not host_allowed(None, policy)


def test_with_cors_disabled_and_no_list_any_well_formed_host_is_accepted() -> None:
    policy = HostPolicy.from_config(enable_cors=False)
    assert host_allowed("anything.example:8501", policy)
    assert not host_allowed("bad host", policy)
    assert not HostPolicy.from_config(enable_cors=False, allowed_hosts=["a.example"]).any_host


def test_blank_entries_are_ignored() -> None:
    assert HostPolicy.from_config(allowed_hosts=["", "  "]).allowed_hosts == ()
    assert HostPolicy.from_config(public_url="", browser_server_address="  ").known_hosts == DEFAULT.known_hosts
