"""Real SERVER deployments for the deploy tests: a fresh PostgreSQL database migrated with
``flask db upgrade`` (the release step of docs/deploy.md), and gunicorn instances started with
``gunicorn.conf.py`` exactly as the docs say, each on its own free port.

``Browser`` is a cookie-keeping HTTP client that behaves like the page script (CSRF token from
the layout, JSON sends, the answer's SSE stream). ``sign_in`` logs in when the app has a login
page (SERVER mode has accounts: ``create_account`` makes one with ``flask calango create-user``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, home: Path) -> dict[str, str]:
    """The environment of a SERVER instance on ``database_url`` (shared by all instances)."""
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALANGO_", "GUNICORN"))}
    env.update(
        CALANGO_MODE="SERVER",
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_hex(32),
        CALANGO_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        CALANGO_HOME=str(home),
        CALANGO_INSECURE_COOKIES="1",  # plain http on 127.0.0.1
        CALANGO_ALLOWED_HOSTS="127.0.0.1",
        CALANGO_LOG_LEVEL="WARNING",
        FLASK_APP="wsgi.py",
        WEB_CONCURRENCY="1",
    )
    return env


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run ``flask ARGS`` in the project folder; its output, or AssertionError with stderr."""
    result = subprocess.run(
        [str(BIN / "flask"), *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    return result.stdout


def has_create_user(env: dict[str, str]) -> bool:
    """Whether this version has ``flask calango create-user`` (accounts)."""
    result = subprocess.run(
        [str(BIN / "flask"), "calango", "create-user", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    return result.returncode == 0


@dataclass
class Instance:
    """One gunicorn instance (master + gevent workers) started with gunicorn.conf.py."""

    env: dict[str, str]
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> Instance:
        """Start and wait until ``/healthz`` answers; AssertionError with the log if not."""
        return self.launch().wait(timeout)

    def launch(self) -> Instance:
        """Start gunicorn without waiting (start several, then ``wait`` for each)."""
        self.port = free_port()
        command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"]
        command += ["--bind", f"127.0.0.1:{self.port}"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait(self, timeout: float = 90.0) -> Instance:
        """Wait until ``/healthz`` answers; AssertionError with the log if it does not."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log.read_text()}"
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer in {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), then kill if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def problems(self) -> list[str]:
        """Log lines reporting errors (tracebacks, worker timeouts)."""
        pattern = re.compile(r"Traceback|\bERROR\b|CRITICAL|WORKER TIMEOUT")
        return [line for line in self.log.read_text().splitlines() if pattern.search(line)]


@dataclass
class Browser:
    """One person's browser: cookies (valid on every instance: they share SECRET_KEY)."""

    http: httpx2.Client = field(default_factory=lambda: httpx2.Client(timeout=30))
    csrf: str = ""

    def page(self, url: str) -> str:
        """GET a page (following redirects), remembering its CSRF token."""
        response = self.http.get(url, follow_redirects=True)
        assert response.status_code == 200, (url, response.status_code)
        match = re.search(r'name="csrf-token" content="([^"]+)"', response.text)
        if match:
            self.csrf = match.group(1)
        return response.text

    def post(self, url: str, data: dict[str, Any], **kwargs: Any) -> httpx2.Response:
        """POST a form with the current CSRF token (and a Referer, as browsers send: over
        HTTPS the CSRF check wants one from the same site)."""
        parts = httpx2.URL(url)
        headers = {
            "Referer": f"{parts.scheme}://{parts.netloc.decode()}/",
            **kwargs.pop("headers", {}),
        }
        return self.http.post(
            url, data={"csrf_token": self.csrf, **data}, headers=headers, **kwargs
        )

    def send(self, base: str, text: str, provider: str, model: str) -> dict[str, Any]:
        """Send a message in a new chat as the page script does: the JSON answer, plus
        ``stream_url`` and ``message_id`` of the answer being written."""
        response = self.post(
            base + "/chats/messages",
            {"content": text, "provider": provider, "model": model, "persona": ""},
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 201, response.text[:500]
        data = dict(response.json())
        match = re.search(r'data-stream-url="([^"]+)"', data["html"])
        assert match, "no stream URL in the answer bubble"
        data["stream_url"] = match.group(1).replace("&amp;", "&")
        data["message_id"] = int(re.search(r"/messages/(\d+)/", data["stream_url"]).group(1))
        return data

    @contextlib.contextmanager
    def stream(self, url: str) -> Iterator[Iterator[tuple[str, dict[str, Any], float]]]:
        """Follow an SSE stream: yields ``(event, data, arrival time)`` as they arrive."""
        with self.http.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
            assert response.status_code == 200, response.status_code

            def events() -> Iterator[tuple[str, dict[str, Any], float]]:
                event = "message"
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        yield event, json.loads(line[5:]), time.monotonic()
                    elif not line:
                        event = "message"

            yield events()


def sign_in(browser: Browser, base: str, email: str, password: str) -> None:
    """Log ``browser`` in on ``base`` when the app shows a login page; else just open it."""
    page = browser.page(base + "/")
    if 'name="password"' not in page:
        return  # no accounts (yet): the open server
    form = re.search(
        r'<form[^>]*action="([^"]*)"[^>]*>(?:(?!</form>).)*name="password"', page, re.S
    )
    action = form.group(1) if form and form.group(1) else "/login"
    data = {"email": email, "password": password}
    response = browser.post(base + action, data, follow_redirects=True)
    assert response.status_code == 200, response.status_code
    assert 'name="password"' not in response.text or "logout" in response.text.lower()
    browser.page(base + "/")


def create_account(env: dict[str, str], email: str, password: str, admin: bool = False) -> None:
    """Create a user with ``flask calango create-user`` (password on stdin) when it exists."""
    if has_create_user(env):
        flask(
            env,
            "calango",
            "create-user",
            email,
            *(["--admin"] if admin else []),
            stdin=f"{password}\n{password}\n",
        )
