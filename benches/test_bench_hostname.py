"""Hostname matching from a DER certificate: certpolicy vs service_identity (pre-parsed
certificate) and, on Python < 3.12, ssl.match_hostname on a pre-decoded dict."""

from __future__ import annotations

import ssl
import sys
import warnings
from typing import Any

import pytest
import service_identity.cryptography
from cryptography import x509

import certpolicy as cp

from pki import make_pki

HOST = "www.example.com"
NAMES = ["example.com", "www.example.com", "*.cdn.example.com", "api.example.com"]


@pytest.fixture(scope="module")
def leaf_der() -> bytes:
    return make_pki(NAMES).leaf.der


def test_hostname_certpolicy(benchmark: Any, leaf_der: bytes) -> None:
    benchmark.group = "hostname"
    benchmark.extra_info.update(impl="certpolicy")
    benchmark(cp.verify_hostname, leaf_der, HOST)


def test_hostname_service_identity(benchmark: Any, leaf_der: bytes) -> None:
    benchmark.group = "hostname"
    benchmark.extra_info.update(impl="service_identity", peer=True)
    cert = x509.load_der_x509_certificate(leaf_der)
    benchmark(service_identity.cryptography.verify_certificate_hostname, cert, HOST)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="ssl.match_hostname left Python 3.12")
def test_hostname_ssl_match_hostname(benchmark: Any) -> None:
    benchmark.group = "hostname"
    benchmark.extra_info.update(impl="ssl.match_hostname", peer=True)
    decoded = {"subjectAltName": tuple(("DNS", n) for n in NAMES)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        benchmark(ssl.match_hostname, decoded, HOST)  # type: ignore[attr-defined]
