"""The sign-in gate and the roles in the screens, through the real entry script (AppTest).

AppTest seeds `st.user` with `at.user`; the owner-password cookie (which only the
`/auth/password` route sets) is handed in by replacing `components.runtime.session_token`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from kling_lab.auth.sign_in import SignInSetup

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "streamlit_app.py"
PASSWORD = "correct horse battery"  # noqa: S105 - a test password
AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "c" * 32, "client_id": "lab",
        "client_secret": "lab-secret", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
ALICE = {"is_logged_in": True, "email": "alice@studio.example", "email_verified": True, "name": "Alice"}
BOB = {"is_logged_in": True, "email": "bob@studio.example", "email_verified": True, "name": "Bob"}
CAROL = {"is_logged_in": True, "email": "carol@elsewhere.example", "email_verified": True, "name": "Carol"}


@pytest.fixture
def gate(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """The app on an exposed server (KLING_LAB_REQUIRE_LOGIN=1) with no host keys and no sign-in yet."""
    for name in ("KIE_API_KEY", "REPLICATE_API_TOKEN", "AIMLAPI_API_KEY", "FAL_KEY", "INFERENCE_API_KEY",
                 "KLING_ACCESS_KEY", "KLING_SECRET_KEY", "KLING_LAB_OWNER_PASSWORD", "KLING_LAB_OWNERS",
                 "KLING_LAB_MEMBERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KLING_LAB_REQUIRE_LOGIN", "1")
    st.cache_resource.clear()
    at = AppTest.from_file(str(ENTRY), default_timeout=60)
    at.user = {"is_logged_in": False}
    yield at
    st.cache_resource.clear()


@pytest.fixture
def team(gate: AppTest, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("KLING_LAB_OWNERS", "alice@studio.example")
    monkeypatch.setenv("KLING_LAB_MEMBERS", "@studio.example")
    gate.secrets["auth"] = AUTH
    return gate


def _owner_cookie(monkeypatch: pytest.MonkeyPatch, token: str | None) -> None:
    import components.runtime as runtime

    monkeypatch.setattr(runtime, "session_token", lambda: token)


def _token() -> str:
    from components.runtime import get_sign_in

    setup: SignInSetup = get_sign_in()
    return setup.password_gate.sign_in(PASSWORD, "test").token


def _texts(at: AppTest) -> str:
    return " ".join([e.value for e in (*at.title, *at.markdown, *at.caption, *at.warning, *at.error, *at.info)])


def test_on_this_machine_only_nobody_signs_in(gate, monkeypatch) -> None:
    monkeypatch.delenv("KLING_LAB_REQUIRE_LOGIN")
    gate.run()
    assert not gate.exception and "Sign in to Kling Lab" not in _texts(gate)
    assert gate.title[0].value != "Sign in to Kling Lab"


def test_exposed_without_any_sign_in_method_shows_how_to_configure_one_and_nothing_else(gate) -> None:
    gate.run()
    assert not gate.exception
    assert "Kling Lab will not start" in gate.error[0].value and "KLING_LAB_OWNER_PASSWORD" in gate.error[0].value
    assert not gate.title and not gate.button


def test_exposed_with_a_password_shows_the_sign_in_form_and_no_page(gate, monkeypatch) -> None:
    monkeypatch.setenv("KLING_LAB_OWNER_PASSWORD", PASSWORD)
    gate.run()
    assert not gate.exception
    assert [t.value for t in gate.title] == ["Sign in to Kling Lab"]
    forms = [e.proto.body for e in gate.get("html")]
    assert any('action="/auth/password"' in body and 'type="password"' in body for body in forms)
    assert PASSWORD not in " ".join(forms)


@pytest.mark.parametrize(("query", "sentence"), [
    ({"sign_in": "wrong"}, "That password is not right."),
    ({"sign_in": "wait", "s": "30"}, "Too many wrong passwords were tried from here. Try again in 30 seconds."),
    ({"sign_in": "ended"}, "You are signed out."),
    ({"sign_in": "wait", "s": "9" * 400}, "Too many wrong passwords were tried from here. Try again in 60 seconds."),
    ({"sign_in": "<script>alert(1)</script>"}, None),
])
def test_the_sign_in_screen_turns_the_routes_code_into_its_own_sentence(gate, monkeypatch, query, sentence) -> None:
    monkeypatch.setenv("KLING_LAB_OWNER_PASSWORD", PASSWORD)
    for key, value in query.items():
        gate.query_params[key] = value
    gate.run()
    assert [w.value for w in gate.warning] == ([sentence] if sentence else [])
    assert "script" not in _texts(gate)


def test_an_owner_with_a_valid_session_cookie_gets_the_lab_and_can_change_settings(gate, monkeypatch) -> None:
    monkeypatch.setenv("KLING_LAB_OWNER_PASSWORD", PASSWORD)
    gate.run()
    _owner_cookie(monkeypatch, _token())
    gate.run()
    assert not gate.exception and "Sign in to Kling Lab" not in _texts(gate)
    assert any("Signed in as the owner" in c.value for c in gate.sidebar.caption)
    gate.switch_page("pages/settings.py").run()
    assert not gate.exception and gate.button(key="settings_save")
    assert not gate.text_input(key="base_url_fal").disabled


def test_a_session_cookie_that_no_longer_proves_anything_asks_to_sign_in_again(gate, monkeypatch) -> None:
    monkeypatch.setenv("KLING_LAB_OWNER_PASSWORD", PASSWORD)
    _owner_cookie(monkeypatch, "v1.forged.token")
    gate.run()
    assert [w.value for w in gate.warning] == ["Your session has ended. Sign in again."]
    assert [t.value for t in gate.title] == ["Sign in to Kling Lab"]


def test_nobody_signed_in_with_the_identity_provider_sees_its_button_only(team) -> None:
    team.run()
    assert not team.exception
    assert [b.label for b in team.button] == ["Sign in with your identity provider"]
    assert not team.get("html")  # no password form without a password


def test_a_member_composes_but_sees_settings_and_prices_read_only(team) -> None:
    team.user = BOB
    team.run()
    assert not team.exception and any("bob@studio" in c.value.replace("\\", "") for c in team.sidebar.caption)
    team.switch_page("pages/settings.py").run()
    assert not team.exception
    keys = [b.key for b in team.button]
    assert "settings_save" not in keys and "settings_use_keys" not in keys
    assert team.text_input(key="base_url_fal").disabled and team.text_input(key="settings_budget_day").disabled
    assert not [t for t in team.text_input if t.key.startswith("key_input_")]
    assert "Data folder" not in _texts(team)
    assert any("Base URL in use: `https://" in c.value for c in team.caption)
    team.switch_page("pages/pricing.py").run()
    assert not team.exception
    assert "pricing_save" not in [b.key for b in team.button] and "Prices are the owner's to change." in _texts(team)


def test_an_owner_from_the_identity_provider_can_change_settings(team) -> None:
    team.user = ALICE
    team.run()
    team.switch_page("pages/settings.py").run()
    assert not team.exception and team.button(key="settings_save")


def test_an_address_not_on_the_list_is_refused_and_can_sign_out(team) -> None:
    team.user = CAROL
    team.run()
    assert not team.exception
    assert [t.value for t in team.title] == ["Not shared with you"]
    assert "not shared with that address" in team.error[0].value.replace("\\", "")
    team.button(key="sign_out_refused").click().run()
    assert team.user["is_logged_in"] is False
    team.run()
    assert [t.value for t in team.title] == ["Sign in to Kling Lab"]


def test_the_door_refuses_a_member_who_asks_anyway(team) -> None:
    from components.runtime import get_lab
    from kling_lab.lab import Actor, NotAllowed, UserSettings

    team.user = BOB
    team.run()
    with pytest.raises(NotAllowed):
        get_lab().change_settings(Actor("member", name="bob@studio.example"), UserSettings())
