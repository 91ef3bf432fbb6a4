"""Error details and the status → class mapping."""

from __future__ import annotations

import pytest

from calango.llm import (
    AuthError,
    BadRequestError,
    NotFoundError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from calango.llm.errors import error_for_status, extract_detail


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ('{"error": {"message": "Incorrect API key", "type": "x"}}', "Incorrect API key"),
        ('{"type": "error", "error": {"type": "x", "message": "nope"}}', "nope"),
        ('[{"error": {"code": 400, "message": "gemini says no"}}]', "gemini says no"),
        ('{"detail": "Not Found"}', "Not Found"),
        ('{"error": "model missing"}', "model missing"),
        ("Bad Gateway\n", "Bad Gateway"),
        (b"bytes body", "bytes body"),
        ("", None),
        (None, None),
    ],
)
def test_extract_detail(body, detail):
    assert extract_detail(body) == detail


def test_extract_detail_truncates():
    detail = extract_detail("x" * 1000)
    assert detail is not None and len(detail) == 300 and detail.endswith("…")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (408, ProviderTimeoutError),
        (429, RateLimitError),
        (400, BadRequestError),
        (413, BadRequestError),
        (422, BadRequestError),
        (500, ServerError),
        (502, ServerError),
        (402, ProviderError),
    ],
)
def test_error_for_status(status, cls):
    error = error_for_status(status, "summary", "detail")
    assert type(error) is cls
    assert (error.message, error.status_code, error.detail) == ("summary", status, "detail")
