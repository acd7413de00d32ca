"""``cp.inject_into_ssl(engine)``: clients that are given no context at all (their defaults)
are policy-checked. The servers' root is trusted by the engine only, never by the system or
certifi: a request that goes through proves the engine made the decision; after
``cp.extract_from_ssl()`` the clients' own verification is back and refuses that root."""

from __future__ import annotations

import asyncio
import http.client
import ssl
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import pytest
import requests
import urllib3

import certpolicy as cp
from certpolicy.tls import InjectedSSLContext, PolicySSLContext, injected_checker
from test_tls_server import BODY, tls_server

from pki import Cert, Issuer, make_root

TIMEOUT = 10.0
PATH = "/injected"


def via_urllib(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        body: bytes = response.read()
        return body


def via_http_client(url: str) -> bytes:
    parsed = urllib3.util.parse_url(url)
    connection = http.client.HTTPSConnection(parsed.host or "", parsed.port, timeout=TIMEOUT)
    try:
        connection.request("GET", PATH)
        return connection.getresponse().read()
    finally:
        connection.close()


def via_urllib3(url: str) -> bytes:
    with urllib3.PoolManager(retries=False) as pool:
        return pool.request("GET", url, timeout=TIMEOUT).data


def via_requests(url: str) -> bytes:
    return requests.get(url, timeout=TIMEOUT).content


def via_httpx(url: str) -> bytes:
    with httpx.Client(timeout=TIMEOUT) as client:
        return client.get(url).content


def via_httpx_async(url: str) -> bytes:
    async def fetch() -> bytes:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            return (await client.get(url)).content

    return asyncio.run(fetch())


def via_asyncio(url: str) -> bytes:
    parsed = urllib3.util.parse_url(url)

    async def fetch() -> bytes:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parsed.host, parsed.port, ssl=True), TIMEOUT
        )
        try:
            writer.write(f"GET {PATH} HTTP/1.1\r\nHost: {parsed.host}\r\n\r\n".encode())
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(), TIMEOUT)
        finally:
            writer.close()
        return raw.partition(b"\r\n\r\n")[2]

    return asyncio.run(fetch())


def via_aiohttp(url: str) -> bytes:
    async def fetch() -> bytes:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
            return await response.read()

    return asyncio.run(fetch())


CLIENTS: dict[str, Callable[[str], bytes]] = {
    "urllib": via_urllib,
    "http.client": via_http_client,
    "urllib3": via_urllib3,
    "requests": via_requests,
    "httpx": via_httpx,
    "httpx-async": via_httpx_async,
    "asyncio": via_asyncio,
    "aiohttp": via_aiohttp,
}


# What the clients raise when a handshake is refused (each wraps the ssl error its own way).
CLIENT_FAILURES = (OSError, urllib3.exceptions.HTTPError, httpx.HTTPError, aiohttp.ClientError)


@dataclass
class Pki:
    intermediate: Issuer
    good: Cert
    wrong_host: Cert
    engine: cp.Engine


@pytest.fixture(scope="module")
def pki() -> Pki:
    root = make_root("injection root (trusted by the engine only)")
    intermediate = root.issue_ca("injection intermediate")
    trust = cp.TrustStore()
    trust.add_der(root.der)
    policies = cp.PolicySet([cp.Policy("Web", "internet", check_revocation=False)])
    return Pki(
        intermediate=intermediate,
        good=intermediate.issue_leaf(["localhost", "127.0.0.1"]),
        wrong_host=intermediate.issue_leaf(["www.other.example"]),
        engine=cp.Engine(policies, trust),
    )


@pytest.fixture
def injected(pki: Pki) -> Iterator[cp.Engine]:
    cp.inject_into_ssl(pki.engine)
    try:
        yield pki.engine
    finally:
        cp.extract_from_ssl()


def check_error(exc: BaseException) -> cp.CertificateCheckError | None:
    return cp.certificate_check_error(exc)


@pytest.mark.parametrize("client_name", CLIENTS)
def test_default_clients_are_checked_by_the_injected_engine(
    client_name: str, pki: Pki, injected: cp.Engine, tmp_path: Path
) -> None:
    client = CLIENTS[client_name]
    chain = [pki.good, pki.intermediate]
    with tls_server(chain, pki.good.key_pem, tmp_path) as server:
        assert client(server.url("localhost", PATH)) == BODY
        assert server.requests == [f"GET {PATH} HTTP/1.1"]


