"""Settings from the environment, a secrets mapping and defaults: precedence, key sources, URLs, no key leaks."""

from __future__ import annotations

from pathlib import Path

import pytest

from kling_lab.capabilities import CAPABILITIES, create_endpoint, normalize_base_url
from kling_lab.config import DEFAULT_BASE_URLS, DEFAULT_KIE_UPLOAD_URL, all_key_names, load_settings

ALL_KEYS = ["KIE_API_KEY", "REPLICATE_API_TOKEN", "AIMLAPI_API_KEY", "FAL_KEY", "INFERENCE_API_KEY",
            "KLING_ACCESS_KEY", "KLING_SECRET_KEY", "REPLICATE_WEBHOOK_SECRET", "KIE_WEBHOOK_HMAC_KEY"]
SECRET_VALUES = {name: f"sk-{name.lower()}-0123456789abcdef" for name in ALL_KEYS}
PAID = [p for p in CAPABILITIES if p != "animatic"]


def keys_for(provider: str, value: str = "v") -> dict[str, str]:
    return {name: f"{value}-{name}" for name in CAPABILITIES[provider].key_env}


class RaisingSecrets:
    """Like st.secrets without a secrets.toml: every lookup raises."""

    def get(self, name, default=None):
        raise FileNotFoundError("No secrets files found.")

    def __bool__(self) -> bool:
        return True


def test_every_contract_key_name_is_read():
    assert set(all_key_names()) == set(ALL_KEYS)


# ----------------------------------------------------------------------------- precedence and key sources


def test_environment_beats_the_secrets_mapping():
    settings = load_settings(environ={"FAL_KEY": "from-env"}, secrets={"FAL_KEY": "from-secrets"})
    assert settings.credentials("fal") == {"FAL_KEY": "from-env"}
    assert settings.key_source("fal") == "environment"


def test_secrets_mapping_is_used_when_the_environment_lacks_the_key():
    settings = load_settings(environ={}, secrets={"FAL_KEY": "from-secrets"})
    assert settings.credentials("fal") == {"FAL_KEY": "from-secrets"}
    assert settings.key_source("fal") == "secrets file"


def test_an_empty_environment_value_falls_back_to_secrets():
    settings = load_settings(environ={"REPLICATE_API_TOKEN": ""}, secrets={"REPLICATE_API_TOKEN": "r8_secret"})
    assert settings.key_source("replicate") == "secrets file"
    assert settings.has_key("replicate")


@pytest.mark.parametrize("provider", PAID)
def test_key_source_reports_environment(provider):
    assert load_settings(environ=keys_for(provider)).key_source(provider) == "environment"


@pytest.mark.parametrize("provider", PAID)
def test_key_source_reports_secrets_file(provider):
    assert load_settings(environ={}, secrets=keys_for(provider)).key_source(provider) == "secrets file"


@pytest.mark.parametrize("provider", PAID)
def test_key_source_reports_this_session(provider):
    settings = load_settings(environ={}).with_session_keys(keys_for(provider, "typed"))
    assert settings.key_source(provider) == "this session"
    assert settings.credentials(provider) == keys_for(provider, "typed")


@pytest.mark.parametrize("provider", list(CAPABILITIES))
def test_key_source_reports_none_without_a_key(provider):
    assert load_settings(environ={}).key_source(provider) == "none"


def test_session_key_beats_the_environment():
    settings = load_settings(environ={"KIE_API_KEY": "env"}).with_session_keys({"KIE_API_KEY": "typed"})
    assert settings.credentials("kie") == {"KIE_API_KEY": "typed"}
    assert settings.key_source("kie") == "this session"


def test_blank_session_key_does_not_replace_the_environment_key():
    settings = load_settings(environ={"KIE_API_KEY": "env"}).with_session_keys({"KIE_API_KEY": ""})
    assert settings.credentials("kie") == {"KIE_API_KEY": "env"}
    assert settings.key_source("kie") == "environment"


def test_secrets_that_raise_on_lookup_are_treated_as_absent():
    settings = load_settings(environ={}, secrets=RaisingSecrets())
    assert settings.keys == {}
    assert settings.configured_providers() == ["animatic"]


def test_non_text_secret_values_are_ignored():
    settings = load_settings(environ={}, secrets={"FAL_KEY": {"nested": "x"}, "KIE_API_KEY": 12345})
    assert not settings.has_key("fal") and not settings.has_key("kie")


def test_an_explicit_environ_mapping_replaces_the_process_environment(monkeypatch):
    monkeypatch.setenv("FAL_KEY", "process-env")
    assert not load_settings(environ={}).has_key("fal")
    assert load_settings().has_key("fal")


# ----------------------------------------------------------------------------- has_key and default provider


