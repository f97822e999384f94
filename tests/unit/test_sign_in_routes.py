"""The owner-password routes and the sign-in setup they share with the pages: cookie, rate limit, sign-out."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import sign_in_routes
from kling_lab.auth.roles import Role
from kling_lab.auth.sign_in import SESSION_COOKIE, SignInSetup, same_origin

PASSWORD = "correct horse battery"  # noqa: S105 - a test password
ENV = {"KLING_LAB_OWNER_PASSWORD": PASSWORD, "KLING_LAB_REQUIRE_LOGIN": "1",
       "KLING_LAB_SECRET_KEY": "k" * 40, "KLING_LAB_MEMBERS": "bob@studio.example"}
ORIGIN = {"origin": "http://testserver"}
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def setup(tmp_path: Path, clock: Clock) -> SignInSetup:
    return SignInSetup.build(ENV, {}, "127.0.0.1", tmp_path, clock=clock)


@pytest.fixture
def client(setup: SignInSetup, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(sign_in_routes, "_setup", lambda: setup)
    return TestClient(Starlette(routes=sign_in_routes.ROUTES), follow_redirects=False)


def _sign_in(client: TestClient, password: str, headers: dict[str, str] | None = None):
    return client.post("/auth/password", data={"password": password}, headers=ORIGIN if headers is None else headers)


def test_the_right_password_sets_an_httponly_lax_session_cookie_and_goes_back_to_the_lab(client, setup) -> None:
    response = _sign_in(client, PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: a Secure cookie would be dropped
    token = response.cookies[SESSION_COOKIE]
    assert PASSWORD not in token
    assert setup.who(token, {}).role is Role.OWNER


def test_a_wrong_password_is_refused_logged_without_it_and_sets_nothing(client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="kling_lab.auth"):
        response = _sign_in(client, "not the password")
    assert response.status_code == 303 and response.headers["location"] == "/?sign_in=wrong"
    assert "set-cookie" not in response.headers
    assert "Password sign-in failed." in caplog.text and "not the password" not in caplog.text


def test_after_five_wrong_passwords_even_the_right_one_waits(client) -> None:
    codes = [_sign_in(client, f"guess {i}").headers["location"] for i in range(5)]
    assert codes[:4] == ["/?sign_in=wrong"] * 4
    assert codes[4].startswith("/?sign_in=wait&s=")
    blocked = _sign_in(client, PASSWORD)
    assert blocked.headers["location"].startswith("/?sign_in=wait&s=") and "set-cookie" not in blocked.headers


def test_a_form_posted_from_another_site_is_not_used(client, setup) -> None:
    response = _sign_in(client, PASSWORD, headers={"origin": "https://evil.example"})
    assert response.headers["location"] == "/?sign_in=refused" and "set-cookie" not in response.headers
    assert _sign_in(client, PASSWORD, headers={}).headers["location"] == "/?sign_in=refused"


def test_a_form_from_the_published_address_behind_a_proxy_is_used(tmp_path, clock, monkeypatch) -> None:
    setup = SignInSetup.build({**ENV, "KLING_LAB_PUBLIC_URL": "https://lab.studio.example/"}, {}, "127.0.0.1",
                              tmp_path, clock=clock)
    monkeypatch.setattr(sign_in_routes, "_setup", lambda: setup)
    client = TestClient(Starlette(routes=sign_in_routes.ROUTES), follow_redirects=False)
    response = _sign_in(client, PASSWORD, headers={"origin": "https://lab.studio.example"})
    assert response.headers["location"] == "/" and SESSION_COOKIE in response.cookies
    assert _sign_in(client, PASSWORD, headers={"origin": "http://lab.studio.example"}).headers["location"] == (
        "/?sign_in=refused")


def test_a_huge_form_is_refused_with_a_sentence(client) -> None:
    response = _sign_in(client, "x" * 10_000)
    assert response.status_code == 400 and response.text == "The sign-in form was too large or garbled."


def test_the_session_survives_a_reload_until_it_expires(client, setup, clock) -> None:
    token = _sign_in(client, PASSWORD).cookies[SESSION_COOKIE]
    assert setup.who(token, {}) is not None  # a reload sends the same cookie
    clock.now += 11 * 3600
    assert setup.who(token, {}) is not None
    clock.now += 2 * 3600
    assert setup.who(token, {}) is None


def test_signing_out_ends_the_session_on_the_server_and_clears_the_cookie(client, setup) -> None:
    token = _sign_in(client, PASSWORD).cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, token)
    response = client.post("/auth/sign-out", headers=ORIGIN)
    assert response.status_code == 303 and response.headers["location"] == "/?sign_in=ended"
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"] and "Max-Age=0" in response.headers["set-cookie"]
    assert setup.who(token, {}) is None  # a copy of the cookie is worth nothing now


def test_a_sign_out_from_another_site_is_refused(client, setup) -> None:
    token = _sign_in(client, PASSWORD).cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, token)
    assert client.post("/auth/sign-out", headers={"origin": "https://evil.example"}).status_code == 403
    assert setup.who(token, {}) is not None


def test_a_forged_or_other_password_token_proves_nothing(tmp_path, setup, clock) -> None:
    token = setup.password_gate.sign_in(PASSWORD, "ip").token
    assert setup.who(token[:-2] + "AA", {}) is None
    other = SignInSetup.build({**ENV, "KLING_LAB_OWNER_PASSWORD": "another long password"}, {}, "127.0.0.1",
                              tmp_path, clock=clock)
    assert other.who(token, {}) is None  # changing the password ends every session made with the old one


def test_identity_provider_users_map_to_roles_and_outsiders_are_refused(tmp_path) -> None:
    auth = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "c" * 32,
            "client_id": "id", "client_secret": "secret", "server_metadata_url": "http://127.0.0.1:1/.well-known"}
    setup = SignInSetup.build({"KLING_LAB_OWNERS": "alice@studio.example", "KLING_LAB_MEMBERS": "@studio.example",
                               "KLING_LAB_SECRET_KEY": "k" * 40}, {"auth": auth}, "0.0.0.0", tmp_path)  # noqa: S104
    assert setup.required and setup.startup_refusal() is None
    alice = {"is_logged_in": True, "email": "alice@studio.example", "email_verified": True}
    bob = {"is_logged_in": True, "email": "bob@studio.example", "email_verified": True}
    assert setup.who(None, alice).role is Role.OWNER
    assert setup.who(None, bob).role is Role.MEMBER
    assert setup.who(None, {**bob, "is_logged_in": False}) is None
    carol = setup.identity({"is_logged_in": True, "email": "carol@elsewhere.example", "email_verified": True})
    assert "not shared with that address" in carol.sentence


def test_an_exposed_server_with_no_sign_in_says_how_to_configure_one(tmp_path) -> None:
    setup = SignInSetup.build({}, {}, "0.0.0.0", tmp_path)  # noqa: S104
    assert setup.required and "KLING_LAB_OWNER_PASSWORD" in setup.startup_refusal()
    assert not SignInSetup.build({}, {}, "127.0.0.1", tmp_path).required


def test_same_origin_compares_the_origin_with_the_host_it_was_sent_to() -> None:
    assert same_origin("http://lab.example:8501", "lab.example:8501")
    assert not same_origin("http://lab.example:8501", "lab.example:8502")
    assert not same_origin("null", "lab.example") and not same_origin(None, "lab.example")
