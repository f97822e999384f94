"""The registry builds each hosted provider's client from settings, and refuses the animatic."""

from __future__ import annotations

from pathlib import Path

import pytest

from kling_lab.capabilities import CAPABILITIES
from kling_lab.config import Settings, load_settings
from kling_lab.providers.aimlapi import AimlapiClient
from kling_lab.providers.fal import FalClient
from kling_lab.providers.inference import InferenceClient
from kling_lab.providers.kie import KieClient
from kling_lab.providers.kling import KlingClient
from kling_lab.providers.registry import HOST_CLIENT_CLASSES, build_host_client, host_config
from kling_lab.providers.replicate import ReplicateClient

HOSTED = {
    "kie": KieClient,
    "replicate": ReplicateClient,
    "aimlapi": AimlapiClient,
    "fal": FalClient,
    "kling": KlingClient,
    "inference": InferenceClient,
}


@pytest.mark.parametrize(("provider", "cls"), list(HOSTED.items()))
def test_each_hosted_provider_gets_its_client_with_name_and_capabilities(provider, cls):
    client = build_host_client(provider, Settings(data_dir=Path("/tmp/kl")))
    assert isinstance(client, cls)
    assert client.name == provider and client.caps is CAPABILITIES[provider]


def test_the_registry_covers_exactly_the_six_hosted_providers():
    assert set(HOST_CLIENT_CLASSES) == set(HOSTED)


@pytest.mark.parametrize("provider", ["animatic", "midjourney", ""])
def test_other_names_raise_key_error(provider):
    with pytest.raises(KeyError):
        build_host_client(provider, Settings(data_dir=Path("/tmp/kl")))


def test_config_comes_from_settings_base_url_keys_upload_url_and_public_url():
    settings = load_settings(
        environ={
            "KLING_LAB_KIE_BASE_URL": "http://gw.local/kie/",
            "KLING_LAB_KIE_UPLOAD_URL": "http://gw.local/upload/",
            "KIE_API_KEY": "k-123",
            "KLING_LAB_PUBLIC_URL": "https://lab.example.org/",
        },
        secrets={},
    )
    config = host_config("kie", settings)
    assert config.base_url == "http://gw.local/kie"
    assert config.upload_url == "http://gw.local/upload"
    assert dict(config.credentials) == {"KIE_API_KEY": "k-123"}
    assert config.callback_url == "https://lab.example.org/webhook/kie"


def test_without_a_public_url_there_is_no_callback_and_defaults_are_the_public_hosts():
    config = host_config("fal", Settings(data_dir=Path("/tmp/kl")))
    assert config.callback_url is None
    assert config.base_url == "https://queue.fal.run"
    assert config.upload_url is None


def test_kling_gets_both_keys():
    settings = Settings(data_dir=Path("/tmp/kl"), keys={"KLING_ACCESS_KEY": "a", "KLING_SECRET_KEY": "s"})
    assert dict(host_config("kling", settings).credentials) == {"KLING_ACCESS_KEY": "a", "KLING_SECRET_KEY": "s"}


@pytest.mark.parametrize("provider", sorted(HOST_CLIENT_CLASSES))
def test_upload_host_and_callback_keys_go_to_the_hosts_whose_capabilities_say_so(provider):
    settings = load_settings(environ={"KLING_LAB_KIE_UPLOAD_URL": "http://gw.local/upload/",
                                      "KLING_LAB_FAL_JWKS_URL": "http://gw.local/jwks"})
    config = host_config(provider, settings)
    caps = CAPABILITIES[provider]
    assert (config.upload_url is not None) == caps.frames_uploaded_first
    assert (config.webhook_keys_url == "http://gw.local/jwks") == caps.callback_keys_published
    assert caps.frames_uploaded_first == (provider == "kie")
    assert caps.callback_keys_published == (provider == "fal")
