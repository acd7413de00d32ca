"""The revocation caches within their bounds, and what a crash leaves behind:

- ``memory_cache_bytes`` bounds the CRLs in memory (DER plus index) and, apart from them, the
  OCSP answers in memory; ``disk_cache_bytes`` bounds ``cache_dir/crl`` and
  ``cache_dir/ocsp`` each. Every one is least recently used first.
- Expired OCSP responses are swept from disk.
- A checker starting sweeps the temporary files of interrupted atomic writes (its own names
  only, in its own directories, never through a symlink), and a crash between the writes of
  a CRL cache entry never loses the last good CRL.

Against real loopback servers: tests/crl_server.py, and tests/ocsp_responder.py (``openssl
ocsp``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy import Crl
from certpolicy._util import atomic_write_bytes
from certpolicy.revocation import RevocationChecker, default_methods
from certpolicy.revocation.crl import CrlChecker
from certpolicy.revocation.ocsp import OcspChecker, ocsp_request
from certpolicy.revocation.ocsp._cache import CachedAnswer, OcspMemoryCache

import crl_pki as c
from crl_server import CrlSite
from ocsp_responder import Responder, running_responder
from pki import Cert, Issuer, make_root

PATHS = ("/a.crl", "/b.crl", "/c.crl")
OLD = time.time() - 3600  # older than any write in progress could be
K32, K64 = "0123456789abcdef" * 2, "fedcba9876543210" * 4


# A loopback CRL server for the module (tests/conftest.py), emptied before each test.
pytestmark = pytest.mark.usefixtures("fresh_site")


@pytest.fixture(scope="module")
def ca() -> Issuer:
    return make_root("caches root").issue_ca("caches CA")


def config(cache_dir: Path, **options: object) -> cp.RevocationConfig:
    settings: dict[str, object] = {
        "cache_dir": cache_dir,
        "timeout": 2.0,
        "retry": cp.Retry(attempts=1, backoff=0.0),
    }
    settings.update(options)
    return cp.RevocationConfig(**settings)  # type: ignore[arg-type]


def crl_leaves(site: CrlSite, ca: Issuer) -> dict[str, Cert]:
    """A leaf per distribution point, each CRL of 39 entries (about the same size)."""
    leaves = {}
    for path in PATHS:
        leaves[path] = ca.issue_leaf([f"{path[1]}.example"], crl_urls=[site.url(path)])
        site.crls[path] = c.make_crl(ca, [c.Entry(n) for n in range(1, 40)])
    return leaves


def good(checker: CrlChecker | OcspChecker, leaf: Cert, ca: Issuer) -> str:
    answer = checker.check(leaf.der, ca.der, at=None)
    assert answer.status == "good", answer.detail
    return answer.detail


def files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()} if directory.exists() else set()


def crl_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


# --- settings ---------------------------------------------------------------------------


def test_the_defaults() -> None:
    settings = cp.RevocationConfig()
    assert settings.memory_cache_bytes == 64 * 1024 * 1024
    assert settings.disk_cache_bytes == 256 * 1024 * 1024
    assert settings.deadline == 20.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"deadline": 0}, "deadline must be > 0"),
        ({"deadline": -1.5}, "deadline must be > 0"),
        ({"deadline": float("nan")}, "deadline must be > 0"),
        ({"deadline": True}, "deadline must be a number"),
        ({"deadline": "20"}, "deadline must be a number"),
        ({"memory_cache_bytes": 0}, "memory_cache_bytes must be > 0"),
        ({"memory_cache_bytes": 1.5}, "memory_cache_bytes must be an integer"),
        ({"memory_cache_bytes": True}, "memory_cache_bytes must be an integer"),
        ({"disk_cache_bytes": -1}, "disk_cache_bytes must be > 0"),
        ({"disk_cache_bytes": "1"}, "disk_cache_bytes must be an integer"),
        ({"disk_cache_bytes": None}, "disk_cache_bytes must be an integer"),
    ],
)
def test_the_bounds_are_validated(options: dict[str, object], message: str) -> None:
    with pytest.raises(cp.ConfigError, match=message):
        cp.RevocationConfig(**options)  # type: ignore[arg-type]


def test_the_bounds_come_from_a_config_file(tmp_path: Path) -> None:
    settings = tmp_path / "certpolicy.toml"
    settings.write_text(
        "[revocation]\nmemory_cache_bytes = 1000000\ndisk_cache_bytes = 2000000\ndeadline = 7.5\n"
    )
    with cp.Engine.from_config(settings) as engine:
        revocation = engine.revocation
    assert (revocation.memory_cache_bytes, revocation.disk_cache_bytes) == (1000000, 2000000)
    assert revocation.deadline == 7.5
    settings.write_text('[revocation]\ndeadline = "7.5"\n')
    with pytest.raises(cp.ConfigError, match="deadline must be a number"):
        cp.Engine.from_config(settings)


# --- 5. bounds --------------------------------------------------------------------------


def test_crl_memory_is_least_recently_used_within_its_bound(
    site: CrlSite, ca: Issuer, tmp_path: Path
) -> None:
    leaves = crl_leaves(site, ca)
    sizes = [len(d) + Crl.from_der(d).index_bytes() for d in site.crls.values()]
    bound = 2 * max(sizes) + 10  # two CRLs fit, three do not
    url = {path: site.url(path) for path in PATHS}
    with CrlChecker(config(tmp_path, memory_cache_bytes=bound)) as checker:
        for path in ("/a.crl", "/b.crl", "/a.crl", "/c.crl"):
            good(checker, leaves[path], ca)
        # b was used least recently when c came in.
        assert checker.current(url["/b.crl"]) is None
        assert checker.current(url["/a.crl"]) is not None
        assert checker.current(url["/c.crl"]) is not None
        assert checker.memory_bytes() <= bound
        # b again: from the disk cache, and a goes.
        good(checker, leaves["/b.crl"], ca)
        assert checker.current(url["/a.crl"]) is None
        assert checker.current(url["/b.crl"]) is not None
        assert checker.memory_bytes() <= bound
    assert [site.count(path) for path in PATHS] == [1, 1, 1]


def test_a_crl_larger_than_memory_still_answers(site: CrlSite, ca: Issuer, tmp_path: Path) -> None:
    leaves = crl_leaves(site, ca)
    with CrlChecker(config(tmp_path, memory_cache_bytes=100)) as checker:
        good(checker, leaves["/a.crl"], ca)
        assert checker.current(site.url("/a.crl")) is None
        assert checker.memory_bytes() == 0
        good(checker, leaves["/a.crl"], ca)  # read from the disk cache again
    assert site.count("/a.crl") == 1


def test_crl_disk_cache_is_least_recently_used_within_its_bound(
    site: CrlSite, ca: Issuer, tmp_path: Path
) -> None:
    leaves = crl_leaves(site, ca)
    with CrlChecker(config(tmp_path / "probe")) as probe:
        for path in PATHS:
            good(probe, leaves[path], ca)
    entry = max(
        sum(
            p.stat().st_size for p in (tmp_path / "probe" / "crl").glob(f"{crl_key(site.url(x))}.*")
        )
        for x in PATHS
    )
    bound = 2 * entry + 40  # two entries fit, three do not
    cache = tmp_path / "bounded"
    with CrlChecker(config(cache, disk_cache_bytes=bound)) as first:
        good(first, leaves["/a.crl"], ca)
        good(first, leaves["/b.crl"], ca)
    with CrlChecker(config(cache, disk_cache_bytes=bound)) as second:
        good(second, leaves["/a.crl"], ca)  # from disk: a is now used more recently than b
        good(second, leaves["/c.crl"], ca)  # written: b goes
    keys = {name.split(".")[0] for name in files(cache / "crl")}
    assert keys == {crl_key(site.url("/a.crl")), crl_key(site.url("/c.crl"))}
    assert sum(p.stat().st_size for p in (cache / "crl").iterdir()) <= bound
    assert [site.count(path) for path in PATHS] == [2, 2, 2]  # the probe's and ours


@pytest.fixture
def responder(tmp_path: Path, ca: Issuer) -> Iterator[Responder]:
    with running_responder(tmp_path / "responder", ca) as running:
        yield running


def ocsp_leaves(responder: Responder, ca: Issuer) -> list[Cert]:
    leaves = [ca.issue_leaf([f"o{n}.example"], ocsp_urls=[responder.url]) for n in range(3)]
    for leaf in leaves:
        responder.add_good(leaf)
    return leaves


def ocsp_key(leaf: Cert, ca: Issuer) -> str:
    return hashlib.sha256(ocsp_request(leaf.der, ca.der)).hexdigest()


def test_ocsp_disk_cache_is_least_recently_used_within_its_bound(
    responder: Responder, ca: Issuer, tmp_path: Path
) -> None:
    a, b, c_ = ocsp_leaves(responder, ca)
    good(OcspChecker(config(tmp_path / "probe")), a, ca)
    (probe,) = (tmp_path / "probe" / "ocsp").iterdir()
    bound = 2 * probe.stat().st_size + 20  # two responses fit, three do not
    cache = tmp_path / "bounded"
    first = OcspChecker(config(cache, disk_cache_bytes=bound))
    good(first, a, ca)
    good(first, b, ca)
    second = OcspChecker(config(cache, disk_cache_bytes=bound))
    assert good(second, a, ca).endswith("from the disk cache")  # a used after b
    good(second, c_, ca)  # stored: b goes
    assert files(cache / "ocsp") == {f"{ocsp_key(a, ca)}.der", f"{ocsp_key(c_, ca)}.der"}
    assert sum(p.stat().st_size for p in (cache / "ocsp").iterdir()) <= bound


def test_ocsp_memory_is_bounded_by_bytes(responder: Responder, ca: Issuer, tmp_path: Path) -> None:
    """An answer takes more than 100 bytes: none is kept in memory, the disk cache answers."""
    a = ocsp_leaves(responder, ca)[0]
    checker = OcspChecker(config(tmp_path, memory_cache_bytes=100))
    good(checker, a, ca)
    assert good(checker, a, ca).endswith("from the disk cache")
    roomy = OcspChecker(config(tmp_path))
    good(roomy, a, ca)
    assert good(roomy, a, ca).endswith("cached")
    assert responder.answered == 1


def _answer(size: int) -> CachedAnswer[str]:
    now = dt.datetime.now(dt.UTC)
    return CachedAnswer(
        "good", "src", now - dt.timedelta(hours=1), now + dt.timedelta(hours=1), size
    )


def test_ocsp_memory_cache_is_least_recently_used() -> None:
    now = dt.datetime.now(dt.UTC)
    cache: OcspMemoryCache[str] = OcspMemoryCache(max_entries=3, max_bytes=250)
    for key in "abc":
        cache.put(key, _answer(100))  # c pushes a out: 300 bytes > 250
    assert cache.get("a", now) is None
    assert cache.get("b", now) is not None  # b is now the most recently used
    cache.put("d", _answer(100))
    assert (cache.get("c", now), cache.get("b", now) is not None) == (None, True)
    assert cache.bytes() == 200
    cache.put("huge", _answer(251))  # larger than the whole cache: not kept
    assert cache.get("huge", now) is None
    assert cache.bytes() == 200
    for key in "wxyz":
        cache.put(key, _answer(1))
    assert len(cache) == 3  # the entry bound holds too


def test_expired_ocsp_responses_are_swept(responder: Responder, ca: Issuer, tmp_path: Path) -> None:
    a, b, _ = ocsp_leaves(responder, ca)
    checker = OcspChecker(config(tmp_path))
    good(checker, a, ca)
    good(checker, b, ca)
    expired, current = (tmp_path / "ocsp" / f"{ocsp_key(x, ca)}.der" for x in (a, b))
    # The modification time of a response is the end of its reuse: nextUpdate (a day on).
    assert current.stat().st_mtime > time.time() + 3600
    os.utime(expired, (OLD, OLD))
    OcspChecker(config(tmp_path))
    assert not expired.exists()
    assert current.exists()


# --- 6. crash leftovers -----------------------------------------------------------------


def _leftover(path: Path, *, old: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"what a crash left")
    if old:
        os.utime(path, (OLD, OLD))
    return path


def test_leftovers_of_a_crash_are_swept_at_start(tmp_path: Path) -> None:
    crl, ocsp = tmp_path / "crl", tmp_path / "ocsp"
    swept = [
        _leftover(crl / f".{K32}.json.ab12cd34.tmp"),
        _leftover(crl / f".{K32}.der.zz_9yy8x.tmp"),
        _leftover(crl / f"{K32}.0123456789abcdef.der"),  # a new CRL whose store was cut short
        _leftover(ocsp / f".{K64}.der.q1w2e3r4.tmp"),
    ]
    kept = [
        _leftover(crl / f".{K32}.json.ab12cd35.tmp", old=False),  # may be a write in progress
        _leftover(crl / ".notes.txt.ab12cd34.tmp"),  # not named as a cache file
        _leftover(tmp_path / f".{K32}.json.ab12cd34.tmp"),  # not in a cache directory
        _leftover(crl / "deeper" / f".{K32}.json.ab12cd34.tmp"),  # not in it either
        _leftover(ocsp / f".{K32}.json.ab12cd34.tmp"),  # a CRL file's name, in ocsp/
    ]
    outside = _leftover(tmp_path / "precious.txt")
    link = crl / f".{K32}.der.linkto12.tmp"
    link.symlink_to(outside)
    os.utime(link, (OLD, OLD), follow_symlinks=False)
    directory = crl / f".{K32}.der.adirect1.tmp"
    directory.mkdir()
    os.utime(directory, (OLD, OLD))
    settings = config(tmp_path)
    RevocationChecker(settings, default_methods(settings)).close()
    assert [p.name for p in swept if p.exists()] == []
    assert [p.name for p in kept if not p.exists()] == []
    assert link.is_symlink()
    assert outside.read_bytes() == b"what a crash left"
    assert directory.is_dir()


def test_the_sweep_knows_the_names_of_atomic_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporary files are named by certpolicy._util.atomic_write_bytes: a file named as
    one of them, left behind, is swept."""
    names: list[str] = []
    mkstemp = tempfile.mkstemp

    def spy(*args: object, **kwargs: object) -> tuple[int, str]:
        fd, name = mkstemp(*args, **kwargs)  # type: ignore[call-overload]
        names.append(Path(name).name)
        return fd, name  # type: ignore[no-any-return]

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    for target in (tmp_path / "crl" / f"{K32}.json", tmp_path / "ocsp" / f"{K64}.der"):
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, b"data")
    monkeypatch.undo()
    leftovers = [
        _leftover(tmp_path / "crl" / names[0]),
        _leftover(tmp_path / "ocsp" / names[1]),
    ]
    settings = config(tmp_path)
    RevocationChecker(settings, default_methods(settings)).close()
    assert [p.name for p in leftovers if p.exists()] == []
    assert (tmp_path / "crl" / f"{K32}.json").exists()


