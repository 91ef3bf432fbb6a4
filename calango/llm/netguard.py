"""The SSRF guard: refuse connections to loopback, private, link-local and other non-public
addresses, checked on the resolved address at connect time.

A provider's base URL is typed by whoever manages providers; in SERVER mode it must not become
a way to reach the server's own network (cloud metadata at 169.254.169.254, a database on
127.0.0.1, an office network). Checking the URL when it is saved is not enough: a name can
resolve to a public address then and to 127.0.0.1 a second later (DNS rebinding), and a
public server can redirect anywhere. So the guarded HTTP client connects through
:class:`GuardedBackend`: it resolves the host once, refuses if *any* resolved address is not
public, and connects to the checked address itself, never resolving again. Every connection
(a redirect's too) goes through it, and numeric forms (``2130706433``, ``0x7f.1``,
``::ffff:127.0.0.1``) resolve to what they mean before the check.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore2
from httpcore2._backends.base import NetworkBackend, NetworkStream

from calango.llm.errors import AddressRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the operating system's resolver), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_resolver: Resolver = system_resolver


def set_resolver(resolver: Resolver) -> Resolver:
    """Replace the resolver the guard uses (tests point it at a fake DNS); returns the old one."""
    global _resolver
    previous, _resolver = _resolver, resolver
    return previous


def resolve(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the current resolver; ``OSError`` when it does not resolve."""
    return _resolver(host, port)


def refusal_reason(address: str) -> str | None:
    """Why connecting to ``address`` (an IP literal) is refused, or ``None`` for a public one.

    IPv6 that carries an IPv4 address (mapped ``::ffff:10.0.0.1``, NAT64 ``64:ff9b::a00:1``,
    6to4 ``2002:a00:1::``) is judged as that IPv4 address.
    """
    try:
        ip: Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            ip = embedded
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared (CGNAT)"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _UNIQUE_LOCAL:
        return "unique-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, when it is a translation of one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


def check_addresses(host: str, addresses: Iterable[str]) -> list[str]:
    """Return ``addresses`` when every one is public; raise ``AddressRefused`` otherwise."""
    found = list(addresses)
    for address in found:
        reason = refusal_reason(address)
        if reason is not None:
            raise AddressRefused(host, address, reason)
    return found


def check_url(base_url: str) -> None:
    """Resolve ``base_url``'s host now and raise ``AddressRefused`` if it is not public.

    For an early, friendly refusal when a provider is saved; a name that does not resolve
    (yet) passes, since the connect-time check is the guarantee.
    """
    url = base_url if "//" in base_url else f"//{base_url}"
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return
    if not host:
        return
    default = 443 if parts.scheme == "https" else 80
    try:
        addresses = resolve(host, port or default)
    except (OSError, UnicodeError):
        return
    check_addresses(host, addresses)


class GuardedBackend(NetworkBackend):
    """Wraps httpcore's network backend: resolve once, refuse non-public addresses, connect
    to the checked address. TLS still verifies the host name (httpcore passes it as SNI)."""

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
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore2.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore2.ConnectError(f"{host} resolves to no address")
        last: Exception | None = None
        for address in check_addresses(host, addresses):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> NetworkStream:
        raise AddressRefused(path, path, "unix socket")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guard_connections(client: Any) -> None:
    """Route every connection of ``client`` (an ``httpx2.Client``) through
    :class:`GuardedBackend`; call before ``make_cancellable``."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, GuardedBackend):
            pool._network_backend = GuardedBackend(backend)  # type: ignore[union-attr]
