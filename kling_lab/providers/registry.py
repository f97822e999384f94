"""Building host clients from settings: one place that knows which class serves which provider name."""

from __future__ import annotations

from kling_lab.capabilities import CAPABILITIES
from kling_lab.config import Settings
from kling_lab.providers.aimlapi import AimlapiClient
from kling_lab.providers.base import HostClient, HostConfig
from kling_lab.providers.fal import FalClient
from kling_lab.providers.inference import InferenceClient
from kling_lab.providers.kie import KieClient
from kling_lab.providers.kling import KlingClient
from kling_lab.providers.replicate import ReplicateClient

HOST_CLIENT_CLASSES: dict[str, type] = {
    cls.name: cls for cls in (KieClient, ReplicateClient, AimlapiClient, FalClient, KlingClient, InferenceClient)
}
"""The hosted providers. The offline `animatic` provider is built elsewhere."""


def host_config(provider: str, settings: Settings) -> HostConfig:
    """The HostConfig for a hosted provider: base URL, keys, its upload host or callback keys, the webhook URL."""
    if provider not in HOST_CLIENT_CLASSES:
        raise KeyError(provider)
    caps = CAPABILITIES[provider]
    callback_url = f"{settings.public_url.rstrip('/')}/webhook/{provider}" if settings.public_url else None
    return HostConfig(
        base_url=settings.base_url(provider),
        credentials=settings.credentials(provider),
        upload_url=settings.kie_upload_url.rstrip("/") if caps.frames_uploaded_first else None,
        callback_url=callback_url,
        webhook_secret=settings.webhook_secret(provider),
        webhook_keys_url=settings.fal_jwks_url if caps.callback_keys_published else None,
    )


def build_host_client(provider: str, settings: Settings) -> HostClient:
    """The client for one of the six hosted providers.

    Raises KeyError for any other name, including `animatic` (an offline
    renderer, not a host). A client built without keys raises an auth
    HostError on its first call, before any request is sent.
    """
    if provider not in HOST_CLIENT_CLASSES:
        raise KeyError(
            f"{provider!r} is not a hosted provider; hosted providers are: {', '.join(HOST_CLIENT_CLASSES)}"
        )
    client: HostClient = HOST_CLIENT_CLASSES[provider](host_config(provider, settings))
    return client
