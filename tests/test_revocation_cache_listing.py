"""Listing and clearing the revocation disk caches (``certpolicy.revocation.disk_cache_entries``,
``clear_disk_cache``) against what an Engine's real checks stored: CRLs from the loopback CRL
server (tests/crl_server.py), OCSP responses from the loopback responder
(tests/ocsp_responder.py). A listing says what a check would find (the same names and
metadata parser), changes nothing, and never reads or deletes through a symlink; a clear
deletes only the files the cache owns, each CRL's metadata first."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import certpolicy as cp
from certpolicy.engine import revocation_config_from
from certpolicy.errors import ConfigError, MalformedInputError
from certpolicy.revocation import (
    DiskCacheEntry,
    clear_disk_cache,
    disk_cache_directory,
    disk_cache_entries,
    ocsp_request,
)

import crl_pki as c
from crl_server import CrlSite, crl_site
from ocsp_responder import Responder, running_responder
from pki import Cert, Issuer, make_root

HOST = "listing.example"


@pytest.fixture(scope="module")
def site() -> Iterator[CrlSite]:
    with crl_site() as running:
        yield running


@pytest.fixture(scope="module")
def root() -> Issuer:
    return make_root("listing root")


@pytest.fixture(scope="module")
def ca(root: Issuer) -> Issuer:
    return root.issue_ca("listing CA")


@pytest.fixture
def responder(tmp_path: Path, ca: Issuer) -> Iterator[Responder]:
    with running_responder(tmp_path / "responder", ca) as running:
        yield running


@dataclass
class Filled:
    """A cache_dir an Engine filled: one CRL (``url``, CRL number 21) and one OCSP response
    (for ``ocsp_leaf``)."""

    cache: Path
    url: str
    crl_leaf: Cert
    ocsp_leaf: Cert
    root: Issuer
    ca: Issuer
    site: CrlSite

    def engine(self, method: str) -> cp.Engine:
        trust = cp.TrustStore()
        trust.add_der(self.root.der)
        settings = cp.RevocationConfig(
            method=method,  # type: ignore[arg-type]
            depth="leaf",
            cache_dir=self.cache,
            timeout=5.0,
            retry=cp.Retry(attempts=1, backoff=0.0),
        )
        return cp.Engine(cp.PolicySet([cp.Policy("Web", "internet")]), trust, settings)

    def check(self, method: str, leaf: Cert) -> None:
        with self.engine(method) as engine:
            report = engine.check([leaf.der, self.ca.der], HOST)
        assert report.ok, report
        assert report.result("revocation").status == "passed"

    @property
    def crl_key(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:32]

    @property
    def ocsp_key(self) -> str:
        return hashlib.sha256(ocsp_request(self.ocsp_leaf.der, self.ca.der)).hexdigest()

    def crl_file(self, suffix: str) -> Path:
        return self.cache / "crl" / f"{self.crl_key}{suffix}"


@pytest.fixture
def filled(tmp_path: Path, site: CrlSite, root: Issuer, ca: Issuer, responder: Responder) -> Filled:
    url = site.url(f"/{tmp_path.name}.crl")  # a URL (and key) of this test's own
    site.crls[f"/{tmp_path.name}.crl"] = c.make_crl(ca, [c.Entry(n) for n in (3, 5)], number=21)
    crl_leaf = ca.issue_leaf([HOST], crl_urls=[url])
    ocsp_leaf = ca.issue_leaf([HOST], ocsp_urls=[responder.url])
    responder.add_good(ocsp_leaf)
    done = Filled(tmp_path / "cache", url, crl_leaf, ocsp_leaf, root, ca, site)
    done.check("crl", crl_leaf)
    done.check("ocsp", ocsp_leaf)
    return done


def snapshot(directory: Path) -> dict[str, tuple[int, int, int]]:
    """Each file's size, access and modification times (ns), without following links."""
    return {
        item.name: (info.st_size, info.st_atime_ns, info.st_mtime_ns)
        for item in directory.iterdir()
        for info in [item.lstat()]
    }


