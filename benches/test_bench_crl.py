"""A CRL of 1,000,000 entries (~37 MB DER, random 128-bit serials, one in ten with a reason
code): certpolicy's Crl against cryptography on the same bytes, in the same run.

- parse + verify + index: ``Crl.from_der(der, issuer)`` vs ``load_der_x509_crl(der)`` +
  ``is_signature_valid(issuer_key)``.
- lookup of a listed serial from Python: ``serial in crl`` and ``crl.lookup(serial)`` (cycling
  through 1,000 listed serials, so not one cached path) vs
  ``get_revoked_certificate_by_serial_number``, and vs a C ``bisect`` (the stdlib's ``_bisect``)
  over the same serials as a sorted list of Python ints, built outside the timed part: for
  ``in``, ``bisect_left`` plus the equality test; for ``lookup``, that plus the entry at the
  found position in a parallel list of per-entry tuples (serial, reason). The same 1,000 query
  serials, in the same order, on every row of a group.

Memory beyond the DER is recorded in ``extra_info``: the index's own size (``index_bytes()``,
its capacity, 16 bytes an entry) and the process's resident-set growth while parsing.
"""

from __future__ import annotations

import itertools
import os
import random
from bisect import bisect_left
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
# The implementation name of the bisect peer rows (baseline.json's target: "*bisect*").
BISECT = "C bisect over a sorted list"
REASON_EVERY = 10  # crl_pki.large_crl's default: every tenth entry has a keyCompromise reason


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
    # The bisect peer's tables: one (serial, reason) tuple an entry, sorted by serial, and the
    # serials alone in the same order (what bisect searches).
    entries = sorted(
        (serial, "keyCompromise" if i % REASON_EVERY == 0 else None)
        for i, serial in enumerate(serials)
    )
    return {
        "der": der,
        "issuer": issuer,
        "issuer_key": issuer.cert.public_key(),
        "crl": crl,
        "theirs": theirs,
        "sample": sample,
        "sorted_serials": [serial for serial, _ in entries],
        "sorted_entries": entries,
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
    assert all(crl.lookup(serial) is not None for serial in big["sample"])


def _bisect_contains(listed: list[int], serial: int) -> bool:
    """``serial in listed`` for a sorted list, by C bisect: the peer's answer, untimed."""
    i = bisect_left(listed, serial)
    return i != len(listed) and listed[i] == serial


def test_crl_contains_bisect(benchmark: Any, big: dict[str, Any]) -> None:
    benchmark.group = "crl-1m-lookup"
    benchmark.extra_info.update(impl=BISECT, peer=True)
    listed, serials = big["sorted_serials"], itertools.cycle(big["sample"])
    end = len(listed)

    # One Python frame a call, as the certpolicy row's lambda: next(), bisect_left, the test.
    def run() -> bool:
        serial = next(serials)
        i = bisect_left(listed, serial)
        return i != end and listed[i] == serial

    benchmark.pedantic(run, rounds=200, iterations=1000)
    # Same answers as certpolicy's, for the timed (listed) serials and for unlisted ones.
    crl, sample = big["crl"], big["sample"]
    unlisted = [serial ^ 1 for serial in sample] + [0, -1, 2**128, 2**160]
    for serial in sample + unlisted:
        assert _bisect_contains(listed, serial) == (serial in crl), serial
    assert all(serial in crl for serial in sample)


def test_crl_lookup_entry_bisect(benchmark: Any, big: dict[str, Any]) -> None:
    benchmark.group = "crl-1m-lookup-entry"
    benchmark.extra_info.update(impl=BISECT, peer=True)
    listed, entries = big["sorted_serials"], big["sorted_entries"]
    serials = itertools.cycle(big["sample"])
    end = len(listed)

    def run() -> tuple[int, str | None] | None:
        serial = next(serials)
        i = bisect_left(listed, serial)
        return entries[i] if i != end and listed[i] == serial else None

    benchmark.pedantic(run, rounds=200, iterations=1000)
    # Same entries as certpolicy's lookup: the serial and the reason.
    crl = big["crl"]
    for serial in big["sample"]:
        ours = crl.lookup(serial)
        found = entries[bisect_left(listed, serial)]
        assert ours is not None, serial
        assert found == (ours.serial, ours.reason), serial


@pytest.mark.parametrize("group", ["crl-1m-lookup", "crl-1m-lookup-entry"])
def test_crl_lookup_cryptography(benchmark: Any, big: dict[str, Any], group: str) -> None:
    benchmark.group = group
    benchmark.extra_info.update(impl="cryptography", peer=True)
    theirs, serials = big["theirs"], itertools.cycle(big["sample"])

    def run() -> Any:
        return theirs.get_revoked_certificate_by_serial_number(next(serials))

    assert benchmark.pedantic(run, rounds=PEER_LOOKUP_ROUNDS) is not None
