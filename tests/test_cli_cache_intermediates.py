"""``certpolicy cache show`` / ``cache clear`` and the missing-intermediates disk cache
(``cache_dir/intermediates``), filled for real: an engine connects to a loopback TLS server
that leaves out its intermediate and fetches it from a loopback caIssuers server
(tests/test_aia.py), while the library's CRL and OCSP checkers fill the revocation caches
beside it from tests/crl_server.py and tests/ocsp_responder.py. Every fetch is counted by
the server that received it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import certpolicy as cp
import certpolicy.intermediates as intermediates
from certpolicy.cli import main
from certpolicy.intermediates import (
    IntermediateCacheEntry,
    clear_intermediate_cache,
    intermediate_cache_directory,
    intermediate_cache_entries,
)
from certpolicy.revocation import CrlChecker, OcspChecker
from test_aia import Chain, Site, engine_for, make_chain, server_without_intermediate, subject
from test_cli_cache import settings

import crl_pki as c
from crl_server import crl_site
from ocsp_responder import running_responder
from pki import END, make_root
from servers import serve


@dataclass
class Lab:
    """A config whose cache_dir holds one CRL, one OCSP response and one fetched
    intermediate; the TLS server (``port``) and the caIssuers server (``aia``) keep running."""

    config: Path
    cache: Path
    chain: Chain
    aia: Site
    port: int
    tmp_path: Path

    @property
    def url(self) -> str:
        """The leaf's caIssuers URL."""
        return self.aia.url("/int.cer")

    @property
    def key(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()

    def connect(self, engine: cp.Engine | None = None) -> cp.Report:
        """One connection to the server that omits its intermediate, by ``engine`` or by a
        new engine on the lab's cache_dir (an agent that just started)."""
        if engine is not None:
            return engine.check_endpoint(f"127.0.0.1:{self.port}")
        with engine_for(self.chain, self.tmp_path) as fresh:
            return fresh.check_endpoint(f"127.0.0.1:{self.port}")

    def revocation_files(self) -> dict[Path, bytes]:
        return {
            p: p.read_bytes() for kind in ("crl", "ocsp") for p in (self.cache / kind).iterdir()
        }


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    cache = tmp_path / "cache"
    ca = make_root("intermediates cache root").issue_ca("intermediates cache CA")
    aia = Site()
    with (
        crl_site() as crls,
        running_responder(tmp_path / "responder", ca) as responder,
        serve(lambda request: aia.handle(request)) as server,
    ):
        aia.server = server
        crl_url = crls.url("/one.crl")
        crls.crls["/one.crl"] = c.make_crl(ca, [c.Entry(1)], number=7)
        with CrlChecker(settings(cache)) as checker:
            leaf = ca.issue_leaf(["crl.example"], crl_urls=[crl_url])
            assert checker.check(leaf.der, ca.der, at=None).status == "good"
        leaf = ca.issue_leaf(["ocsp.example"], ocsp_urls=[responder.url])
        responder.add_good(leaf)
        assert OcspChecker(settings(cache)).check(leaf.der, ca.der, at=None).status == "good"
        config = tmp_path / "certpolicy.toml"
        config.write_text('[revocation]\ncache_dir = "cache"\n')
        chain = make_chain(aia)
        with server_without_intermediate(chain, tmp_path) as port:
            running = Lab(config, cache, chain, aia, port, tmp_path)
            report = running.connect()
            assert report.ok, report.message()
            assert report.fetched_intermediates == ((running.url, subject(chain.intermediate)),)
            assert aia.requests() == 1
            yield running


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_public_names() -> None:
    for name in intermediates.__all__:
        assert hasattr(intermediates, name), name
    assert {
        "IntermediateCacheEntry",
        "clear_intermediate_cache",
        "intermediate_cache_directory",
        "intermediate_cache_entries",
        "DEFAULT_DISK_BYTES",
    } <= set(intermediates.__all__)


def test_show_lists_the_fetched_intermediate(capsys: pytest.CaptureFixture[str], lab: Lab) -> None:
    directory = lab.cache / "intermediates"
    # Where the engine wrote is where the listing looks.
    assert intermediate_cache_directory(lab.cache) == directory
    (body,) = directory.iterdir()
    assert body.name == f"{lab.key}.body"
    assert body.read_bytes() == lab.chain.intermediate.der  # what the URL served, as it was

    (entry,) = intermediate_cache_entries(lab.cache)
    assert isinstance(entry, IntermediateCacheEntry)
    assert (entry.key, entry.files, entry.size) == (lab.key, (body.name,), body.stat().st_size)
    mtime = dt.datetime.fromtimestamp(body.stat().st_mtime, dt.UTC)
    assert entry.reuse_until == mtime
    # Until the intermediate's notAfter, at most 7 days after the fetch.
    assert entry.reuse_until <= min(END, dt.datetime.now(dt.UTC) + dt.timedelta(days=7))
    assert not entry.expired(dt.datetime.now(dt.UTC))

    code, shown = invoke(capsys, "cache", "show", "--config", str(lab.config))
    assert code == 0
    assert set(shown) == {"cache_dir", "crl", "ocsp", "intermediates"}
    assert len(shown["crl"]["entries"]) == 1
    assert len(shown["ocsp"]["entries"]) == 1
    listed = shown["intermediates"]
    assert listed == {
        "directory": str(directory),
        "entries": [
            {
                "key": lab.key,
                "files": [body.name],
                "bytes": body.stat().st_size,
                "last_used": entry.last_used.isoformat(),
                "reuse_until": mtime.isoformat(),
                "expired": False,
            }
        ],
        "bytes": body.stat().st_size,
        "disk_cache_bytes": intermediates.DEFAULT_DISK_BYTES,
        "problem": None,
    }
    # Narrowed to the caches named.
    code, shown = invoke(
        capsys, "cache", "show", "--crl", "--intermediates", "--config", str(lab.config)
    )
    assert set(shown) == {"cache_dir", "crl", "intermediates"}

    assert main(["cache", "show", "--config", str(lab.config)]) == 0
    text = capsys.readouterr().out
    assert f"Intermediates cache {directory}: 1 entry, " in text
    assert "of 16.0 MiB (fixed bound)" in text
    assert f"  {lab.key[:16]}...  " in text
    assert "CRL cache" in text
    assert "OCSP cache" in text


def test_show_deletes_nothing(capsys: pytest.CaptureFixture[str], lab: Lab) -> None:
    """An entry past its reuse is listed as expired and left where it is (a fetcher's sweep
    would delete it)."""
    (body,) = (lab.cache / "intermediates").iterdir()
    past = time.time() - 3600
    os.utime(body, (past, past))
    code, shown = invoke(capsys, "cache", "show", "--intermediates", "--config", str(lab.config))
    assert code == 0
    (entry,) = shown["intermediates"]["entries"]
    assert entry["expired"] is True
    assert body.exists()
    assert body.stat().st_atime == pytest.approx(past)  # not marked used either
    assert main(["cache", "show", "--intermediates", "--config", str(lab.config)]) == 0
    assert "(expired)" in capsys.readouterr().out


def test_clear_intermediates_leaves_the_revocation_caches_and_the_next_connection_fetches(
    capsys: pytest.CaptureFixture[str], lab: Lab
) -> None:
    directory = lab.cache / "intermediates"
    (body,) = directory.iterdir()
    size = body.stat().st_size
    # Before the clear, an agent that starts on this cache_dir fetches nothing (disk cache).
    with engine_for(lab.chain, lab.tmp_path) as running:
        assert lab.connect(running).ok
        assert lab.aia.requests() == 1
        stranger = directory / "notes.txt"  # not a name the cache owns
        stranger.write_text("keep me")
        revocation = lab.revocation_files()

        code, cleared = invoke(
            capsys, "cache", "clear", "--intermediates", "--config", str(lab.config)
        )
        assert code == 0
        assert cleared == {
            "cache_dir": str(lab.cache),
            "deleted": {
                "intermediates": {"directory": str(directory), "entries": 1, "bytes": size}
            },
        }
        assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]
        assert lab.revocation_files() == revocation  # --intermediates only
        # A running agent keeps what it holds in memory.
        assert lab.connect(running).ok
        assert lab.aia.requests() == 1

    # An agent that starts now fetches again, and caches again.
    report = lab.connect()
    assert report.ok, report.message()
    assert report.fetched_intermediates == ((lab.url, subject(lab.chain.intermediate)),)
    assert lab.aia.requests() == 2
    assert (directory / f"{lab.key}.body").exists()

    # A clear of all three deletes it along with the CRL and the OCSP response.
    assert main(["cache", "clear", "--config", str(lab.config)]) == 0
    text = capsys.readouterr().out
    assert f"Intermediates cache {directory}: deleted 1 entry ({size} bytes)" in text
    assert "CRL cache" in text
    assert "OCSP cache" in text
    assert lab.revocation_files() == {}
    assert intermediate_cache_entries(lab.cache) == []
    assert stranger.read_text() == "keep me"


