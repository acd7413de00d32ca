"""Hostile HTTP servers against the three fetchers (caIssuers, CRL, OCSP), on real loopback
sockets (security review of the fetchers).

- A Content-Length that is no plain number ("²" passes ``str.isdigit``, which ``int``
  refuses), a huge or a negative one: a typed failure through the public paths
  (``engine.check``, ``crl fetch``), never a ValueError.
- caIssuers URLs may not make the agent reach its own machine or its cloud's metadata
  service (blind SSRF): loopback, link-local, unspecified, multicast and reserved addresses
  are refused, whatever the URL spells (a name, a decimal or IPv4-mapped address), redirects
  included; the host is resolved once and the fetch connects to the address checked (DNS
  rebinding). Every server here is on 127.0.0.1, so the fetchers that reach one say
  ``allow_loopback=True`` (for tests only); the refusals are shown with it off.
- A refused connection is reported as such, not as a timeout; a body with a
  Content-Encoding is refused, never decompressed; URLs over 2 KiB are not fetched; what a
  server sends is not repeated in reports or logs.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

import certpolicy as cp
import certpolicy.intermediates._fetch as aia_fetch
from certpolicy.cli import main
from certpolicy.intermediates import (
    Completion,
    IntermediateFetcher,
    refused_address,
    refused_url,
)
from certpolicy.intermediates._chaser import (
    MAX_REMEMBERED_FAILURE_BYTES,
    MAX_REMEMBERED_FAILURES,
    _Failures,
)
from certpolicy.revocation.crl import CrlFetchError, Fetcher
from certpolicy.revocation.ocsp import OcspFetcher, OcspFetchError
from test_aia import HOST, Chain, Site, engine_for, issue_ca, issue_leaf, make_chain

from loopback import tcp_server
from ocsp_responder import closed_port_url
from pki import make_root
from servers import Response, serve

# Content-Length values a hostile server may send: "²", "³¹" (str.isdigit is True, int()
# raises), more digits than any length, a negative one, a sign, hex.
HOSTILE_LENGTHS = [b"\xb2", b"\xb3\xb9", b"9" * 40, b"-1", b"+5", b"0x10"]
LENGTH_IDS = ["superscript-2", "superscripts", "40-digits", "negative", "plus-sign", "hex"]


# --- servers ----------------------------------------------------------------------------


@dataclass
class Raw:
    """A loopback server answering every request with ``answer``, byte for byte."""

    port: int
    heads: list[bytes] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def raw_server(answer: bytes) -> Iterator[Raw]:
    """Reads each request whole (headers and body), sends ``answer`` and closes."""
    heads: list[bytes] = []

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            declared = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            while declared is not None and len(rest) < int(declared.group(1)):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                rest += chunk
            heads.append(head)
            conn.sendall(answer)

    with tcp_server(handle) as port:
        server = Raw(port)
        server.heads = heads
        yield server


def answer_with_length(value: bytes, body: bytes = b"0") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\nConnection: close\r\n\r\n" + body


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()
    with serve(lambda request: state.handle(request)) as server:
        state.server = server
        yield state


def chain_to(url: str) -> Chain:
    """root -> intermediate -> leaf, the leaf's caIssuers URL ``url`` (nothing served)."""
    root = make_root("hostile AIA root")
    intermediate = issue_ca(root, "hostile AIA intermediate")
    leaf = issue_leaf(intermediate, [HOST], [url])
    store = cp.TrustStore()
    store.add_der(root.der)
    return Chain(root, intermediate, leaf, store)


def chase(fetcher: IntermediateFetcher, chain: Chain) -> Completion | cp.ChainError:
    """What ``fetcher`` makes of the leaf alone (its issuer missing)."""
    with pytest.raises(cp.ChainError) as missing:
        cp.verify_chain([chain.leaf.der], chain.store)
    return fetcher.complete(
        [chain.leaf.der], missing.value, lambda certs: cp.verify_chain(certs, chain.store)
    )


def refused(outcome: Completion | cp.ChainError, *says: str) -> str:
    assert isinstance(outcome, cp.ChainError), outcome
    assert outcome.verify_code == 20
    for text in says:
        assert text in str(outcome), str(outcome)
    return str(outcome)