def test_lists_what_the_checks_stored(filled: Filled) -> None:
    (crl,) = disk_cache_entries(filled.cache, "crl")
    assert crl.method == "crl"
    assert crl.key == filled.crl_key
    assert crl.files == (f"{crl.key}.der", f"{crl.key}.json")
    assert crl.size == sum((filled.cache / "crl" / name).stat().st_size for name in crl.files)
    assert crl.url == filled.url
    assert crl.number == 21
    served = cp.Crl.from_der(filled.crl_file(".der").read_bytes())
    assert crl.this_update == served.this_update
    assert crl.next_update == served.next_update
    assert crl.fetched_at is not None
    assert crl.fetched_at.tzinfo is not None
    assert crl.last_used.tzinfo is not None
    assert crl.reuse_until is None
    assert crl.problem is None

    (ocsp,) = disk_cache_entries(filled.cache, "ocsp")
    assert ocsp.method == "ocsp"
    assert ocsp.key == filled.ocsp_key
    assert ocsp.files == (f"{ocsp.key}.der",)
    assert ocsp.size == (filled.cache / "ocsp" / ocsp.files[0]).stat().st_size
    assert ocsp.reuse_until is not None
    assert ocsp.reuse_until > ocsp.last_used
    assert (ocsp.url, ocsp.number, ocsp.this_update, ocsp.problem) == (None, None, None, None)
    assert disk_cache_directory(filled.cache, "ocsp") == filled.cache / "ocsp"
    assert disk_cache_directory(str(filled.cache), "crl") == filled.cache / "crl"


def test_listing_changes_nothing(filled: Filled) -> None:
    """Not even an access time (when the entry was last used, for the byte bound's order):
    the metadata is read without marking the file used. An expired response and an
    interrupted store stay as they are (a checker's sweep would delete or complete them)."""
    ocsp_file = filled.cache / "ocsp" / f"{filled.ocsp_key}.der"
    os.utime(ocsp_file, (ocsp_file.stat().st_atime, 1_000_000_000))  # reuse ended in 2001
    sha = json.loads(filled.crl_file(".json").read_text())["sha256"]
    filled.crl_file(".der").rename(filled.crl_file(f".{sha[:16]}.der"))  # store interrupted
    before = {kind: snapshot(filled.cache / kind) for kind in ("crl", "ocsp")}
    entries = disk_cache_entries(filled.cache, "crl") + disk_cache_entries(filled.cache, "ocsp")
    assert len(entries) == 2
    assert {kind: snapshot(filled.cache / kind) for kind in ("crl", "ocsp")} == before
    (ocsp,) = [entry for entry in entries if entry.method == "ocsp"]
    assert ocsp.reuse_until is not None
    assert ocsp.reuse_until.year == 2001


def tamper_no_metadata(filled: Filled) -> str:
    filled.crl_file(".json").unlink()
    return "no metadata"


def tamper_not_json(filled: Filled) -> str:
    filled.crl_file(".json").write_bytes(b"\xff not json")
    return "unreadable metadata"


def tamper_mistyped(filled: Filled) -> str:
    document = json.loads(filled.crl_file(".json").read_text())
    document["url"] = ["not", "a", "string"]
    filled.crl_file(".json").write_text(json.dumps(document))
    return "bad metadata"


def tamper_other_url(filled: Filled) -> str:
    document = json.loads(filled.crl_file(".json").read_text())
    document["url"] = filled.url + "?elsewhere"
    filled.crl_file(".json").write_text(json.dumps(document))
    return "another URL"


def tamper_truncated(filled: Filled) -> str:
    der = filled.crl_file(".der")
    der.write_bytes(der.read_bytes()[:-10])
    return "no CRL file of the size"


def tamper_oversized_metadata(filled: Filled) -> str:
    filled.crl_file(".json").write_bytes(b" " * (64 * 1024 + 1))
    return "unreadable metadata"


