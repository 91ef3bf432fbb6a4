"""The SSRF guard in calango.llm, against real sockets: the fake provider on 127.0.0.1 is
refused by a guarded request and reached by an unguarded one, whatever form the address takes,
through redirects, and when a name's DNS answer changes between a check and the connection.

The fake servers all listen on 127.0.0.1. To stand for a *public* provider, tests resolve a
name to a public address (93.184.216.34) with a fake resolver, and translate that address to
127.0.0.1 *below* the guard (``nat``): the guard sees and checks the public address, the packets
go to the local fake.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from calango.llm import AddressRefused, ProviderError, ProviderSettings, list_models, netguard
from calango.llm.clients import shared_http_client
from calango.llm.netguard import GuardedBackend, refusal_reason
from calango.llm.streaming import open_chat_stream
from tests.fakes.provider_server import FakeProviderServer

PUBLIC = "93.184.216.34"  # stands for a public provider; connections to it go to 127.0.0.1

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
    ("fe80::1%eth0", "link-local"),
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_non_public_addresses_are_refused_with_their_reason(address, reason):
    assert refusal_reason(address) == reason


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", PUBLIC, "2606:4700::1111", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address):
    assert refusal_reason(address) is None


class _Nat(GuardedBackend):
    """Below the guard: connections to PUBLIC go to 127.0.0.1 (the fake servers)."""

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        return self._inner.connect_tcp(
            "127.0.0.1" if host == PUBLIC else host, port, *args, **kwargs
        )


@pytest.fixture
def nat() -> Iterator[None]:
    """The guarded client's backend, with PUBLIC translated to 127.0.0.1 under the guard."""
    cancellable = shared_http_client(guarded=True)._transport._pool._network_backend  # type: ignore[attr-defined]
    guard = cancellable._inner
    assert isinstance(guard, GuardedBackend)
    real = guard._inner
    guard._inner = _Nat(real)
    yield
    guard._inner = real


@pytest.fixture
def dns() -> Iterator[dict[str, list[list[str]]]]:
    """A fake DNS: ``dns[name]`` is the list of successive answers (the last one repeats);
    other names resolve normally. Records every lookup in ``dns['lookups']``."""
    answers: dict[str, list[list[str]]] = {"lookups": []}

    def resolver(host: str, port: int) -> list[str]:
        answers["lookups"].append([host])
        if host in answers:
            queue = answers[host]
            return queue.pop(0) if len(queue) > 1 else queue[0]
        return netguard.system_resolver(host, port)

    previous = netguard.set_resolver(resolver)
    yield answers
    netguard.set_resolver(previous)


def _settings(base_url: str, guarded: bool = True, kind: str = "openai") -> ProviderSettings:
    return ProviderSettings(
        "Fake",
        kind,
        base_url,
        "sk-test",
        connect_timeout=2.0,
        read_timeout=5.0,
        max_retries=0,
        allow_private_addresses=not guarded,
    )


def _port(fake: FakeProviderServer) -> int:
    return int(fake.url.rsplit(":", 1)[1])


def test_the_fake_on_loopback_is_refused_when_guarded_and_reached_when_allowed(fake):
    with pytest.raises(AddressRefused) as caught:
        list_models(_settings(fake.openai_base_url))
    assert caught.value.address == "127.0.0.1"
    assert fake.requests == []
    assert "fake-small" in list_models(_settings(fake.openai_base_url, guarded=False))
    assert len(fake.requests) == 1


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_a_guarded_chat_send_never_reaches_a_local_provider(fake, kind):
    base = fake.openai_base_url if kind == "openai" else fake.anthropic_base_url
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(AddressRefused):
        open_chat_stream(_settings(base, kind=kind), "fake-small", messages)
    assert fake.requests == []
    stream = open_chat_stream(_settings(base, guarded=False, kind=kind), "fake-small", messages)
    assert "".join(e.text for e in stream if hasattr(e, "text")) == "Hello from fake"


