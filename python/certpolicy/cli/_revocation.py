"""Revocation: ``crl fetch``, ``crl show``, ``crl lookup`` and ``ocsp``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import IO, Any, Final

import urllib3

from certpolicy._util import atomic_write_bytes
from certpolicy.checks import cert_info
from certpolicy.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    OperationFailed,
    Rejected,
    UsageError,
    _certificates_in,
    _emit,
    _engine,
    _iso,
    _printable,
)
from certpolicy.engine import Engine
from certpolicy.errors import CrlError, OcspError
from certpolicy.revocation import Crl, RevocationConfig, ocsp_check_response, ocsp_request
from certpolicy.revocation.crl import CrlFetchError, Fetcher
from certpolicy.revocation.ocsp import OcspFetcher, OcspFetchError, new_nonce

# Downloads at least this large get a progress bar (on a terminal only).
PROGRESS_MIN_BYTES: Final = 256 * 1024


# --- CRL ---


class _Progress:
    """A one-line progress bar on a terminal for long downloads; silent otherwise."""

    def __init__(self, label: str, stream: IO[str]) -> None:
        self.label, self.stream = label, stream
        self.total: int | None = None
        self.done = 0
        self.shown = False
        self._last = 0.0

    def update(self, count: int, total: int | None) -> None:
        """Counts ``count`` more bytes of ``total`` (None: unknown); redraws at most every
        0.1 s, and only on a terminal for downloads of at least PROGRESS_MIN_BYTES."""
        self.done += count
        self.total = total
        if not self.stream.isatty():
            return
        if (total if total is not None else self.done) < PROGRESS_MIN_BYTES:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and (total is None or self.done < total):
            return
        self._last = now
        mib = self.done / (1024 * 1024)
        if total:
            share = min(1.0, self.done / total)
            bar = "=" * int(share * 30)
            line = f"{self.label} [{bar:<30}] {share:4.0%} {mib:.1f} MiB"
        else:
            line = f"{self.label} {mib:.1f} MiB"
        self.stream.write("\r" + line)
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        """Ends the bar's line, if one was drawn."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _fetch_settings(engine: Engine, args: argparse.Namespace, **changes: Any) -> RevocationConfig:
    """The engine's revocation settings with ``--timeout`` (and ``changes``) applied: the
    library's fetchers then bring their retries, size caps and overall deadline."""
    return dataclasses.replace(engine.revocation, timeout=args.timeout, **changes)


def _checked_pool(engine: Engine) -> urllib3.PoolManager:
    """A pool whose https:// connections the engine checks before any request byte."""
    return urllib3.PoolManager(ssl_context=engine.ssl_context(trust_peer_ip=False))


def _download(engine: Engine, url: str, settings: RevocationConfig) -> bytes:
    """GETs a CRL with the library's fetcher (https through the engine's checks)."""
    if not url.lower().startswith(("http://", "https://")):
        raise UsageError(f"not an http(s) URL: {url!r}")
    pool = _checked_pool(engine)
    progress = _Progress("downloading CRL", sys.stderr)
    try:
        fetched = Fetcher(settings, pool).fetch(url, progress=progress.update)
    except CrlFetchError as exc:
        raise OperationFailed(f"cannot download {url}: {exc}") from exc
    finally:
        progress.finish()
        pool.clear()
    if fetched.body is None:
        raise OperationFailed(f"{url}: the server answered 304 to an unconditional GET")
    return fetched.body


def _load_crl(data: bytes, issuer_file: str | None) -> Crl:
    """Parses a DER or PEM CRL, verifying it with the issuer certificate file if given."""
    issuer = _certificates_in(issuer_file)[0] if issuer_file else None
    if data.lstrip().startswith(b"-----BEGIN"):
        return Crl.from_pem(data, issuer=issuer)
    return Crl.from_der(data, issuer=issuer)


def _crl_summary(crl: Crl, verified: bool) -> dict[str, Any]:
    """A CRL's summary as JSON data."""
    return {
        "issuer": crl.issuer,
        "this_update": _iso(crl.this_update),
        "next_update": _iso(crl.next_update),
        "number": crl.number,
        "entries": len(crl),
        "signature_verified": verified,
    }


def _crl_lines(summary: dict[str, Any]) -> list[str]:
    """A CRL summary as text lines."""
    signature = "verified" if summary["signature_verified"] else "not checked (no --issuer)"
    return [
        f"issuer       {summary['issuer']}",
        f"this update  {summary['this_update']}",
        f"next update  {summary['next_update'] or '-'}",
        f"CRL number   {summary['number'] if summary['number'] is not None else '-'}",
        f"entries      {summary['entries']}",
        f"signature    {signature}",
    ]


def _cmd_crl_fetch(args: argparse.Namespace) -> int:
    """``certpolicy crl fetch``."""
    engine = _engine(args)
    limit = args.max_bytes or engine.revocation.max_crl_bytes
    data = _download(engine, args.url, _fetch_settings(engine, args, max_crl_bytes=limit))
    try:
        crl = _load_crl(data, args.issuer)
    except CrlError as exc:
        raise Rejected(f"unusable CRL from {args.url}: {exc}") from exc
    if args.output:
        atomic_write_bytes(args.output, data, mode=0o644)
    summary = {"url": args.url, "bytes": len(data), **_crl_summary(crl, args.issuer is not None)}
    if args.output:
        summary["saved_to"] = str(args.output)
    _emit(
        args.json,
        summary,
        lambda: [f"url          {args.url} ({len(data)} bytes)", *_crl_lines(summary)],
    )
    return EXIT_OK