@pytest.mark.parametrize("client_name", CLIENTS)
def test_default_clients_reject_what_the_engine_rejects(
    client_name: str, pki: Pki, injected: cp.Engine, tmp_path: Path
) -> None:
    client = CLIENTS[client_name]
    chain = [pki.wrong_host, pki.intermediate]
    with tls_server(chain, pki.wrong_host.key_pem, tmp_path) as server:
        with pytest.raises(CLIENT_FAILURES) as caught:
            client(server.url("localhost", PATH))
        error = check_error(caught.value)
        assert isinstance(error, cp.HostnameMismatchError), repr(caught.value)
        assert "valid for www.other.example" in str(error)
        assert server.requests == []  # no application byte reached the rejected server


@pytest.mark.parametrize("client_name", CLIENTS)
def test_after_extraction_the_defaults_are_back(client_name: str, pki: Pki, tmp_path: Path) -> None:
    cp.inject_into_ssl(pki.engine)
    cp.extract_from_ssl()
    client = CLIENTS[client_name]
    chain = [pki.good, pki.intermediate]
    with tls_server(chain, pki.good.key_pem, tmp_path) as server:
        with pytest.raises(CLIENT_FAILURES) as caught:
            client(server.url("localhost", PATH))
        # The client's own verification refused the engine-only root: no certpolicy error.
        assert check_error(caught.value) is None
        assert "CERTIFICATE_VERIFY_FAILED" in repr(caught.value) or "certificate verify" in str(
            caught.value
        )
        assert server.requests == []


def test_inject_and_extract_are_idempotent(pki: Pki) -> None:
    original = ssl.SSLContext
    cp.extract_from_ssl()  # not injected: nothing to do
    assert ssl.SSLContext is original
    cp.inject_into_ssl(pki.engine)
    cp.inject_into_ssl(pki.engine)
    try:
        assert ssl.SSLContext is InjectedSSLContext
        assert injected_checker() is pki.engine
    finally:
        cp.extract_from_ssl()
        cp.extract_from_ssl()
    assert ssl.SSLContext is original
    assert injected_checker() is None
    assert not isinstance(ssl.create_default_context(), PolicySSLContext)


def test_server_contexts_stay_plain_and_configurable(injected: cp.Engine) -> None:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert not isinstance(server, PolicySSLContext)
    assert isinstance(server, ssl.SSLContext)
    # ssl.py's setters run through the replaced class: they must act on the server context.
    server.verify_mode = ssl.CERT_REQUIRED
    assert server.verify_mode == ssl.CERT_REQUIRED
    server.minimum_version = ssl.TLSVersion.TLSv1_3
    assert server.minimum_version == ssl.TLSVersion.TLSv1_3
    server.options |= ssl.OP_NO_TICKET
    assert server.options & ssl.OP_NO_TICKET
    plain = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    assert type(plain) is not InjectedSSLContext


def test_client_contexts_made_while_injected_enforce_the_engine(injected: cp.Engine) -> None:
    for context in (
        ssl.create_default_context(),
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
        ssl._create_unverified_context(),
    ):
        assert isinstance(context, PolicySSLContext)
        assert context.engine is injected
        context.verify_mode = ssl.CERT_NONE  # what a client sets is ignored
        assert context.verify_mode == ssl.CERT_REQUIRED


def test_inject_refuses_what_is_not_an_engine() -> None:
    with pytest.raises(TypeError):
        cp.inject_into_ssl(object())  # type: ignore[arg-type]
    assert injected_checker() is None


def test_a_context_cannot_be_made_to_skip_the_engine(injected: cp.Engine) -> None:
    """Enforcement lives in wrap_socket/wrap_bio and the socket classes: a subclass made while
    injected (as gevent's ssl makes one) or an instance may not replace them (fail closed)."""
    with pytest.raises(TypeError, match="could not be checked"):

        class OwnSockets(ssl.SSLContext):
            def wrap_socket(self, *args: object, **kwargs: object) -> ssl.SSLSocket:
                raise AssertionError("never reached")

    with pytest.raises(TypeError, match="could not be checked"):

        class OwnSocketClass(ssl.SSLContext):
            sslsocket_class = ssl.SSLSocket

    context = ssl.create_default_context()
    with pytest.raises(TypeError):
        context.sslsocket_class = ssl.SSLSocket  # type: ignore[misc]
    with pytest.raises(TypeError):
        context.sslobject_class = ssl.SSLObject  # type: ignore[misc]
    assert context.sslsocket_class.__name__ == "PolicySSLSocket"


def test_isinstance_answers_for_the_injected_class_only(injected: cp.Engine) -> None:
    class Mine(ssl.SSLContext):  # subclasses the injected class
        pass

    plain = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    assert isinstance(plain, ssl.SSLContext)
    assert not isinstance(plain, Mine)
    assert isinstance(Mine(ssl.PROTOCOL_TLS_CLIENT), Mine)
