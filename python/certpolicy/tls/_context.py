"""An :class:`ssl.SSLContext` that enforces an engine (a :class:`ConnectionChecker`, usually
:class:`~certpolicy.Engine`) on every connection.

OpenSSL never decides here: the context runs with OpenSSL's own verification off
(``CERT_NONE`` internally, whatever a client sets), and after each handshake, before the
caller gets the connection back, it takes the presented chain, the server name and the peer
address and runs ``engine.enforce``. A failure closes the connection and raises the
:class:`~certpolicy.CertificateCheckError` (an :class:`ssl.SSLCertVerificationError`), so no
application byte is ever sent to a rejected server.

Covered entry points: blocking sockets (``wrap_socket``, with or without
``do_handshake_on_connect``; a read or write before an explicit handshake runs the handshake
and the check first) and memory BIOs (``wrap_bio``, used by asyncio, aiohttp and anyio/httpx).
Resumed TLS sessions are checked like full handshakes (see :meth:`PolicySSLContext._chain_of`).
"""

from __future__ import annotations

import _ssl
import asyncio.sslproto
import collections
import contextlib
import logging
import socket
import ssl
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from certpolicy.errors import (
    CertificateCheckError,
    CertPolicyError,
    ChainError,
    HostnameMismatchError,
)
from certpolicy.report import Report
from certpolicy.tls._checker import ConnectionChecker
from certpolicy.tls._peer import peer_chain

__all__ = ["PolicySSLContext", "PolicySSLObject", "PolicySSLSocket"]

logger = logging.getLogger("certpolicy")

# Chains remembered from full handshakes, for resumed sessions (which carry no chain).
MAX_REMEMBERED_CHAINS: Final = 256
# How many caller frames to look at for the transport of a memory-BIO connection.
_TRANSPORT_SEARCH_DEPTH: Final = 4

Peer = tuple[str, int]

_CLIENT_ONLY: Final = (
    "a certpolicy context is for client connections only (while certpolicy.inject_into_ssl "
    "is in force, make server contexts with ssl.PROTOCOL_TLS_SERVER or "
    "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH))"
)

# X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH: a name or address check.
_X509_V_ERR_NAME_MISMATCHES: Final = (62, 64)

# The C context type under ssl.SSLContext: its attribute descriptors are used directly, so
# nothing here goes through ssl.py's setters (see the properties of PolicySSLContext).
_RAW: Any = _ssl._SSLContext


class _CheckedBeforeData:
    """Runs the pending handshake and its check before any application byte is read or
    written (OpenSSL would otherwise run the handshake implicitly inside SSL_read/write)."""

    if TYPE_CHECKING:  # each connection class defines how it checks

        def _ensure_checked(self) -> None: ...

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        self._ensure_checked()
        return super().read(len, buffer)  # type: ignore[misc]

    def write(self, data: Any) -> int:
        self._ensure_checked()
        return super().write(data)  # type: ignore[misc, no-any-return]


class PolicySSLSocket(_CheckedBeforeData, ssl.SSLSocket):
    """A client TLS socket checked by the engine right after its handshake.

    ``report`` is the engine's :class:`~certpolicy.Report` once the check passed (None
    before the handshake).
    """

    report: Report | None = None

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except ssl.SSLCertVerificationError as exc:
            raise _withheld(exc, self.server_hostname) from exc
        if self.report is None:
            self._enforce()

    def _enforce(self) -> None:
        context = _policy_context(self.context)
        try:
            # A (host, port, ...) tuple for IP sockets; other families (AF_UNIX) have none.
            peer = _as_peer(self.getpeername())
        except OSError:
            peer = None
        try:
            self.report = context._enforce(self, self.server_hostname, peer)
        except BaseException:
            self.close()
            raise

    def _ensure_checked(self) -> None:
        # OpenSSL would run a pending handshake implicitly inside SSL_read/SSL_write;
        # run it here instead so the check happens before any application byte moves.
        if self.report is None and getattr(self, "_sslobj", None) is not None:
            self.do_handshake()

    def send(self, data: Any, flags: int = 0) -> int:
        self._ensure_checked()
        return super().send(data, flags)


