"""Revocation (DESIGN.md "Revocation"): settings, the method-order checker over a verified
path, and the two methods, :mod:`~certpolicy.revocation.crl` and
:mod:`~certpolicy.revocation.ocsp`, with their fetching, caching and refresh."""

from certpolicy.revocation._answers import AnswerStatus, MethodAnswer, PathAnswer, RevocationMethod
from certpolicy.revocation._checker import RevocationChecker, default_methods
from certpolicy.revocation._config import METHODS, Method, Retry, RevocationConfig
from certpolicy.revocation.crl import Crl, CrlChecker, RevokedEntry
from certpolicy.revocation.ocsp import OcspChecker, OcspStatus, ocsp_check_response, ocsp_request

__all__ = [
    "METHODS",
    "AnswerStatus",
    "Crl",
    "CrlChecker",
    "Method",
    "MethodAnswer",
    "OcspChecker",
    "OcspStatus",
    "PathAnswer",
    "Retry",
    "RevocationChecker",
    "RevocationConfig",
    "RevocationMethod",
    "RevokedEntry",
    "default_methods",
    "ocsp_check_response",
    "ocsp_request",
]
