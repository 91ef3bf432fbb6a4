"""Shared fixtures.

Every test that uses ``app`` runs once on SQLite and once on PostgreSQL. The PostgreSQL run
needs ``CALANGO_TEST_DATABASE_URL`` (a server URL we may create databases on); without it
those runs are skipped, and ``CALANGO_FAIL_ON_SKIP=1`` (set by CI) turns any skip into a
failure. Each backend gets a fresh database per test run, built with ``flask db upgrade``;
after each test every table is reset to the freshly migrated contents.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, insert, inspect, text
from sqlalchemy.engine import URL, make_url
from werkzeug.serving import make_server

from calango import create_app
from calango.extensions import db
from config import TestConfig
from tests.fakes.provider_server import FakeProviderServer
from tests.helpers import csrf_token_from

BACKENDS = ("sqlite", "postgresql")
PG_ENV = "CALANGO_TEST_DATABASE_URL"
CHROMIUM = "/usr/bin/chromium"


@dataclass
class PreparedDatabase:
    """A migrated database and the rows it held right after ``flask db upgrade``."""

    url: str
    snapshot: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _pg_admin_url() -> URL | None:
    raw = os.environ.get(PG_ENV, "").strip()
    if not raw:
        return None
    from config import normalize_database_url

    return make_url(normalize_database_url(raw))


def create_pg_database(admin: URL) -> tuple[str, Callable[[], None]]:
    """A new, empty PostgreSQL database: its URL and the function that drops it."""
    name = f"calango_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()

    def drop() -> None:
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        engine.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), drop


def _migrate(url: str, home: Path) -> dict[str, list[dict[str, Any]]]:
    from flask_migrate import upgrade

    app = create_app(TestConfig(url, home=str(home)))
    with app.app_context():
        upgrade()
        snapshot: dict[str, list[dict[str, Any]]] = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(table.select()).mappings().all()
            snapshot[table.name] = [dict(r) for r in rows]
        db.session.remove()
        db.engine.dispose()
    return snapshot


@pytest.fixture(scope="session")
def prepared_databases(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, PreparedDatabase]]:
    """Lazily created per-backend databases, dropped at the end of the run."""
    created: dict[str, PreparedDatabase] = {}
    cleanups: list[Any] = []

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, backend: str) -> PreparedDatabase:
            home = tmp_path_factory.mktemp(f"home-{backend}")
            if backend == "sqlite":
                url = f"sqlite:///{home / 'calango-test.db'}"
            else:
                admin = _pg_admin_url()
                if admin is None:
                    pytest.skip(f"PostgreSQL: {PG_ENV} is not set")
                url, drop = create_pg_database(admin)
                cleanups.append(drop)
            prepared = PreparedDatabase(url=url, snapshot=_migrate(url, home))
            self[backend] = prepared
            created[backend] = prepared
            return prepared

    yield Lazy()
    for cleanup in cleanups:
        cleanup()


def reset_database(app: Flask, snapshot: dict[str, list[dict[str, Any]]]) -> None:
    """Put every table back to its freshly migrated contents."""
    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())
            for table in reversed(tables):
                rows = snapshot.get(table.name)
                if rows:
                    conn.execute(insert(table), rows)
            if conn.dialect.name == "postgresql":
                # The seeded rows came back with their ids: move each sequence past them.
                for table in tables:
                    if "id" in table.c and table.c.id.autoincrement is not False:
                        if table.c.id.type.python_type is not int:
                            continue
                        conn.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
                            )
                        )
        db.engine.dispose()


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new database with no tables, for migration tests; dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin = _pg_admin_url()
    if admin is None:
        pytest.skip(f"PostgreSQL: {PG_ENV} is not set")
    url, drop = create_pg_database(admin)
    yield url
    drop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of this test run: ``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture
def app_config(
    backend: str, prepared_databases: dict[str, PreparedDatabase], tmp_path: Path
) -> TestConfig:
    """The TestConfig for this test; tests may change attributes before ``app`` is built."""
    prepared = prepared_databases[backend]
    return TestConfig(prepared.url, home=str(tmp_path))


@pytest.fixture
def app(
    app_config: TestConfig, backend: str, prepared_databases: dict[str, PreparedDatabase]
) -> Iterator[Flask]:
    """A Calango app on a freshly reset database of the current backend."""
    application = create_app(app_config)
    yield application
    from calango.services.generation import wait_for_generations

    wait_for_generations(application, timeout=10)
    reset_database(application, prepared_databases[backend].snapshot)


PROVIDER_ENV_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GROQ_API_KEY",
    "OPENROUTER_API_KEY",
)


@pytest.fixture(autouse=True)
def _no_provider_keys_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own API keys must not change what a test sees (or reach a fake)."""
    for name in PROVIDER_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _push_request_context() -> None:
    """Deliberately replaces pytest-flask's fixture of this name (its ``client``, ``config``
    and ``options`` marker are used as they come).

    pytest-flask pushes one request context for the whole test. Flask then reuses its app
    context for every test-client request, so all requests of a test share one ``g`` and one
    database session, which production never does: the per-request caches in ``g`` (theme,
    language) and the session's identity map leak from one request into the next (without
    this override, the theme and chat-context tests fail on stale reads). Tests that need an
    app context ask for ``app_ctx``.
    """


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    """An active application context, for tests that use models directly."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def csrf(client: FlaskClient) -> str:
    """A valid CSRF token for ``client``'s session."""
    return csrf_token_from(client)


@pytest.fixture
def table_names(app_ctx: Flask) -> set[str]:
    return set(inspect(db.engine).get_table_names())


# --- a real HTTP server for browser and concurrency tests -------------------------------


class LiveServer:
    """The app served by werkzeug in a thread on 127.0.0.1 and a free port."""

    def __init__(self, app: Flask) -> None:
        # No access lines: werkzeug would add its own handler on stderr as captured for the
        # test at hand, and a request still in flight after that test (a browser's late
        # fetch) then printed "--- Logging error ---" tracebacks into the run's output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app on a real port, served from this process (replaces pytest-flask's on purpose).

    pytest-flask's live_server forks a child process and is session-scoped by default (a
    ScopeMismatch with our per-test ``app``). With ``live_server_scope = function`` it serves,
    but the answer producer then runs in the child: measured, ``wait_for_generations(app)``
    in the test returned at once while the answer was still streaming, and the database reset
    after the test would race the child's writes. Threads in this process share both.
    """
    server = LiveServer(app).start()
    yield server
    server.stop()


# --- the fake provider ----------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_provider_server() -> Iterator[FakeProviderServer]:
    """One protocol-level fake OpenAI/Anthropic server for the whole run (see tests/fakes)."""
    server = FakeProviderServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_provider_server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    """The shared fake provider with default behaviour, no recorded requests, not holding."""
    fake_provider_server.reset()
    yield fake_provider_server
    fake_provider_server.reset()  # releases streams a test left held


# --- Playwright with Debian's Chromium ---------------------------------------------------


@pytest.fixture(scope="session")
def base_url() -> str | None:
    """Tests pass full URLs (the live server's port changes); replaces pytest-base-url's."""
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("browser: /usr/bin/chromium is not installed (apt-get install chromium)")
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


# --- CI: a skipped test is a failed test ------------------------------------------------

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CALANGO_FAIL_ON_SKIP") == "1" and _skipped:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get("CALANGO_FAIL_ON_SKIP") == "1" and _skipped:
        terminalreporter.write_line(
            f"CALANGO_FAIL_ON_SKIP: {len(_skipped)} test(s) skipped (PostgreSQL or browser "
            "tests must run in CI); failing the run.",
            red=True,
        )