def test_kling_needs_both_the_access_and_the_secret_key():
    assert not load_settings(environ={"KLING_ACCESS_KEY": "ak"}).has_key("kling")
    assert not load_settings(environ={"KLING_SECRET_KEY": "sk"}).has_key("kling")
    both = load_settings(environ={"KLING_ACCESS_KEY": "ak", "KLING_SECRET_KEY": "sk"})
    assert both.has_key("kling")
    assert both.credentials("kling") == {"KLING_ACCESS_KEY": "ak", "KLING_SECRET_KEY": "sk"}


def test_kling_with_one_key_reports_no_key_source():
    assert load_settings(environ={"KLING_ACCESS_KEY": "ak"}).key_source("kling") == "none"


def test_kling_keys_may_come_from_environment_and_secrets_together():
    settings = load_settings(environ={"KLING_ACCESS_KEY": "ak"}, secrets={"KLING_SECRET_KEY": "sk"})
    assert settings.has_key("kling")


def test_animatic_needs_no_key():
    assert load_settings(environ={}).has_key("animatic")


def test_default_provider_is_the_animatic_with_no_keys():
    settings = load_settings(environ={})
    assert settings.default_provider() == "animatic"
    assert settings.configured_providers() == ["animatic"]


@pytest.mark.parametrize("provider", PAID)
def test_default_provider_is_the_only_configured_paid_host(provider):
    assert load_settings(environ=keys_for(provider)).default_provider() == provider


def test_default_provider_is_the_animatic_when_several_hosts_have_keys():
    settings = load_settings(environ={**keys_for("fal"), **keys_for("kie")})
    assert settings.default_provider() == "animatic"
    assert settings.configured_providers() == ["animatic", "kie", "fal"]


# ----------------------------------------------------------------------------- URLs and paths


@pytest.mark.parametrize("provider", list(DEFAULT_BASE_URLS))
def test_base_url_override_from_the_environment(provider):
    name = f"KLING_LAB_{provider.upper()}_BASE_URL"
    settings = load_settings(environ={name: "http://127.0.0.1:8765/emulated/"})
    assert settings.base_url(provider) == "http://127.0.0.1:8765/emulated"
    others = [p for p in DEFAULT_BASE_URLS if p != provider]
    assert all(settings.base_url(p) == DEFAULT_BASE_URLS[p] for p in others)


def test_base_url_override_from_secrets():
    settings = load_settings(environ={}, secrets={"KLING_LAB_FAL_BASE_URL": "https://gateway.example/fal"})
    assert settings.base_url("fal") == "https://gateway.example/fal"


def test_base_url_override_env_beats_secrets():
    settings = load_settings(environ={"KLING_LAB_KIE_BASE_URL": "http://env"},
                             secrets={"KLING_LAB_KIE_BASE_URL": "http://secrets"})
    assert settings.base_url("kie") == "http://env"


@pytest.mark.parametrize("provider", list(DEFAULT_BASE_URLS))
def test_base_url_defaults_to_the_public_host(provider):
    assert load_settings(environ={}).base_url(provider) == DEFAULT_BASE_URLS[provider].rstrip("/")
    assert DEFAULT_BASE_URLS[provider].startswith("https://")


def test_every_paid_host_has_a_default_base_url():
    assert set(DEFAULT_BASE_URLS) == set(PAID)


def test_kie_upload_url_override_and_default():
    assert load_settings(environ={}).kie_upload_url == DEFAULT_KIE_UPLOAD_URL
    custom = load_settings(environ={"KLING_LAB_KIE_UPLOAD_URL": "http://127.0.0.1:9/upload/"})
    assert custom.kie_upload_url == "http://127.0.0.1:9/upload"


def test_data_dir_comes_from_the_environment(tmp_path: Path):
    settings = load_settings(environ={"KLING_LAB_DATA_DIR": str(tmp_path / "lab")})
    assert settings.data_dir == (tmp_path / "lab").resolve()
    assert settings.media_dir == settings.data_dir / "media"
    assert settings.database_path.parent == settings.data_dir


def test_data_dir_defaults_to_data_beside_the_app():
    settings = load_settings(environ={})
    assert settings.data_dir.name == "data"
    assert (settings.data_dir.parent / "kling_lab").is_dir()


def test_database_url_is_optional():
    assert load_settings(environ={}).database_url is None
    url = "postgresql://lab@db/kling"
    assert load_settings(environ={"KLING_LAB_DATABASE_URL": url}).database_url == url


# ----------------------------------------------------------------------------- no key in repr


def test_repr_of_settings_never_contains_a_key_value():
    settings = load_settings(environ=SECRET_VALUES)
    assert all(settings.has_key(p) for p in CAPABILITIES)
    for text in (repr(settings), str(settings), f"{settings}", repr(settings.with_session_keys({}))):
        for value in SECRET_VALUES.values():
            assert value not in text


