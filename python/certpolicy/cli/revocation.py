"""Revocation: ``crl fetch``, ``crl show``, ``crl lookup`` and ``ocsp``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import IO, Any, Final

import urllib3

from certpolicy._atomic import atomic_write_bytes
from certpolicy.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    OperationFailed,
    UsageError,
    _certificates_in,
    _emit,
    _engine,
    _iso,
)
from certpolicy.crl import Crl
from certpolicy.engine import Engine
from certpolicy.errors import CrlError, OcspError
from certpolicy.ocsp import ocsp_check_response, ocsp_request
from certpolicy.verify import cert_info

# Downloads at least this large get a progress bar (on a terminal only).
PROGRESS_MIN_BYTES: Final = 256 * 1024
MAX_OCSP_RESPONSE_BYTES: Final = 1024 * 1024


# --- CRL ---


class _Progress:
    """A one-line progress bar on a terminal for long downloads; silent otherwise."""

    def __init__(self, label: str, total: int | None, stream: IO[str]) -> None:
        self.label, self.total, self.stream = label, total, stream
        self.enabled = stream.isatty() and (total is None or total >= PROGRESS_MIN_BYTES)
        self.done = 0
        self.shown = False
        self._last = 0.0

    def update(self, count: int) -> None:
        """Counts ``count`` more bytes; redraws at most every 0.1 s."""
        self.done += count
        if not self.enabled or (self.total is None and self.done < PROGRESS_MIN_BYTES):
            return
        now = time.monotonic()
        if now - self._last < 0.1 and (self.total is None or self.done < self.total):
            return
        self._last = now
        mib = self.done / (1024 * 1024)
        if self.total:
            share = min(1.0, self.done / self.total)
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


def _download(engine: Engine, url: str, limit: int, timeout: float) -> bytes:
    """GETs a URL (https through the engine's checks), streaming, at most ``limit`` bytes."""
    if not url.lower().startswith(("http://", "https://")):
        raise UsageError(f"not an http(s) URL: {url!r}")
    pool = urllib3.PoolManager(ssl_context=engine.ssl_context(trust_peer_ip=True), retries=False)
    try:
        response = pool.request(
            "GET",
            url,
            preload_content=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
    except urllib3.exceptions.HTTPError as exc:
        raise OperationFailed(f"cannot download {url}: {exc}") from exc
    try:
        if response.status != 200:
            raise OperationFailed(f"{url}: HTTP {response.status}")
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > limit:
            raise OperationFailed(f"{url}: {total} bytes is more than the limit of {limit}")
        progress = _Progress("downloading CRL", total, sys.stderr)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.stream(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise OperationFailed(f"{url}: more than the limit of {limit} bytes")
                chunks.append(chunk)
                progress.update(len(chunk))
        except urllib3.exceptions.HTTPError as exc:
            raise OperationFailed(f"download of {url} failed: {exc}") from exc
        finally:
            progress.finish()
        return b"".join(chunks)
    finally:
        response.release_conn()
        pool.clear()


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
    data = _download(
        engine, args.url, args.max_bytes or engine.revocation.max_crl_bytes, args.timeout
    )
    try:
        crl = _load_crl(data, args.issuer)
    except CrlError as exc:
        raise OperationFailed(f"unusable CRL from {args.url}: {exc}") from exc
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


def _serial_of(text: str) -> int:
    """A serial number (decimal or 0x-hex), or the serial of a certificate file."""
    candidate = Path(text)
    if candidate.is_file():
        return cert_info(_certificates_in(candidate)[0])["serial"]
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise UsageError(f"{text!r} is neither a serial number nor a certificate file") from None


def _cmd_crl_lookup(args: argparse.Namespace) -> int:
    """``certpolicy crl lookup``: exit 1 if the serial is revoked."""
    crl = _load_crl(Path(args.file).read_bytes(), args.issuer)
    serial = _serial_of(args.serial)
    entry = crl.lookup(serial)
    result: dict[str, Any] = {"serial": hex(serial), "revoked": entry is not None}
    if entry is not None:
        result.update(revoked_at=_iso(entry.revoked_at), reason=entry.reason)

    def text() -> list[str]:
        if entry is None:
            return [f"serial {serial:#x}: not revoked (CRL of {crl.issuer}, {len(crl)} entries)"]
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
    nonce = os.urandom(16) if args.nonce else None
    request = ocsp_request(cert, issuer, nonce=nonce)
    engine = _engine(args)
    pool = urllib3.PoolManager(ssl_context=engine.ssl_context(trust_peer_ip=True), retries=False)
    try:
        response = pool.request(
            "POST",
            url,
            body=request,
            headers={
                "Content-Type": "application/ocsp-request",
                "Accept": "application/ocsp-response",
            },
            timeout=args.timeout,
            preload_content=False,
        )
        body = response.read(MAX_OCSP_RESPONSE_BYTES + 1)
        response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise OperationFailed(f"cannot reach the OCSP responder {url}: {exc}") from exc
    finally:
        pool.clear()
    if response.status != 200:
        raise OperationFailed(f"OCSP responder {url} answered HTTP {response.status}")
    if len(body) > MAX_OCSP_RESPONSE_BYTES:
        raise OperationFailed(
            f"OCSP response from {url} is larger than {MAX_OCSP_RESPONSE_BYTES} bytes"
        )
    try:
        status = ocsp_check_response(body, cert, issuer, nonce=nonce)
    except OcspError as exc:
        raise OperationFailed(f"unusable OCSP response from {url}: {exc}") from exc
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