def test_a_symlinked_intermediates_directory_is_refused(
    capsys: pytest.CaptureFixture[str], lab: Lab, tmp_path: Path
) -> None:
    """``cache_dir/intermediates`` replaced by a link to a directory of cache-like names:
    nothing is listed or deleted through it, and a clear of all three deletes nothing."""
    directory = lab.cache / "intermediates"
    outside = tmp_path / "outside"
    directory.rename(outside)  # the real cache file, now outside the cache
    os.symlink(outside, directory)
    (victim,) = outside.iterdir()
    revocation = lab.revocation_files()

    code, shown = invoke(capsys, "cache", "show", "--config", str(lab.config))
    assert code == 0
    assert "not a directory but a symlink" in str(shown["intermediates"]["problem"])
    assert shown["intermediates"]["entries"] == []
    assert len(shown["crl"]["entries"]) == 1

    for only in ([], ["--intermediates"]):
        code, error = invoke(capsys, "cache", "clear", *only, "--config", str(lab.config))
        assert code == 2
        assert "intermediates cache not cleared (nothing was)" in str(error["error"])
        assert victim.exists()
        assert lab.revocation_files() == revocation  # all or nothing
    with pytest.raises(NotADirectoryError):
        intermediate_cache_entries(lab.cache)
    with pytest.raises(NotADirectoryError):
        clear_intermediate_cache(lab.cache)
    assert victim.exists()
    assert directory.is_symlink()

    # The other caches can still be cleared by name.
    code, cleared = invoke(capsys, "cache", "clear", "--crl", "--ocsp", "--config", str(lab.config))
    assert code == 0
    assert set(cleared["deleted"]) == {"crl", "ocsp"}
    assert victim.exists()


def test_a_missing_cache_lists_empty_and_is_not_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "certpolicy.toml"
    config.write_text('[revocation]\ncache_dir = "nothing-yet"\n')
    code, shown = invoke(capsys, "cache", "show", "--intermediates", "--config", str(config))
    assert code == 0
    assert shown["intermediates"] == {
        "directory": str(tmp_path / "nothing-yet" / "intermediates"),
        "entries": [],
        "bytes": 0,
        "disk_cache_bytes": 16 * 1024 * 1024,
        "problem": None,
    }
    code, cleared = invoke(capsys, "cache", "clear", "--config", str(config))
    assert code == 0
    assert cleared["deleted"]["intermediates"]["entries"] == 0
    assert clear_intermediate_cache(tmp_path / "nothing-yet") == (0, 0)
    assert not (tmp_path / "nothing-yet").exists()
