"""Process-wide enforcement: :func:`inject_into_ssl` makes every TLS client context the process
creates from then on a policy-enforcing one, so code that never passes a context (``urlopen``,
``http.client``, ``urllib3``, ``requests``, ``httpx``, ``aiohttp``, ``asyncio``) is checked by
the engine; :func:`extract_from_ssl` undoes it.

The approach is truststore's: ``ssl.SSLContext`` (and the copies of that name that libraries
took at import, plus the default contexts some of them made at import) is replaced by
:class:`InjectedSSLContext`, a :class:`PolicySSLContext` built for the injected engine.
``ssl.create_default_context`` and friends look the class up when called, so they make
enforcing contexts too. Server contexts (``PROTOCOL_TLS_SERVER``, as
``create_default_context(Purpose.CLIENT_AUTH)`` makes them) stay plain ``ssl`` contexts, and
``isinstance(context, ssl.SSLContext)`` stays true for every context.

Not reached: contexts created before the injection (they keep their own verification), and
clients with TLS stacks of their own (pyOpenSSL, curl bindings such as pycurl, Go or Rust
extensions, subprocesses). Refused (TypeError, failing closed): an ``ssl.SSLContext``
subclass defined while injected that replaces ``wrap_socket``, ``wrap_bio`` or the socket
classes (gevent's ``ssl`` does), since its connections could not be checked. A server that
makes its context with the generic ``PROTOCOL_TLS`` (or no protocol) gets a client context
and a clear ValueError on ``server_side=True``: use ``PROTOCOL_TLS_SERVER``.
"""

from __future__ import annotations

import logging
import ssl
import sys
import threading
from typing import Any, cast

from certpolicy.tls._checker import ConnectionChecker
from certpolicy.tls._context import PolicySSLContext

__all__ = ["InjectedSSLContext", "extract_from_ssl", "inject_into_ssl", "injected_checker"]

logger = logging.getLogger("certpolicy")

# The real class, whatever ssl.SSLContext is later replaced by.
_ORIGINAL_SSL_CONTEXT: type[ssl.SSLContext] = ssl.SSLContext

_lock = threading.Lock()
_checker: ConnectionChecker | None = None
# (module, attribute) -> the value replaced, restored by extract_from_ssl.
_replaced: dict[tuple[str, str], Any] = {}


class _PlainContextsAreInstances(type):
    """``isinstance(plain_context, ssl.SSLContext)`` stays true while ssl.SSLContext is the
    injected class: libraries (asyncio among them) check server contexts that way. Only the
    injected class itself answers so; its subclasses are checked as usual."""

    def __instancecheck__(cls, instance: Any) -> bool:
        if cls is InjectedSSLContext:
            return isinstance(instance, _ORIGINAL_SSL_CONTEXT)
        return type.__instancecheck__(cls, instance)

    def __subclasscheck__(cls, subclass: Any) -> bool:
        if cls is InjectedSSLContext:
            return isinstance(subclass, type) and issubclass(subclass, _ORIGINAL_SSL_CONTEXT)
        return type.__subclasscheck__(cls, subclass)


class InjectedSSLContext(PolicySSLContext, metaclass=_PlainContextsAreInstances):
    """What ``ssl.SSLContext(...)`` makes while injected: a client context enforcing the
    injected engine, or a plain ``ssl`` context for servers."""

    def __new__(cls, protocol: int | None = None, *args: Any, **kwargs: Any) -> Any:
        checker = _checker
        if protocol == ssl.PROTOCOL_TLS_SERVER or checker is None:
            # Not a client context (or extracted meanwhile): the real thing, untouched.
            if protocol is None:
                return _ORIGINAL_SSL_CONTEXT(*args, **kwargs)
            return _ORIGINAL_SSL_CONTEXT(protocol, *args, **kwargs)
        context = cast(InjectedSSLContext, PolicySSLContext.__new__(cls, checker))
        context._injected_checker = checker
        return context

    def __init__(self, protocol: int | None = None, *args: Any, **kwargs: Any) -> None:
        # Only called for instances of this class (__new__ returned one).
        super().__init__(self._injected_checker)

    _injected_checker: ConnectionChecker


def injected_checker() -> ConnectionChecker | None:
    """The engine injected into ``ssl``, or None."""
    return _checker


def _replace(module_name: str, attribute: str, value: Any) -> None:
    module = sys.modules.get(module_name)
    if module is None or not hasattr(module, attribute):
        return
    key = (module_name, attribute)
    if key not in _replaced:
        _replaced[key] = getattr(module, attribute)
    setattr(module, attribute, value)


def _patch_modules() -> None:
    # The class itself, where modules keep their own reference to it.
    _replace("ssl", "SSLContext", InjectedSSLContext)
    _replace("urllib3.util.ssl_", "SSLContext", InjectedSSLContext)
    # aiohttp makes its default client contexts at import time.
    if "aiohttp.connector" in sys.modules:
        for name in ("_SSL_CONTEXT_VERIFIED", "_SSL_CONTEXT_UNVERIFIED"):
            if hasattr(sys.modules["aiohttp.connector"], name):
                context = ssl.create_default_context()
                context.set_alpn_protocols(["http/1.1"])
                _replace("aiohttp.connector", name, context)
    # requests before 2.34 preloads one default context at import time.
    if hasattr(sys.modules.get("requests.adapters"), "_preloaded_ssl_context"):
        _replace("requests.adapters", "_preloaded_ssl_context", ssl.create_default_context())


def inject_into_ssl(engine: ConnectionChecker) -> None:
    """From now on every TLS client context the process creates enforces ``engine``'s
    policies (see the module documentation for what is and is not reached). Calling it again
    switches to another engine; :func:`extract_from_ssl` undoes it."""
    global _checker
    if not callable(getattr(engine, "enforce", None)):
        raise TypeError("inject_into_ssl needs a certpolicy.Engine")
    with _lock:
        _checker = engine
        _patch_modules()
    logger.info("certpolicy enforces its policies on every TLS client context of the process")


def extract_from_ssl() -> None:
    """Puts back everything :func:`inject_into_ssl` replaced; a no-op when not injected.
    Contexts made while injected keep enforcing their engine."""
    global _checker
    with _lock:
        for (module_name, attribute), original in _replaced.items():
            module = sys.modules.get(module_name)
            if module is not None:
                setattr(module, attribute, original)
        _replaced.clear()
        _checker = None
