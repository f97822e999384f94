"""Exposure: the bind address as Streamlit resolves it, the configured sign-in methods, and the refusal to start."""

from __future__ import annotations

from pathlib import Path

import pytest

from kling_lab.auth.exposure import (
    SignInMethods,
    assess_exposure,
    configured_sign_in,
    current_exposure,
    is_loopback_address,
    oidc_providers,
    server_address_from,
    startup_refusal,
    streamlit_config_files,
)

ROOT = Path(__file__).resolve().parents[2]
AUTH = {"redirect_uri": "https://lab.example.com/oauth2callback", "cookie_secret": "c" * 32,
        "client_id": "id", "client_secret": "secret", "server_metadata_url": "https://idp.example/.well-known/x"}
EVERYWHERE = "0.0.0.0"  # noqa: S104 - an address to judge, not a bind
TEAM_ENV = {"KLING_LAB_MEMBERS": "@studio.example"}


def _config(path: Path, address: str | None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[server]\n" + (f'address = "{address}"\n' if address else "headless = true\n"))
    return path


def test_the_projects_own_config_keeps_the_lab_on_loopback() -> None:
    address = server_address_from([ROOT / ".streamlit" / "config.toml"], {})
    assert is_loopback_address(address)
    assert not assess_exposure(address, {}).exposed


def test_later_files_then_the_environment_then_the_flag_win(tmp_path) -> None:
    home = _config(tmp_path / "home" / ".streamlit" / "config.toml", EVERYWHERE)
    project = _config(tmp_path / "project" / ".streamlit" / "config.toml", "127.0.0.1")
    files = [home, project]
    assert server_address_from(files, {}) == "127.0.0.1"
    assert server_address_from(files[:1], {}) == EVERYWHERE
    assert server_address_from(files, {"STREAMLIT_SERVER_ADDRESS": "10.0.0.4"}) == "10.0.0.4"
    argv = ["streamlit", "run", "asgi_app.py", "--server.address", "192.168.1.9"]
    assert server_address_from(files, {"STREAMLIT_SERVER_ADDRESS": "10.0.0.4"}, argv) == "192.168.1.9"
    assert server_address_from(files, {}, ["run", "--server.address=::"]) == "::"


def test_missing_or_unreadable_files_and_files_without_an_address_are_skipped(tmp_path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\naddress=")
    no_address = _config(tmp_path / "plain.toml", None)
    assert server_address_from([tmp_path / "missing.toml", broken, no_address], {}) is None


def test_the_config_files_are_the_ones_streamlit_reads(tmp_path) -> None:
    files = streamlit_config_files(tmp_path / "cwd", tmp_path / "app" / "asgi_app.py", home=tmp_path / "home")
    assert files == [tmp_path / "home/.streamlit/config.toml", tmp_path / "cwd/.streamlit/config.toml",
                     (tmp_path / "app").resolve() / ".streamlit/config.toml"]
    assert len(streamlit_config_files(tmp_path, None, home=tmp_path)) == 2


@pytest.mark.parametrize(("address", "exposed", "words"), [
    ("127.0.0.1", False, "this machine only"),
    ("127.0.0.2", False, "this machine only"),
    ("localhost", False, "this machine only"),
    ("::1", False, "this machine only"),
    ("[::1]", False, "this machine only"),
    (None, True, "server.address is not set, so it listens on every network interface"),
    ("", True, "every network interface"),
    (EVERYWHERE, True, "it listens on 0.0.0.0, every network interface"),
    ("::", True, "every network interface"),
    ("192.168.1.9", True, "which other machines can reach"),
    ("lab.example.com", True, "which other machines can reach"),
    ("unix:///run/lab.sock", True, "a proxy can serve to the network"),
])
def test_exposure_follows_the_bind_address(address, exposed, words) -> None:
    exposure = assess_exposure(address, {})
    assert exposure.exposed is exposed
    assert words in exposure.reason


def test_require_login_exposes_even_a_loopback_server() -> None:
    exposure = assess_exposure("127.0.0.1", {"KLING_LAB_REQUIRE_LOGIN": "1"})
    assert exposure.exposed and exposure.reason == "KLING_LAB_REQUIRE_LOGIN is set"
    assert not assess_exposure("127.0.0.1", {"KLING_LAB_REQUIRE_LOGIN": "0"}).exposed


def test_current_exposure_reads_the_working_directory(tmp_path, monkeypatch) -> None:
    _config(tmp_path / ".streamlit" / "config.toml", "127.0.0.1")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    assert not current_exposure({}).exposed
    assert current_exposure({}, ["--server.address", EVERYWHERE]).exposed


def test_a_complete_flat_auth_section_is_the_default_provider() -> None:
    assert oidc_providers({"auth": AUTH}) == (("default",), [])
    methods = configured_sign_in(TEAM_ENV, {"auth": AUTH})
    assert methods == SignInMethods(oidc_providers=("default",), owner_password=False, problems=())


def test_named_providers_are_each_checked() -> None:
    section = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"],
               "google": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")},
               "okta": {"client_id": "x"}}
    providers, problems = oidc_providers({"auth": section})
    assert providers == ()
    assert problems == ["[auth.okta] in .streamlit/secrets.toml has no client_secret, server_metadata_url."]
    del section["okta"]
    assert oidc_providers({"auth": section}) == (("google",), [])


@pytest.mark.parametrize(("change", "words"), [
    ({"redirect_uri": None}, "[auth] in .streamlit/secrets.toml has no redirect_uri."),
    ({"cookie_secret": None}, "has no cookie_secret"),
    ({"cookie_secret": "short"}, "cookie_secret is shorter than 14 characters"),
    ({"redirect_uri": "https://lab.example.com/"}, "ending in /oauth2callback"),
    ({"client_secret": None}, "[auth] in .streamlit/secrets.toml has no client_secret."),
])
def test_an_incomplete_auth_section_configures_nothing_and_says_why(change, words) -> None:
    section = {k: v for k, v in {**AUTH, **change}.items() if v is not None}
    providers, problems = oidc_providers({"auth": section})
    assert providers == ()
    assert any(words in p for p in problems), problems


def test_a_provider_name_with_an_underscore_is_refused_as_st_login_does() -> None:
    section = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"],
               "my_idp": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}}
    assert oidc_providers({"auth": section})[1] == ["[auth.my_idp]: provider names cannot contain an underscore."]


