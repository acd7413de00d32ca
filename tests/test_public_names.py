"""The public names (DESIGN.md "Public API") are pinned: a move or a rename inside the package
can never drop one silently, and each subpackage exports exactly what its ``__all__`` says."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import certpolicy as cp

# Every name users' code may import from ``certpolicy``. Adding one is a deliberate change
# to this list (and CHANGELOG.md); removing one breaks users.
PUBLIC_NAMES = """
AgentConfig CertInfo CertPolicyError CertificateCheckError CertificateRevokedError
ChainCacheInfo ChainError CheckResult ConfigError Crl CrlError Engine HostnameMismatchError
KeystoreError MalformedInputError OcspError OcspStatus Policy PolicyError PolicySSLContext PolicySet
Report Retry RevocationConfig RevocationUnavailableError RevokedEntry Selection SyncResult
TrustStore __version__ cert_info certificate_check_error chain_cache_info clear_chain_cache
extract_from_ssl inject_into_ssl
ocsp_check_response ocsp_request requests_session set_chain_cache_size verify_chain
verify_chains verify_hostname
""".split()  # noqa: SIM905 - a compact pin, not a list to edit line by line

SUBPACKAGES = [
    "certpolicy.checks",
    "certpolicy.policy",
    "certpolicy.revocation",
    "certpolicy.revocation.crl",
    "certpolicy.revocation.ocsp",
    "certpolicy.intermediates",
    "certpolicy.tls",
    "certpolicy.cli",
]


def test_public_names_are_pinned() -> None:
    assert sorted(cp.__all__) == sorted(PUBLIC_NAMES)
    assert len(set(cp.__all__)) == len(cp.__all__)


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_is_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from certpolicy import {name}", namespace)
    assert namespace[name] is getattr(cp, name)


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_subpackage_exports_what_it_declares(package: str) -> None:
    module = importlib.import_module(package)
    exported = module.__all__
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which it lacks"


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_implementation_modules_are_private(package: str) -> None:
    module = importlib.import_module(package)
    for child in Path(module.__path__[0]).glob("*.py"):
        if child.name in ("__init__.py", "__main__.py"):
            continue
        assert child.name.startswith("_"), f"{package}: {child.name} should be _-prefixed"


def test_flat_modules_of_the_old_layout_are_gone() -> None:
    """The old top-level modules (crl_fetch, sslcontext, ...) are not public attributes."""
    for old in ("crl_fetch", "crl_cache", "ocsp_fetch", "sslcontext", "integrations", "sync"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"certpolicy.{old}")
