"""Provider settings pointing at the shared fake provider (``fake``, in tests/conftest.py)."""

from __future__ import annotations

import pytest

from calango.llm import ProviderSettings
from tests.fakes.provider_server import FakeProviderServer


@pytest.fixture
def openai_settings(fake: FakeProviderServer) -> ProviderSettings:
    return ProviderSettings("OpenAI", "openai", fake.openai_base_url, "sk-test", max_retries=0)


@pytest.fixture
def anthropic_settings(fake: FakeProviderServer) -> ProviderSettings:
    return ProviderSettings(
        "Anthropic", "anthropic", fake.anthropic_base_url, "sk-ant-test", max_retries=0
    )
