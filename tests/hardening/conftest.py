"""The chat tests' fixtures (a provider "Fake" on the fake server, short timeouts), reused."""

from tests.chat.conftest import anthropic_provider, app_config, provider

__all__ = ["anthropic_provider", "app_config", "provider"]
