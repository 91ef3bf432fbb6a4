"""Pieces shared by the forms of every blueprint."""

from __future__ import annotations

from typing import Any


def strip_whitespace(value: Any) -> Any:
    """WTForms filter: trim text input (other values pass through)."""
    return value.strip() if isinstance(value, str) else value