def test_no_auth_section_or_no_secrets_file_is_simply_no_provider() -> None:
    class NoFile(dict):
        def get(self, *_):
            raise FileNotFoundError("no secrets.toml")

    assert oidc_providers(None) == ((), [])
    assert oidc_providers({}) == ((), [])
    assert oidc_providers(NoFile()) == ((), [])


def test_oidc_without_anyone_on_the_allow_list_does_not_count() -> None:
    methods = configured_sign_in({}, {"auth": AUTH})
    assert not methods.any
    assert any("nobody is allowed in" in p for p in methods.problems)


def test_the_owner_password_counts_when_long_enough() -> None:
    assert configured_sign_in({"KLING_LAB_OWNER_PASSWORD": "twelve chars"}).owner_password
    short = configured_sign_in({}, {"KLING_LAB_OWNER_PASSWORD": "short"})
    assert not short.owner_password
    assert short.problems == ("KLING_LAB_OWNER_PASSWORD is shorter than 12 characters, so it is not used.",)


def test_an_exposed_server_without_sign_in_is_refused_with_how_to_fix_it() -> None:
    refusal = startup_refusal(assess_exposure(EVERYWHERE, {}), configured_sign_in({}))
    assert refusal is not None
    assert refusal.startswith("Kling Lab will not start: it listens on 0.0.0.0, every network interface, "
                              "and no sign-in is set up")
    for words in ("KLING_LAB_OWNER_PASSWORD", "[auth]", "KLING_LAB_OWNERS", 'address = "127.0.0.1"'):
        assert words in refusal
    assert "Traceback" not in refusal


def test_the_refusal_names_what_was_found_but_unusable() -> None:
    refusal = startup_refusal(assess_exposure(None, {}), configured_sign_in({"KLING_LAB_OWNER_PASSWORD": "abc"}))
    assert "KLING_LAB_OWNER_PASSWORD is shorter than 12 characters, so it is not used." in refusal


def test_loopback_or_a_configured_method_may_start() -> None:
    assert startup_refusal(assess_exposure("127.0.0.1", {}), SignInMethods()) is None
    assert startup_refusal(assess_exposure(EVERYWHERE, {}), SignInMethods(owner_password=True)) is None
    assert startup_refusal(assess_exposure(EVERYWHERE, {}), configured_sign_in(TEAM_ENV, {"auth": AUTH})) is None