def revocation_engine(tmp_path: Path, method: str, store: cp.TrustStore) -> cp.Engine:
    policy = cp.Policy("Web", "internet", check_revocation=True, fetch_intermediates=False)
    return cp.Engine(
        cp.PolicySet([policy]),
        store,
        cp.RevocationConfig(
            method=method,  # type: ignore[arg-type]
            cache_dir=tmp_path / "cache",
            timeout=5.0,
            deadline=10.0,
            retry=cp.Retry(attempts=1),
        ),
    )


# --- 1. a Content-Length that is no number -----------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_LENGTHS, ids=LENGTH_IDS)
def test_a_hostile_content_length_fails_the_caissuers_fetch(tmp_path: Path, value: bytes) -> None:
    with raw_server(answer_with_length(value)) as server:
        chain = chain_to(server.url("/int.cer"))
        report = engine_for(chain, tmp_path, timeout=5.0).check([chain.leaf.der], HOST)
    assert not report.ok
    chain_result = report.result("chain")
    assert chain_result.code == "chain.untrusted"
    assert "missing intermediate: " + server.url("/int.cer") in chain_result.detail
    assert len(server.heads) == 1


def test_a_declared_length_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    with raw_server(answer_with_length(b"9" * 15)) as server:
        chain = chain_to(server.url("/int.cer"))
        report = engine_for(chain, tmp_path, timeout=5.0).check([chain.leaf.der], HOST)
    assert "the body is 999999999999999 bytes, over the cap" in report.result("chain").detail


@pytest.mark.parametrize("method", ["ocsp", "crl"])
@pytest.mark.parametrize("value", HOSTILE_LENGTHS, ids=LENGTH_IDS)
def test_a_hostile_content_length_makes_revocation_unavailable(
    tmp_path: Path, method: str, value: bytes
) -> None:
    with raw_server(answer_with_length(value)) as server:
        ca = make_root("hostile revocation root")
        urls = {f"{method}_urls": [server.url(f"/{method}")]}
        leaf = ca.issue_leaf([HOST], **urls)  # type: ignore[arg-type]
        store = cp.TrustStore()
        store.add_der(ca.der)
        report = revocation_engine(tmp_path, method, store).check([leaf.der, ca.der], HOST)
    assert report.result("chain").status == "passed"
    revocation = report.result("revocation")
    assert (revocation.status, revocation.code) == ("failed", "revocation.unavailable")
    assert len(server.heads) >= 1


@pytest.mark.parametrize("value", HOSTILE_LENGTHS, ids=LENGTH_IDS)
def test_crl_fetch_on_the_command_line_with_a_hostile_content_length(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: bytes
) -> None:
    config = tmp_path / "certpolicy.toml"
    config.write_text('[revocation]\ncache_dir = "cache"\n')
    with raw_server(answer_with_length(value)) as server:
        code = main(["crl", "fetch", server.url("/ca.crl"), "--config", str(config)])
    error = capsys.readouterr().err
    # Judged and refused (1: the body is no CRL) or nothing to judge (3: it broke off),
    # never a usage error (2) out of a ValueError.
    assert code in (1, 3), error
    assert "invalid literal" not in error


def test_the_shared_content_length_reader() -> None:
    from certpolicy._util import content_length

    assert content_length("1234") == 1234
    assert content_length(" 17\t") == 17
    assert content_length("9" * 15) == 10**15 - 1
    for value in [None, "", "²", "٣", "9" * 16, "-1", "+5", "5, 5", "1e3", "0x10", "1 2"]:
        assert content_length(value) is None, value


# --- 2. where a caIssuers fetch may connect ----------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        *("10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "fc00::1", "fd12:3456::1"),
        *("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:10.0.0.1"),
    ],
)
def test_private_and_public_addresses_are_allowed(address: str) -> None:
    assert refused_address(address) is None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("::127.0.0.1", "reserved"),
    ],
)
def test_special_addresses_are_refused(address: str, kind: str) -> None:
    why = refused_address(address)
    assert why is not None
    assert why.endswith(f"{kind} address"), why
    # Loopback may be allowed (tests and development), nothing else.
    assert (refused_address(address, allow_loopback=True) is None) == (kind == "loopback")


def test_a_loopback_caissuers_url_is_not_fetched(site: Site) -> None:
    """ssrf.py of the review: a certificate names an internal URL (any port, path, query)."""
    chain = make_chain(site, "/internal-admin/delete?id=1")
    assert site.server is not None
    outcome = chase(IntermediateFetcher(None, allow_loopback=False), chain)
    refused(outcome, "not fetched: 127.0.0.1 is a loopback address")
    assert site.server.connections == []
    # The same URL with loopback allowed (how every other test here reaches its server).
    assert isinstance(chase(IntermediateFetcher(None, allow_loopback=True), chain), Completion)
    assert site.requests() == 1