@pytest.mark.parametrize(
    "tamper",
    [
        tamper_no_metadata,
        tamper_not_json,
        tamper_mistyped,
        tamper_other_url,
        tamper_truncated,
        tamper_oversized_metadata,
    ],
)
def test_a_problem_listed_is_one_a_check_finds(
    filled: Filled, tamper: Callable[[Filled], str]
) -> None:
    """Every entry listed with a problem is one the next check does not use: it downloads
    the CRL again (the same names and metadata parser, one implementation)."""
    expected = tamper(filled)
    (entry,) = disk_cache_entries(filled.cache, "crl")
    assert entry.problem is not None
    assert expected in entry.problem
    if expected != "another URL":
        assert entry.url is None or expected == "no CRL file of the size"
    path = "/" + filled.url.rsplit("/", 1)[1]
    before = filled.site.count(path)
    filled.check("crl", filled.crl_leaf)
    assert filled.site.count(path) == before + 1
    (entry,) = disk_cache_entries(filled.cache, "crl")
    assert entry.problem is None


def test_an_interrupted_store_is_listed_as_usable(filled: Filled) -> None:
    """A crash after the metadata (the commit point) named a new CRL: the new file is still
    under its incoming name. The listing says it is fine, and indeed the next check uses it
    without a download."""
    document = json.loads(filled.crl_file(".json").read_text())
    incoming = filled.crl_file(f".{document['sha256'][:16]}.der")
    filled.crl_file(".der").rename(incoming)
    (entry,) = disk_cache_entries(filled.cache, "crl")
    assert entry.problem is None
    assert entry.files == (incoming.name, f"{filled.crl_key}.json")
    path = "/" + filled.url.rsplit("/", 1)[1]
    before = filled.site.count(path)
    filled.check("crl", filled.crl_leaf)
    assert filled.site.count(path) == before


def test_clear_deletes_the_entries_metadata_first(
    filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    (crl,) = disk_cache_entries(filled.cache, "crl")
    (ocsp,) = disk_cache_entries(filled.cache, "ocsp")
    strangers = [filled.cache / "crl" / "notes.txt", filled.cache / "crl" / f"{'A' * 32}.der"]
    for stranger in strangers:
        stranger.write_text("not the cache's")
    deleted: list[str] = []
    unlink = os.unlink

    def spy(path: str | os.PathLike[str], *, dir_fd: int | None = None) -> None:
        deleted.append(os.fspath(path))
        unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "unlink", spy)
    assert clear_disk_cache(filled.cache, "crl") == (1, crl.size)
    assert deleted == [f"{crl.key}.json", f"{crl.key}.der"]
    assert sorted(p.name for p in (filled.cache / "crl").iterdir()) == sorted(
        s.name for s in strangers
    )
    assert disk_cache_entries(filled.cache, "crl") == []
    assert disk_cache_entries(filled.cache, "ocsp") == [ocsp]  # only the cache named
    assert clear_disk_cache(filled.cache, "ocsp") == (1, ocsp.size)
    assert list((filled.cache / "ocsp").iterdir()) == []
    assert clear_disk_cache(filled.cache, "ocsp") == (0, 0)


def test_missing_caches_are_empty_and_not_created(tmp_path: Path) -> None:
    nothing = tmp_path / "nothing-yet"
    for method in ("crl", "ocsp"):
        assert disk_cache_entries(nothing, method) == []
        assert clear_disk_cache(nothing, method) == (0, 0)
    assert not nothing.exists()


def test_another_cache_name_is_refused(tmp_path: Path) -> None:
    for call in (disk_cache_entries, clear_disk_cache, disk_cache_directory):
        with pytest.raises(MalformedInputError, match="not one of"):
            call(tmp_path, "intermediates")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["crl", "ocsp"])
def test_a_symlinked_cache_directory_is_refused(
    filled: Filled, tmp_path: Path, method: str
) -> None:
    """``cache_dir/<method>`` replaced by a link to a directory of cache-like names: nothing
    is listed or deleted there, and a clear deletes nothing at all."""
    outside = tmp_path / "outside"
    outside.mkdir()
    victims = [outside / f"{'a' * 64}.der", outside / f"{'b' * 32}.json"]
    for victim in victims:
        victim.write_bytes(b"x" * 100)
    (filled.cache / method).rename(tmp_path / "moved")
    os.symlink(outside, filled.cache / method)
    other = "ocsp" if method == "crl" else "crl"
    before = snapshot(filled.cache / other)
    with pytest.raises(NotADirectoryError, match="not a directory but a symlink"):
        disk_cache_entries(filled.cache, method)  # type: ignore[arg-type]
    with pytest.raises(NotADirectoryError):
        clear_disk_cache(filled.cache, method)  # type: ignore[arg-type]
    assert all(victim.read_bytes() == b"x" * 100 for victim in victims)
    assert snapshot(filled.cache / other) == before


