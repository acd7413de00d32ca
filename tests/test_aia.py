"""Missing intermediates (AIA chasing, issue 14): a chain whose server left out its
intermediate is completed from the caIssuers URL of the certificate where it stops, against
real loopback HTTP servers (the caIssuers URLs) and TLS servers that present the leaf alone.

Every count below is of requests a real server received: the first connection fetches once,
the second (same engine: memory cache) and a new engine on the same cache_dir (disk cache)
fetch nothing. The hostile cases (garbage, oversized, slow, an unrelated CA, non-http URLs,
redirects elsewhere, a fetched root) fail closed with a reason; none is ever trusted."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

import certpolicy as cp
import certpolicy.engine
from certpolicy import _core
from certpolicy.cli import main
from certpolicy.intermediates import IntermediateFetcher, refused_url
from test_event_loop import Watch, via_asyncio, with_ticker
from test_tls_server import BODY, tls_server

from loopback import tcp_server
from pki import END, START, Cert, Issuer, _san, make_root, name, new_key
from servers import Request, Response, Server, serve

HOST = "aia.example"


# --- a PKI whose certificates name caIssuers URLs -------------------------------------------


def _aia(urls: list[str]) -> x509.AuthorityInformationAccess:
    return x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(url)
            )
            for url in urls
        ]
    )


def issue_ca(parent: Issuer, common_name: str, ca_issuers: list[str] | None = None) -> Issuer:
    key = new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(common_name))
        .issuer_name(parent.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), False
        )
    )
    if ca_issuers:
        builder = builder.add_extension(_aia(ca_issuers), critical=False)
    return Issuer(builder.sign(parent.key, hashes.SHA256()), key)


def issue_leaf(parent: Issuer, names: list[str], ca_issuers: list[str]) -> Cert:
    key = new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(names[0]))
        .issuer_name(parent.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), False
        )
        .add_extension(_san(names), critical=False)
    )
    if ca_issuers:
        builder = builder.add_extension(_aia(ca_issuers), critical=False)
    return Cert(builder.sign(parent.key, hashes.SHA256()), key)


def p7c(*certs: Cert, encoding: serialization.Encoding = serialization.Encoding.DER) -> bytes:
    """A certs-only PKCS#7 message, as ``cryptography`` writes one."""
    return pkcs7.serialize_certificates([c.cert for c in certs], encoding)


def subject(cert: Cert) -> str:
    return cert.cert.subject.rfc4514_string()


# --- the caIssuers server -------------------------------------------------------------------


@dataclass
class Site:
    """What the loopback caIssuers server serves, by path (mutable during a test)."""

    responses: dict[str, Response] = field(default_factory=dict)
    server: Server | None = None

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}{path}"

    def requests(self, path: str | None = None) -> int:
        assert self.server is not None
        return sum(1 for r in self.server.requests if path is None or r.path == path)

    def handle(self, request: Request) -> Response:
        return self.responses.get(request.path, Response(404, b"not found"))


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()
    with serve(lambda request: state.handle(request)) as server:
        state.server = server
        yield state


@dataclass
class Chain:
    root: Issuer
    intermediate: Issuer
    leaf: Cert
    store: cp.TrustStore


def make_chain(site: Site, path: str = "/int.cer", names: list[str] | None = None) -> Chain:
    """root -> intermediate -> leaf; the leaf's caIssuers URL is ``path`` on the site (which
    serves the intermediate's DER there)."""
    root = make_root("AIA test root")
    intermediate = issue_ca(root, "AIA test intermediate")
    leaf = issue_leaf(intermediate, names or [HOST, "127.0.0.1"], [site.url(path)])
    site.responses[path] = Response(
        200, intermediate.der, {"Content-Type": "application/pkix-cert"}
    )
    store = cp.TrustStore()
    store.add_der(root.der)
    return Chain(root, intermediate, leaf, store)


def engine_for(
    chain: Chain,
    tmp_path: Path,
    *,
    fetch_intermediates: bool = True,
    policy_fetch: bool | None = None,
    timeout: float = 10.0,
    deadline: float = 20.0,
) -> cp.Engine:
    policy = cp.Policy("Web", "internet", check_revocation=False, fetch_intermediates=policy_fetch)
    return cp.Engine(
        cp.PolicySet([policy]),
        chain.store,
        cp.RevocationConfig(cache_dir=tmp_path / "cache", timeout=timeout, deadline=deadline),
        fetch_intermediates=fetch_intermediates,
        # The caIssuers servers of the tests are on 127.0.0.1: refused outside tests.
        allow_loopback_intermediates=True,
    )