def test_an_engine_refuses_loopback_caissuers_urls(site: Site, tmp_path: Path) -> None:
    """ssrf.py of the review, through engine.check: by default an engine fetches nothing
    from its own machine; ``allow_loopback_intermediates=True`` is for tests only."""
    chain = make_chain(site, "/internal-admin/delete?id=1")
    assert site.server is not None
    settings = cp.RevocationConfig(cache_dir=tmp_path / "cache")
    report = cp.Engine(trust=chain.store, revocation=settings).check([chain.leaf.der], HOST)
    assert report.result("chain").code == "chain.untrusted"
    assert "not fetched: 127.0.0.1 is a loopback address" in report.result("chain").detail
    assert site.server.connections == []
    allowed = cp.Engine(trust=chain.store, revocation=settings, allow_loopback_intermediates=True)
    assert allowed.check([chain.leaf.der], HOST).result("chain").status == "passed"
    assert site.requests() == 1
    with pytest.raises(cp.ConfigError, match="allow_loopback_intermediates"):
        cp.Engine(allow_loopback_intermediates="yes")  # type: ignore[arg-type]
    assert isinstance(chase(IntermediateFetcher(None), chain), cp.ChainError)  # the default
    assert site.requests() == 1


@pytest.mark.parametrize(
    "host", ["localhost", "2130706433", "0x7f.0.0.1", "127.1", "[::ffff:127.0.0.1]"]
)
def test_every_spelling_of_loopback_is_refused(site: Site, host: str) -> None:
    """Names and numeric forms that resolve to 127.0.0.1: the resolved address is judged."""
    assert site.server is not None
    chain = make_chain(site)
    leaf = issue_leaf(chain.intermediate, [HOST], [f"http://{host}:{site.server.port}/int.cer"])
    outcome = chase(IntermediateFetcher(None, allow_loopback=False), replace(chain, leaf=leaf))
    refused(outcome, "not fetched: ", "a loopback address")
    assert site.server.connections == []


@pytest.mark.parametrize("host", ["0.0.0.0", "[::]", "169.254.169.254", "224.0.0.1"])
def test_other_special_addresses_are_refused_even_with_loopback_allowed(
    site: Site, host: str
) -> None:
    """0.0.0.0 would reach the loopback server; the others are never connected to."""
    assert site.server is not None
    chain = make_chain(site)
    url = f"http://{host}:{site.server.port}/int.cer"
    leaf = issue_leaf(chain.intermediate, [HOST], [url])
    fetcher = IntermediateFetcher(None, allow_loopback=True, timeout=2.0, deadline=4.0)
    refused(chase(fetcher, replace(chain, leaf=leaf)), "not fetched: ", " address")
    assert site.server.connections == []