class PolicySSLObject(_CheckedBeforeData, ssl.SSLObject):
    """A memory-BIO TLS connection checked by the engine right after its handshake.

    The peer address is found on the transport of the asyncio or anyio code driving the
    handshake; other drivers can pass it with :meth:`set_peer` before the handshake. Without
    it, the policy is selected by the server name alone (port-specific patterns and IP
    ranges do not match) and the report's ``port`` is 0.
    """

    report: Report | None = None
    _peer: Peer | None = None
    _failure: BaseException | None = None
    _background: Future[Report] | None = None

    def set_peer(self, ip: str, port: int) -> None:
        """The address this connection goes to (for policy selection by IP and port)."""
        self._peer = (str(ip), int(port))

    def do_handshake(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._background is not None:
            self._finish_background()
            return
        try:
            super().do_handshake()
        except ssl.SSLCertVerificationError as exc:
            self._failure = _withheld(exc, self.server_hostname)
            raise self._failure from exc
        if self.report is not None:
            return
        caller = sys._getframe(1)
        peer = self._peer or _caller_peer(caller, self)
        context = _policy_context(self.context)
        try:
            pending = context._prepare(self, self.server_hostname, peer)
        except BaseException as exc:
            self._failure = exc
            raise
        wake = _event_loop_waker(caller, self)
        if wake is not None:
            # Driven by an event loop: the check (which may fetch CRLs or OCSP answers) runs
            # on a worker thread; the loop goes on, and the handshake resumes when the answer
            # is in. Nothing passes before that (no application data is read while the
            # handshake is unfinished).
            self._background = _CHECKS.submit(context._check, pending)
            self._background.add_done_callback(lambda _done: wake())
            raise ssl.SSLWantReadError("certpolicy: the certificate check is running")
        self._settle(lambda: context._check(pending))

    def _finish_background(self) -> None:
        background = self._background
        if background is None or not background.done():
            raise ssl.SSLWantReadError("certpolicy: the certificate check is running")
        self._settle(background.result)

    def _settle(self, decide: Callable[[], Report]) -> None:
        try:
            self.report = decide()
        except BaseException as exc:
            # The driver closes its transport on this error; until then nothing passes.
            self._failure = exc
            raise

    def _ensure_checked(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self.report is None:
            self.do_handshake()
            if self.report is None:
                raise ssl.SSLWantReadError("certpolicy: the certificate check is running")


class PolicySSLContext(ssl.SSLContext):
    """A client context whose certificate decisions are the engine's (see the module doc).

    Get one from :meth:`certpolicy.Engine.ssl_context`. ``verify_mode`` always reads
    ``CERT_REQUIRED`` and ``check_hostname`` ``True`` (the engine verifies; clients such as
    urllib3 then do not add checks of their own on an unverified certificate); setting them
    changes nothing. ``load_verify_locations``, ``load_default_certs`` and
    ``set_default_verify_paths`` are no-ops: the anchors are the engine's trust store.
    Renegotiation is refused, so the checked certificate cannot change mid-connection.
    Everything else (ALPN, ciphers, client certificates, versions) works as usual.
    """

    _engine: ConnectionChecker

    # Enforcement lives in the socket and object classes and in wrap_socket / wrap_bio: a
    # subclass or an instance that replaced them would connect unchecked (OpenSSL's own
    # verification is off), so neither may. Refusing is failing closed.
    _ENFORCING_MEMBERS: Final = ("wrap_socket", "wrap_bio", "sslsocket_class", "sslobject_class")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        replaced = [name for name in cls._ENFORCING_MEMBERS if name in vars(cls)]
        if replaced:
            raise TypeError(
                f"{cls.__qualname__} replaces {', '.join(replaced)} of a certpolicy context; "
                "its connections could not be checked. (Under certpolicy.inject_into_ssl every "
                "ssl.SSLContext subclass is one: create it before injecting, or pass "
                "engine.ssl_context() to the library instead.)"
            )

    @property  # type: ignore[override]
    def sslsocket_class(self) -> type[PolicySSLSocket]:
        return PolicySSLSocket

    @sslsocket_class.setter
    def sslsocket_class(self, value: Any) -> None:
        if not (isinstance(value, type) and issubclass(value, PolicySSLSocket)):
            raise TypeError("a certpolicy context only makes certpolicy-checked sockets")

    @property  # type: ignore[override]
    def sslobject_class(self) -> type[PolicySSLObject]:
        return PolicySSLObject

    @sslobject_class.setter
    def sslobject_class(self, value: Any) -> None:
        if not (isinstance(value, type) and issubclass(value, PolicySSLObject)):
            raise TypeError("a certpolicy context only makes certpolicy-checked objects")

    def __new__(
        cls, engine: ConnectionChecker, *, trust_peer_ip: bool = False, allow_audit: bool = True
    ) -> PolicySSLContext:
        return super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)

    def __init__(
        self, engine: ConnectionChecker, *, trust_peer_ip: bool = False, allow_audit: bool = True
    ) -> None:
        self._engine = engine
        self._client_certificate = False
        self._trust_peer_ip = trust_peer_ip
        # False: audit-mode policies are enforced too (connections that carry credentials).
        self._allow_audit = allow_audit
        self._chains: OrderedDict[bytes, tuple[bytes, ...]] = OrderedDict()
        self._chains_lock = threading.Lock()
        # OpenSSL's checks off, on the C object itself (the properties below hide them).
        _RAW.check_hostname.__set__(self, False)
        _RAW.verify_mode.__set__(self, ssl.CERT_NONE)
        self.minimum_version = ssl.TLSVersion.TLSv1_2
        self.options |= ssl.OP_NO_RENEGOTIATION

    @property
    def engine(self) -> ConnectionChecker:
        """The engine that decides every connection of this context."""
        return self._engine

    # The properties below are reached two ways: on a PolicySSLContext itself, and, once
    # ``inject_into_ssl`` has replaced ``ssl.SSLContext`` by a subclass of this class, from
    # the setters of ssl.py, which call ``super(SSLContext, SSLContext).<name>.__set__`` with
    # the module's (replaced) ``SSLContext`` for every context, plain server ones included.
    # So each one acts on the C object of a plain context exactly as ssl.py would, and never
    # goes back into ssl.py (which would recurse).

    @property  # type: ignore[override]
    def verify_mode(self) -> ssl.VerifyMode:
        if isinstance(self, PolicySSLContext):
            return ssl.CERT_REQUIRED
        return ssl.VerifyMode(_RAW.verify_mode.__get__(self))

    @verify_mode.setter
    def verify_mode(self, value: Any) -> None:
        if isinstance(self, PolicySSLContext):
            logger.debug("verify_mode=%r ignored: the certpolicy engine verifies", value)
        else:
            _RAW.verify_mode.__set__(self, value)

    @property
    def check_hostname(self) -> bool:
        return True

    @check_hostname.setter
    def check_hostname(self, value: Any) -> None:
        logger.debug("check_hostname=%r ignored: the certpolicy engine decides", value)

    @property  # type: ignore[override]
    def options(self) -> ssl.Options:
        return ssl.Options(_RAW.options.__get__(self))

    @options.setter
    def options(self, value: Any) -> None:
        if isinstance(self, PolicySSLContext):
            value |= ssl.OP_NO_RENEGOTIATION
        _RAW.options.__set__(self, value)

    @property  # type: ignore[override]
    def minimum_version(self) -> ssl.TLSVersion:
        return ssl.TLSVersion(_RAW.minimum_version.__get__(self))

    @minimum_version.setter
    def minimum_version(self, value: Any) -> None:
        _RAW.minimum_version.__set__(self, value)

    @property  # type: ignore[override]
    def maximum_version(self) -> ssl.TLSVersion:
        return ssl.TLSVersion(_RAW.maximum_version.__get__(self))

    @maximum_version.setter
    def maximum_version(self, value: Any) -> None:
        _RAW.maximum_version.__set__(self, value)

    @property  # type: ignore[override]
    def verify_flags(self) -> ssl.VerifyFlags:
        return ssl.VerifyFlags(_RAW.verify_flags.__get__(self))

    @verify_flags.setter
    def verify_flags(self, value: Any) -> None:
        _RAW.verify_flags.__set__(self, value)

    @property
    def _msg_callback(self) -> Any:
        # OpenSSL's message callback (a debugging aid); set here as it is given.
        return _RAW._msg_callback.__get__(self)

    @_msg_callback.setter
    def _msg_callback(self, callback: Any) -> None:
        _RAW._msg_callback.__set__(self, callback)

    def load_cert_chain(self, certfile: Any, keyfile: Any = None, password: Any = None) -> None:
        """Loads the client certificate, and from then on also has OpenSSL verify the server
        during the handshake (against the engine's trust anchors, with its name): a client
        certificate is sent only after the server's Certificate message, so an impostor must
        fail there, before it could receive the certificate and a signature by its key. The
        engine's full policy check still runs after the handshake. A policy that turns the
        chain or hostname check off cannot apply to such connections (they fail closed)."""
        super().load_cert_chain(certfile, keyfile, password)
        anchors = b"".join(self._engine.trust.certificates())
        if not anchors:
            raise CertPolicyError(
                "a client certificate needs trust anchors to check servers against before it "
                "is sent; the engine's trust store is empty"
            )
        # Load the engine's anchors into OpenSSL's own store (the raw descriptor, not the
        # no-op public method), then turn OpenSSL's verification on, name included.
        _RAW.load_verify_locations(self, cadata=anchors)
        _RAW.verify_mode.__set__(self, ssl.CERT_REQUIRED)
        _RAW.check_hostname.__set__(self, True)
        self._client_certificate = True

    def load_verify_locations(
        self, cafile: Any = None, capath: Any = None, cadata: Any = None
    ) -> None:
        logger.debug("load_verify_locations ignored: the anchors are the engine's trust store")

    def load_default_certs(self, purpose: Any = ssl.Purpose.SERVER_AUTH) -> None:
        logger.debug("load_default_certs ignored: the anchors are the engine's trust store")

    def set_default_verify_paths(self) -> None:
        logger.debug("set_default_verify_paths ignored: the anchors are the engine's trust store")

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> PolicySSLSocket:
        if server_side:
            raise ValueError(_CLIENT_ONLY)
        return super().wrap_socket(  # type: ignore[return-value]
            sock,
            server_side=False,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=server_hostname,
            session=session,
        )

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> PolicySSLObject:
        if server_side:
            raise ValueError(_CLIENT_ONLY)
        return super().wrap_bio(  # type: ignore[return-value]
            incoming,
            outgoing,
            server_side=False,
            server_hostname=server_hostname,
            session=session,
        )

    def _enforce(
        self, conn: ssl.SSLSocket | ssl.SSLObject, server_name: str | None, peer: Peer | None
    ) -> Report:
        """Runs the engine on a finished handshake; raises CertificateCheckError. The peer
        address counts for the policy only as :meth:`PolicySet.select_connection` allows
        (a proxy's address must not weaken the checks), unless ``trust_peer_ip``."""
        return self._check(self._prepare(conn, server_name, peer))

    def _prepare(
        self, conn: ssl.SSLSocket | ssl.SSLObject, server_name: str | None, peer: Peer | None
    ) -> _Pending:
        """What the check needs from the connection (read on the connection's own thread)."""
        chain = self._chain_of(conn)
        ip, port = (peer[0], peer[1]) if peer is not None else (None, None)
        host = server_name or ip
        if not host:
            raise CertificateCheckError(
                "certificate check impossible: no server name and no peer address"
            )
        return _Pending(chain, host, ip, port)

    def _check(self, pending: _Pending) -> Report:
        """The engine's decision (thread-safe: it touches no connection)."""
        return self._engine.enforce(
            pending.chain,
            pending.host,
            ip=pending.ip,
            port=pending.port,
            trust_peer_ip=self._trust_peer_ip,
            allow_audit=self._allow_audit,
        )

    def _chain_of(self, conn: ssl.SSLSocket | ssl.SSLObject) -> list[bytes]:
        """The chain the server presented. A resumed session carries no chain (OpenSSL
        keeps only the leaf), so the chain of the full handshake that created the session
        is used: that handshake presented it, and the session's keys bind this connection
        to it. The checks themselves (policy, hostname, time, revocation) run again."""
        chain = peer_chain(conn)
        if chain:
            with self._chains_lock:
                self._chains[chain[0]] = tuple(chain)
                self._chains.move_to_end(chain[0])
                while len(self._chains) > MAX_REMEMBERED_CHAINS:
                    self._chains.popitem(last=False)
            return chain
        if not conn.session_reused:
            return []
        leaf = conn.getpeercert(binary_form=True)
        if not leaf:
            return []
        with self._chains_lock:
            remembered = self._chains.get(leaf)
        return list(remembered) if remembered is not None else [leaf]


def _withheld(error: ssl.SSLCertVerificationError, host: str | None) -> CertificateCheckError:
    """OpenSSL refused the server during the handshake (only contexts with a client
    certificate verify there): the same error a failed engine check raises, saying why and
    that the client certificate was not sent."""
    reason = error.verify_message or str(error)
    message = (
        f"certificate check failed for {host}: {reason} (checked during the handshake, "
        "as a client certificate is loaded; it was not sent)"
    )
    if error.verify_code in _X509_V_ERR_NAME_MISMATCHES:
        failure: CertificateCheckError = HostnameMismatchError(message, host)
    else:
        failure = ChainError(message, "untrusted")
    failure.verify_code = error.verify_code
    return failure


def _policy_context(context: ssl.SSLContext) -> PolicySSLContext:
    if not isinstance(context, PolicySSLContext):
        # Someone swapped the context of a checked connection: refuse rather than guess.
        raise CertPolicyError("the connection's SSLContext is no longer a certpolicy context")
    return context


@dataclass(frozen=True, slots=True)
class _Pending:
    """A finished handshake's facts, ready for the engine."""

    chain: list[bytes]
    host: str
    ip: str | None
    port: int | None


# Checks of connections driven by asyncio run here, off the event loop; bounded, so a burst
# of cold handshakes queues instead of starting a thread each.
_CHECKS: Final = ThreadPoolExecutor(max_workers=8, thread_name_prefix="certpolicy-check")


def _event_loop_waker(frame: Any, connection: ssl.SSLObject) -> Callable[[], None] | None:
    """How to resume the handshake of ``connection`` from a worker thread, when an event
    loop drives it: asyncio's ``SSLProtocol`` (asyncio streams, aiohttp) runs its handshake
    step again; anyio's ``TLSStream`` on the asyncio backend (httpx's async client) is woken
    by an empty read, after which it calls ``do_handshake`` again. None otherwise (blocking
    sockets, other loops): the check then runs where it is called."""
    for _ in range(_TRANSPORT_SEARCH_DEPTH):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        if isinstance(owner, asyncio.sslproto.SSLProtocol) and (
            getattr(owner, "_sslobj", None) is connection
        ):
            return _asyncio_waker(owner)
        if getattr(owner, "_ssl_object", None) is connection:
            return _anyio_waker(owner)
        frame = frame.f_back
    return None


def _asyncio_waker(protocol: Any) -> Callable[[], None] | None:
    loop = getattr(protocol, "_loop", None)
    if loop is None or not callable(getattr(protocol, "_do_handshake", None)):
        return None

    def step() -> None:
        state = getattr(protocol, "_state", None)
        if getattr(state, "name", None) == "DO_HANDSHAKE":
            protocol._do_handshake()

    return lambda: _call_soon(loop, step)


def _anyio_waker(tls_stream: Any) -> Callable[[], None] | None:
    stream_protocol = getattr(getattr(tls_stream, "transport_stream", None), "_protocol", None)
    queue = getattr(stream_protocol, "read_queue", None)
    event = getattr(stream_protocol, "read_event", None)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    if not isinstance(queue, collections.deque) or not isinstance(event, asyncio.Event):
        return None

    def step() -> None:
        queue.append(b"")  # an empty read: the stream then calls do_handshake again
        event.set()

    return lambda: _call_soon(loop, step)


def _call_soon(loop: asyncio.AbstractEventLoop, step: Callable[[], None]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
        loop.call_soon_threadsafe(step)


def _caller_peer(frame: Any, connection: ssl.SSLObject) -> Peer | None:
    """The peer address of the transport whose code called ``do_handshake``: asyncio's
    ``SSLProtocol`` (``self._transport``) or anyio's ``TLSStream`` (``self.transport_stream``),
    and only the one that owns ``connection`` (an asyncio server's protocol that makes an
    outbound TLS call must not lend it the inbound client's address). None when no caller
    frame has one (e.g. a C-implemented event loop)."""
    for _ in range(_TRANSPORT_SEARCH_DEPTH):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        owned = connection in (getattr(owner, "_sslobj", None), getattr(owner, "_ssl_object", None))
        peer = (_asyncio_peer(owner) or _anyio_peer(owner)) if owned else None
        if peer is not None:
            return peer
        frame = frame.f_back
    return None


def _as_peer(address: Any) -> Peer | None:
    if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
        return (str(address[0]), address[1])
    return None


def _asyncio_peer(owner: Any) -> Peer | None:
    transport = getattr(owner, "_transport", None)
    get_extra_info: Callable[[str], Any] | None = getattr(transport, "get_extra_info", None)
    if get_extra_info is None:
        return None
    return _as_peer(get_extra_info("peername"))


def _anyio_peer(owner: Any) -> Peer | None:
    stream = getattr(owner, "transport_stream", None)
    if stream is None or sys.modules.get("anyio") is None:
        return None
    from anyio.abc import SocketAttribute

    return _as_peer(stream.extra(SocketAttribute.remote_address, None))
