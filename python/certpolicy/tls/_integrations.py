"""HTTP client helpers around :meth:`certpolicy.Engine.ssl_context`.

Most clients need nothing but the context (``urlopen(context=...)``,
``urllib3.PoolManager(ssl_context=...)``, ``httpx.Client(verify=...)``,
``aiohttp.TCPConnector(ssl=...)``, ``asyncio.open_connection(ssl=...)``). requests needs an
adapter, shipped here: :func:`requests_session` / :class:`PolicyHTTPAdapter`.
:func:`certificate_check_error` digs certpolicy's error out of whatever a client wrapped it in.

requests is imported only when the adapter is first used; it is not a dependency.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from certpolicy.errors import CertificateCheckError
from certpolicy.tls._checker import ConnectionChecker

if TYPE_CHECKING:
    import requests

__all__ = ["certificate_check_error", "requests_session"]  # and PolicyHTTPAdapter, made lazily

# Attributes under which clients keep the exception they wrap: urllib's URLError.reason,
# urllib3's MaxRetryError.reason, aiohttp's ClientConnectorCertificateError.certificate_error.
_WRAPPER_ATTRIBUTES = ("reason", "certificate_error")
_MAX_DEPTH = 16


def certificate_check_error(exc: BaseException) -> CertificateCheckError | None:
    """The :class:`CertificateCheckError` behind an exception raised by an HTTP client
    (requests.SSLError, httpx.ConnectError, urllib3.MaxRetryError, urllib's URLError, aiohttp's
    ClientConnectorCertificateError...), or None. Its ``.report`` says what failed."""
    pending: list[Any] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < _MAX_DEPTH * 4:
        item = pending.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, CertificateCheckError):
            return item
        pending.extend(getattr(item, name, None) for name in _WRAPPER_ATTRIBUTES)
        pending.extend((item.__cause__, item.__context__))
        pending.extend(item.args[:_MAX_DEPTH])
    return None


def requests_session(
    engine: ConnectionChecker, session: requests.Session | None = None
) -> requests.Session:
    """A ``requests.Session`` (or ``session``) whose https:// connections are checked by
    ``engine``: :class:`PolicyHTTPAdapter` mounted for ``https://``."""
    import requests

    target = session if session is not None else requests.Session()
    target.mount("https://", _adapter_class()(engine))
    return target


_ADAPTER_CLASS: type | None = None


def _adapter_class() -> type:
    global _ADAPTER_CLASS
    if _ADAPTER_CLASS is None:
        _ADAPTER_CLASS = _make_adapter_class()
    return _ADAPTER_CLASS


def _make_adapter_class() -> type:
    from requests.adapters import HTTPAdapter

    class PolicyHTTPAdapter(HTTPAdapter):
        """A requests ``HTTPAdapter`` whose connections use ``engine.ssl_context()``.

        ``verify=`` of a request does not apply: the engine's policy decides every https
        connection (``verify=False`` cannot switch its checks off; CA bundles passed in
        ``verify`` are not anchors: the engine's trust store is). Client certificates
        (``cert=``) work as usual.
        """

        def __init__(self, engine: ConnectionChecker, **kwargs: Any) -> None:
            self.engine = engine
            self.ssl_context = engine.ssl_context()
            super().__init__(**kwargs)

        def init_poolmanager(self, *args: Any, **pool_kwargs: Any) -> None:
            pool_kwargs["ssl_context"] = self.ssl_context
            super().init_poolmanager(*args, **pool_kwargs)

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            proxy_kwargs["ssl_context"] = self.ssl_context
            return super().proxy_manager_for(proxy, **proxy_kwargs)

        def build_connection_pool_key_attributes(
            self, request: Any, verify: Any, cert: Any = None
        ) -> tuple[dict[str, Any], dict[str, Any]]:
            host_params, pool_kwargs = super().build_connection_pool_key_attributes(
                request, verify, cert
            )
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
            pool_kwargs["ssl_context"] = self.ssl_context
            return host_params, pool_kwargs

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            super().cert_verify(conn, url, False, cert)
            # No CA bundle per connection (the engine's store decides; loading one would
            # cost milliseconds per connection for nothing).
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None
            conn.ca_cert_dir = None

    return PolicyHTTPAdapter


def __getattr__(name: str) -> Any:
    # PolicyHTTPAdapter subclasses requests' HTTPAdapter, so it is made on first use.
    if name == "PolicyHTTPAdapter":
        return _adapter_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
