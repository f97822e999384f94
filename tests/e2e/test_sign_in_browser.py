"""Sign-in in Chromium on one exposed server (KLING_LAB_REQUIRE_LOGIN=1) with both methods configured:
the real OIDC redirect against the loopback provider (tests/oidc_provider), and the owner password.

One app server for the whole module. It runs from a temporary folder holding its own
`.streamlit/secrets.toml` ([auth] pointing at the provider), so nothing is written into the
repository; the real entry file runs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, RunningApp, free_port, run_app, wait_for_app
from tests.oidc_provider import OIDCProvider

pytestmark = pytest.mark.e2e

PASSWORD = "a long demo password"  # noqa: S105 - a test password
SIGN_IN_TITLE = "Sign in to Kling Lab"


@pytest.fixture(scope="module")
def idp() -> Iterator[OIDCProvider]:
    with OIDCProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def app(idp: OIDCProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    folder = tmp_path_factory.mktemp("sign-in-app")
    port = free_port()
    auth = idp.auth_section(redirect_uri=f"http://127.0.0.1:{port}/oauth2callback",
                            cookie_secret=secrets.token_hex(32))
    (folder / ".streamlit").mkdir()
    (folder / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n" + "".join(f'{k} = "{v}"\n' for k, v in auth.items()), encoding="utf-8")
    env = {"KLING_LAB_REQUIRE_LOGIN": "1", "KLING_LAB_OWNER_PASSWORD": PASSWORD,
           "KLING_LAB_OWNERS": "alice@studio.example", "KLING_LAB_MEMBERS": "bob@studio.example",
           "PYTHONPATH": str(ROOT)}
    with run_app(folder / "data", env, script=str(ROOT / "asgi_app.py"), cwd=folder, port=port) as running:
        yield running


def _open(tab, url: str) -> None:  # noqa: ANN001
    tab.goto(url)
    wait_for_app(tab)


def _sidebar_text(tab) -> str:  # noqa: ANN001
    return tab.locator("[data-testid='stSidebar']").inner_text()


def _sign_in_with_provider(tab, app: RunningApp, idp: OIDCProvider, user: str) -> None:  # noqa: ANN001
    idp.auto_approve = user
    _open(tab, app.url)
    authorizations = idp.stats.authorizations
    tab.get_by_role("button", name="Sign in with your identity provider").click()
    # Out to the provider and back through /oauth2callback: the sign-in screen goes away for good.
    deadline = time.monotonic() + 30
    while idp.stats.authorizations == authorizations and time.monotonic() < deadline:
        tab.wait_for_timeout(100)
    tab.get_by_role("heading", name=SIGN_IN_TITLE).wait_for(state="detached", timeout=30_000)
    wait_for_app(tab)


def test_a_member_signs_in_through_the_real_redirect_and_sees_settings_read_only(tab, app, idp) -> None:
    _open(tab, app.url)
    expect(tab.get_by_role("heading", name=SIGN_IN_TITLE)).to_be_visible()
    before = idp.stats.token_exchanges
    _sign_in_with_provider(tab, app, idp, "bob")
    assert "Signed in as bob@studio.example · member" in _sidebar_text(tab).replace("\\", "")
    assert idp.stats.token_exchanges == before + 1  # the app really exchanged a code at the provider
    assert idp.stats.code_challenge_methods[-1] == "S256"
    _open(tab, f"{app.url}/settings")
    expect(tab.get_by_role("heading", name="Settings")).to_be_visible()
    assert tab.get_by_role("button", name="Save settings").count() == 0
    assert tab.locator("input[aria-label='Base URL']").first.is_disabled()
    assert tab.locator("input[type=password]").count() == 0  # no key fields for a member


def test_an_owner_signs_in_through_the_provider_and_settings_are_editable(tab, app, idp) -> None:
    _sign_in_with_provider(tab, app, idp, "alice")
    assert "Signed in as alice@studio.example · owner" in _sidebar_text(tab).replace("\\", "")
    _open(tab, f"{app.url}/settings")
    expect(tab.get_by_role("button", name="Save settings")).to_be_visible()
    assert tab.locator("input[aria-label='Base URL']").first.is_enabled()


def test_an_address_not_on_the_list_is_refused_with_a_sign_out_button(tab, app, idp) -> None:
    _sign_in_with_provider(tab, app, idp, "carol")
    expect(tab.get_by_role("heading", name="Not shared with you")).to_be_visible()
    assert "carol@elsewhere.example" in tab.locator("[data-testid='stAlert']").inner_text()
    _open(tab, f"{app.url}/settings")  # no page behind the refusal
    assert tab.get_by_role("heading", name="Settings").count() == 0
    tab.get_by_role("button", name="Sign out").click()
    tab.get_by_role("heading", name=SIGN_IN_TITLE).wait_for(timeout=30_000)


def test_the_owner_password_wrong_refused_right_in_and_a_reload_stays_in_until_sign_out(tab, app) -> None:
    _open(tab, app.url)
    tab.get_by_label("Owner password").fill("not the password")
    tab.get_by_role("button", name="Sign in with the password").click()
    wait_for_app(tab)
    assert "That password is not right." in tab.locator("[data-testid='stAlert']").inner_text()
    assert "sign_in=wrong" in tab.url

    tab.get_by_label("Owner password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in with the password").click()
    wait_for_app(tab)
    assert "Signed in as the owner" in _sidebar_text(tab)
    cookie = next(c for c in tab.context.cookies() if c["name"] == "kling_lab_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and PASSWORD not in cookie["value"]

    tab.reload()
    wait_for_app(tab)
    assert "Signed in as the owner" in _sidebar_text(tab)
    _open(tab, f"{app.url}/settings")
    expect(tab.get_by_role("button", name="Save settings")).to_be_visible()

    tab.locator("[data-testid='stSidebar']").get_by_role("button", name="Sign out").click()
    tab.get_by_role("heading", name=SIGN_IN_TITLE).wait_for(timeout=30_000)
    wait_for_app(tab)
    assert "You are signed out." in tab.locator("[data-testid='stAlert']").inner_text()
    assert PASSWORD not in app.log() and "not the password" not in app.log()
