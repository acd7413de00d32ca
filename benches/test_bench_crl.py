"""A CRL of 1,000,000 entries (~37 MB DER, random 128-bit serials, one in ten with a reason
code): certpolicy's Crl against cryptography on the same bytes, in the same run.

- parse + verify + index: ``Crl.from_der(der, issuer)`` vs ``load_der_x509_crl(der)`` +
  ``is_signature_valid(issuer_key)``.
- lookup of a listed serial from Python: ``serial in crl`` and ``crl.lookup(serial)`` (cycling
  through 1,000 listed serials, so not one cached path) vs
  ``get_revoked_certificate_by_serial_number``.

Memory beyond the DER is recorded in ``extra_info``: the index's own size (``index_bytes()``,
its capacity, 16 bytes an entry) and the process's resident-set growth while parsing.
"""

from __future__ import annotations

import itertools
import os
import random
from typing import Any

import pytest
from cryptography import x509

from certpolicy.revocation.crl import Crl

import crl_pki
from pki import make_root

ENTRIES = 1_000_000
# The slow operations run a fixed number of rounds on both sides, so CI's short mode stays
# well under two minutes for this file.
PARSE_ROUNDS = 8
PEER_LOOKUP_ROUNDS = 5


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    issuer = make_root("certpolicy bench CRL issuer")
    der, serials = crl_pki.large_crl(issuer, ENTRIES)
    before = _rss_bytes()
    crl = Crl.from_der(der, issuer.der)
    grown = _rss_bytes() - before
    theirs = x509.load_der_x509_crl(der)
    sample = random.Random(1).sample(serials, 1000)
    return {
        "der": der,
        "issuer": issuer,
        "issuer_key": issuer.cert.public_key(),
        "crl": crl,
        "theirs": theirs,
        "sample": sample,
        "memory": {
            "entries": len(crl),
            "der_bytes": len(der),
            "index_bytes_per_entry": crl.index_bytes() / len(crl),
            "rss_growth_bytes_per_entry": round(grown / len(crl), 1),
        },
    }


def test_crl_parse_certpolicy(benchmark: Any, big: dict[str, Any]) -> None:
    benchmark.group = "crl-1m-parse-verify-index"
    benchmark.extra_info.update(impl="certpolicy", **big["memory"])
    der, issuer = big["der"], big["issuer"].der
    crl = benchmark.pedantic(Crl.from_der, args=(der, issuer), rounds=PARSE_ROUNDS)
    assert len(crl) == ENTRIES


def test_crl_parse_cryptography(benchmark: Any, big: dict[str, Any]) -> None:
    benchmark.group = "crl-1m-parse-verify-index"
    benchmark.extra_info.update(impl="cryptography", peer=True)
    der, key = big["der"], big["issuer_key"]

    def run() -> bool:
        return bool(x509.load_der_x509_crl(der).is_signature_valid(key))

    assert benchmark.pedantic(run, rounds=PARSE_ROUNDS)


def test_crl_contains_certpolicy(benchmark: Any, big: dict[str, Any]) -> None:
    benchmark.group = "crl-1m-lookup"
    benchmark.extra_info.update(impl="certpolicy")
    crl, serials = big["crl"], itertools.cycle(big["sample"])
    benchmark.pedantic(lambda: next(serials) in crl, rounds=200, iterations=1000)
    assert all(serial in crl for serial in big["sample"])


def test_crl_lookup_entry_certpolicy(benchmark: Any, big: dict[str, Any]) -> None:
    benchmark.group = "crl-1m-lookup-entry"
    benchmark.extra_info.update(impl="certpolicy")
    crl, serials = big["crl"], itertools.cycle(big["sample"])
    benchmark.pedantic(lambda: crl.lookup(next(serials)), rounds=200, iterations=1000)


@pytest.mark.parametrize("group", ["crl-1m-lookup", "crl-1m-lookup-entry"])
def test_crl_lookup_cryptography(benchmark: Any, big: dict[str, Any], group: str) -> None:
    benchmark.group = group
    benchmark.extra_info.update(impl="cryptography", peer=True)
    theirs, serials = big["theirs"], itertools.cycle(big["sample"])

    def run() -> Any:
        return theirs.get_revoked_certificate_by_serial_number(next(serials))

    assert benchmark.pedantic(run, rounds=PEER_LOOKUP_ROUNDS) is not None
