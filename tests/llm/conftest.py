"""One fake provider for the whole llm test run, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calango.llm import ProviderSettings
from tests.fakes.provider_server import FakeProviderServer


@pytest.fixture(scope="session")
def provider_server() -> Iterator[FakeProviderServer]:
    server = FakeProviderServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake(provider_server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    """The shared fake provider with default behaviour and no recorded requests."""
    provider_server.reset()
    yield provider_server
    provider_server.reset()


@pytest.fixture
def openai_settings(fake: FakeProviderServer) -> ProviderSettings:
    return ProviderSettings("OpenAI", "openai", fake.openai_base_url, "sk-test", max_retries=0)


@pytest.fixture
def anthropic_settings(fake: FakeProviderServer) -> ProviderSettings:
    return ProviderSettings(
        "Anthropic", "anthropic", fake.anthropic_base_url, "sk-ant-test", max_retries=0
    )
