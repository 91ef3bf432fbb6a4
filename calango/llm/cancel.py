"""Cancelling a provider request from another thread, whatever phase it is in.

A thread blocked reading a socket is not woken by closing it, and before the provider has sent
its response headers there is no response object to close. So every connection of the shared
HTTP client goes through :class:`CancellableBackend`: while a thread that holds a
:class:`CancelToken` reads or writes, the token knows the socket, and ``cancel()`` shuts it down.
The blocked read then fails at once, the SDK sees a dropped connection, and the request is over
(the provider sees the connection close).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore2
import httpx2
from httpcore2._backends.base import NetworkBackend, NetworkStream

_local = threading.local()


class CancelToken:
    """Set once; cancels the current and every later network operation of the thread(s) that
    installed it. ``wait()`` sleeps until cancelled (for back-off between retries)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel()`` was called."""
        return self._event.is_set()

    def cancel(self) -> None:
        """Cancel: the socket being read or written right now is shut down; safe from any
        thread, idempotent."""
        with self._lock:
            self._event.set()
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when cancelled meanwhile."""
        return self._event.wait(max(0.0, seconds))

    @contextlib.contextmanager
    def installed(self) -> Iterator[CancelToken]:
        """Make this token govern the network operations of the current thread."""
        previous = getattr(_local, "token", None)
        _local.token = self
        try:
            yield self
        finally:
            _local.token = previous

    @contextlib.contextmanager
    def _using(self, sock: socket.socket | None) -> Iterator[None]:
        if sock is None:
            yield
            return
        with self._lock:
            if self._event.is_set():
                raise httpcore2.ReadError("cancelled")
            self._sockets.add(sock)
        try:
            yield
        finally:
            with self._lock:
                self._sockets.discard(sock)


def current_token() -> CancelToken | None:
    """The token installed in this thread, if any."""
    return getattr(_local, "token", None)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError, ValueError):
        sock.shutdown(socket.SHUT_RDWR)


class _CancellableStream(NetworkStream):
    """A network stream whose blocking reads and writes the current token can interrupt."""

    def __init__(self, inner: NetworkStream) -> None:
        self._inner = inner

    def _guard(self) -> contextlib.AbstractContextManager[None]:
        token = current_token()
        if token is None:
            return contextlib.nullcontext()
        return token._using(self._inner.get_extra_info("socket"))

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with self._guard():
            return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with self._guard():
            self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> NetworkStream:
        with self._guard():
            return _CancellableStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class CancellableBackend(NetworkBackend):
    """Wraps httpcore's network backend so that every stream it opens is cancellable."""

    def __init__(self, inner: NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> NetworkStream:
        token = current_token()
        if token is not None and token.cancelled:
            raise httpcore2.ConnectError("cancelled")
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _CancellableStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> NetworkStream:
        return _CancellableStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def shutdown_response(response: httpx2.Response) -> None:
    """Shut down the socket under ``response`` so that a thread reading it wakes up."""
    stream = response.extensions.get("network_stream")
    try:
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError, AttributeError):
        pass  # already closed


def close_quietly(response: httpx2.Response) -> None:
    """Close ``response``, whatever state it is in."""
    # Closing from two threads at once may trip over itself; either way it is closed.
    with contextlib.suppress(Exception):
        response.close()


def make_cancellable(client: Any) -> None:
    """Route every connection of ``client`` (an ``httpx2.Client``, proxies included) through
    :class:`CancellableBackend`. httpx does not expose the backend, so this sets the pools'
    attribute; tests/hardening/test_stop.py fails if a new httpx stops honouring it."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, CancellableBackend):
            pool._network_backend = CancellableBackend(backend)  # type: ignore[union-attr]
