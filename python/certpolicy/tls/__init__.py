"""Enforcement at the TLS layer: the enforcing :class:`PolicySSLContext`, peer-chain
plumbing, checked HTTPS requests, client integrations and process-wide injection. It calls
back into the :class:`ConnectionChecker` it is given (the engine) and never imports the
engine."""

from certpolicy.tls._checker import ConnectionChecker
from certpolicy.tls._context import PolicySSLContext, PolicySSLObject, PolicySSLSocket
from certpolicy.tls._https import checked_https_get
from certpolicy.tls._inject import (
    InjectedSSLContext,
    extract_from_ssl,
    inject_into_ssl,
    injected_checker,
)
from certpolicy.tls._integrations import certificate_check_error, requests_session
from certpolicy.tls._peer import parse_endpoint, peer_chain

__all__ = [
    "ConnectionChecker",
    "InjectedSSLContext",
    "PolicySSLContext",
    "PolicySSLObject",
    "PolicySSLSocket",
    "certificate_check_error",
    "checked_https_get",
    "extract_from_ssl",
    "inject_into_ssl",
    "injected_checker",
    "parse_endpoint",
    "peer_chain",
    "requests_session",
]


def __getattr__(name: str) -> object:
    # PolicyHTTPAdapter subclasses requests' HTTPAdapter: made on first use, requests optional.
    if name == "PolicyHTTPAdapter":
        from certpolicy.tls import _integrations

        return _integrations.PolicyHTTPAdapter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
