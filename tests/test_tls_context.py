"""engine.ssl_context(): the handshake hook on blocking sockets and memory BIOs, what clients
may and may not change on the context, resumed sessions, and no lock across handshakes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

import certpolicy as cp
from certpolicy.tls import PolicySSLContext, PolicySSLObject, PolicySSLSocket
from test_tls_server import BODY, TlsServer, self_signed, tls_server

from pki import Cert, Issuer, make_root
from policies import INTRANET_BOX_OFF

TIMEOUT = 10.0
REQUEST = b"GET /hook HTTP/1.1\r\nHost: localhost\r\n\r\n"


@dataclass
class Setup:
    root: Issuer
    intermediate: Issuer
    good: Cert
    intranet: Cert
    trust: cp.TrustStore

    def engine(self, *policies: cp.Policy) -> cp.Engine:
        chosen = policies or (cp.Policy("Web", "internet", check_revocation=False),)
        return cp.Engine(cp.PolicySet(chosen), self.trust)


@pytest.fixture(scope="module")
def setup() -> Setup:
    root = make_root("hook root")
    intermediate = root.issue_ca("hook intermediate")
    trust = cp.TrustStore()
    trust.add_der(root.der)
    return Setup(
        root,
        intermediate,
        intermediate.issue_leaf(["localhost", "127.0.0.1"]),
        self_signed(["localhost", "127.0.0.1"]),
        trust,
    )


@pytest.fixture
def good_server(setup: Setup, tmp_path: Path) -> Iterator[TlsServer]:
    with tls_server([setup.good, setup.intermediate], setup.good.key_pem, tmp_path) as server:
        yield server


@pytest.fixture
def intranet_server(setup: Setup, tmp_path: Path) -> Iterator[TlsServer]:
    with tls_server([setup.intranet], setup.intranet.key_pem, tmp_path) as server:
        yield server


def connect(server: TlsServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)


def exchange(tls: ssl.SSLSocket) -> bytes:
    tls.sendall(REQUEST)
    data = b""
    while chunk := tls.recv(65536):
        data += chunk
    return data


INTRANET_OFF = INTRANET_BOX_OFF
WEB = cp.Policy("Web", "internet", check_revocation=False)
# An intranet policy for the loopback range that checks nothing (an upgraded install).
LOOPBACK_OFF = cp.Policy(
    "Loopback",
    "intranet",
    ip_ranges=["127.0.0.0/8"],
    check_chain=False,
    check_hostname=False,
    check_revocation=False,
)


# --- blocking sockets ---


def test_wrap_socket_checks_during_the_handshake(setup: Setup, good_server: TlsServer) -> None:
    context = setup.engine().ssl_context()
    assert isinstance(context, ssl.SSLContext)
    with context.wrap_socket(connect(good_server), server_hostname="localhost") as tls:
        assert isinstance(tls, PolicySSLSocket)
        report = tls.report
        assert report is not None
        assert report.ok
        assert (report.host, report.ip, report.port) == ("localhost", "127.0.0.1", good_server.port)
        assert report.result("chain").status == "passed"
        assert report.verified_path == (setup.good.der, setup.intermediate.der, setup.root.der)
        assert exchange(tls).endswith(BODY)


def test_rejection_closes_the_socket_and_raises(
    setup: Setup, intranet_server: TlsServer, caplog: pytest.LogCaptureFixture
) -> None:
    context = setup.engine().ssl_context()
    raw = connect(intranet_server)
    with (
        caplog.at_level(logging.WARNING, logger="certpolicy"),
        pytest.raises(cp.ChainError) as info,
    ):
        context.wrap_socket(raw, server_hostname="localhost")
    error = info.value
    assert isinstance(error, ssl.SSLCertVerificationError)
    assert str(error).startswith(
        f'certificate check failed for localhost:{intranet_server.port} (policy "Web"): chain:'
    )
    assert error.report is not None
    assert not error.report.ok
    assert raw.fileno() == -1  # detached into the SSL socket, which was closed
    record = caplog.records[-1]
    assert (record.host, record.ip, record.policy, record.check) == (  # type: ignore[attr-defined]
        "localhost",
        "127.0.0.1",
        "Web",
        "chain",
    )
    intranet_server.settle()
    assert intranet_server.app_bytes == 0


def test_explicit_handshake_after_connect(setup: Setup, good_server: TlsServer) -> None:
    context = setup.engine().ssl_context()
    tls = context.wrap_socket(
        connect(good_server), server_hostname="localhost", do_handshake_on_connect=False
    )
    with tls:
        assert isinstance(tls, PolicySSLSocket)
        assert tls.report is None
        tls.do_handshake()
        assert tls.report is not None
        assert tls.report.ok
        assert exchange(tls).endswith(BODY)


def test_send_before_an_explicit_handshake_is_checked_first(
    setup: Setup, intranet_server: TlsServer
) -> None:
    # OpenSSL would run the handshake inside SSL_write and send the request right away.
    context = setup.engine().ssl_context()
    tls = context.wrap_socket(
        connect(intranet_server), server_hostname="localhost", do_handshake_on_connect=False
    )
    with pytest.raises(cp.ChainError):
        tls.sendall(REQUEST)
    assert tls.fileno() == -1
    intranet_server.settle()
    assert len(intranet_server.connections) == 1
    intranet_server.settle()
    assert intranet_server.app_bytes == 0


def test_recv_before_an_explicit_handshake_is_checked_first(
    setup: Setup, intranet_server: TlsServer
) -> None:
    context = setup.engine().ssl_context()
    tls = context.wrap_socket(
        connect(intranet_server), server_hostname="localhost", do_handshake_on_connect=False
    )
    with pytest.raises(cp.ChainError):
        tls.recv(10)
    intranet_server.settle()
    assert intranet_server.app_bytes == 0


def test_connect_on_an_unconnected_wrapped_socket(setup: Setup, good_server: TlsServer) -> None:
    context = setup.engine().ssl_context()
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    plain.settimeout(TIMEOUT)
    with context.wrap_socket(plain, server_hostname="localhost") as tls:
        tls.connect(("127.0.0.1", good_server.port))
        assert tls.report is not None
        assert tls.report.ok


def _handshake_non_blocking(tls: ssl.SSLSocket) -> None:
    for _ in range(1000):
        try:
            tls.do_handshake()
            return
        except ssl.SSLWantReadError:
            select.select([tls], [], [], TIMEOUT)
        except ssl.SSLWantWriteError:
            select.select([], [tls], [], TIMEOUT)


def test_non_blocking_handshake(setup: Setup, intranet_server: TlsServer) -> None:
    context = setup.engine().ssl_context()
    raw = connect(intranet_server)
    raw.setblocking(False)
    tls = context.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
    with pytest.raises(cp.ChainError):
        _handshake_non_blocking(tls)
    intranet_server.settle()
    assert intranet_server.app_bytes == 0


def test_non_blocking_handshake_passes(setup: Setup, good_server: TlsServer) -> None:
    context = setup.engine().ssl_context()
    raw = connect(good_server)
    raw.setblocking(False)
    tls = context.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
    with tls:
        _handshake_non_blocking(tls)
        assert isinstance(tls, PolicySSLSocket)
        assert tls.report is not None
        assert tls.report.ok


def test_server_side_use_is_refused(setup: Setup) -> None:
    context = setup.engine().ssl_context()
    with socket.socket() as sock, pytest.raises(ValueError, match="client connections only"):
        context.wrap_socket(sock, server_side=True)
    with pytest.raises(ValueError, match="client connections only"):
        context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_side=True)


# --- what clients set on the context does not decide ---


def _loosen(context: ssl.SSLContext) -> None:
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE


def _tighten(context: ssl.SSLContext, setup: Setup) -> None:
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    context.load_default_certs()
    context.load_verify_locations(cadata=setup.root.pem.decode())


def test_context_reports_verification_on_whatever_is_set(setup: Setup) -> None:
    context = setup.engine().ssl_context()
    _loosen(context)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    context.options = ssl.OP_NO_COMPRESSION
    assert context.options & ssl.OP_NO_RENEGOTIATION
    assert context.options & ssl.OP_NO_COMPRESSION
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_loosened_context_still_rejects(setup: Setup, tmp_path: Path) -> None:
    wrong = setup.intermediate.issue_leaf(["www.other.example"])
    with tls_server([wrong, setup.intermediate], wrong.key_pem, tmp_path) as server:
        context = setup.engine().ssl_context()
        _loosen(context)
        with pytest.raises(cp.HostnameMismatchError):
            context.wrap_socket(connect(server), server_hostname="localhost")
        server.settle()
        assert server.app_bytes == 0


def test_tightened_context_lets_the_policy_allow_a_self_signed_server(
    setup: Setup, intranet_server: TlsServer
) -> None:
    context = setup.engine(INTRANET_OFF, WEB).ssl_context()
    _tighten(context, setup)
    with context.wrap_socket(connect(intranet_server), server_hostname="localhost") as tls:
        assert tls.report is not None
        assert tls.report.policy.name == "Intranet box"
        assert {r.status for r in tls.report.results} == {"skipped"}
        assert exchange(tls).endswith(BODY)


def test_anchors_loaded_into_the_context_do_not_count(
    setup: Setup, intranet_server: TlsServer
) -> None:
    # The client trusts the self-signed certificate itself; the engine's store does not.
    context = setup.engine().ssl_context()
    context.load_verify_locations(cadata=setup.intranet.pem.decode())
    context.verify_mode = ssl.CERT_REQUIRED
    with pytest.raises(cp.ChainError, match="not trusted"):
        context.wrap_socket(connect(intranet_server), server_hostname="localhost")


def test_chain_check_disabled_is_skipped_not_passed_by_openssl(
    setup: Setup, good_server: TlsServer
) -> None:
    # OpenSSL could verify this chain (the client loaded the root), but the policy turns the
    # chain check off: the report must say skipped, not passed.
    no_chain = cp.Policy("No chain", "internet", check_chain=False, check_revocation=False)
    context = setup.engine(no_chain).ssl_context()
    _tighten(context, setup)
    with context.wrap_socket(connect(good_server), server_hostname="localhost") as tls:
        assert tls.report is not None
        assert tls.report.result("chain").status == "skipped"
        assert tls.report.result("hostname").status == "passed"
        assert tls.report.verified_path is None


def test_policy_selected_by_the_connected_address(setup: Setup, intranet_server: TlsServer) -> None:
    context = setup.engine(LOOPBACK_OFF, WEB).ssl_context(trust_peer_ip=True)
    with context.wrap_socket(connect(intranet_server), server_hostname="localhost") as tls:
        assert tls.report is not None
        assert tls.report.policy.name == "Loopback"
        assert tls.report.reason == "address 127.0.0.1 is in '127.0.0.0/8'"


def test_client_certificates_still_work(setup: Setup, tmp_path: Path) -> None:
    client_ca = make_root("client ca")
    client = client_ca.issue_leaf(
        ["agent.corp.example"], eku=[x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    (tmp_path / "client.pem").write_bytes(client.pem)
    (tmp_path / "client.key").write_bytes(client.key_pem)
    chain = [setup.good, setup.intermediate]
    with tls_server(chain, setup.good.key_pem, tmp_path, client_ca=client_ca.pem) as server:
        context = setup.engine().ssl_context()
        context.load_cert_chain(tmp_path / "client.pem", tmp_path / "client.key")
        with context.wrap_socket(connect(server), server_hostname="localhost") as tls:
            assert exchange(tls).endswith(BODY)
        without = setup.engine().ssl_context()
        with (
            pytest.raises((ssl.SSLError, ConnectionResetError)),  # alert or reset, by timing
            without.wrap_socket(connect(server), server_hostname="localhost") as tls,
        ):
            exchange(tls)  # TLS 1.3: the server's refusal arrives with the first read


@pytest.mark.parametrize("tls13", [True, False], ids=["tls1.3", "tls1.2"])
@pytest.mark.parametrize("server", ["impostor", "wrong-host"])
def test_the_client_certificate_never_reaches_a_server_that_fails(
    setup: Setup, tmp_path: Path, tls13: bool, server: str
) -> None:
    """A server that asks for a client certificate gets it only after it passed: an impostor
    (an untrusted root) or a trusted certificate for another name is refused during the
    handshake, before the client's Certificate message (and its signature) is sent."""
    client_ca = make_root("client ca")
    client = client_ca.issue_leaf(
        ["agent.corp.example"], eku=[x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    (tmp_path / "client.pem").write_bytes(client.pem)
    (tmp_path / "client.key").write_bytes(client.key_pem)
    if server == "impostor":
        impostor = make_root("impostor root").issue_leaf(["localhost"])
        chain, key = [impostor], impostor.key_pem
    else:
        other = setup.intermediate.issue_leaf(["www.other.example"])
        chain, key = [other, setup.intermediate], other.key_pem
    context = setup.engine().ssl_context()
    context.load_cert_chain(tmp_path / "client.pem", tmp_path / "client.key")
    with (
        tls_server(chain, key, tmp_path, client_ca=client_ca.pem, tls13=tls13) as running,
        pytest.raises(cp.CertificateCheckError) as caught,
    ):
        context.wrap_socket(connect(running), server_hostname="localhost")
    # (The server's workers are joined when its block ends.)
    assert "it was not sent" in str(caught.value)
    expected = cp.ChainError if server == "impostor" else cp.HostnameMismatchError
    assert isinstance(caught.value, expected)
    assert [c.client_cert for c in running.connections] == [False]
    assert not running.connections[0].handshake
    # The same context and certificate against the genuine server: delivered.
    good = [setup.good, setup.intermediate]
    with tls_server(good, setup.good.key_pem, tmp_path, client_ca=client_ca.pem, tls13=tls13) as ok:
        with context.wrap_socket(connect(ok), server_hostname="localhost") as tls:
            assert exchange(tls).endswith(BODY)
        assert [c.client_cert for c in ok.connections] == [True]


# --- resumed sessions ---


@pytest.mark.parametrize("tls13", [True, False], ids=["tls1.3", "tls1.2"])
def test_resumed_session_is_checked_again(setup: Setup, tmp_path: Path, tls13: bool) -> None:
    engine = setup.engine(INTRANET_OFF, WEB)
    context = engine.ssl_context()
    with tls_server([setup.intranet], setup.intranet.key_pem, tmp_path, tls13=tls13) as server:
        with context.wrap_socket(connect(server), server_hostname="localhost") as first:
            assert exchange(first).endswith(BODY)
            session = first.session
        assert session is not None
        # A policy sync between the two connections turns the checks on.
        engine._replace_policies(cp.PolicySet([WEB]))
        with pytest.raises(cp.ChainError):
            context.wrap_socket(connect(server), server_hostname="localhost", session=session)
        # The server resumed the session: the rejection came from the re-run checks.
        server.settle()
        assert [(c.handshake, c.session_reused) for c in server.connections] == [
            (True, False),
            (True, True),
        ]
        assert server.app_bytes == len(REQUEST)


@pytest.mark.parametrize("tls13", [True, False], ids=["tls1.3", "tls1.2"])
def test_resumed_session_passes_with_the_full_chain(
    setup: Setup, tmp_path: Path, tls13: bool
) -> None:
    context = setup.engine().ssl_context()
    chain = [setup.good, setup.intermediate]
    with tls_server(chain, setup.good.key_pem, tmp_path, tls13=tls13) as server:
        with context.wrap_socket(connect(server), server_hostname="localhost") as first:
            exchange(first)
            session = first.session
        with context.wrap_socket(
            connect(server), server_hostname="localhost", session=session
        ) as second:
            assert second.session_reused
            assert second.report is not None
            assert second.report.ok
            assert second.report.verified_path == (
                setup.good.der,
                setup.intermediate.der,
                setup.root.der,
            )
            assert exchange(second).endswith(BODY)
        # Resumed for another name the certificate does not cover: rejected.
        with pytest.raises(cp.HostnameMismatchError):
            context.wrap_socket(connect(server), server_hostname="127.0.0.2", session=session)


# --- memory BIO (asyncio and friends) ---


def _drive_bio(
    obj: ssl.SSLObject, sock: socket.socket, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO
) -> None:
    """A hand-written memory-BIO handshake loop, like an event loop's."""
    while True:
        try:
            obj.do_handshake()
            return
        except ssl.SSLWantReadError:
            if outgoing.pending:
                sock.sendall(outgoing.read())
            data = sock.recv(65536)
            if not data:
                incoming.write_eof()
            else:
                incoming.write(data)
        finally:
            if outgoing.pending:
                sock.sendall(outgoing.read())


def test_memory_bio_with_peer_given(setup: Setup, intranet_server: TlsServer) -> None:
    context = setup.engine(LOOPBACK_OFF, WEB).ssl_context(trust_peer_ip=True)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    assert isinstance(obj, PolicySSLObject)
    obj.set_peer("127.0.0.1", intranet_server.port)
    with connect(intranet_server) as sock:
        _drive_bio(obj, sock, incoming, outgoing)
    assert obj.report is not None
    assert obj.report.policy.name == "Loopback"
    assert obj.report.port == intranet_server.port


def test_memory_bio_without_peer_selects_by_name_and_fails_closed(
    setup: Setup, intranet_server: TlsServer
) -> None:
    # No transport to look at and no set_peer(): the IP-range policy cannot match, so the
    # connection falls to the policy with every check on.
    context = setup.engine(LOOPBACK_OFF, WEB).ssl_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with connect(intranet_server) as sock, pytest.raises(cp.ChainError) as info:
        _drive_bio(obj, sock, incoming, outgoing)
    assert info.value.report is not None
    assert (info.value.report.ip, info.value.report.port) == (None, 0)
    assert info.value.report.policy.name == "Web"
    # Once rejected, the object never reads or writes.
    with pytest.raises(cp.ChainError):
        obj.write(REQUEST)
    assert not outgoing.pending or b"GET" not in outgoing.read()


def test_asyncio_finds_the_peer_address_on_its_transport(
    setup: Setup, intranet_server: TlsServer
) -> None:
    context = setup.engine(LOOPBACK_OFF, WEB).ssl_context(trust_peer_ip=True)

    async def run() -> cp.Report:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection("localhost", intranet_server.port, ssl=context), TIMEOUT
        )
        report = writer.get_extra_info("ssl_object").report
        writer.close()
        await writer.wait_closed()
        assert isinstance(report, cp.Report)
        return report

    report = asyncio.run(run())
    assert report.policy.name == "Loopback"
    assert (report.ip, report.port) == ("127.0.0.1", intranet_server.port)


# --- concurrency ---


def test_no_lock_is_held_across_a_handshake(setup: Setup, good_server: TlsServer) -> None:
    """One connection stalls in its handshake (a server that never answers) while another
    connection through the same context completes."""
    context = setup.engine().ssl_context()
    silent = socket.create_server(("127.0.0.1", 0))
    stalled_started, other_done = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    def stalled() -> None:
        raw = socket.create_connection(silent.getsockname(), timeout=TIMEOUT)
        stalled_started.set()
        try:
            context.wrap_socket(raw, server_hostname="localhost")
        except BaseException as exc:  # the timeout, once the other connection is done
            outcome.append(exc)

    with silent:
        thread = threading.Thread(target=stalled, daemon=True)
        thread.start()
        assert stalled_started.wait(TIMEOUT)
        with context.wrap_socket(connect(good_server), server_hostname="localhost") as tls:
            assert tls.report is not None
            assert tls.report.ok
            other_done.set()
        assert thread.is_alive()  # still stuck in its handshake
    thread.join(TIMEOUT + 5)
    assert other_done.is_set()


def test_many_threads_share_one_context(setup: Setup, good_server: TlsServer) -> None:
    context = setup.engine().ssl_context()
    errors: list[BaseException] = []
    reports: list[cp.Report] = []

    def worker() -> None:
        try:
            for _ in range(4):
                with context.wrap_socket(connect(good_server), server_hostname="localhost") as tls:
                    assert tls.report is not None
                    reports.append(tls.report)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(reports) == 24
    assert all(r.ok for r in reports)


def test_connections_load_no_trust_store_or_policies(
    setup: Setup, good_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = setup.engine()
    context = engine.ssl_context()

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("loaded during a connection")

    for name in ("default", "add_pem", "add_der", "add_file"):
        monkeypatch.setattr(cp.TrustStore, name, forbidden)
    monkeypatch.setattr(cp.PolicySet, "__init__", forbidden)
    for _ in range(3):
        with context.wrap_socket(connect(good_server), server_hostname="localhost") as tls:
            assert tls.report is not None
            assert tls.report.ok
    assert engine.ssl_context().engine is engine


def test_each_call_makes_a_new_context_on_the_same_engine(setup: Setup) -> None:
    engine = setup.engine()
    first, second = engine.ssl_context(), engine.ssl_context()
    assert isinstance(first, PolicySSLContext)
    assert first is not second
    assert first.engine is engine
    assert second.engine is engine


# --- check_endpoint ---


def test_check_endpoint_returns_passing_and_failing_reports(
    setup: Setup, good_server: TlsServer, intranet_server: TlsServer
) -> None:
    engine = setup.engine()
    good = engine.check_endpoint(f"https://localhost:{good_server.port}/some/path")
    assert good.ok
    assert good.port == good_server.port
    assert good.ip == "127.0.0.1"
    bad = engine.check_endpoint("localhost", intranet_server.port)
    assert not bad.ok
    assert bad.result("chain").status == "failed"
    good_server.settle()
    intranet_server.settle()
    assert good_server.app_bytes == 0
    assert intranet_server.app_bytes == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://example.com", ("example.com", 443)),
        ("https://example.com:8443/x?y", ("example.com", 8443)),
        ("example.com", ("example.com", 443)),
        ("example.com:9443", ("example.com", 9443)),
        ("[::1]:8443", ("::1", 8443)),
        ("::1", ("::1", 443)),
        ("10.1.2.3", ("10.1.2.3", 443)),
    ],
)
def test_parse_endpoint(text: str, expected: tuple[str, int]) -> None:
    from certpolicy.tls import parse_endpoint

    assert parse_endpoint(text) == expected


