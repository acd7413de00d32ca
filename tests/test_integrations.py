"""Every supported HTTP client, through ``engine.ssl_context()``, against real TLS servers on
127.0.0.1 presenting good, revoked, wrong-host, expired and self-signed chains. A rejected
server must receive no application byte: the servers count what arrives after the handshake.
Revocation comes from a real CRL served over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import pytest
import requests
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

import certpolicy as cp
from certpolicy.tls import (
    PolicyHTTPAdapter,
    PolicySSLContext,
    certificate_check_error,
    requests_session,
)
from test_tls_server import BODY, expired_leaf, self_signed, tls_server

from pki import Cert, Issuer, make_root
from policies import INTRANET_BOX_OFF
from servers import Request, Response, serve

TIMEOUT = 10.0
PATH = "/integration"


# --- clients: each GETs a URL through an engine and returns the body, or raises ---


def via_urllib(engine: cp.Engine, url: str) -> bytes:
    with urllib.request.urlopen(url, context=engine.ssl_context(), timeout=TIMEOUT) as response:
        body: bytes = response.read()
        return body


def via_urllib3(engine: cp.Engine, url: str) -> bytes:
    with urllib3.PoolManager(ssl_context=engine.ssl_context(), retries=False) as pool:
        return pool.request("GET", url, timeout=TIMEOUT).data


def via_requests(engine: cp.Engine, url: str) -> bytes:
    with requests_session(engine) as session:
        return session.get(url, timeout=TIMEOUT).content


def via_httpx(engine: cp.Engine, url: str) -> bytes:
    with httpx.Client(verify=engine.ssl_context(), timeout=TIMEOUT) as client:
        return client.get(url).content


def via_httpx_async(engine: cp.Engine, url: str) -> bytes:
    async def fetch() -> bytes:
        async with httpx.AsyncClient(verify=engine.ssl_context(), timeout=TIMEOUT) as client:
            return (await client.get(url)).content

    return asyncio.run(fetch())


def via_asyncio(engine: cp.Engine, url: str) -> bytes:
    parsed = urllib3.util.parse_url(url)
    assert parsed.host is not None
    assert parsed.port is not None

    async def fetch() -> bytes:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parsed.host, parsed.port, ssl=engine.ssl_context()), TIMEOUT
        )
        try:
            writer.write(f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.host}\r\n\r\n".encode())
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(), TIMEOUT)
        finally:
            writer.close()
        return raw.partition(b"\r\n\r\n")[2]

    return asyncio.run(fetch())


def via_aiohttp(engine: cp.Engine, url: str) -> bytes:
    async def fetch() -> bytes:
        connector = aiohttp.TCPConnector(ssl=engine.ssl_context())
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
            session.get(url) as response,
        ):
            return await response.read()

    return asyncio.run(fetch())


Client = Callable[[cp.Engine, str], bytes]
CLIENTS: dict[str, Client] = {
    "urllib": via_urllib,
    "urllib3": via_urllib3,
    "requests": via_requests,
    "httpx": via_httpx,
    "httpx-async": via_httpx_async,
    "asyncio": via_asyncio,
    "aiohttp": via_aiohttp,
}

# What each client raises for a rejected certificate: its usual TLS error type, so code that
# already handles certificate errors keeps working.
CLIENT_ERRORS: dict[str, type[BaseException]] = {
    "urllib": urllib.error.URLError,
    "urllib3": urllib3.exceptions.SSLError,
    "requests": requests.exceptions.SSLError,
    "httpx": httpx.ConnectError,
    "httpx-async": httpx.ConnectError,
    "asyncio": ssl.SSLCertVerificationError,
    "aiohttp": aiohttp.ClientConnectorCertificateError,
}


# --- the PKI, the CRL server and the engines ---


@dataclass
class World:
    root: Issuer
    intermediate: Issuer
    good: Cert
    revoked: Cert
    wrong_host: Cert
    expired: Cert
    intranet: Cert
    checks_only: cp.Engine  # chain + hostname, revocation off
    with_crl: cp.Engine  # chain + hostname + revocation by CRL
    intranet_override: cp.Engine  # an override with every check off for the intranet box


def _crl(issuer: Issuer, revoked: list[Cert]) -> bytes:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=7))
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.cert.serial_number)
            .revocation_date(now - dt.timedelta(hours=2))
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    crls: dict[str, bytes] = {}

    def crl_handler(request: Request) -> Response:
        body = crls.get(request.path)
        if body is None:
            return Response(404)
        return Response(200, body, {"Content-Type": "application/pkix-crl"})

    with serve(crl_handler) as crl_server:
        crl_url = f"http://127.0.0.1:{crl_server.port}/intermediate.crl"
        root = make_root("integration root")
        intermediate = root.issue_ca("integration intermediate")
        names = ["localhost", "127.0.0.1"]
        good = intermediate.issue_leaf(names, crl_urls=[crl_url])
        revoked = intermediate.issue_leaf(names, crl_urls=[crl_url])
        crls["/intermediate.crl"] = _crl(intermediate, [revoked])
        trust = cp.TrustStore()
        trust.add_der(root.der)
        web = cp.Policy("Web", "internet", check_revocation=False)
        checks_only = cp.Engine(cp.PolicySet([web]), trust)
        with_crl = cp.Engine(
            cp.PolicySet([cp.Policy("Web", "internet")]),
            trust,
            cp.RevocationConfig(
                method="crl",
                depth="leaf",
                cache_dir=tmp_path_factory.mktemp("crl-cache"),
                timeout=5.0,
                retry=cp.Retry(attempts=1),
            ),
        )
        box = INTRANET_BOX_OFF
        yield World(
            root=root,
            intermediate=intermediate,
            good=good,
            revoked=revoked,
            wrong_host=intermediate.issue_leaf(["www.other.example"]),
            expired=expired_leaf(intermediate, names),
            intranet=self_signed(["intranet-box.corp.example"]),
            checks_only=checks_only,
            with_crl=with_crl,
            intranet_override=cp.Engine(cp.PolicySet([box, web]), trust),
        )


@dataclass(frozen=True)
class Scenario:
    server: str  # which certificate the server presents
    engine: str  # which engine the client uses
    error: type[cp.CertificateCheckError] | None  # None: the request must go through
    message: str = ""


SCENARIOS = {
    "good": Scenario("good", "checks_only", None),
    "good-crl": Scenario("good", "with_crl", None),
    "revoked": Scenario("revoked", "with_crl", cp.CertificateRevokedError, "revoked"),
    "wrong-host": Scenario(
        "wrong_host", "checks_only", cp.HostnameMismatchError, "valid for www.other.example"
    ),
    "expired": Scenario("expired", "checks_only", cp.ChainError, "expired"),
    "self-signed": Scenario("intranet", "checks_only", cp.ChainError, "not trusted"),
    "self-signed-override": Scenario("intranet", "intranet_override", None),
}


def _chain(world: World, server: str) -> list[Cert]:
    cert: Cert = getattr(world, server)
    return [cert] if server == "intranet" else [cert, world.intermediate]


@pytest.mark.parametrize("scenario_name", SCENARIOS)
@pytest.mark.parametrize("client_name", CLIENTS)
def test_client_against_server(
    client_name: str, scenario_name: str, world: World, tmp_path: Path
) -> None:
    scenario = SCENARIOS[scenario_name]
    client = CLIENTS[client_name]
    engine: cp.Engine = getattr(world, scenario.engine)
    chain = _chain(world, scenario.server)
    with tls_server(chain, chain[0].key_pem, tmp_path) as server:
        url = server.url("localhost", PATH)
        if scenario.error is None:
            assert client(engine, url) == BODY
            assert server.requests == [f"GET {PATH} HTTP/1.1"]
            return
        with pytest.raises(Exception) as info:  # noqa: PT011 - each client wraps differently
            client(engine, url)
        # The client's own TLS error type, with certpolicy's error inside.
        assert isinstance(info.value, CLIENT_ERRORS[client_name]), repr(info.value)
        error = certificate_check_error(info.value)
        assert isinstance(error, scenario.error), repr(info.value)
        assert isinstance(error, ssl.SSLCertVerificationError)
        assert scenario.message in str(error)
        assert error.report is not None
        assert error.report.port == server.port
        assert error.report.ip == "127.0.0.1"
        # The server was reached, and got nothing after the handshake.
        server.settle()
        assert len(server.connections) >= 1
        assert server.app_bytes == 0
        assert server.requests == []


def test_override_report_says_the_checks_were_skipped(world: World, tmp_path: Path) -> None:
    with tls_server([world.intranet], world.intranet.key_pem, tmp_path) as server:
        report = world.intranet_override.check_endpoint(server.url("localhost"))
    assert report.ok
    assert report.policy.name == "Intranet box"
    assert [(r.name, r.status) for r in report.results] == [
        ("chain", "skipped"),
        ("hostname", "skipped"),
        ("revocation", "skipped"),
    ]


def test_crl_revocation_report_names_the_source(world: World, tmp_path: Path) -> None:
    chain = [world.revoked, world.intermediate]
    with tls_server(chain, world.revoked.key_pem, tmp_path) as server:
        report = world.with_crl.check_endpoint(server.url("localhost"))
    assert not report.ok
    assert report.result("revocation").status == "failed"
    assert report.revocation is not None
    assert report.revocation.status == "revoked"
    assert "intermediate.crl" in report.result("revocation").detail
    assert "keyCompromise" in report.result("revocation").detail


# --- clients that try to loosen verification do not get their way ---


def test_requests_verify_false_does_not_switch_the_checks_off(world: World, tmp_path: Path) -> None:
    with tls_server([world.intranet], world.intranet.key_pem, tmp_path) as server:
        with (
            requests_session(world.checks_only) as session,
            pytest.raises(requests.exceptions.SSLError) as info,
        ):
            session.get(server.url(), verify=False, timeout=TIMEOUT)
        assert isinstance(certificate_check_error(info.value), cp.ChainError)
        server.settle()
        assert server.app_bytes == 0


def test_requests_ca_bundle_is_not_an_anchor(world: World, tmp_path: Path) -> None:
    bundle = tmp_path / "intranet.pem"
    bundle.write_bytes(world.intranet.pem)
    with tls_server([world.intranet], world.intranet.key_pem, tmp_path) as server:
        with (
            requests_session(world.checks_only) as session,
            pytest.raises(requests.exceptions.SSLError),
        ):
            session.get(server.url(), verify=str(bundle), timeout=TIMEOUT)
        server.settle()
        assert server.app_bytes == 0


def test_urllib3_cert_none_does_not_switch_the_checks_off(world: World, tmp_path: Path) -> None:
    chain = [world.wrong_host, world.intermediate]
    with tls_server(chain, world.wrong_host.key_pem, tmp_path) as server:
        pool = urllib3.PoolManager(
            ssl_context=world.checks_only.ssl_context(),
            cert_reqs="CERT_NONE",
            assert_hostname=False,
            retries=False,
        )
        with pool, pytest.raises(urllib3.exceptions.SSLError) as info:
            pool.request("GET", server.url(), timeout=TIMEOUT)
        assert isinstance(certificate_check_error(info.value), cp.HostnameMismatchError)
        server.settle()
        assert server.app_bytes == 0


def test_requests_session_reuses_one_context_and_sees_no_insecure_warning(
    world: World, tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    chain = [world.good, world.intermediate]
    with tls_server(chain, world.good.key_pem, tmp_path) as server:
        with requests_session(world.checks_only) as session:
            for _ in range(3):
                assert session.get(server.url(), timeout=TIMEOUT).content == BODY
            adapter = session.get_adapter(server.url())
        assert len(server.requests) == 3
    assert isinstance(adapter, PolicyHTTPAdapter)
    assert isinstance(adapter.ssl_context, PolicySSLContext)
    assert not [w for w in recwarn if issubclass(w.category, urllib3.exceptions.HTTPWarning)]


def test_certificate_check_error_finds_nothing_in_unrelated_errors() -> None:
    assert certificate_check_error(ValueError("x")) is None
    inner = cp.ChainError("inner")
    outer = RuntimeError("outer")
    outer.__cause__ = Exception("wrapped", inner)
    assert certificate_check_error(outer) is inner
