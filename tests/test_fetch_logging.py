"""The log lines of revocation fetches (a real CRL server and a real OCSP responder on
loopback): one INFO record per CRL download and OCSP request with the structured ``extra``
fields docs/monitoring.md lists, cache hits at DEBUG, no credentials; and the JSON log-line
recipe of docs/monitoring.md, read from the page and run."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import certpolicy as cp
from certpolicy.revocation import RevocationChecker, default_methods
from certpolicy.revocation.crl import CrlFetchError, Fetcher

import crl_pki as c
from crl_server import CrlSite
from ocsp_responder import Responder, closed_port_url, running_responder
from pki import Cert, Issuer, make_root

DOCS = Path(__file__).resolve().parent.parent / "docs" / "monitoring.md"
FIELDS = {"method", "url", "status", "bytes", "seconds", "outcome", "error", "attempts"}
CRL_PATH = "/logged.crl"


# A loopback CRL server for the module (tests/conftest.py), emptied before each test.
pytestmark = pytest.mark.usefixtures("fresh_site")


@pytest.fixture(scope="module")
def ca() -> Issuer:
    return make_root("logging root").issue_ca("logging CA")


@pytest.fixture
def responder(tmp_path: Path, ca: Issuer) -> Iterator[Responder]:
    with running_responder(tmp_path / "responder", ca) as running:
        yield running


def config(tmp_path: Path, **options: Any) -> cp.RevocationConfig:
    settings: dict[str, Any] = {
        "cache_dir": tmp_path / "cache",
        "timeout": 2.0,
        "retry": cp.Retry(attempts=1, backoff=0.0),
        "depth": "leaf",
    }
    settings.update(options)
    return cp.RevocationConfig(**settings)


def check(settings: cp.RevocationConfig, leaf: Cert, ca: Issuer) -> str:
    checker = RevocationChecker(settings, default_methods(settings))
    try:
        return checker.check_path([leaf.der, ca.der]).status
    finally:
        checker.close()


def fetch_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "certpolicy.revocation"]


def fields(record: logging.LogRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in FIELDS}


# --- CRL ----------------------------------------------------------------------------------


def test_a_crl_download_is_logged_at_info(
    site: CrlSite, ca: Issuer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site.crls[CRL_PATH] = der = c.make_crl(ca, [])
    leaf = ca.issue_leaf(["crl-log.example"], crl_urls=[site.url(CRL_PATH)])
    with caplog.at_level(logging.DEBUG, logger="certpolicy"):
        settings = config(tmp_path, method="crl")
        checker = RevocationChecker(settings, default_methods(settings))
        try:
            assert checker.check_path([leaf.der, ca.der]).status == "good"
            (record,) = fetch_records(caplog)
            assert record.levelno == logging.INFO
            got = fields(record)
            assert isinstance(got.pop("seconds"), float)
            assert got == {
                "method": "crl",
                "url": site.url(CRL_PATH),
                "status": 200,
                "bytes": len(der),
                "outcome": "ok",
                "error": None,
                "attempts": 1,
            }
            message = record.getMessage()
            assert message.startswith(f"CRL download from {site.url(CRL_PATH)}: HTTP 200, ")
            assert f"{len(der)} bytes in " in message
            caplog.clear()
            # The second check is answered from memory: no fetch line, a DEBUG cache hit.
            assert checker.check_path([leaf.der, ca.der]).status == "good"
        finally:
            checker.close()
    assert fetch_records(caplog) == []
    hits = [r for r in caplog.records if "cache hit" in r.getMessage()]
    assert [r.levelno for r in hits] == [logging.DEBUG]
    assert site.url(CRL_PATH) in hits[0].getMessage()


def test_a_failed_crl_download_says_why(
    site: CrlSite, ca: Issuer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    leaf = ca.issue_leaf(["crl-404.example"], crl_urls=[site.url("/missing.crl")])
    with caplog.at_level(logging.INFO, logger="certpolicy"):
        assert check(config(tmp_path, method="crl"), leaf, ca) == "unavailable"
    (record,) = fetch_records(caplog)
    assert record.levelno == logging.INFO
    assert (record.method, record.status, record.outcome, record.bytes, record.attempts) == (
        "crl",
        404,
        "failed",
        0,
        1,
    )
    assert record.error == "the server answered HTTP 404"
    assert "failed in" in record.getMessage()
    assert "HTTP 404" in record.getMessage()


def test_retries_are_counted_in_one_line(
    site: CrlSite, ca: Issuer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site.crls[CRL_PATH] = c.make_crl(ca, [])
    site.fail(CRL_PATH, "503")
    retry = cp.Retry(attempts=2, backoff=0.01, max_backoff=0.02)
    with caplog.at_level(logging.INFO, logger="certpolicy.revocation"):
        fetched = Fetcher(config(tmp_path, retry=retry)).fetch(site.url(CRL_PATH))
    assert fetched.body is not None
    (record,) = fetch_records(caplog)
    assert (record.status, record.outcome, record.attempts) == (200, "ok", 2)
    assert record.getMessage().endswith(", 2 attempts")


def test_not_modified(site: CrlSite, ca: Issuer, tmp_path: Path, caplog) -> None:
    site.crls[CRL_PATH] = c.make_crl(ca, [])
    fetcher = Fetcher(config(tmp_path))
    first = fetcher.fetch(site.url(CRL_PATH))
    with caplog.at_level(logging.INFO, logger="certpolicy.revocation"):
        assert fetcher.fetch(site.url(CRL_PATH), etag=first.etag).body is None
    (record,) = fetch_records(caplog)
    assert (record.status, record.outcome, record.bytes, record.error) == (
        304,
        "not_modified",
        0,
        None,
    )
    assert "not modified (HTTP 304)" in record.getMessage()


def test_credentials_in_a_url_are_never_logged(site: CrlSite, ca: Issuer, tmp_path, caplog) -> None:
    site.crls[CRL_PATH] = c.make_crl(ca, [])
    url = site.url(CRL_PATH).replace("http://", "http://agent:s3cret-pw@")
    with caplog.at_level(logging.DEBUG, logger="certpolicy"):
        Fetcher(config(tmp_path)).fetch(url)
    (record,) = fetch_records(caplog)
    assert record.url == site.url(CRL_PATH).replace("http://", "http://***@")
    assert record.outcome == "ok"
    assert all("s3cret" not in r.getMessage() for r in caplog.records)
    assert all("s3cret" not in str(vars(r)) for r in caplog.records)


def test_an_unreachable_url_has_no_status(tmp_path: Path, caplog) -> None:
    url = closed_port_url("/gone.crl")
    with (
        caplog.at_level(logging.INFO, logger="certpolicy.revocation"),
        pytest.raises(CrlFetchError),
    ):
        Fetcher(config(tmp_path)).fetch(url)
    (record,) = fetch_records(caplog)
    assert (record.url, record.status, record.outcome, record.bytes) == (url, None, "failed", 0)
    assert record.error.startswith("download failed: ")
    assert "no HTTP answer" in record.getMessage()


# --- OCSP ---------------------------------------------------------------------------------


def test_an_ocsp_request_is_logged_at_info(
    responder: Responder, ca: Issuer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    leaf = ca.issue_leaf(["ocsp-log.example"], ocsp_urls=[responder.url])
    responder.add_good(leaf)
    with caplog.at_level(logging.DEBUG, logger="certpolicy"):
        settings = config(tmp_path, method="ocsp")
        checker = RevocationChecker(settings, default_methods(settings))
        assert checker.check_path([leaf.der, ca.der]).status == "good"
        (record,) = fetch_records(caplog)
        caplog.clear()
        assert checker.check_path([leaf.der, ca.der]).status == "good"
    assert record.levelno == logging.INFO
    got = fields(record)
    assert isinstance(got.pop("seconds"), float)
    assert got.pop("bytes") > 0
    assert got == {
        "method": "ocsp",
        "url": responder.url,
        "status": 200,
        "outcome": "ok",
        "error": None,
        "attempts": 1,
    }
    assert record.getMessage().startswith(f"OCSP request to {responder.url}: HTTP 200, ")
    assert fetch_records(caplog) == []
    assert [r.levelno for r in caplog.records if "OCSP cache hit" in r.getMessage()] == [
        logging.DEBUG
    ]


def test_a_failed_ocsp_request(
    responder: Responder, ca: Issuer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    leaf = ca.issue_leaf(["ocsp-503.example"], ocsp_urls=[responder.url])
    responder.mode, responder.error_status = "error", 503
    retry = cp.Retry(attempts=2, backoff=0.01, max_backoff=0.02)
    with caplog.at_level(logging.INFO, logger="certpolicy"):
        assert check(config(tmp_path, method="ocsp", retry=retry), leaf, ca) == "unavailable"
    (record,) = fetch_records(caplog)
    assert record.levelno == logging.INFO
    assert (record.method, record.status, record.outcome, record.attempts, record.bytes) == (
        "ocsp",
        503,
        "failed",
        2,
        0,
    )
    assert record.error.startswith("HTTP 503")
    # The responder is remembered as failed: a WARNING says so too.
    assert any(
        r.levelno == logging.WARNING and "OCSP responder" in r.getMessage() for r in caplog.records
    )


# --- the JSON recipe of docs/monitoring.md -------------------------------------------------


def recipe() -> str:
    """The fenced Python block right after the ``recipe: json-logging`` marker."""
    if not DOCS.is_file():
        pytest.skip(f"{DOCS} is not there (docs not shipped with this checkout)")
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"<!-- recipe: json-logging -->\n```python\n(.*?)\n```", text, re.S)
    assert found, "docs/monitoring.md lost its JSON logging recipe"
    return found.group(1)


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Runs the recipe as documented, with its handler writing to a buffer; undone after."""
    namespace: dict[str, Any] = {"__name__": "recipe"}
    logger = logging.getLogger("certpolicy")
    level = logger.level
    exec(compile(recipe(), str(DOCS), "exec"), namespace)
    handler = namespace["handler"]
    buffer = io.StringIO()
    handler.setStream(buffer)
    try:
        assert handler in logger.handlers
        assert logger.level == logging.INFO
        yield buffer
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_the_json_recipe_writes_the_extra_fields(
    site: CrlSite, responder: Responder, ca: Issuer, tmp_path: Path, json_lines: io.StringIO
) -> None:
    site.crls[CRL_PATH] = der = c.make_crl(ca, [])
    crl_leaf = ca.issue_leaf(["json-crl.example"], crl_urls=[site.url(CRL_PATH)])
    assert check(config(tmp_path / "crl", method="crl"), crl_leaf, ca) == "good"
    ocsp_leaf = ca.issue_leaf(["json-ocsp.example"], ocsp_urls=[responder.url])
    responder.add_good(ocsp_leaf)
    assert check(config(tmp_path / "ocsp", method="ocsp"), ocsp_leaf, ca) == "good"
    logging.getLogger("certpolicy").warning("plain", extra={"code": "chain.expired"})
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    crl_line, ocsp_line, plain = lines
    assert crl_line["level"] == "INFO"
    assert crl_line["logger"] == "certpolicy.revocation"
    assert crl_line["message"].startswith(f"CRL download from {site.url(CRL_PATH)}: HTTP 200")
    assert {k: crl_line[k] for k in FIELDS - {"seconds"}} == {
        "method": "crl",
        "url": site.url(CRL_PATH),
        "status": 200,
        "bytes": len(der),
        "outcome": "ok",
        "error": None,
        "attempts": 1,
    }
    assert isinstance(crl_line["seconds"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", crl_line["time"])
    assert (ocsp_line["method"], ocsp_line["url"], ocsp_line["outcome"]) == (
        "ocsp",
        responder.url,
        "ok",
    )
    # Only what came through `extra` is added to the standard four.
    assert plain == {
        "time": plain["time"],
        "level": "WARNING",
        "logger": "certpolicy",
        "message": "plain",
        "code": "chain.expired",
    }