@pytest.mark.parametrize(
    "location",
    [
        "http://0.0.0.0:{port}/int.cer",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::]:{port}/x",
    ],
)
def test_a_redirect_to_a_special_address_is_not_followed(site: Site, location: str) -> None:
    assert site.server is not None
    chain = make_chain(site, "/moved")
    site.responses["/moved"] = Response(
        302, b"", {"Location": location.format(port=site.server.port)}
    )
    site.responses["/int.cer"] = Response(200, chain.intermediate.der)
    fetcher = IntermediateFetcher(None, allow_loopback=True, timeout=2.0, deadline=4.0)
    refused(chase(fetcher, chain), "a redirect not followed: ", " address")
    assert [r.path for r in site.server.requests] == ["/moved"]


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names ending in ``.test`` resolve to what the test says: ``answers[name]`` gives the
    address of each lookup in turn (the last one for every lookup after). Every lookup of
    such a name is recorded in ``answers["lookups"]``; other names resolve as usual."""
    answers: dict[str, list[str]] = {"lookups": []}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".test"):
            seen = answers["lookups"]
            turn = sum(1 for name in seen if name == host)
            seen.append(host)
            given = answers[host]
            address = given[min(turn, len(given) - 1)]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, int(port)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_a_name_that_resolves_to_the_metadata_service_is_refused(
    site: Site, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["metadata.test"] = ["169.254.169.254"]
    fake_dns["mixed.test"] = ["10.9.8.7", "127.0.0.1"]  # one allowed answer is not enough
    chain = make_chain(site)
    fetcher = IntermediateFetcher(None, allow_loopback=False, timeout=2.0, deadline=4.0)
    leaf = issue_leaf(chain.intermediate, [HOST], ["http://metadata.test/latest/meta-data/"])
    refused(
        chase(fetcher, replace(chain, leaf=leaf)),
        "its host resolves to 169.254.169.254, a link-local address",
    )
    assert fake_dns["lookups"] == ["metadata.test"]


def test_a_redirect_to_a_name_of_the_metadata_service_is_not_followed(
    site: Site, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["metadata.test"] = ["169.254.169.254"]
    chain = make_chain(site, "/moved")
    site.responses["/moved"] = Response(302, b"", {"Location": "http://metadata.test/x"})
    fetcher = IntermediateFetcher(None, allow_loopback=True, timeout=2.0, deadline=4.0)
    refused(chase(fetcher, chain), "a redirect not followed: its host resolves to 169.254")
    assert site.requests() == 1


def test_the_fetch_connects_to_the_address_checked(
    site: Site, fake_dns: dict[str, list[str]]
) -> None:
    """DNS rebinding: a name that first resolves to an allowed address, then to the metadata
    service. It is looked up once, the address checked is the one connected to, and the
    request names the host of the URL."""
    assert site.server is not None
    fake_dns["rebind.test"] = ["127.0.0.1", "169.254.169.254"]
    chain = make_chain(site)
    url = f"http://rebind.test:{site.server.port}/int.cer"
    leaf = issue_leaf(chain.intermediate, [HOST], [url])
    fetcher = IntermediateFetcher(None, allow_loopback=True, timeout=2.0, deadline=4.0)
    outcome = chase(fetcher, replace(chain, leaf=leaf))
    assert isinstance(outcome, Completion), outcome
    assert outcome.fetched[0].url == url
    assert fake_dns["lookups"] == ["rebind.test"]
    (request,) = site.server.requests
    assert request.headers["Host"] == f"rebind.test:{site.server.port}"
    assert request.path == "/int.cer"


def test_a_host_with_several_addresses_is_tried_in_turn(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first address refuses the connection (nothing listens on 127.0.0.2 there): the
    next one is asked."""
    assert site.server is not None
    real = socket.getaddrinfo

    def two(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "two.test":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", int(port))),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port))),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two)
    chain = make_chain(site)
    url = f"http://two.test:{site.server.port}/int.cer"
    leaf = issue_leaf(chain.intermediate, [HOST], [url])
    fetcher = IntermediateFetcher(None, allow_loopback=True, timeout=2.0, deadline=4.0)
    assert isinstance(chase(fetcher, replace(chain, leaf=leaf)), Completion)
    assert site.requests() == 1


def test_urls_over_2_kib_are_not_fetched_nor_remembered(site: Site) -> None:
    """mem.py of the review: 1,024 failures with 60 KB URLs held 58 MiB."""
    assert site.server is not None
    chain = make_chain(site)
    long_url = site.url("/" + "a" * 60_000)
    assert refused_url(long_url) == "it is longer than 2048 characters"
    assert refused_url(site.url("/" + "a" * 2000)) is None
    leaf = issue_leaf(chain.intermediate, [HOST], [long_url])
    fetcher = IntermediateFetcher(None, allow_loopback=True)
    detail = refused(chase(fetcher, replace(chain, leaf=leaf)), "longer than 2048")
    assert len(detail) < 2000  # the URL is cut in the report
    assert site.server.connections == []
    assert fetcher.stats() == {"fetches": 0, "failures": 0, "cache_hits": 0}


def test_remembered_failures_are_bounded_in_bytes() -> None:
    failures = _Failures()
    for index in range(MAX_REMEMBERED_FAILURES):
        failures.remember(f"http://ca.example/{index}/" + "a" * 2000, "x" * 5000)
    count, size = failures.size()
    assert size <= MAX_REMEMBERED_FAILURE_BYTES
    assert 0 < count < MAX_REMEMBERED_FAILURES
    last = f"http://ca.example/{MAX_REMEMBERED_FAILURES - 1}/" + "a" * 2000
    assert failures.get(last) is not None  # the newest kept, the oldest gone
    assert failures.get("http://ca.example/0/" + "a" * 2000) is None
    reason = failures.get(last)
    assert reason is not None
    assert len(reason) < 300  # reasons are cut too


# --- 3. how a failure is told -----------------------------------------------------------


def test_a_refused_connection_is_no_timeout(tmp_path: Path) -> None:
    url = closed_port_url("/int.cer")
    chain = chain_to(url)
    detail = engine_for(chain, tmp_path).check([chain.leaf.der], HOST).result("chain").detail
    assert f"{url}: connection refused" in detail
    assert "within" not in detail


def test_revocation_fetchers_say_connection_refused() -> None:
    settings = cp.RevocationConfig(retry=cp.Retry(attempts=1), timeout=5.0)
    with pytest.raises(CrlFetchError) as crl:
        Fetcher(settings).fetch(closed_port_url("/ca.crl"))
    assert str(crl.value).endswith(": connection refused"), str(crl.value)
    with pytest.raises(OcspFetchError) as ocsp:
        OcspFetcher(settings).post(closed_port_url("/ocsp"), b"request")
    assert str(ocsp.value) == "unreachable: connection refused"


SECRET = b"SECRET-MARKER"


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (SECRET + b" 200 OK\r\n\r\n", "no valid HTTP response"),
        (
            b"HTTP/1.1 302 Found\r\nLocation: gopher://" + SECRET + b"/x\r\nContent-Length: 0"
            b"\r\n\r\n",
            "a redirect not followed: gopher scheme",
        ),
        (
            b"HTTP/1.1 302 Found\r\nLocation: http://h/" + SECRET + b" x\r\nContent-Length: 0"
            b"\r\n\r\n",
            "a redirect not followed: it has spaces",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + SECRET + b"\r\n",
            "the body broke off",
        ),
        (b"HTTP/1.1 500 " + SECRET * 100 + b"\r\nContent-Length: 0\r\n\r\n", "HTTP 500"),
    ],
    ids=["status-line", "redirect-scheme", "redirect-space", "chunk-length", "reason"],
)
def test_what_a_server_sends_is_not_repeated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, answer: bytes, says: str
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="certpolicy"),
        raw_server(answer) as server,
    ):
        chain = chain_to(server.url("/int.cer"))
        report = engine_for(chain, tmp_path, timeout=5.0).check([chain.leaf.der], HOST)
    detail = report.result("chain").detail
    assert says in detail, detail
    assert SECRET.decode() not in detail
    ours = [r for r in caplog.records if r.name.startswith("certpolicy")]
    assert ours
    assert not [r for r in ours if SECRET.decode() in r.getMessage()]


