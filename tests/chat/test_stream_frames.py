"""A fast model's tokens reach the page in frames: the first text at once, then at most one
write per ``FRAME_SECONDS``, the text whole and in order."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from calango.models import Provider
from calango.services.streams import FRAME_SECONDS
from tests.helpers import finish, send, sse_events

TOKENS = [f"w{i} " for i in range(60)]


def test_fast_tokens_leave_in_frames_and_the_first_at_once(
    app: Flask, client: FlaskClient, csrf: str, provider: Provider, fake: Any
) -> None:
    # 60 tokens 5 ms apart (≈ 200 tokens a second) after 0.3 s: ≈ 0.3 s of text.
    fake.script(chunks=TOKENS, delay=0.005, first_delay=0.3)
    sent = send(client, csrf, "Say sixty words").get_json()
    url = re.search(r'data-stream-url="([^"]+)"', sent["html"]).group(1).replace("&amp;", "&")
    started = time.monotonic()
    response = client.get(url)
    events = sse_events(response)
    finish(app)
    texts = [json.loads(data)["text"] for kind, data, _id in events if kind == "message"]
    assert "".join(texts) == "".join(TOKENS)  # whole, in order
    assert events[-1][0] == "done"
    # Far fewer writes than tokens (one per frame), yet still streamed, not one lump.
    frames = (time.monotonic() - started) / FRAME_SECONDS
    assert 2 <= len(texts) <= frames + 2 and len(texts) < len(TOKENS) / 3
    assert texts[0] == TOKENS[0]  # the first token was not held back for a frame
