"""A protocol-level fake of the OpenAI and Anthropic HTTP APIs, on 127.0.0.1.

Real sockets, real chunked server-sent events: the SDKs and our stream reader run their
production code paths against it. Behaviour is scripted per test::

    srv = FakeProviderServer().start()
    srv.script(reply="Hi there", delay=0.01, cut_after=2)
    ... ProviderSettings(..., base_url=srv.openai_base_url) ...
    srv.requests[-1]["json"]["messages"]
    srv.stop()
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODELS = ("fake-small", "fake-large")


@dataclass
class Script:
    """What the fake does for the next requests (see ``FakeProviderServer.script``)."""

    reply: str = "Hello from fake"
    chunk_size: int | None = None
    chunks: list[str] | None = None
    delay: float = 0.0
    first_delay: float = 0.0
    status: int = 200
    error_body: Any = None
    cut_after: int | None = None
    usage: bool = True
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    hang: str | None = None  # "before_headers" | "after_headers": then never answer
    raw_body: str | None = None  # a 200 with this body instead of the API's answer
    content_type: str = "text/html; charset=utf-8"  # of raw_body
    trailer: str | None = None  # raw SSE text sent after the text chunks, instead of the end
    # One reply per request, in order (the last one repeats): a structured answer that is
    # invalid, then a valid one.
    replies: list[str] | None = None
    # Answer with the request's system text (every system message / Anthropic's system).
    echo_system: bool = False
    # Answer with the last user message: its text, then "[image <type> <bytes> bytes]" for
    # each picture it carries (decoded from the wire format, which is checked).
    echo_user: bool = False
    # Request fields this server does not know: a request with one gets a 400 (an older
    # OpenAI-compatible server and ``response_format``).
    refuse_fields: tuple[str, ...] = ()

    def pieces(self) -> list[str]:
        """The reply split into the chunks to stream."""
        if self.chunks is not None:
            return list(self.chunks)
        if self.chunk_size:
            n = self.chunk_size
            return [self.reply[i : i + n] for i in range(0, len(self.reply), n)]
        pieces = re.findall(r"\s*\S{1,4}\s*", self.reply)
        return pieces or ([self.reply] if self.reply else [])


def _system_text(body: dict[str, Any]) -> str:
    """Every system instruction of a request, joined by blank lines."""
    parts = [
        str(m.get("content") or "")
        for m in body.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "system"
    ]
    system = body.get("system")
    if isinstance(system, str):
        parts.append(system)
    elif isinstance(system, list):
        parts += [str(b.get("text", "")) for b in system if isinstance(b, dict)]
    return "\n\n".join(p for p in parts if p)


IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")


class BadImagePart(ValueError):
    """A content part that the real API would refuse (400)."""


def _data_url(url: Any) -> tuple[str, bytes]:
    match = re.fullmatch(r"data:([a-z/+.-]+);base64,([A-Za-z0-9+/=]+)", str(url or ""))
    if not match or match.group(1) not in IMAGE_TYPES:
        raise BadImagePart(f"image_url must be a data: URL of an image, got {str(url)[:40]!r}")
    return match.group(1), base64.b64decode(match.group(2), validate=True)


def content_parts(content: Any) -> tuple[str, list[tuple[str, bytes]]]:
    """A message's text and its pictures as (type, bytes), from either wire format: OpenAI's
    ``text`` / ``image_url`` parts (Gemini's compatible endpoint takes the same) or
    Anthropic's ``text`` / ``image`` blocks with a base64 source. Raises BadImagePart for a
    part the real API would refuse."""
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    images: list[tuple[str, bytes]] = []
    for part in content if isinstance(content, list) else []:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            texts.append(str(part.get("text", "")))
        elif kind == "image_url":
            images.append(_data_url((part.get("image_url") or {}).get("url")))
        elif kind == "image":
            source = part.get("source") or {}
            if source.get("type") != "base64" or source.get("media_type") not in IMAGE_TYPES:
                raise BadImagePart(f"bad image source {source.get('type')!r}")
            images.append((source["media_type"], base64.b64decode(source["data"], validate=True)))
        else:
            raise BadImagePart(f"unknown content part {kind!r}")
    return "".join(texts), images


def _last_user_echo(body: dict[str, Any]) -> str:
    users = [
        m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"
    ]
    if not users:
        return "(no user message)"
    text, images = content_parts(users[-1].get("content"))
    marks = [f"[image {mime} {len(data)} bytes]" for mime, data in images]
    return "\n".join([text, *marks]) if marks else text


def _forced_tool(body: dict[str, Any]) -> str | None:
    """The tool an Anthropic request forces (``tool_choice: {"type": "tool"}``), if any."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool" and body.get("tools"):
        return str(choice.get("name"))
    return None


class _Cut(Exception):
    """Abort the response mid-body (``cut_after``)."""


def _prompt_tokens(body: dict[str, Any]) -> int:
    def text_of(content: Any) -> str:
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
        return ""

    total = sum(len(text_of(m.get("content"))) // 4 for m in body.get("messages") or [])
    return total + len(text_of(body.get("system"))) // 4


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    # --- plumbing -----------------------------------------------------------------------

    def _read_json(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _record(self, body: Any) -> None:
        self.server.fake._record(
            {
                "path": self.path,
                "method": self.command,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "json": body,
            }
        )

    def _send_json(self, status: int, payload: Any) -> None:
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def _start_chunked(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _hang(self) -> None:
        """Say nothing more until the client hangs up (recorded) or the fake stops."""
        fake = self.server.fake
        self.close_connection = True
        self.connection.settimeout(0.05)
        while not fake._stopping.is_set():
            try:
                if not self.connection.recv(1024):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        else:
            return
        with fake._lock:
            fake.disconnects += 1

    def _hostile(self, script: Script, streamed: bool) -> bool:
        """Play ``hang`` / ``raw_body`` when scripted; True when the request was answered."""
        if script.hang == "before_headers":
            self._hang()
            return True
        if script.hang == "after_headers":
            if streamed:
                self._start_chunked()
            else:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.flush()
            self._hang()
            return True
        if script.raw_body is not None:
            data = script.raw_body.encode()
            self.send_response(200)
            self.send_header("Content-Type", script.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            return True
        return False

    def _cut(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        raise _Cut

    def _error(self, script: Script, anthropic_style: bool) -> None:
        body = script.error_body
        if body is None:
            message = f"fake error {script.status}"
            kind = {401: "authentication_error", 404: "not_found_error", 429: "rate_limit_error"}
            error_type = kind.get(
                script.status, "api_error" if script.status >= 500 else "invalid_request_error"
            )
            if anthropic_style:
                body = {"type": "error", "error": {"type": error_type, "message": message}}
            else:
                body = {"error": {"message": message, "type": error_type, "code": None}}
        self._send_json(script.status, body)

    def _stream(self, script: Script, events: list[str], cut_at: dict[int, int]) -> None:
        """Send SSE ``events``; ``cut_at`` maps event index → content chunks sent so far."""
        fake = self.server.fake
        self._start_chunked()
        if script.first_delay:
            time.sleep(script.first_delay)
        for index, event in enumerate(events):
            if index in cut_at:  # a text chunk, or the end after the last one
                sent = cut_at[index]
                if script.cut_after is not None and sent >= script.cut_after:
                    self._cut()
                if not fake._gate.is_set():
                    fake._held.set()
                fake._gate.wait()
                if sent and script.delay:
                    time.sleep(script.delay)
            self._chunk(event)
        self._end_chunked()

    # --- routes ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._record(None)
        script = self.server.fake._script
        anthropic_style = "anthropic-version" in self.headers
        if self.path.split("?")[0].rstrip("/") != "/v1/models":
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        if self._hostile(script, streamed=False):
            return
        if script.status != 200:
            self._error(script, anthropic_style)
            return
        data = [
            {
                "id": model,
                "object": "model",
                "created": 0,
                "owned_by": "fake",
                "type": "model",
                "display_name": model,
                "created_at": "2025-01-01T00:00:00Z",
            }
            for model in script.models
        ]
        payload: dict[str, Any] = {"object": "list", "data": data, "has_more": False}
        payload["first_id"] = data[0]["id"] if data else None
        payload["last_id"] = data[-1]["id"] if data else None
        self._send_json(200, payload)

    def do_POST(self) -> None:
        body = self._read_json()
        self._record(body)
        script = self.server.fake._next_script(body if isinstance(body, dict) else {})
        path = self.path.split("?")[0].rstrip("/")
        try:
            if path in ("/v1/chat/completions", "/v1/messages") and self._hostile(
                script, streamed=bool(isinstance(body, dict) and body.get("stream"))
            ):
                return
            unknown = [k for k in script.refuse_fields if isinstance(body, dict) and k in body]
            if unknown:
                message = f"Unrecognized request argument supplied: {unknown[0]}"
                self._send_json(400, {"error": {"message": message, "type": "invalid_request"}})
                return
            try:  # every message's parts, as the real APIs check them
                for m in body.get("messages") or [] if isinstance(body, dict) else []:
                    content_parts(m.get("content") if isinstance(m, dict) else None)
            except (BadImagePart, ValueError) as exc:
                self._send_json(400, {"error": {"message": str(exc), "type": "invalid_request"}})
                return
            if path == "/v1/chat/completions":
                self._openai(script, body if isinstance(body, dict) else {})
            elif path == "/v1/messages":
                self._anthropic(script, body if isinstance(body, dict) else {})
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})
        except _Cut:
            self.close_connection = True

    def _openai(self, script: Script, body: dict[str, Any]) -> None:
        if script.status != 200:
            self._error(script, anthropic_style=False)
            return
        pieces = script.pieces()
        model = body.get("model", "fake")
        usage = {
            "prompt_tokens": _prompt_tokens(body),
            "completion_tokens": len(pieces),
            "total_tokens": _prompt_tokens(body) + len(pieces),
        }
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(pieces)}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            completion = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [choice],
            }
            if script.usage:
                completion["usage"] = usage
            self._send_json(200, completion)
            return

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(payload)}\n\n"

        events = [chunk({"role": "assistant", "content": ""})]
        cut_at: dict[int, int] = {}
        for sent, piece in enumerate(pieces):
            cut_at[len(events)] = sent
            events.append(chunk({"content": piece}))
        cut_at[len(events)] = len(pieces)
        if script.trailer is not None:
            self._stream(script, [*events, script.trailer], cut_at)
            return
        events.append(chunk({}, "stop"))
        wants_usage = (body.get("stream_options") or {}).get("include_usage")
        if script.usage and wants_usage:
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [],
                "usage": usage,
            }
            events.append(f"data: {json.dumps(payload)}\n\n")
        events.append("data: [DONE]\n\n")
        self._stream(script, events, cut_at)

    def _anthropic(self, script: Script, body: dict[str, Any]) -> None:
        if script.status != 200:
            self._error(script, anthropic_style=True)
            return
        pieces = script.pieces()
        model = body.get("model", "fake")
        prompt = _prompt_tokens(body)
        if not body.get("stream"):
            text = "".join(pieces)
            content: list[dict[str, Any]] = [{"type": "text", "text": text}]
            tool = _forced_tool(body)
            if tool is not None:
                # A model forced to call a tool answers with its input: the reply when it is
                # a JSON object, else (an invalid answer) the reply as text.
                with contextlib.suppress(ValueError):
                    data = json.loads(text)
                    if isinstance(data, dict):
                        content = [
                            {"type": "tool_use", "id": "toolu_fake", "name": tool, "input": data}
                        ]
            message = {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": prompt, "output_tokens": len(pieces)},
            }
            self._send_json(200, message)
            return

        def event(name: str, payload: dict[str, Any]) -> str:
            return f"event: {name}\ndata: {json.dumps({'type': name, **payload})}\n\n"

        start_usage = (
            {"usage": {"input_tokens": prompt, "output_tokens": 1}} if script.usage else {}
        )
        message = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            **start_usage,
        }
        events = [
            event("message_start", {"message": message}),
            event(
                "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
            ),
            'event: ping\ndata: {"type": "ping"}\n\n',
        ]
        cut_at: dict[int, int] = {}
        for sent, piece in enumerate(pieces):
            cut_at[len(events)] = sent
            delta = {"type": "text_delta", "text": piece}
            events.append(event("content_block_delta", {"index": 0, "delta": delta}))
        cut_at[len(events)] = len(pieces)
        events.append(event("content_block_stop", {"index": 0}))
        end_usage = {"usage": {"output_tokens": len(pieces)}} if script.usage else {}
        delta = {"stop_reason": "end_turn", "stop_sequence": None}
        events.append(event("message_delta", {"delta": delta, **end_usage}))
        events.append(event("message_stop", {}))
        self._stream(script, events, cut_at)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeProviderServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-answer is what several tests do on purpose.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FakeProviderServer:
    """A fake OpenAI/Anthropic server on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script = Script()
        self._per_model: dict[str, Script] = {}  # model name → what it does (A Rinha)
        self._gate = threading.Event()
        self._gate.set()
        self._held = threading.Event()  # a stream reached the closed gate
        self._stopping = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.disconnects = 0  # clients that hung up on a hanging request (``hang``)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def openai_base_url(self) -> str:
        """Base URL for OpenAI-compatible clients (``…/v1``)."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for the Anthropic SDK, which appends ``/v1/messages`` itself."""
        return self.url

    def start(self) -> FakeProviderServer:
        """Listen on a free port; returns self."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (held streams are released so their threads can end)."""
        self._gate.set()
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, **changes: Any) -> FakeProviderServer:
        """Set the behaviour for subsequent requests (fields of ``Script``); returns self.

        ``reply``, ``chunks`` / ``chunk_size`` (how the reply is split), ``delay`` (between
        chunks), ``first_delay`` (after the headers, before the first event), ``status`` and
        ``error_body`` (an error response instead), ``cut_after`` (drop the connection after
        N text chunks), ``usage`` (report token usage), ``models`` (for GET /v1/models).
        Hostile ones: ``hang`` ("before_headers": accept the request and never answer;
        "after_headers": send the headers, never the body; hang-ups are counted in
        ``disconnects``), ``raw_body`` with ``content_type`` (a 200 that is not the API: an
        HTML page, malformed JSON, an event stream of non-JSON lines), ``trailer`` (raw SSE
        text sent after the reply's text instead of its proper end).
        Structured answers: ``replies`` (one per request, the last repeating; an Anthropic
        request forcing a tool gets a JSON-object reply as that tool's input), and
        ``echo_system`` (answer with the request's system text, to see what was sent),
        ``echo_user`` (answer with the last user message's text and its pictures, decoded),
        ``refuse_fields`` (a 400 for a request carrying one of these fields).
        """
        if changes.get("replies") is not None:
            changes["replies"] = list(changes["replies"])
        if "models" in changes and changes["models"] is not None:
            changes["models"] = list(changes["models"])
        elif "models" in changes:
            changes["models"] = list(DEFAULT_MODELS)
        with self._lock:
            self._script = replace(Script(), **changes)
        return self

    def script_model(self, model: str, **changes: Any) -> FakeProviderServer:
        """Like ``script``, for requests naming ``model`` only (several models answering at
        once, each its own way); returns self."""
        with self._lock:
            self._per_model[model] = replace(Script(), **changes)
        return self

    def reset(self) -> None:
        """Default behaviour, no recorded requests, not holding."""
        with self._lock:
            self._script = Script()
            self._per_model.clear()
            self.requests.clear()
            self.disconnects = 0
        self._gate.set()
        self._held.clear()

    def hold(self) -> None:
        """Pause every stream before its next text chunk until ``release()``."""
        self._gate.clear()

    def wait_until_held(self, timeout: float = 10.0) -> bool:
        """Wait until a stream is paused by ``hold()``; False if none was within ``timeout``."""
        return self._held.wait(timeout)

    def release(self) -> None:
        """Let held streams go on."""
        self._gate.set()

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def _next_script(self, body: dict[str, Any]) -> Script:
        """The script for this request: the next of ``replies``, or the system text echoed."""
        with self._lock:
            script = self._per_model.get(body.get("model"), self._script)
            if script is self._script and script.replies:
                reply = script.replies[0]
                if len(script.replies) > 1:
                    self._script = replace(script, replies=script.replies[1:])
                return replace(script, reply=reply, replies=None)
        if script.echo_system:
            return replace(script, reply=_system_text(body) or "(no system text)")
        if script.echo_user:
            try:
                return replace(script, reply=_last_user_echo(body))
            except (BadImagePart, ValueError):
                return script  # refused with a 400 by the route
        return script
