"""A host base URL must be HTTPS on the public internet unless the operator allows private ones."""

from __future__ import annotations

import pytest

from kling_lab.auth.url_policy import NameNotFound, base_url_problem, private_base_urls_allowed


def resolver(table: dict[str, list[str]]):
    asked: list[str] = []

    def resolve(host: str) -> list[str]:
        asked.append(host)
        if host not in table:
            raise NameNotFound(host)
        return table[host]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


PUBLIC = resolver({"api.kie.ai": ["104.21.1.1"], "queue.fal.run": ["2606:4700::6810:1"]})


@pytest.mark.parametrize("url", ["https://api.kie.ai", "https://api.kie.ai/v1/", "https://queue.fal.run:443",
                                 "https://8.8.8.8/x", "https://[2606:4700::1111]/"])
def test_https_on_the_public_internet_is_accepted(url) -> None:
    assert base_url_problem(url, resolve=PUBLIC) is None


@pytest.mark.parametrize(("url", "words"), [
    ("https://127.0.0.1:8443", "this machine (a loopback address)"),
    ("https://localhost", "this machine"),
    ("https://app.localhost", "this machine"),
    ("https://10.1.2.3", "a private network address"),
    ("https://192.168.0.10", "a private network address"),
    ("https://172.16.5.5", "a private network address"),
    ("https://169.254.169.254/latest/meta-data", "a link-local address"),
    ("https://[fe80::1]", "a link-local address"),
    ("https://[::1]", "this machine"),
    ("https://[::ffff:127.0.0.1]", "this machine"),
    ("https://[fd00::5]", "a private network address"),
    ("https://0.0.0.0", "an unspecified address"),
    ("https://100.64.0.1", "not on the public internet"),
    ("https://2130706433", "this machine"),
    ("https://0x7f000001", "this machine"),
    ("https://0177.0.0.1", "this machine"),
    ("https://224.0.0.1", "a multicast address"),
])
def test_addresses_off_the_public_internet_are_refused(url, words) -> None:
    problem = base_url_problem(url, resolve=PUBLIC)
    assert problem is not None and words in problem
    assert "KLING_LAB_ALLOW_PRIVATE_BASE_URLS=1" in problem


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    resolve = resolver({"sneaky.example": ["104.21.1.1", "10.0.0.7"], "inside.example": ["192.168.1.4"]})
    problem = base_url_problem("https://sneaky.example", resolve=resolve)
    assert problem is not None and "sneaky.example (10.0.0.7)" in problem
    assert "private network" in base_url_problem("https://inside.example", resolve=resolve)
    assert resolve.asked == ["sneaky.example", "inside.example"]


def test_literal_addresses_are_not_looked_up() -> None:
    resolve = resolver({})
    base_url_problem("https://10.0.0.1", resolve=resolve)
    base_url_problem("https://localhost", resolve=resolve)
    assert resolve.asked == []


def test_a_name_that_cannot_be_found_is_refused() -> None:
    assert "could not be found" in base_url_problem("https://nowhere.invalid", resolve=resolver({}))
    assert "could not be found" in base_url_problem("https://odd.example", resolve=resolver({"odd.example": []}))


@pytest.mark.parametrize(("url", "words"), [
    ("http://api.kie.ai", "must start with https://"),
    ("ftp://api.kie.ai", "is not a web address"),
    ("api.kie.ai", "is not a web address"),
    ("", "is empty"),
    ("https://", "is not a web address"),
    ("https://user:pw@api.kie.ai", "cannot carry a user name or password"),
    ("https://api.kie.ai/?redirect=x", "no ?query or #fragment"),
    ("https://api.kie.ai:99999", "is not a web address Kling Lab can use"),
])
def test_malformed_or_unencrypted_urls_are_refused(url, words) -> None:
    assert words in base_url_problem(url, resolve=PUBLIC)


def test_the_operator_can_allow_private_addresses_and_plain_http_for_them_only() -> None:
    assert base_url_problem("http://127.0.0.1:8765/kie", allow_private=True, resolve=PUBLIC) is None
    assert base_url_problem("https://10.0.0.2", allow_private=True, resolve=PUBLIC) is None
    assert base_url_problem("http://localhost:9000", allow_private=True, resolve=PUBLIC) is None
    assert "https://" in base_url_problem("http://api.kie.ai", allow_private=True, resolve=PUBLIC)
    mixed = resolver({"mixed.example": ["10.0.0.2", "104.21.1.1"]})
    assert "https://" in base_url_problem("http://mixed.example", allow_private=True, resolve=mixed)


@pytest.mark.parametrize(("env", "secrets", "allowed"), [
    ({"KLING_LAB_ALLOW_PRIVATE_BASE_URLS": "1"}, {}, True),
    ({"KLING_LAB_ALLOW_PRIVATE_BASE_URLS": "true"}, {}, True),
    ({"KLING_LAB_ALLOW_PRIVATE_BASE_URLS": "0"}, {"KLING_LAB_ALLOW_PRIVATE_BASE_URLS": "1"}, False),
    ({}, {"KLING_LAB_ALLOW_PRIVATE_BASE_URLS": True}, True),
    ({}, {}, False),
])
def test_the_allowance_is_read_from_the_environment_then_secrets(env, secrets, allowed) -> None:
    assert private_base_urls_allowed(env, secrets) is allowed
