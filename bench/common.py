"""Shared pieces of the benchmarks: the stack under test and a small HTTP/SSE client.

``Stack`` starts, in order: the fake provider (``bench.fake_provider``, its own process), a
fresh database (PostgreSQL ``calango_bench_<pid>`` on 127.0.0.1:5432, or a temporary SQLite
file), ``flask db upgrade``, a provider row pointing at the fake, and gunicorn with
``gunicorn.conf.py`` (the README's server settings). Leaving the ``with`` block tears it all
down, also on errors.

The client speaks HTTP/1.1 with ``http.client`` so that it works with threads or, monkey-
patched, with gevent. It behaves like the browser script: POST the composer form with
``Accept: application/json``, then open the answer's Server-Sent Events stream.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PYTHON = str(BIN / "python") if (BIN / "python").exists() else sys.executable
PG_ADMIN_URL = os.environ.get("CALANGO_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PROVIDER_NAME = "Fake"
MODEL = "fake-model"
PERSONA = "Calango (Default)"
TIMEOUT = 120.0
# The account every SERVER-mode stack has (``Stack._start``) and ``Client.prepare`` signs in
# with when the chat page sends it to the login form.
BENCH_EMAIL = "bench@bench.example"
PASSWORD = "bench-password-0001-long"


# --- statistics -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> str:
    """Median, p95 and max in milliseconds of ``values`` (seconds), as one line."""
    ms = [v * 1000 for v in values]
    return (
        f"median {percentile(ms, 50):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms  "
        f"max {max(ms, default=math.nan):7.1f} ms  (n={len(ms)})"
    )


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_fields(pid: int, first: int) -> float:
    """The sum of two clock-tick fields of ``/proc/<pid>/stat`` from ``first`` on, in seconds
    (0 when the process is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (0 when it is gone)."""
    return _cpu_fields(pid, 11)


def reaped_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid``'s children that exited and were waited for."""
    return _cpu_fields(pid, 13)


def children_of(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (gunicorn's workers)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def postgres_pids() -> list[int]:
    """Every process called ``postgres`` (the server and its backends), for CPU accounting."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


def postgres_cpu() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process, and under key 0 those of the backends
    that already exited (a pool opens and closes connections under load; the postmaster
    reaps them): subtract two of these, key by key, for what a run cost the server."""
    pids = postgres_pids()
    return {0: sum(reaped_cpu_seconds(p) for p in pids), **{p: cpu_seconds(p) for p in pids}}


@dataclass
class FakeConfig:
    """What the fake provider streams for every request."""

    chunks: int = 10
    delay: float = 0.0
    first_delay: float = 0.05

    @property
    def reply(self) -> str:
        """The full answer text, as saved when everything works."""
        return "".join(f"w{i} " for i in range(self.chunks))


@dataclass
class Stack:
    """Fake provider + fresh database + gunicorn, as a context manager."""

    fake: FakeConfig = field(default_factory=FakeConfig)
    db: str = "postgresql"  # or "sqlite"
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)

    fake_url: str = ""
    base_url: str = ""
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    log_path: Path | None = None
    gunicorn: subprocess.Popen[bytes] | None = None
    fake_process: subprocess.Popen[str] | None = None
    _tmp: Path | None = None
    _pg_name: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="calango-bench-"))
        self._start_fake()
        self._create_database()
        self.env = self._app_env()
        _run([str(BIN / "flask"), "db", "upgrade"], self.env)
        _run([PYTHON, "-c", _PROVIDER_CODE, PROVIDER_NAME, self.fake_url + "/v1", MODEL], self.env)
        if self.env["CALANGO_MODE"] == "SERVER":
            create_account(self.env, BENCH_EMAIL)
        self._start_gunicorn()

    def close(self) -> None:
        """Stop gunicorn and the fake, drop the database, remove temporary files."""
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGTERM)
            try:
                self.gunicorn.wait(30)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
                self.gunicorn.wait()
        if self.fake_process is not None and self.fake_process.poll() is None:
            self.fake_process.terminate()
            self.fake_process.wait(10)
        if self._pg_name:
            _pg_admin(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
            self._pg_name = None
        if self._tmp is not None and not os.environ.get("CALANGO_BENCH_KEEP"):
            shutil.rmtree(self._tmp, ignore_errors=True)

    def _start_fake(self) -> None:
        command = [
            PYTHON,
            "-m",
            "bench.fake_provider",
            f"--chunks={self.fake.chunks}",
            f"--delay={self.fake.delay}",
            f"--first-delay={self.fake.first_delay}",
        ]
        self.fake_process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ}
        )
        assert self.fake_process.stdout is not None
        self.fake_url = self.fake_process.stdout.readline().strip()
        if not self.fake_url.startswith("http://"):
            raise RuntimeError("the fake provider did not start")

    def _create_database(self) -> None:
        assert self._tmp is not None
        if self.db == "sqlite":
            self.database_url = f"sqlite:///{self._tmp / 'calango.db'}"
            return
        self._pg_name = f"calango_bench_{os.getpid()}"
        _pg_admin(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{self._pg_name}"')
        parts = urllib.parse.urlsplit(PG_ADMIN_URL)
        self.database_url = urllib.parse.urlunsplit(parts._replace(path=f"/{self._pg_name}"))

    def _app_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        assert self._tmp is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CALANGO_", "GUNICORN"))}
        env.update(
            CALANGO_MODE="SERVER" if self.db == "postgresql" else "DESKTOP",
            DATABASE_URL=self.database_url,
            SECRET_KEY=secrets.token_hex(32),
            CALANGO_ENCRYPTION_KEY=Fernet.generate_key().decode(),
            CALANGO_HOME=str(self._tmp),
            CALANGO_INSECURE_COOKIES="1",  # plain http on 127.0.0.1
            CALANGO_ALLOWED_HOSTS=self.host,
            CALANGO_LOG_LEVEL="WARNING",
            FLASK_APP="wsgi.py",
            WEB_CONCURRENCY=str(self.workers),
        )
        env.update(self.extra_env)
        return env

    def _start_gunicorn(self) -> None:
        assert self._tmp is not None
        self.port = free_port()
        self.base_url = f"http://{self.host}:{self.port}"
        self.log_path = self._tmp / "gunicorn.log"
        command = [
            str(BIN / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "wsgi:app",
            "--bind",
            f"{self.host}:{self.port}",
        ]
        with self.log_path.open("wb") as log:
            self.gunicorn = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 90  # a loaded machine may take a while to import
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection(self.host, self.port, timeout=2)
                conn.request("GET", "/healthz")
                ok = conn.getresponse().status == 200
                conn.close()
                if ok and len(children_of(self.gunicorn.pid)) >= self.workers:
                    return
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer /healthz within 90 s")

    # --- inspection ---------------------------------------------------------------------

    def worker_pids(self) -> list[int]:
        """gunicorn's worker processes."""
        return children_of(self.gunicorn.pid) if self.gunicorn else []

    def log_problems(self) -> list[str]:
        """Lines of the gunicorn log that report errors (tracebacks, worker timeouts...)."""
        if self.log_path is None or not self.log_path.exists():
            return []
        pattern = re.compile(r"Traceback|\bERROR\b|CRITICAL|WORKER TIMEOUT|Exception")
        return [line for line in self.log_path.read_text().splitlines() if pattern.search(line)]

    def assistant_rows(self) -> list[dict[str, Any]]:
        """Every assistant message: id, status, content, ttft_ms, total_ms."""
        query = (
            "SELECT id, status, content, ttft_ms, total_ms FROM chat_messages "
            "WHERE role = 'assistant' ORDER BY id"
        )
        keys = ("id", "status", "content", "ttft_ms", "total_ms")
        if self.db == "sqlite":
            path = self.database_url.removeprefix("sqlite:///")
            with contextlib.closing(sqlite3.connect(path)) as conn:
                rows = conn.execute(query).fetchall()
        else:
            import psycopg2

            conn = psycopg2.connect(self.database_url)
            try:
                with conn.cursor() as cursor:
                    cursor.execute(query)
                    rows = cursor.fetchall()
            finally:
                conn.close()
        return [dict(zip(keys, row, strict=True)) for row in rows]


_PROVIDER_CODE = """
import sys
from calango import create_app
from calango.extensions import db
from calango.models import Provider

name, base_url, model = sys.argv[1:4]
app = create_app()
with app.app_context():
    provider = Provider(name=name, kind="openai", base_url=base_url, models=[model],
                        price_overrides={model: {"input": 2.0, "output": 8.0}})
    provider.set_api_key("sk-bench-0001")
    db.session.add(provider)
    db.session.commit()
    # The fake listens on 127.0.0.1: in SERVER mode the SSRF guard refuses it unless allowed.
    from calango.services.network_policy import set_local_providers_allowed
    set_local_providers_allowed(True)
"""


def create_account(env: dict[str, str], email: str) -> None:
    """``flask calango create-user EMAIL`` with ``PASSWORD`` on stdin, as an admin types it."""
    result = subprocess.run(
        [str(BIN / "flask"), "calango", "create-user", email],
        cwd=ROOT,
        env=env,
        input=f"{PASSWORD}\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"create-user {email} failed: {result.stderr[-500:]}")


def _run(command: list[str], env: dict[str, str]) -> None:
    """Run ``command`` in the project folder; raise with its stderr when it fails."""
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.decode(errors="replace")[-3000:])


def _pg_admin(statement: str) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN_URL)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


# --- client -------------------------------------------------------------------------------


class BenchError(Exception):
    """One benchmark request went wrong (status, protocol, missing ``done``...)."""


@dataclass
class StreamResult:
    """What one message looked like from the client."""

    prompt: str = ""
    started: float = 0.0  # perf_counter() before connecting for the POST
    started_wall: float = 0.0  # the same instant, wall clock (see ``provider_arrivals``)
    posted: float = 0.0  # the 201 response has been read
    stream_open: float = 0.0  # the stream's response headers arrived
    first_delta: float = 0.0  # the first text delta was parsed
    done: float = 0.0  # ``event: done`` was parsed
    status: str | None = None  # the final status sent with ``done``
    deltas: int = 0
    text: str = ""
    error: str | None = None

    @property
    def ttft(self) -> float:
        """Seconds from the POST to the first text on the stream."""
        return self.first_delta - self.started

    def to_provider(self, arrival: float) -> float:
        """Seconds from the POST until Calango's request reached the provider (``arrival``,
        wall clock)."""
        return arrival - self.started_wall


class Client:
    """One browser: a cookie session with its CSRF token (see ``prepare``)."""

    def __init__(self, host: str, port: int, fresh_connections: bool = False) -> None:
        self.host = host
        self.port = port
        self.fresh_connections = fresh_connections
        self.cookie = ""
        self.csrf = ""

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def _remember_cookie(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            pair = header.split(";", 1)[0]
            if pair.startswith("session="):
                self.cookie = pair

    def _headers(self, **extra: str) -> dict[str, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        headers.update(extra)
        return headers

    def prepare(self) -> None:
        """Open the chat page: the session cookie and the CSRF token of the composer; when the
        app sends us to its login form (SERVER mode), sign in as ``BENCH_EMAIL`` first."""
        conn = self._connect()
        try:
            conn.request("GET", "/", headers=self._headers())
            response = conn.getresponse()
            body = response.read().decode()
            self._remember_cookie(response)
        finally:
            conn.close()
        if response.status in (301, 302, 303) and not self.cookie_signed_in:
            self.sign_in(BENCH_EMAIL)
            return
        if response.status != 200:
            raise BenchError(f"GET / answered {response.status}")
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', body)
        if not match:
            raise BenchError("no CSRF token on the chat page")
        self.csrf = match.group(1)

    cookie_signed_in = False

    def share_session(self, other: Client) -> None:
        """Use ``other``'s signed-in session (one account for many simultaneous browsers:
        the login form's rate limit stays out of the setup)."""
        self.cookie, self.csrf, self.cookie_signed_in = (
            other.cookie,
            other.csrf,
            other.cookie_signed_in,
        )

    def sign_in(self, email: str) -> None:
        """Log in through the login page when the app shows one; then fetch the composer's
        CSRF token (``prepare``)."""
        conn = self._connect()
        try:
            conn.request("GET", "/", headers=self._headers())
            response = conn.getresponse()
            body = response.read().decode()
            self._remember_cookie(response)
            if response.status in (301, 302, 303):
                location = urllib.parse.urlsplit(response.headers["Location"]).path or "/login"
                conn.request("GET", location, headers=self._headers())
                response = conn.getresponse()
                body = response.read().decode()
                self._remember_cookie(response)
        finally:
            conn.close()
        if 'name="password"' in body:
            self._post_login(body, email)
        self.cookie_signed_in = True
        self.prepare()

    def _post_login(self, page: str, email: str) -> None:
        form = re.search(r'<form[^>]*action="([^"]*)"', page)
        action = form.group(1) if form and form.group(1) else "/login"
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'name="csrf-token" content="([^"]+)"', page
        )
        fields = {
            "email": email,
            "password": PASSWORD,
            "csrf_token": token.group(1) if token else "",
        }
        conn = self._connect()
        try:
            conn.request(
                "POST",
                action,
                body=urllib.parse.urlencode(fields),
                headers=self._headers(**{"Content-Type": "application/x-www-form-urlencoded"}),
            )
            response = conn.getresponse()
            response.read()
            self._remember_cookie(response)
            if response.status not in (302, 303):
                raise BenchError(f"login as {email} answered {response.status}")
        finally:
            conn.close()

    def send_and_follow(self, text: str) -> StreamResult:
        """POST a message in a new chat, then read its stream to ``done``.

        The stream reuses the POST's keep-alive connection, as a browser does when it has an
        idle one, unless ``fresh_connections`` (like a reverse proxy without upstream
        keep-alive: every request may land on any worker).
        """
        result = StreamResult(prompt=text, started=time.perf_counter(), started_wall=time.time())
        conn = self._connect()
        try:
            body = urllib.parse.urlencode(
                {
                    "csrf_token": self.csrf,
                    "content": text,
                    "provider": PROVIDER_NAME,
                    "model": MODEL,
                    "persona": PERSONA,
                }
            )
            conn.request(
                "POST",
                "/chats/messages",
                body=body,
                headers=self._headers(
                    **{
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Accept": "application/json",
                    }
                ),
            )
            response = conn.getresponse()
            payload = response.read()
            self._remember_cookie(response)
            result.posted = time.perf_counter()
            if response.status != 201:
                raise BenchError(f"POST answered {response.status}: {payload[:200]!r}")
            html = json.loads(payload)["html"]
            match = re.search(r'data-stream-url="([^"]+)"', html)
            if not match:
                raise BenchError("no stream URL in the answer bubble")
            if self.fresh_connections:
                conn.close()
                conn = self._connect()
            self._follow(conn, match.group(1), result)
        except (OSError, http.client.HTTPException, ValueError, KeyError, BenchError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        return result

    def _follow(self, conn: http.client.HTTPConnection, url: str, result: StreamResult) -> None:
        conn.request("GET", url, headers=self._headers(Accept="text/event-stream"))
        response = conn.getresponse()
        result.stream_open = time.perf_counter()
        if response.status != 200:
            raise BenchError(f"stream answered {response.status}")
        event = ""
        while True:
            line = response.readline()
            if not line:
                raise BenchError("stream ended without done")
            line = line.rstrip(b"\r\n")
            if line.startswith(b"event:"):
                event = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                data = json.loads(line[5:])
                if event == "done":
                    result.done = time.perf_counter()
                    result.status = data.get("status")
                    return
                if data.get("text"):
                    if not result.deltas:
                        result.first_delta = time.perf_counter()
                    result.deltas += 1
                    result.text += data["text"]
            elif not line:
                event = ""


def direct_ttft(fake_url: str, prompt: str = "Hello") -> float:
    """Seconds from connecting to the fake until its first non-empty content delta in the raw
    OpenAI stream (what Calango's provider call costs at best)."""
    parts = urllib.parse.urlsplit(fake_url)
    body = json.dumps(
        {
            "model": MODEL,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": prompt}],
        }
    )
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench-0001"}
    started = time.perf_counter()
    first = 0.0
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            raise BenchError(f"fake answered {response.status}")
        while line := response.readline():
            if not line.startswith(b"data: {"):
                continue
            chunk = json.loads(line[6:])
            if any((c.get("delta") or {}).get("content") for c in chunk.get("choices", [])):
                first = time.perf_counter()
                break  # hang up: the rest of the answer is not measured
    finally:
        conn.close()
    if not first:
        raise BenchError("the fake sent no content")
    return first - started


def provider_arrivals(fake_url: str) -> dict[str, float]:
    """When each chat request reached the fake: ``{last user message: wall-clock time}``."""
    parts = urllib.parse.urlsplit(fake_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/bench/arrivals")
        return dict(json.loads(conn.getresponse().read()))
    finally:
        conn.close()


def add_stack_arguments(
    parser: argparse.ArgumentParser, chunks: int, delay: float
) -> argparse.ArgumentParser:
    """The options every benchmark shares: database, workers, the fake's script, connections."""
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY (default 2)")
    parser.add_argument("--chunks", type=int, default=chunks, help="text chunks per answer")
    parser.add_argument("--delay", type=float, default=delay, help="seconds between chunks")
    parser.add_argument("--first-delay", type=float, default=0.05, help="provider latency, s")
    parser.add_argument(
        "--fresh-connections",
        action="store_true",
        help="open each stream on a new connection (may land on another worker)",
    )
    return parser