@pytest.mark.parametrize("failing", [2, 3], ids=["before the metadata", "after the metadata"])
def test_a_crash_between_the_writes_keeps_the_last_good_crl(
    site: CrlSite, ca: Issuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: int
) -> None:
    """A CRL cache entry is written with three renames: the new DER under its own name, the
    metadata naming it (the commit), the DER into place. A crash at the second leaves the
    last good CRL (#1); at the third, the new one (#2), completed when next loaded."""
    leaf = ca.issue_leaf(["crash.example"], crl_urls=[site.url("/crash.crl")])
    url = site.url("/crash.crl")
    site.crls["/crash.crl"] = c.make_crl(ca, [], number=1)
    with CrlChecker(config(tmp_path)) as first:
        good(first, leaf, ca)
    site.crls["/crash.crl"] = c.make_crl(ca, [c.Entry(leaf.cert.serial_number)], number=2)
    with CrlChecker(config(tmp_path)) as second:
        assert "CRL #1" in good(second, leaf, ca)  # from the disk cache
        renames: list[str] = []
        replace = os.replace

        def crash(source: str, target: str) -> None:
            renames.append(Path(target).name)
            if len(renames) == failing:
                raise OSError("simulated crash")
            replace(source, target)

        monkeypatch.setattr(os, "replace", crash)
        second._refresh_in_background(url)  # downloads #2 and writes it: a rename fails
        monkeypatch.undo()
        assert len(renames) == failing
        assert second.current(url).number == 2  # type: ignore[union-attr]
    site.crls.clear()  # the server is gone: only the disk cache can answer
    with CrlChecker(config(tmp_path)) as restarted:
        answer = restarted.check(leaf.der, ca.der, at=None)
    if failing == 2:
        assert (answer.status, "CRL #1" in answer.detail) == ("good", True), answer.detail
    else:
        assert (answer.status, "CRL #2" in answer.detail) == ("revoked", True), answer.detail
    assert site.count("/crash.crl") == 2
    assert {name.split(".")[-1] for name in files(tmp_path / "crl")} <= {"der", "json"}
