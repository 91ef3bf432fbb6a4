"""gunicorn settings for Calango (SERVER mode): ``gunicorn -c gunicorn.conf.py wsgi:app``.

Answers stream for seconds to minutes, so workers are gevent workers: one process holds
hundreds of open streams. Every value can be overridden with the usual GUNICORN_CMD_ARGS or
command-line flags.
"""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("CALANGO_BIND", "127.0.0.1:8000")
worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("CALANGO_WORKER_CONNECTIONS", "1000"))
# A clean shutdown waits for answers being written so they are saved complete.
graceful_timeout = int(os.environ.get("CALANGO_GRACEFUL_TIMEOUT", "120"))
keepalive = 5
# No control socket: several instances on one host would fight over ~/.gunicorn/gunicorn.ctl.
control_socket_disable = True
# Trust X-Forwarded-* only from the local reverse proxy (set to its address if elsewhere).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
# Never preload: each worker must open its own database connections after the fork.
preload_app = False


def post_fork(server: Any, worker: Any) -> None:
    """psycopg2 blocks the whole gevent loop unless it is told to cooperate."""
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()


def post_worker_init(worker: Any) -> None:
    """Before serving: load what the first answer would otherwise load (~50 ms, then ~200 ms
    under load, measured in bench/)."""
    from calango.llm import warm_up

    warm_up()
