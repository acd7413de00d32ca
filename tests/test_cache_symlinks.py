"""A revocation cache directory replaced by a symlink (``cache_dir/crl`` or ``cache_dir/ocsp``
pointing elsewhere) is never used: nothing is read, written, swept or evicted through it,
so files outside the cache survive, and the checks still work from memory."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import certpolicy as cp

import crl_pki as c
from crl_server import CrlSite, crl_site
from pki import make_root


@pytest.fixture(scope="module")
def site() -> Iterator[CrlSite]:
    with crl_site() as running:
        yield running


def test_symlinked_cache_directories_are_not_followed(
    site: CrlSite, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site.reset()
    root = make_root("symlink test root")
    intermediate = c.issue_ca_with_crl(root, "symlink test intermediate", [site.url("/root.crl")])
    leaf = intermediate.issue_leaf(["localhost"], crl_urls=[site.url("/int.crl")])
    site.crls["/root.crl"] = c.make_crl(root, [])
    site.crls["/int.crl"] = c.make_crl(intermediate, [])

    outside = tmp_path / "outside"
    outside.mkdir()
    # Files the sweeps would take for theirs: an "expired" OCSP answer, a stale temp file.
    expired = outside / ("ab" * 32 + ".der")
    expired.write_bytes(b"precious")
    past = time.time() - 3600
    os.utime(expired, (past, past))
    temp = outside / ".x.der.abcdefgh.tmp"
    temp.write_bytes(b"precious too")
    os.utime(temp, (past, past))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "crl").symlink_to(outside)
    (cache / "ocsp").symlink_to(outside)
    before = sorted(p.name for p in outside.iterdir())

    trust = cp.TrustStore()
    trust.add_der(root.der)
    config = cp.RevocationConfig(method="crl", cache_dir=cache, timeout=2)
    policies = cp.PolicySet([cp.Policy("Internet", "internet")])
    with (
        caplog.at_level(logging.WARNING, logger="certpolicy"),
        cp.Engine(policies, trust, config) as engine,
    ):
        report = engine.check([leaf.der, intermediate.der], "localhost")
        assert report.ok, report.message()
        again = engine.check([leaf.der, intermediate.der], "localhost")
        assert again.ok
    assert sorted(p.name for p in outside.iterdir()) == before  # nothing written or deleted
    assert expired.read_bytes() == b"precious"
    assert site.count("/int.crl") == 1  # the second check was answered from memory
    assert any("is a symlink: not used" in r.getMessage() for r in caplog.records)