@pytest.mark.parametrize(
    "host",
    ["localhost", "2130706433", "0x7f.0.0.1", "127.1", "[::ffff:127.0.0.1]", "[::1]"],
)
def test_every_form_of_a_loopback_address_is_refused(fake, host):
    with pytest.raises(AddressRefused):
        list_models(_settings(f"http://{host}:{_port(fake)}/v1"))
    assert fake.requests == []


def test_an_octal_address_is_refused_before_any_connection(fake):
    # httpx rejects the octal form as a URL; the save-time check resolves it to 127.0.0.1.
    url = f"http://0177.0.0.1:{_port(fake)}/v1"
    with pytest.raises(ProviderError):
        list_models(_settings(url))
    assert fake.requests == []
    with pytest.raises(AddressRefused):
        netguard.check_url(url)


def test_a_name_that_resolves_to_a_private_address_is_refused(fake, dns):
    dns["internal.example"] = [["10.0.0.5"]]
    with pytest.raises(AddressRefused) as caught:
        list_models(_settings(f"http://internal.example:{_port(fake)}/v1"))
    assert (caught.value.host, caught.value.address) == ("internal.example", "10.0.0.5")


def test_one_private_address_among_public_ones_is_refused(fake, dns, nat):
    dns["mixed.example"] = [[PUBLIC, "169.254.169.254"]]
    with pytest.raises(AddressRefused):
        list_models(_settings(f"http://mixed.example:{_port(fake)}/v1"))
    assert fake.requests == []


def test_a_public_name_is_reached_through_the_guard(fake, dns, nat):
    dns["api.example"] = [[PUBLIC]]
    assert "fake-small" in list_models(_settings(f"http://api.example:{_port(fake)}/v1"))
    assert fake.requests[-1]["path"].endswith("/models")


def test_a_dns_answer_that_changes_after_the_check_is_caught_at_connect(fake, dns, nat):
    """Rebinding: public when the provider is saved (checked), loopback when it is called."""
    dns["rebind.example"] = [[PUBLIC], ["127.0.0.1"]]
    url = f"http://rebind.example:{_port(fake)}/v1"
    netguard.check_url(url)  # what saving the provider does: passes
    with pytest.raises(AddressRefused) as caught:
        list_models(_settings(url))
    assert caught.value.address == "127.0.0.1"
    assert fake.requests == []


def test_the_guard_connects_to_the_address_it_checked_without_resolving_again(fake, dns, nat):
    """Public on the first lookup, loopback on any later one: one lookup per connection, and
    the connection goes to the checked (public) address."""
    dns["once.example"] = [[PUBLIC], ["127.0.0.1"]]
    dns["lookups"].clear()
    assert "fake-small" in list_models(_settings(f"http://once.example:{_port(fake)}/v1"))
    assert dns["lookups"] == [["once.example"]]


class _Redirector(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(307)
        self.send_header("Location", self.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[tuple[ThreadingHTTPServer, type[_Redirector]]]:
    handler = type("Redirect", (_Redirector,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


def test_a_redirect_from_a_public_server_to_loopback_is_refused(fake, dns, nat, redirector):
    server, handler = redirector
    handler.target = fake.url  # http://127.0.0.1:<the fake's port>
    dns["public.example"] = [[PUBLIC]]
    with pytest.raises(AddressRefused) as caught:
        list_models(_settings(f"http://public.example:{server.server_address[1]}/v1"))
    assert caught.value.address == "127.0.0.1"
    assert fake.requests == []


def test_a_redirect_to_another_public_name_is_followed(fake, dns, nat, redirector):
    server, handler = redirector
    handler.target = f"http://api.example:{_port(fake)}"
    dns["public.example"] = [[PUBLIC]]
    dns["api.example"] = [[PUBLIC]]
    models = list_models(_settings(f"http://public.example:{server.server_address[1]}/v1"))
    assert "fake-small" in models


def test_the_policy_shows_in_the_settings_repr_and_defaults_to_allowed():
    settings = ProviderSettings("x", "openai", None, "sk-secret")
    assert settings.allow_private_addresses is True
    guarded = dataclasses.replace(settings, allow_private_addresses=False)
    assert "allow_private_addresses=False" in repr(guarded)
    assert "sk-secret" not in repr(guarded)