def test_a_file_in_place_of_the_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "ocsp").write_text("a file")
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        disk_cache_entries(tmp_path / "cache", "ocsp")
    with pytest.raises(NotADirectoryError):
        clear_disk_cache(tmp_path / "cache", "ocsp")
    assert (tmp_path / "cache" / "ocsp").read_text() == "a file"


def test_links_inside_the_directory_are_left_alone(filled: Filled, tmp_path: Path) -> None:
    """A symlink, a FIFO and a directory under names the cache owns are neither listed nor
    deleted; what a link points to is never read or touched."""
    precious = tmp_path / "precious.json"
    precious.write_text(json.dumps({"url": "http://elsewhere/"}))
    linked = filled.cache / "crl" / f"{'e' * 32}.json"
    os.symlink(precious, linked)
    os.mkfifo(filled.cache / "crl" / f"{'f' * 32}.json")
    (filled.cache / "ocsp" / f"{'d' * 64}.der").mkdir()
    entries = disk_cache_entries(filled.cache, "crl")
    assert [entry.key for entry in entries] == [filled.crl_key]
    assert [entry.key for entry in disk_cache_entries(filled.cache, "ocsp")] == [filled.ocsp_key]
    assert clear_disk_cache(filled.cache, "crl")[0] == 1
    assert clear_disk_cache(filled.cache, "ocsp")[0] == 1
    assert linked.is_symlink()
    assert precious.exists()
    assert (filled.cache / "crl" / f"{'f' * 32}.json").exists()
    assert (filled.cache / "ocsp" / f"{'d' * 64}.der").is_dir()


def test_a_symlinked_cache_dir_itself_is_used(filled: Filled, tmp_path: Path) -> None:
    """Where ``cache_dir`` itself lives is the administrator's choice (as for the checks)."""
    alias = tmp_path / "alias"
    os.symlink(filled.cache, alias)
    assert [e.key for e in disk_cache_entries(alias, "crl")] == [filled.crl_key]


def test_entries_are_frozen_values(filled: Filled) -> None:
    (entry,) = disk_cache_entries(filled.cache, "ocsp")
    with pytest.raises(AttributeError):
        entry.size = 0  # type: ignore[misc]
    assert isinstance(entry, DiskCacheEntry)


# --- revocation_config_from: the settings, without an engine ---------------------------


def test_revocation_config_from_a_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "certpolicy.toml"
    config.write_text(
        '[revocation]\ncache_dir = "here"\ndisk_cache_bytes = 4096\n'
        "retry = { attempts = 2, backoff = 0.0 }\n"
    )
    settings = revocation_config_from(config)
    assert settings.cache_dir == tmp_path / "here"
    assert settings.disk_cache_bytes == 4096
    assert settings.retry == cp.Retry(attempts=2, backoff=0.0)
    with cp.Engine.from_config(config) as engine:
        assert engine.revocation == settings  # the same parsing as the engine's
    assert revocation_config_from(str(config)) == settings


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[revocation]\ndisk_cache_bytes = 0\n", "disk_cache_bytes must be > 0"),
        ("[revocation]\ncache_dir = 5\n", "cache_dir must be a path"),
        ("revocation = 3\n", "must be a table"),
        ("[elsewhere]\n", "unknown key"),
        ("[revocation\n", "cannot read"),
    ],
)
def test_revocation_config_from_refuses_a_bad_config(
    tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "certpolicy.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        revocation_config_from(config)


def test_revocation_config_from_other_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"expected a config\.xml or a \.toml file"):
        revocation_config_from(tmp_path / "certpolicy.ini")
    with pytest.raises(ConfigError):
        revocation_config_from(tmp_path / "missing" / "config.xml")
    agent = tmp_path / "config.xml"  # sets no revocation: the defaults, as its engine's
    agent.write_text('<parameters><parameter name="url" value="https://x.example/"/></parameters>')
    assert revocation_config_from(agent) == cp.RevocationConfig()