@pytest.mark.parametrize("text", ["", "http://example.com", "https://", "example.com:99999"])
def test_parse_endpoint_rejects(text: str) -> None:
    from certpolicy.tls import parse_endpoint

    with pytest.raises(cp.MalformedInputError):
        parse_endpoint(text)


def test_check_endpoint_network_error_raises(setup: Setup) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(ConnectionRefusedError):
        setup.engine().check_endpoint("127.0.0.1", port, timeout=5)


class _InboundProtocol:
    """Stands for an asyncio server protocol (it has a ``_transport`` with a client's
    address) whose code drives an outbound memory-BIO handshake of its own."""

    def __init__(self, client_address: tuple[str, int]) -> None:
        class Transport:
            def get_extra_info(self, name: str) -> object:
                return client_address if name == "peername" else None

        self._transport = Transport()

    def drive(
        self, client: ssl.SSLObject, server: ssl.SSLObject, bios: list[ssl.MemoryBIO]
    ) -> None:
        c_in, c_out, s_in, s_out = bios
        for _ in range(20):
            for side in (client, server):
                with contextlib.suppress(ssl.SSLWantReadError):
                    side.do_handshake()
            s_in.write(c_out.read())
            c_in.write(s_out.read())
            if isinstance(client, PolicySSLObject) and client.report is not None:
                return


def test_an_inbound_clients_address_is_not_the_outbound_peer(setup: Setup, tmp_path: Path) -> None:
    """The peer address is taken only from the transport that owns the connection: an
    asyncio server handling a client from 10.x that makes an outbound call must not lend it
    that client's address (an intranet policy with every check off would then apply)."""
    box = self_signed(["localhost"])
    (tmp_path / "box.pem").write_bytes(box.pem)
    (tmp_path / "box.key").write_bytes(box.key_pem)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "box.pem", tmp_path / "box.key")
    intranet_off = cp.Policy(
        "Intranet",
        "intranet",
        ip_ranges=["10.0.0.0/8"],
        check_chain=False,
        check_hostname=False,
        check_revocation=False,
    )
    context = setup.engine(intranet_off, WEB).ssl_context(trust_peer_ip=True)
    bios = [ssl.MemoryBIO() for _ in range(4)]
    client = context.wrap_bio(bios[0], bios[1], server_hostname="localhost")
    server = server_context.wrap_bio(bios[2], bios[3], server_side=True)
    with pytest.raises(cp.ChainError):
        _InboundProtocol(("10.1.2.3", 40000)).drive(client, server, bios)