# --- 4. compressed bodies ----------------------------------------------------------------


def test_a_compressed_caissuers_body_is_refused(site: Site, tmp_path: Path) -> None:
    chain = make_chain(site)
    site.responses["/int.cer"] = Response(
        200, gzip.compress(chain.intermediate.der), {"Content-Encoding": "gzip"}
    )
    report = engine_for(chain, tmp_path).check([chain.leaf.der], HOST)
    assert (
        "the body has a Content-Encoding, which was not asked for" in report.result("chain").detail
    )
    site.responses["/int.cer"] = Response(
        200, chain.intermediate.der, {"Content-Encoding": "identity"}
    )
    assert engine_for(chain, tmp_path / "2").check([chain.leaf.der], HOST).ok
    assert site.server is not None
    assert [r.headers.get("Accept-Encoding") for r in site.server.requests] == ["identity"] * 2


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "identity, gzip"])
def test_compressed_crls_and_ocsp_responses_are_refused(encoding: str) -> None:
    answer = Response(200, gzip.compress(b"\0" * 100_000), {"Content-Encoding": encoding})
    settings = cp.RevocationConfig(retry=cp.Retry(attempts=1), timeout=5.0)
    with serve(lambda request: answer) as server:
        base = f"http://127.0.0.1:{server.port}"
        with pytest.raises(CrlFetchError, match="Content-Encoding"):
            Fetcher(settings).fetch(f"{base}/ca.crl")
        with pytest.raises(OcspFetchError, match="Content-Encoding"):
            OcspFetcher(settings).post(f"{base}/ocsp", b"request")


# --- the fetcher's last line of defence ---------------------------------------------------


def test_a_fault_reading_an_answer_fails_the_fetch_not_the_check(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever goes wrong while an answer is read (here: a bug, simulated), the check gets
    a typed failure of that URL, never the exception."""

    def broken(value: str | None) -> int | None:
        raise ValueError("simulated")

    monkeypatch.setattr(aia_fetch, "content_length", broken)
    chain = make_chain(site)
    report = engine_for(chain, tmp_path).check([chain.leaf.der], HOST)
    assert "the answer could not be read (ValueError)" in report.result("chain").detail