def assert_missing_issuer(report: cp.Report, *says: str) -> str:
    assert not report.ok
    result = report.result("chain")
    assert result.code == "chain.untrusted"
    assert isinstance(result.error, cp.ChainError)
    assert result.error.verify_code == 20
    assert report.fetched_intermediates == ()
    for text in says:
        assert text in result.detail, result.detail
    return result.detail


# --- success, and the caches ------------------------------------------------------------------


def test_cert_info_reads_ca_issuers_urls(site: Site) -> None:
    chain = make_chain(site)
    assert cp.cert_info(chain.leaf.der)["ca_issuers_urls"] == [site.url("/int.cer")]
    assert cp.cert_info(chain.intermediate.der)["ca_issuers_urls"] == []


def test_a_der_body_completes_the_chain_and_the_report_says_so(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    engine = engine_for(chain, tmp_path)
    with pytest.raises(cp.ChainError):  # the presented chain alone does not verify
        cp.verify_chain([chain.leaf.der], chain.store)

    report = engine.check([chain.leaf.der], HOST)
    assert report.ok, report.message()
    url = site.url("/int.cer")
    assert report.fetched_intermediates == ((url, subject(chain.intermediate)),)
    assert report.verified_path == (chain.leaf.der, chain.intermediate.der, chain.root.der)
    detail = report.result("chain").detail
    assert detail == (
        f"verified to trust anchor {subject(chain.root)} "
        f'(intermediate "{subject(chain.intermediate)}" fetched from {url})'
    )
    assert report.to_dict()["fetched_intermediates"] == [
        {"url": url, "subject": subject(chain.intermediate)}
    ]
    assert site.requests() == 1
    request = site.server.requests[0]  # type: ignore[union-attr]
    assert request.headers["User-Agent"].startswith("certpolicy/")
    assert not {"Cookie", "Authorization", "Proxy-Authorization"} & set(request.headers)

    # The second connection fetches nothing: the memory cache.
    again = engine.check([chain.leaf.der], HOST)
    assert again.ok
    assert again.fetched_intermediates == report.fetched_intermediates
    assert site.requests() == 1
    assert engine.stats()["intermediates"] == {"fetches": 1, "failures": 0, "cache_hits": 1}

    # A chain that presents its intermediate fetches nothing and reports nothing fetched.
    full = engine.check([chain.leaf.der, chain.intermediate.der], HOST)
    assert full.ok
    assert full.fetched_intermediates == ()
    assert site.requests() == 1
    engine.close()


@pytest.mark.parametrize(
    "body",
    [
        lambda c: p7c(c.intermediate),
        lambda c: p7c(c.root, c.intermediate),  # the issuer among others: picked by name
        lambda c: p7c(c.intermediate, encoding=serialization.Encoding.PEM),
        lambda c: c.intermediate.pem,
    ],
    ids=["pkcs7", "pkcs7-with-root", "pkcs7-pem", "pem"],
)
def test_pkcs7_and_pem_bodies(site: Site, tmp_path: Path, body: Callable[[Chain], bytes]) -> None:
    chain = make_chain(site, "/int.p7c")
    site.responses["/int.p7c"] = Response(
        200, body(chain), {"Content-Type": "application/pkcs7-mime"}
    )
    report = engine_for(chain, tmp_path).check([chain.leaf.der], HOST)
    assert report.ok, report.message()
    assert report.fetched_intermediates == ((site.url("/int.p7c"), subject(chain.intermediate)),)
    assert site.requests() == 1


def test_a_new_engine_on_the_same_cache_dir_fetches_nothing(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    first = engine_for(chain, tmp_path)
    assert first.check([chain.leaf.der], HOST).ok
    assert site.requests() == 1
    first.close()
    files = list((tmp_path / "cache" / "intermediates").iterdir())
    assert len(files) == 1
    assert files[0].suffix == ".body"
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600

    second = engine_for(chain, tmp_path)
    report = second.check([chain.leaf.der], HOST)
    assert report.ok
    assert report.fetched_intermediates
    assert site.requests() == 1  # the disk cache
    assert second.stats()["intermediates"] == {"fetches": 0, "failures": 0, "cache_hits": 1}
    second.close()


def test_a_tampered_disk_entry_is_fetched_again(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    assert engine_for(chain, tmp_path).check([chain.leaf.der], HOST).ok
    (entry,) = (tmp_path / "cache" / "intermediates").iterdir()
    entry.write_bytes(b"garbage")
    assert engine_for(chain, tmp_path).check([chain.leaf.der], HOST).ok
    assert site.requests() == 2


def test_concurrent_connections_fetch_once(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    release = threading.Event()
    served = site.responses["/int.cer"]

    def slow(request: Request) -> Response:
        release.wait(10)
        return served

    site.responses.clear()
    site.handle = slow  # type: ignore[method-assign]
    engine = engine_for(chain, tmp_path)
    reports: list[cp.Report] = []
    threads = [
        threading.Thread(target=lambda: reports.append(engine.check([chain.leaf.der], HOST)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for _ in range(1000):  # the first request is in (bounded wait)
        if site.requests():
            break
        threading.Event().wait(0.01)
    release.set()
    for thread in threads:
        thread.join(30)
    assert len(reports) == 6
    assert all(report.ok for report in reports)
    assert site.requests() == 1


def test_two_missing_levels_are_chased(site: Site, tmp_path: Path) -> None:
    root = make_root("AIA two-level root")
    upper = issue_ca(root, "AIA upper intermediate")
    lower = issue_ca(upper, "AIA lower intermediate", [site.url("/upper.cer")])
    leaf = issue_leaf(lower, [HOST], [site.url("/lower.cer")])
    site.responses["/upper.cer"] = Response(200, upper.der)
    site.responses["/lower.cer"] = Response(200, p7c(lower))
    store = cp.TrustStore()
    store.add_der(root.der)
    chain = Chain(root, lower, leaf, store)
    report = engine_for(chain, tmp_path).check([leaf.der], HOST)
    assert report.ok, report.message()
    assert report.fetched_intermediates == (
        (site.url("/lower.cer"), subject(lower)),
        (site.url("/upper.cer"), subject(upper)),
    )
    # The depth limit: one fetched certificate is not enough.
    fetcher = IntermediateFetcher(None, max_fetched=1, allow_loopback=True)
    with pytest.raises(cp.ChainError) as failed:
        cp.verify_chain([leaf.der], store)
    outcome = fetcher.complete([leaf.der], failed.value, lambda c: cp.verify_chain(c, store))
    assert isinstance(outcome, cp.ChainError)
    assert outcome.verify_code == 20
    assert f'intermediate "{subject(lower)}" fetched from' in str(outcome)


# --- what fails, fails closed --------------------------------------------------------------


def test_garbage_is_refused_and_remembered(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    site.responses["/int.cer"] = Response(200, b"<html><body>hello</body></html>")
    engine = engine_for(chain, tmp_path)
    assert_missing_issuer(engine.check([chain.leaf.der], HOST), "caIssuers body", "neither")
    # Remembered as failed for a while: the next connection does not ask again.
    detail = assert_missing_issuer(engine.check([chain.leaf.der], HOST), "failed less than")
    assert site.url("/int.cer") in detail
    assert site.requests() == 1
    assert engine.stats()["intermediates"] == {"fetches": 1, "failures": 1, "cache_hits": 0}
    assert not (tmp_path / "cache" / "intermediates").exists() or not any(
        (tmp_path / "cache" / "intermediates").iterdir()
    )


def test_http_errors_fail_closed(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    site.responses["/int.cer"] = Response(503, b"busy")
    assert_missing_issuer(engine_for(chain, tmp_path).check([chain.leaf.der], HOST), "HTTP 503")


def test_an_oversized_body_is_refused(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    site.responses["/int.cer"] = Response(200, chain.intermediate.der + b"\0" * (300 * 1024))
    assert_missing_issuer(engine_for(chain, tmp_path).check([chain.leaf.der], HOST), "over the cap")


def test_an_oversized_body_without_a_length_is_cut_off(tmp_path: Path) -> None:
    """A server that sends no Content-Length and never stops: the body is read up to the cap,
    then the connection is dropped."""
    sent: list[int] = []

    def endless(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                chunk = b"\x30" * 65536
                for _ in range(64):  # at most 4 MiB, far over the cap
                    if stop.is_set():
                        break
                    conn.sendall(chunk)
                    sent.append(len(chunk))

    with tcp_server(endless) as port:
        root = make_root("AIA endless root")
        intermediate = issue_ca(root, "AIA endless intermediate")
        leaf = issue_leaf(intermediate, [HOST], [f"http://127.0.0.1:{port}/int.cer"])
        store = cp.TrustStore()
        store.add_der(root.der)
        report = engine_for(Chain(root, intermediate, leaf, store), tmp_path).check(
            [leaf.der], HOST
        )
    assert_missing_issuer(report, "over the cap")
    assert sum(sent) < 4 * 1024 * 1024


def test_a_slow_server_is_cut_off_by_the_timeout(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    site.responses["/int.cer"] = Response(200, chain.intermediate.der, delay=30)
    engine = engine_for(chain, tmp_path, timeout=0.5, deadline=5.0)
    assert_missing_issuer(engine.check([chain.leaf.der], HOST), "no answer within 0.5 s")
    assert site.requests() == 1


def test_the_chase_deadline_bounds_every_fetch(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    site.responses["/int.cer"] = Response(200, chain.intermediate.der, delay=30)
    engine = engine_for(chain, tmp_path, timeout=10.0, deadline=0.5)
    assert_missing_issuer(engine.check([chain.leaf.der], HOST), "no answer within 0.5 s")
    # Cut short by the chase's deadline, not by its own time: not remembered as failed.
    site.responses["/int.cer"] = Response(200, chain.intermediate.der)
    assert engine.check([chain.leaf.der], HOST).ok
    assert site.requests() == 2


def test_an_unrelated_ca_at_the_url_is_not_used(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    stranger = issue_ca(make_root("AIA stranger root"), "AIA stranger intermediate")
    site.responses["/int.cer"] = Response(200, stranger.der)
    detail = assert_missing_issuer(
        engine_for(chain, tmp_path).check([chain.leaf.der], HOST),
        "serves no CA certificate for",
        "it serves 1 other certificate",
    )
    # What the server chose to serve is not repeated in the report.
    assert "stranger" not in detail


def test_an_impostor_with_the_issuers_name_fails(site: Site, tmp_path: Path) -> None:
    """A CA certificate with the very name of the missing issuer but another key (and
    another root): a candidate, tried, and the chain still fails as untrusted."""
    chain = make_chain(site)
    impostor = issue_ca(make_root("AIA test root"), "AIA test intermediate")
    assert subject(impostor) == subject(chain.intermediate)
    site.responses["/int.cer"] = Response(200, impostor.der)
    report = engine_for(chain, tmp_path).check([chain.leaf.der], HOST)
    assert not report.ok
    assert report.result("chain").code == "chain.untrusted"
    assert report.fetched_intermediates == ()
    assert "verified again with" in report.result("chain").detail


def test_a_fetched_root_is_never_an_anchor(site: Site, tmp_path: Path) -> None:
    """The intermediate is presented; its caIssuers URL serves the (self-signed) root, which
    is not in the trust store. Added as a candidate, it is no anchor: the chain fails."""
    root = make_root("AIA untrusted root")
    intermediate = issue_ca(root, "AIA intermediate under it", [site.url("/root.cer")])
    leaf = issue_leaf(intermediate, [HOST], [site.url("/int.cer")])
    site.responses["/root.cer"] = Response(200, root.der)
    store = cp.TrustStore()
    store.add_der(make_root("AIA some other root").der)
    report = engine_for(Chain(root, intermediate, leaf, store), tmp_path).check(
        [leaf.der, intermediate.der], HOST
    )
    assert not report.ok
    assert report.result("chain").code == "chain.untrusted"
    assert report.fetched_intermediates == ()
    assert site.requests("/root.cer") == 1
    assert site.requests("/int.cer") == 0
    assert f'intermediate "{subject(root)}" fetched from' in report.result("chain").detail


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:{port}/int.cer",
        "file:///etc/passwd",
        "ldap://127.0.0.1:{port}/cn=int",
        "data:application/pkix-cert;base64,MAA=",
        "http://user:secret@127.0.0.1:{port}/int.cer",
        "http:///int.cer",
        "HTTPS://127.0.0.1:{port}/int.cer",
    ],
)
def test_only_plain_http_urls_are_fetched(site: Site, tmp_path: Path, url: str) -> None:
    chain = make_chain(site)
    assert site.server is not None
    bad = url.format(port=site.server.port)
    leaf = issue_leaf(chain.intermediate, [HOST], [bad])
    assert refused_url(bad) is not None
    report = engine_for(chain, tmp_path).check([leaf.der], HOST)
    assert_missing_issuer(report, "not fetched")
    assert site.server.connections == []  # not even a connection


@pytest.mark.parametrize(
    "location",
    [
        "file:///etc/passwd",
        "https://127.0.0.1:{port}/int.cer",
        "ftp://127.0.0.1/int.cer",
        "http://:80/int.cer",
    ],
)
def test_a_redirect_elsewhere_is_refused(site: Site, tmp_path: Path, location: str) -> None:
    chain = make_chain(site, "/moved")
    assert site.server is not None
    target = location.format(port=site.server.port)
    site.responses["/moved"] = Response(302, b"", {"Location": target})
    site.responses["/int.cer"] = Response(200, chain.intermediate.der)
    report = engine_for(chain, tmp_path).check([chain.leaf.der], HOST)
    assert_missing_issuer(report, "not followed")
    assert site.requests() == 1


def test_http_redirects_are_followed_up_to_two(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site, "/a")
    site.responses["/a"] = Response(301, b"", {"Location": "/b"})
    site.responses["/b"] = Response(302, b"", {"Location": site.url("/int.cer")})
    site.responses["/int.cer"] = Response(200, chain.intermediate.der)
    report = engine_for(chain, tmp_path).check([chain.leaf.der], HOST)
    assert report.ok
    # The report names the URL of the certificate, not where it was redirected to.
    assert report.fetched_intermediates == ((site.url("/a"), subject(chain.intermediate)),)
    assert site.requests() == 3

    looping = make_chain(site, "/c")
    site.responses["/c"] = Response(302, b"", {"Location": "/d"})
    site.responses["/d"] = Response(302, b"", {"Location": "/e"})
    site.responses["/e"] = Response(302, b"", {"Location": "/int.cer"})
    report = engine_for(looping, tmp_path / "looping").check([looping.leaf.der], HOST)
    assert_missing_issuer(report, "more than 2 redirects")
    assert site.requests("/int.cer") == 1  # only the first chain's


def test_other_chain_failures_fetch_nothing(site: Site, tmp_path: Path) -> None:
    """An expired leaf is no missing issuer: nothing is fetched."""
    chain = make_chain(site)
    late = engine_for(chain, tmp_path).check([chain.leaf.der], HOST, at=END + dt.timedelta(days=1))
    assert late.result("chain").code == "chain.expired"
    assert site.requests() == 0


def test_a_wrong_name_under_an_enforcing_policy_fetches_nothing(site: Site, tmp_path: Path) -> None:
    """The hostname is checked first: a connection refused anyway for its name makes no
    request to a URL its unverified certificate names. Under an audit-mode policy the
    connection would go on, so the chain is completed to report on it."""
    chain = make_chain(site)
    refused = engine_for(chain, tmp_path).check([chain.leaf.der], "elsewhere.example")
    assert refused.codes == ("chain.untrusted", "hostname.mismatch")
    assert site.requests() == 0
    audit = cp.Policy("Web", "internet", check_revocation=False, mode="audit")
    engine = cp.Engine(
        cp.PolicySet([audit]),
        chain.store,
        cp.RevocationConfig(cache_dir=tmp_path / "audit-cache"),
        allow_loopback_intermediates=True,
    )
    watched = engine.check([chain.leaf.der], "elsewhere.example")
    assert watched.codes == ("hostname.mismatch",)  # the chain was completed
    assert not watched.enforced
    assert site.requests() == 1


def test_offline_checks_fetch_nothing(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    assert_missing_issuer(engine_for(chain, tmp_path).check([chain.leaf.der], HOST, offline=True))
    assert site.requests() == 0


# --- turned off: per engine, per policy, on the command line ---------------------------------


def test_off_per_engine_and_per_policy(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    assert_missing_issuer(
        engine_for(chain, tmp_path, fetch_intermediates=False).check([chain.leaf.der], HOST)
    )
    assert_missing_issuer(
        engine_for(chain, tmp_path, policy_fetch=False).check([chain.leaf.der], HOST)
    )
    assert site.requests() == 0
    # A policy that says True fetches even when the engine's default is off.
    on = engine_for(chain, tmp_path, fetch_intermediates=False, policy_fetch=True)
    assert on.check([chain.leaf.der], HOST).ok
    assert site.requests() == 1
    assert cp.Engine().fetch_intermediates is True
    with pytest.raises(cp.ConfigError):
        cp.Engine(fetch_intermediates="no")  # type: ignore[arg-type]
    with pytest.raises(cp.PolicyError):
        cp.Policy("P", "internet", fetch_intermediates="yes")  # type: ignore[arg-type]


def test_policy_files_and_table_rows_carry_the_setting(tmp_path: Path) -> None:
    policies = cp.PolicySet(
        [
            cp.Policy("Off", "override", hosts=("off.example",), fetch_intermediates=False),
            cp.Policy("Default", "internet"),
        ]
    )
    for suffix in (".toml", ".json"):
        target = tmp_path / f"policies{suffix}"
        policies.to_file(target)
        loaded = cp.PolicySet.from_file(target)
        assert loaded.select("off.example").fetch_intermediates is False
        assert loaded.select("x.example").fetch_intermediates is None
    rows = [
        {"name": "Off", "type": "override", "hosts": "off.example", "fetch_intermediates": "false"},
        {"name": "On", "type": "override", "hosts": "on.example", "fetch_intermediates": "true"},
        {"name": "Web", "type": "internet", "fetch_intermediates": ""},
    ]
    from_rows = cp.PolicySet.from_records(rows)
    assert from_rows.select("off.example").fetch_intermediates is False
    assert from_rows.select("on.example").fetch_intermediates is True
    assert from_rows.select("x.example").fetch_intermediates is None
    with pytest.raises(cp.PolicyError, match="fetch_intermediates"):
        cp.PolicySet.from_records([{"name": "Bad", "type": "internet", "fetch_intermediates": "?"}])


@pytest.fixture
def cli_engines_fetch_from_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engines the command line makes fetch from this module's caIssuers server, which
    is on 127.0.0.1 like every test server: loopback is refused outside tests."""

    class LoopbackFetcher(IntermediateFetcher):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "allow_loopback": True})

    monkeypatch.setattr(certpolicy.engine, "IntermediateFetcher", LoopbackFetcher)


@contextmanager
def server_without_intermediate(chain: Chain, tmp_path: Path) -> Iterator[int]:
    with tls_server([chain.leaf], chain.leaf.key_pem, tmp_path) as server:
        yield server.port


def _cli_config(chain: Chain, tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "root.pem").write_bytes(chain.root.pem)
    config = tmp_path / "certpolicy.toml"
    config.write_text(
        f'{extra}[trust]\ndefaults = false\nfiles = ["root.pem"]\n'
        '[revocation]\ncache_dir = "cache"\n'
        '[[policy]]\nname = "Web"\nkind = "internet"\ncheck_revocation = false\n'
    )
    return config


@pytest.mark.usefixtures("cli_engines_fetch_from_loopback")
@pytest.mark.parametrize("command", ["check", "audit", "verify"])
def test_the_cli_flag_turns_fetching_off(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    chain = make_chain(site)
    config = _cli_config(chain, tmp_path)
    with server_without_intermediate(chain, tmp_path) as port:
        target = f"127.0.0.1:{port}"
        if command == "check":
            args = ["check", target]
        elif command == "audit":
            (tmp_path / "endpoints.txt").write_text(target + "\n")
            args = ["audit", str(tmp_path / "endpoints.txt"), "--json", str(tmp_path / "a.json")]
        else:
            (tmp_path / "chain.pem").write_bytes(chain.leaf.pem)
            args = ["verify", str(tmp_path / "chain.pem"), "--host", HOST, "--revocation"]
        assert main([*args, "--config", str(config), "--no-fetch-intermediates"]) == 1
        assert site.requests() == 0
        capsys.readouterr()
        assert main([*args, "--config", str(config)]) == 0, capsys.readouterr().out
        assert site.requests() == 1


@pytest.mark.usefixtures("cli_engines_fetch_from_loopback")
def test_check_json_names_the_fetched_intermediate(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = make_chain(site)
    config = _cli_config(chain, tmp_path)
    with server_without_intermediate(chain, tmp_path) as port:
        assert main(["check", f"127.0.0.1:{port}", "--config", str(config), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (endpoint,) = out["endpoints"]
    assert endpoint["report"]["fetched_intermediates"] == [
        {"url": site.url("/int.cer"), "subject": subject(chain.intermediate)}
    ]
    assert endpoint["report"]["path"][1] == subject(chain.intermediate)


def test_a_toml_config_can_turn_fetching_off(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    config = _cli_config(chain, tmp_path, "fetch_intermediates = false\n")
    engine = cp.Engine.from_config(config)
    assert engine.fetch_intermediates is False
    assert cp.Engine.from_config(config, fetch_intermediates=True).fetch_intermediates is True
    assert_missing_issuer(engine.check([chain.leaf.der], HOST))
    assert site.requests() == 0
    (tmp_path / "bad.toml").write_text('fetch_intermediates = "no"\n')
    with pytest.raises(cp.ConfigError, match="fetch_intermediates"):
        cp.Engine.from_config(tmp_path / "bad.toml")


# --- real connections: blocking and asyncio --------------------------------------------------


def test_a_server_that_omits_its_intermediate(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    engine = engine_for(chain, tmp_path)
    with server_without_intermediate(chain, tmp_path) as port:
        first = engine.check_endpoint(f"127.0.0.1:{port}")
        second = engine.check_endpoint(f"127.0.0.1:{port}")
        # Through the enforcing context too (a client that sends a request).
        context = engine.ssl_context()
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert BODY in tls.recv(65536) + tls.recv(65536)
            assert tls.report is not None
            assert tls.report.fetched_intermediates
    assert first.ok
    assert first.fetched_intermediates
    assert second.ok
    assert second.fetched_intermediates == first.fetched_intermediates
    assert site.requests() == 1  # first connection: 1 request; the others: none
    without = engine_for(chain, tmp_path / "off", fetch_intermediates=False)
    with server_without_intermediate(chain, tmp_path) as port:
        assert not without.check_endpoint(f"127.0.0.1:{port}").ok


def test_asyncio_connections_fetch_on_a_worker_thread(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The fetch happens inside the check, which runs on the checks' worker thread for a
    memory-BIO (asyncio) connection: the event loop keeps ticking while the caIssuers server
    holds its answer (test_event_loop's method: no wall-clock threshold)."""
    chain = make_chain(site, names=["localhost"])
    watch = Watch(threading.Event(), threading.Event(), [])
    served = site.responses["/int.cer"]

    def held(request: Request) -> Response:
        watch.fetching.set()
        watch.saw_ticks.append(watch.ticked.wait(10))
        return served

    site.handle = held  # type: ignore[method-assign]
    engine = engine_for(chain, tmp_path)
    with (
        caplog.at_level(logging.INFO, logger="certpolicy.intermediates"),
        server_without_intermediate(chain, tmp_path) as port,
    ):
        assert asyncio.run(with_ticker(watch, via_asyncio(engine, port))) == BODY
    assert watch.saw_ticks == [True], (
        "the event loop stood still while the intermediate was fetched"
    )
    (record,) = [r for r in caplog.records if r.getMessage().startswith("caIssuers fetch")]
    assert record.threadName != threading.main_thread().name
    # The structured fields, as the revocation fetches carry them (docs/monitoring.md).
    assert (record.method, record.outcome, record.error) == ("aia", "ok", None)  # type: ignore[attr-defined]
    assert record.bytes > 0  # type: ignore[attr-defined]
    assert record.url.startswith("http://127.0.0.1:")  # type: ignore[attr-defined]
    assert site.requests() == 1


def test_parse_ca_issuers_is_bounded() -> None:
    """The Python view of the core's parser (its cases are in rust/core/src/aia.rs)."""
    root = make_root("AIA parser root")
    fmt, certs = _core.parse_ca_issuers(p7c(Cert(root.cert, root.key)))
    assert (fmt, certs) == ("pkcs7", [root.der])
    with pytest.raises(cp.MalformedInputError, match="at most"):
        _core.parse_ca_issuers(b"\x30" * (_core.MAX_AIA_BODY_BYTES + 1))
    with pytest.raises(cp.MalformedInputError):
        _core.parse_ca_issuers(b"")
