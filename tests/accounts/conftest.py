"""SERVER mode with two people (the fixtures of tests/per_user)."""

from tests.per_user.conftest import Person, app_config, people

__all__ = ["Person", "app_config", "people"]
