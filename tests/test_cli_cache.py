"""``certpolicy cache show`` / ``cache clear``: the revocation disk caches of the config's
``cache_dir``, filled by the library's own CRL and OCSP checkers against real loopback
servers (tests/crl_server.py, tests/ocsp_responder.py), listed and cleared; only the files
the caches own are touched, never anything through a symlink."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy.cli import main
from certpolicy.revocation import CrlChecker, OcspChecker, ocsp_request

import crl_pki as c
from crl_server import CrlSite, crl_site
from ocsp_responder import Responder, running_responder
from pki import Cert, Issuer, make_root

DISK_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def site() -> Iterator[CrlSite]:
    with crl_site() as running:
        yield running


@pytest.fixture(scope="module")
def ca() -> Issuer:
    return make_root("cache root").issue_ca("cache CA")


@pytest.fixture
def responder(tmp_path: Path, ca: Issuer) -> Iterator[Responder]:
    with running_responder(tmp_path / "responder", ca) as running:
        yield running


def settings(cache_dir: Path) -> cp.RevocationConfig:
    return cp.RevocationConfig(
        cache_dir=cache_dir,
        timeout=5.0,
        retry=cp.Retry(attempts=1, backoff=0.0),
        disk_cache_bytes=DISK_BYTES,
    )


@pytest.fixture
def filled(
    tmp_path: Path, site: CrlSite, ca: Issuer, responder: Responder
) -> tuple[Path, list[str], list[Cert]]:
    """A config whose cache_dir holds two CRLs and two OCSP responses, fetched by the
    library's checkers. Returns (config, CRL URLs, OCSP leaves)."""
    cache = tmp_path / "cache"
    urls = [site.url("/one.crl"), site.url("/two.crl")]
    site.crls["/one.crl"] = c.make_crl(ca, [c.Entry(n) for n in range(1, 5)], number=11)
    site.crls["/two.crl"] = c.make_crl(ca, [c.Entry(n) for n in range(1, 9)], number=12)
    with CrlChecker(settings(cache)) as checker:
        for url in urls:
            leaf = ca.issue_leaf(["crl.example"], crl_urls=[url])
            assert checker.check(leaf.der, ca.der, at=None).status == "good"
    leaves = [ca.issue_leaf([f"o{n}.example"], ocsp_urls=[responder.url]) for n in range(2)]
    ocsp = OcspChecker(settings(cache))
    for leaf in leaves:
        responder.add_good(leaf)
        assert ocsp.check(leaf.der, ca.der, at=None).status == "good"
    config = tmp_path / "certpolicy.toml"
    config.write_text(f'[revocation]\ncache_dir = "cache"\ndisk_cache_bytes = {DISK_BYTES}\n')
    return config, urls, leaves


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def crl_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def test_show_lists_the_cached_crls_and_ocsp_responses(
    capsys: pytest.CaptureFixture[str], filled: tuple[Path, list[str], list[Cert]], ca: Issuer
) -> None:
    config, urls, leaves = filled
    cache = config.parent / "cache"
    code, shown = invoke(capsys, "cache", "show", "--config", str(config))
    assert code == 0
    assert shown["cache_dir"] == str(cache)
    crl = shown["crl"]
    assert isinstance(crl, dict)
    assert crl["directory"] == str(cache / "crl")
    assert crl["disk_cache_bytes"] == DISK_BYTES
    entries = {e["url"]: e for e in crl["entries"]}
    assert set(entries) == set(urls)
    one = entries[urls[0]]
    assert one["number"] == 11
    assert one["key"] == crl_key(urls[0])
    assert sorted(one["files"]) == [f"{crl_key(urls[0])}.der", f"{crl_key(urls[0])}.json"]
    parsed = cp.Crl.from_der((cache / "crl" / f"{crl_key(urls[0])}.der").read_bytes())
    assert one["this_update"] == parsed.this_update.isoformat()
    assert one["next_update"] == parsed.next_update.isoformat()  # type: ignore[union-attr]
    on_disk = sum(p.stat().st_size for p in (cache / "crl").iterdir())
    assert crl["bytes"] == on_disk == sum(e["bytes"] for e in crl["entries"])
    ocsp = shown["ocsp"]
    assert isinstance(ocsp, dict)
    keys = {hashlib.sha256(ocsp_request(leaf.der, ca.der)).hexdigest() for leaf in leaves}
    assert {e["key"] for e in ocsp["entries"]} == keys
    assert all(e["expired"] is False and e["reuse_until"] for e in ocsp["entries"])
    assert ocsp["bytes"] == sum(p.stat().st_size for p in (cache / "ocsp").iterdir())
    # The text output: totals against the bound, each CRL by URL.
    assert main(["cache", "show", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert f"CRL cache {cache / 'crl'}: 2 entries, " in text
    assert "of 5.0 MiB (disk_cache_bytes)" in text
    assert f"  {urls[1]}  " in text
    assert "CRL number 12" in text
    assert f"OCSP cache {cache / 'ocsp'}: 2 entries" in text


def test_clear_deletes_the_entries_and_the_checkers_fetch_again(
    capsys: pytest.CaptureFixture[str],
    filled: tuple[Path, list[str], list[Cert]],
    site: CrlSite,
    ca: Issuer,
) -> None:
    config, urls, _ = filled
    cache = config.parent / "cache"
    stranger = cache / "crl" / "notes.txt"  # not a name the cache owns
    stranger.write_text("keep me")
    code, cleared = invoke(capsys, "cache", "clear", "--crl", "--config", str(config))
    assert code == 0
    deleted = cleared["deleted"]
    assert isinstance(deleted, dict)
    assert list(deleted) == ["crl"]
    assert deleted["crl"]["entries"] == 2
    assert sorted(p.name for p in (cache / "crl").iterdir()) == ["notes.txt"]
    assert len(list((cache / "ocsp").iterdir())) == 2  # --crl only
    code, shown = invoke(capsys, "cache", "show", "--config", str(config))
    assert shown["crl"]["entries"] == []  # type: ignore[index]
    ocsp_bytes = sum(p.stat().st_size for p in (cache / "ocsp").iterdir())
    code, cleared = invoke(capsys, "cache", "clear", "--config", str(config))
    assert cleared["deleted"] == {
        "crl": {"directory": str(cache / "crl"), "entries": 0, "bytes": 0},
        "ocsp": {"directory": str(cache / "ocsp"), "entries": 2, "bytes": ocsp_bytes},
        "intermediates": {"directory": str(cache / "intermediates"), "entries": 0, "bytes": 0},
    }
    assert list((cache / "ocsp").iterdir()) == []
    # The cache works as before: a new checker downloads the CRL again and stores it.
    before = site.count("/one.crl")
    with CrlChecker(settings(cache)) as checker:
        leaf = ca.issue_leaf(["again.example"], crl_urls=[urls[0]])
        assert checker.check(leaf.der, ca.der, at=None).status == "good"
    assert site.count("/one.crl") == before + 1
    assert (cache / "crl" / f"{crl_key(urls[0])}.json").exists()


def plant_links(cache: Path, outside: Path) -> tuple[Path, Path, Path]:
    """A link with a name the CRL cache owns pointing out of the directory, and the OCSP
    cache directory replaced by a link to a directory of cache-like names. Returns
    (the planted link, the file it points to, the file in the linked directory)."""
    outside.mkdir()
    precious = outside / "precious.der"
    precious.write_bytes(b"not the cache's")
    planted = cache / "crl" / f"{'e' * 32}.der"
    os.symlink(precious, planted)
    victim = outside / f"{'a' * 64}.der"
    victim.write_bytes(b"x" * 100)
    for item in (cache / "ocsp").iterdir():
        item.unlink()
    (cache / "ocsp").rmdir()
    os.symlink(outside, cache / "ocsp")
    return planted, precious, victim


def test_symlinks_are_never_followed(
    capsys: pytest.CaptureFixture[str], filled: tuple[Path, list[str], list[Cert]], tmp_path: Path
) -> None:
    config, urls, _ = filled
    cache = config.parent / "cache"
    planted, precious, victim = plant_links(cache, tmp_path / "outside")
    # An OCSP file's modification time is the end of its reuse: a future one is a response
    # a sweep would keep too, so what is tested here is only what the cache commands do.
    future = time.time() + 86400
    os.utime(victim, (future, future))
    code, shown = invoke(capsys, "cache", "show", "--config", str(config))
    assert code == 0
    assert {e["url"] for e in shown["crl"]["entries"]} == set(urls)  # type: ignore[index]
    assert "not a directory" in str(shown["ocsp"]["problem"])  # type: ignore[index]
    assert shown["ocsp"]["entries"] == []  # type: ignore[index]
    crl_files = sorted(p.name for p in (cache / "crl").iterdir())
    code, error = invoke(capsys, "cache", "clear", "--config", str(config))
    assert code == 2
    assert "ocsp cache not cleared" in str(error["error"])
    assert victim.exists()
    # All or nothing: the CRL cache, which could be cleared, was not.
    assert sorted(p.name for p in (cache / "crl").iterdir()) == crl_files
    code, cleared = invoke(capsys, "cache", "clear", "--crl", "--config", str(config))
    assert code == 0
    assert cleared["deleted"]["crl"]["entries"] == 2  # type: ignore[index]
    assert planted.is_symlink()  # left alone: not a file the cache wrote
    assert precious.read_bytes() == b"not the cache's"
    assert victim.exists()


def test_the_engine_a_command_makes_follows_no_symlinked_cache_directory(
    capsys: pytest.CaptureFixture[str], filled: tuple[Path, list[str], list[Cert]], tmp_path: Path
) -> None:
    config, _, _ = filled
    _, _, victim = plant_links(config.parent / "cache", tmp_path / "outside")
    past = time.time() - 60
    os.utime(victim, (past, past))
    invoke(capsys, "cache", "show", "--config", str(config))
    assert victim.exists()


def test_show_deletes_nothing(
    capsys: pytest.CaptureFixture[str], filled: tuple[Path, list[str], list[Cert]]
) -> None:
    """``cache show`` makes no engine: no checker sweeps the caches before they are listed
    (an expired OCSP response deleted, the directory evicted down to its bound)."""
    config, urls, _ = filled
    cache = config.parent / "cache"
    expired = sorted((cache / "ocsp").iterdir())[0]
    past = time.time() - 3600
    os.utime(expired, (past, past))
    # A bound far below what the caches hold: a checker would evict at start.
    config.write_text('[revocation]\ncache_dir = "cache"\ndisk_cache_bytes = 1\n')
    before = {p: p.stat().st_size for kind in ("crl", "ocsp") for p in (cache / kind).iterdir()}
    code, shown = invoke(capsys, "cache", "show", "--config", str(config))
    assert code == 0
    assert {p: p.stat().st_size for kind in ("crl", "ocsp") for p in (cache / kind).iterdir()} == (
        before
    )
    states = {e["key"]: e["expired"] for e in shown["ocsp"]["entries"]}  # type: ignore[index]
    assert states == {name.stem: name == expired for name in (cache / "ocsp").iterdir()}
    assert {e["url"] for e in shown["crl"]["entries"]} == set(urls)  # type: ignore[index]
    assert main(["cache", "show", "--ocsp", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert text.count("(expired)") == 1
    assert expired.exists()


def test_an_empty_or_missing_cache(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "certpolicy.toml"
    config.write_text('[revocation]\ncache_dir = "nothing-yet"\n')
    code, shown = invoke(capsys, "cache", "show", "--config", str(config))
    assert code == 0
    assert shown["crl"]["entries"] == []  # type: ignore[index]
    assert shown["ocsp"]["entries"] == []  # type: ignore[index]
    assert shown["crl"]["disk_cache_bytes"] == cp.RevocationConfig().disk_cache_bytes  # type: ignore[index]
    code, cleared = invoke(capsys, "cache", "clear", "--ocsp", "--config", str(config))
    assert code == 0
    assert cleared["deleted"] == {  # type: ignore[comparison-overlap]
        "ocsp": {"directory": str(tmp_path / "nothing-yet" / "ocsp"), "entries": 0, "bytes": 0}
    }
    assert not (tmp_path / "nothing-yet").exists()  # nothing created either


def test_unreadable_metadata_is_reported_not_trusted(
    capsys: pytest.CaptureFixture[str], filled: tuple[Path, list[str], list[Cert]]
) -> None:
    config, urls, _ = filled
    meta = config.parent / "cache" / "crl" / f"{crl_key(urls[0])}.json"
    meta.write_text('{"url": ["not", "a", "string"], "number": "11", "size": 1}')
    code, shown = invoke(capsys, "cache", "show", "--config", str(config))
    assert code == 0
    entry = next(
        e
        for e in shown["crl"]["entries"]  # type: ignore[index]
        if e["key"] == crl_key(urls[0])
    )
    assert entry["url"] is None
    assert entry["number"] is None
    meta.write_bytes(b"\xff not json")
    code, shown = invoke(capsys, "cache", "show", "--config", str(config))
    entry = next(
        e
        for e in shown["crl"]["entries"]  # type: ignore[index]
        if e["key"] == crl_key(urls[0])
    )
    assert entry["problem"].startswith("unreadable metadata")