def _cmd_crl_show(args: argparse.Namespace) -> int:
    """``certpolicy crl show``."""
    crl = _load_crl(Path(args.file).read_bytes(), args.issuer)
    summary = _crl_summary(crl, args.issuer is not None)
    _emit(args.json, summary, lambda: _crl_lines(summary))
    return EXIT_OK


def _serial_or_certificate(text: str) -> tuple[int, bytes | None]:
    """A serial number (decimal or 0x-hex), or the serial of a certificate file and the
    certificate."""
    candidate = Path(text)
    if candidate.is_file():
        cert = _certificates_in(candidate)[0]
        return cert_info(cert)["serial"], cert
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text), None
    except ValueError:
        raise UsageError(f"{text!r} is neither a serial number nor a certificate file") from None


def _check_coverage(crl: Crl, cert: bytes) -> None:
    """Raises UsageError when ``crl`` does not speak for ``cert``: another issuer name, or
    a scope (issuing distribution point: its names, only CA / only end-entity
    certificates) that leaves the certificate out; the Rust core's check, as the engine's
    CRL method uses it (RFC 5280 section 6.3.3 (b))."""
    try:
        crl.check_scope(cert)
    except CrlError as exc:
        info = cert_info(cert)
        raise UsageError(
            f"this CRL does not cover the certificate: issued by {_printable(info['issuer'])}, "
            f"CRL from {_printable(crl.issuer)} ({_printable(exc)}); its revocation status is "
            "not in this CRL",
            covered=False,
            certificate=info["subject"],
            certificate_issuer=info["issuer"],
            crl_issuer=crl.issuer,
        ) from exc


def _cmd_crl_lookup(args: argparse.Namespace) -> int:
    """``certpolicy crl lookup``: exit 1 if the serial is revoked. Given a certificate, the
    CRL must cover it (issuer and scope), else exit 2: a CRL that does not speak for a
    certificate never says "not revoked"."""
    crl = _load_crl(Path(args.file).read_bytes(), args.issuer)
    serial, cert = _serial_or_certificate(args.serial)
    if cert is not None:
        _check_coverage(crl, cert)
    entry = crl.lookup(serial)
    result: dict[str, Any] = {
        "serial": hex(serial),
        "revoked": entry is not None,
        # Coverage is known only for a certificate; a bare serial is looked up as given.
        "covered": True if cert is not None else None,
        "crl_issuer": crl.issuer,
        "signature_verified": args.issuer is not None,
    }
    if entry is not None:
        result.update(revoked_at=_iso(entry.revoked_at), reason=entry.reason)

    def text() -> list[str]:
        if entry is None:
            scope = "" if cert is not None else "; a bare serial: coverage not checked"
            return [
                f"serial {serial:#x}: not revoked (CRL of {crl.issuer}, {len(crl)} entries{scope})"
            ]
        reason = entry.reason or "unspecified"
        return [f"serial {serial:#x}: REVOKED at {_iso(entry.revoked_at)} (reason: {reason})"]

    _emit(args.json, result, text)
    return EXIT_FAILED if entry is not None else EXIT_OK


# --- OCSP ---


def _cmd_ocsp(args: argparse.Namespace) -> int:
    """``certpolicy ocsp``: exit 1 unless the responder says good."""
    cert = _certificates_in(args.cert)[0]
    issuer = _certificates_in(args.issuer)[0]
    url = args.url or next(iter(cert_info(cert)["ocsp_urls"]), None)
    if not url:
        raise UsageError("the certificate names no OCSP responder: pass --url")
    nonce = new_nonce() if args.nonce else None
    request = ocsp_request(cert, issuer, nonce=nonce)
    engine = _engine(args)
    pool = _checked_pool(engine)
    try:
        body = OcspFetcher(_fetch_settings(engine, args), pool).post(url, request)
    except OcspFetchError as exc:
        raise OperationFailed(f"OCSP responder {url}: {exc}") from exc
    finally:
        pool.clear()
    try:
        status = ocsp_check_response(body, cert, issuer, nonce=nonce)
    except OcspError as exc:
        raise Rejected(f"unusable OCSP response from {url}: {exc}") from exc
    result = {
        "url": url,
        "status": status.status,
        "this_update": _iso(status.this_update),
        "next_update": _iso(status.next_update),
        "revoked_at": _iso(status.revoked_at),
        "reason": status.reason,
    }

    def text() -> list[str]:
        lines = [f"responder    {url}", f"status       {status.status}"]
        if status.status == "revoked":
            lines.append(
                f"revoked at   {result['revoked_at']} (reason: {status.reason or 'unspecified'})"
            )
        lines += [
            f"this update  {result['this_update']}",
            f"next update  {result['next_update'] or '-'}",
        ]
        return lines

    _emit(args.json, result, text)
    return EXIT_OK if status.status == "good" else EXIT_FAILED