def test_repr_of_settings_with_session_and_secrets_keys_never_contains_a_key_value():
    settings = load_settings(environ={}, secrets={"FAL_KEY": "fal-secret-file-value"})
    settings = settings.with_session_keys({"KIE_API_KEY": "kie-typed-session-value"})
    text = repr(settings)
    assert "fal-secret-file-value" not in text and "kie-typed-session-value" not in text
    assert "secrets file" in text and "this session" in text


# ----------------------------------------------------------------------------- base URLs written either way

# Each host's base URL as its SDK or docs write it (first) and as a person might paste it from elsewhere.
WRITTEN_BOTH_WAYS = {
    "replicate": ("https://api.replicate.com", "https://api.replicate.com/v1/"),
    "aimlapi": ("https://api.aimlapi.com", "https://api.aimlapi.com/v2"),
    "kling": ("https://api-singapore.klingai.com", "https://api-singapore.klingai.com/v1"),
    "kie": ("https://api.kie.ai", "https://api.kie.ai/api/v1"),
    "inference": ("https://api.inference.sh", "https://api.inference.sh/v1"),
    "fal": ("https://queue.fal.run", "https://queue.fal.run/"),
}


@pytest.mark.parametrize("provider", sorted(WRITTEN_BOTH_WAYS))
def test_a_base_url_with_or_without_its_version_segment_gives_one_root(provider):
    root, versioned = WRITTEN_BOTH_WAYS[provider]
    assert normalize_base_url(provider, root) == root
    assert normalize_base_url(provider, versioned) == root


@pytest.mark.parametrize("provider", sorted(WRITTEN_BOTH_WAYS))
def test_the_create_endpoint_never_doubles_a_version_segment(provider):
    root, versioned = WRITTEN_BOTH_WAYS[provider]
    endpoint = create_endpoint(provider, versioned)
    assert endpoint == create_endpoint(provider, root) == root + CAPABILITIES[provider].create_path
    assert "/v1/v1" not in endpoint and "/v2/v2" not in endpoint and "/api/v1/api" not in endpoint


def test_a_gateway_path_before_the_version_segment_is_kept():
    assert normalize_base_url("replicate", "http://127.0.0.1:9/gw/replicate/V1") == "http://127.0.0.1:9/gw/replicate"


def test_a_blank_base_url_is_the_public_default():
    assert normalize_base_url("replicate", "  ") == "https://api.replicate.com"


def test_settings_resolve_a_saved_versioned_base_url_to_the_root():
    settings = load_settings(environ={"KLING_LAB_AIMLAPI_BASE_URL": "https://api.aimlapi.com/v2/"})
    assert settings.base_url("aimlapi") == "https://api.aimlapi.com"


def test_webhook_secrets_are_read_like_keys_and_never_shown():
    settings = load_settings(environ={"REPLICATE_WEBHOOK_SECRET": "whsec_c2VjcmV0"},
                             secrets={"KIE_WEBHOOK_HMAC_KEY": "kie-hmac"})
    assert settings.webhook_secret("replicate") == "whsec_c2VjcmV0"
    assert settings.webhook_secret("kie") == "kie-hmac"
    assert settings.webhook_secret("fal") is None
    assert "whsec_c2VjcmV0" not in repr(settings) and "kie-hmac" not in repr(settings)


def test_fal_webhook_keys_url_defaults_to_fals_published_key_set():
    assert load_settings(environ={}).fal_jwks_url == "https://rest.alpha.fal.ai/.well-known/jwks.json"
    assert load_settings(environ={"KLING_LAB_FAL_JWKS_URL": "http://127.0.0.1:9/jwks"}).fal_jwks_url.endswith("/jwks")


def test_a_team_media_folder_comes_from_its_variable_and_otherwise_sits_in_the_data_dir(tmp_path) -> None:
    from kling_lab.config import load_settings

    shared = tmp_path / "mounted" / "media"
    settings = load_settings({"KLING_LAB_DATA_DIR": str(tmp_path / "data"), "KLING_LAB_MEDIA_DIR": str(shared)}, {})
    assert settings.media_dir == shared.resolve() and settings.database_path.parent == (tmp_path / "data").resolve()
    plain = load_settings({"KLING_LAB_DATA_DIR": str(tmp_path / "data")}, {})
    assert plain.media_dir == (tmp_path / "data" / "media").resolve()
    from_file = load_settings({"KLING_LAB_DATA_DIR": str(tmp_path / "data")}, {"KLING_LAB_MEDIA_DIR": str(shared)})
    assert from_file.media_dir == shared.resolve()
