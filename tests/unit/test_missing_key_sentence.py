"""A missing key reads the same wherever it is found: planning, the client, the runner."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from kling_lab.batches import missing_keys, plan_batch
from kling_lab.capabilities import CAPABILITIES, missing_key_sentence
from kling_lab.config import Settings
from kling_lab.pricing import load_price_book
from kling_lab.providers.base import HostError
from kling_lab.providers.registry import build_host_client
from kling_lab.request import GenerationRequest

HOSTED = [p for p, caps in CAPABILITIES.items() if not caps.offline]


@pytest.mark.parametrize("provider", HOSTED)
def test_the_sentence_names_every_place_a_key_can_come_from(provider):
    sentence = missing_key_sentence(provider)
    assert CAPABILITIES[provider].label in sentence
    assert all(name in sentence for name in CAPABILITIES[provider].key_env)
    assert "Settings" in sentence and "secrets.toml" in sentence and "environment" in sentence


@pytest.mark.parametrize("provider", HOSTED)
def test_planning_and_the_client_say_the_same_sentence(provider, tmp_path):
    settings = Settings(data_dir=tmp_path)
    plan = plan_batch("a fox", GenerationRequest(prompt=""), provider, load_price_book(None))
    (planned,) = missing_keys(plan, settings)
    assert planned.startswith(missing_key_sentence(provider))
    client = build_host_client(provider, settings)

    async def create() -> None:
        async with httpx.AsyncClient() as http:
            await client.create(http, GenerationRequest(prompt="a fox", mode="pro"), job_id="j_1", frames=bytes)

    with pytest.raises(HostError) as caught:
        asyncio.run(create())
    assert caught.value.message == missing_key_sentence(provider)
