"""Through a proxy the peer address is the proxy's, not the server's. A proxy in an intranet
range (here 127.0.0.1) must not give every site behind it the intranet policy: with
``PolicySet.defaults(fresh_install=False)`` that policy checks nothing. The context uses the
peer address only when it does not weaken the checks, unless told the connection is direct."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import httpx
import pytest
import requests

import certpolicy as cp

from loopback import tcp_server
from pki import make_root

TIMEOUT = 5.0


@contextmanager
def impostor_server(tmp_path: Path) -> Iterator[tuple[int, list[bytes]]]:
    """A TLS server with a self-signed certificate for another name; records what it gets."""
    leaf = make_root("impostor").issue_leaf(["impostor.invalid"])
    (tmp_path / "c.pem").write_bytes(leaf.pem)
    (tmp_path / "k.pem").write_bytes(leaf.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    received: list[bytes] = []

    def answer(raw: socket.socket, _stop: threading.Event) -> None:
        raw.settimeout(TIMEOUT)
        try:
            with context.wrap_socket(raw, server_side=True) as tls:
                data = tls.recv(65536)
                received.append(data)
                if data:
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nPWNED!")
        except OSError:
            pass

    with tcp_server(answer) as port:
        yield port, received


@contextmanager
def connect_proxy(target_port: int) -> Iterator[str]:
    """An HTTP CONNECT proxy on 127.0.0.1 that sends every tunnel to ``target_port``."""

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            dst.close()

    def tunnel(client: socket.socket, _stop: threading.Event) -> None:
        client.settimeout(TIMEOUT)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        upstream = socket.create_connection(("127.0.0.1", target_port), timeout=TIMEOUT)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    with tcp_server(tunnel) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def engine() -> cp.Engine:
    # An upgraded install: the intranet policy (127/8 among its ranges) checks nothing.
    return cp.Engine(cp.PolicySet.defaults(fresh_install=False), cp.TrustStore())


def test_requests_through_an_intranet_proxy_is_checked_as_internet(
    engine: cp.Engine, tmp_path: Path
) -> None:
    with impostor_server(tmp_path) as (port, received), connect_proxy(port) as proxy:
        session = cp.requests_session(engine)
        with pytest.raises(requests.exceptions.SSLError) as info:
            session.get("https://www.bank.example/", proxies={"https": proxy}, timeout=TIMEOUT)
    error = cp.certificate_check_error(info.value)
    assert isinstance(error, cp.ChainError)
    assert error.report is not None
    assert error.report.policy.name == "Internet"
    assert all(data == b"" for data in received)


def test_httpx_through_an_intranet_proxy_is_checked_as_internet(
    engine: cp.Engine, tmp_path: Path
) -> None:
    with (
        impostor_server(tmp_path) as (port, received),
        connect_proxy(port) as proxy,
        pytest.raises(httpx.ConnectError) as info,
    ):
        httpx.get(
            "https://www.bank.example/",
            verify=engine.ssl_context(),
            proxy=proxy,
            timeout=TIMEOUT,
        )
    assert isinstance(cp.certificate_check_error(info.value), cp.ChainError)
    assert all(data == b"" for data in received)


def test_aiohttp_through_an_intranet_proxy_is_checked_as_internet(
    engine: cp.Engine, tmp_path: Path
) -> None:
    async def fetch(proxy: str) -> None:
        connector = aiohttp.TCPConnector(ssl=engine.ssl_context())
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(
                "https://www.bank.example/",
                proxy=proxy,
                timeout=aiohttp.ClientTimeout(total=TIMEOUT),
            ) as response,
        ):
            await response.read()

    with (
        impostor_server(tmp_path) as (port, received),
        connect_proxy(port) as proxy,
        pytest.raises(aiohttp.ClientError) as info,
    ):
        asyncio.run(fetch(proxy))
    assert isinstance(cp.certificate_check_error(info.value), cp.ChainError)
    assert all(data == b"" for data in received)


def test_direct_connections_may_trust_the_peer_address(engine: cp.Engine, tmp_path: Path) -> None:
    """The same server reached directly: with trust_peer_ip=True its intranet address selects
    the intranet policy (which lets it through on an upgraded install); by default it does
    not."""
    with impostor_server(tmp_path) as (port, _):
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        with pytest.raises(cp.ChainError) as info:
            engine.ssl_context().wrap_socket(raw, server_hostname="www.bank.example")
        raw.close()
        assert info.value.report is not None
        assert info.value.report.policy.name == "Internet"
        raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        context = engine.ssl_context(trust_peer_ip=True)
        with context.wrap_socket(raw, server_hostname="www.bank.example") as tls:
            assert tls.report is not None
            assert tls.report.policy.name == "Intranet"
