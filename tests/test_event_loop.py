"""A revocation fetch during a handshake never blocks the asyncio event loop: the check runs
on a worker thread and the handshake resumes when the answer is in.

No wall-clock thresholds: the CRL server holds its answer until the event loop has ticked
several times *while the CRL request is being served*. If the fetch blocked the loop, the
ticker could not tick, the server would give up waiting and the test fails on that."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import pytest

import certpolicy as cp
from test_tls_server import BODY, tls_server

import crl_pki as c
from pki import Cert, Issuer, make_root
from servers import Request, Response, serve

REVOKED_AT = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
TICKS_WHILE_FETCHING = 5
PATIENCE = 10.0  # seconds the CRL server waits for the ticks before answering anyway


@dataclass
class Watch:
    """Shared between the CRL server thread and the event loop's ticker."""

    fetching: threading.Event
    ticked: threading.Event
    saw_ticks: list[bool]


def crl_handler(body: bytes, watch: Watch) -> Callable[[Request], Response]:
    def handle(request: Request) -> Response:
        watch.fetching.set()
        watch.saw_ticks.append(watch.ticked.wait(PATIENCE))
        return Response(200, body, {"Content-Type": "application/pkix-crl"})

    return handle


async def with_ticker(watch: Watch, work: Awaitable[bytes]) -> bytes:
    async def tick() -> None:
        ticks = 0
        while True:
            await asyncio.sleep(0.01)
            if watch.fetching.is_set():
                ticks += 1
                if ticks >= TICKS_WHILE_FETCHING:
                    watch.ticked.set()

    ticker = asyncio.ensure_future(tick())
    try:
        return await asyncio.wait_for(work, 30)
    finally:
        ticker.cancel()


@pytest.fixture
def pki() -> tuple[Issuer, Issuer]:
    root = make_root("event loop root")
    return root, root.issue_ca("event loop intermediate")


def setup(pki: tuple[Issuer, Issuer], crl_url: str, tmp_path: Path) -> tuple[cp.Engine, Cert]:
    root, intermediate = pki
    leaf = intermediate.issue_leaf(["localhost"], crl_urls=[crl_url])
    trust = cp.TrustStore()
    trust.add_der(root.der)
    engine = cp.Engine(
        cp.PolicySet([cp.Policy("Web", "internet")]),
        trust,
        cp.RevocationConfig(method="crl", depth="leaf", cache_dir=tmp_path / "cache"),
    )
    return engine, leaf


async def via_asyncio(engine: cp.Engine, port: int) -> bytes:
    reader, writer = await asyncio.open_connection("localhost", port, ssl=engine.ssl_context())
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    return raw.partition(b"\r\n\r\n")[2]


async def via_aiohttp(engine: cp.Engine, port: int) -> bytes:
    connector = aiohttp.TCPConnector(ssl=engine.ssl_context())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"https://localhost:{port}/") as response,
    ):
        return await response.read()


async def via_httpx(engine: cp.Engine, port: int) -> bytes:
    async with httpx.AsyncClient(verify=engine.ssl_context()) as client:
        return (await client.get(f"https://localhost:{port}/")).content


@pytest.mark.parametrize(
    "client", [via_asyncio, via_aiohttp, via_httpx], ids=["asyncio", "aiohttp", "httpx-async"]
)
@pytest.mark.parametrize("revoked", [False, True], ids=["good", "revoked"])
def test_a_cold_crl_fetch_does_not_block_the_loop(
    pki: tuple[Issuer, Issuer],
    tmp_path: Path,
    client: Callable[[cp.Engine, int], Awaitable[bytes]],
    revoked: bool,
) -> None:
    watch = Watch(threading.Event(), threading.Event(), [])
    _root, intermediate = pki
    holder: dict[str, bytes] = {}
    with serve(lambda request: crl_handler(holder["crl"], watch)(request)) as crl_server:
        engine, leaf = setup(pki, f"http://127.0.0.1:{crl_server.port}/int.crl", tmp_path)
        entries = [c.Entry(leaf.cert.serial_number, REVOKED_AT, "keyCompromise")] if revoked else []
        holder["crl"] = c.make_crl(intermediate, entries)
        with tls_server([leaf, intermediate], leaf.key_pem, tmp_path) as server:
            if revoked:
                failures = (cp.CertificateRevokedError, aiohttp.ClientError, httpx.HTTPError)
                with pytest.raises(failures) as caught:
                    asyncio.run(with_ticker(watch, client(engine, server.port)))
                assert isinstance(
                    cp.certificate_check_error(caught.value), cp.CertificateRevokedError
                )
                assert server.requests == []
            else:
                assert asyncio.run(with_ticker(watch, client(engine, server.port))) == BODY
        engine.close()
    assert watch.saw_ticks == [True], "the event loop stood still while the CRL was fetched"
