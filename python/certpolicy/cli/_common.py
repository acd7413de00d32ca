"""Shared CLI helpers: errors, exit codes, certificate files, engines, output and reports."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from certpolicy.checks import TrustStore, cert_info
from certpolicy.engine import Engine
from certpolicy.errors import CertPolicyError, MalformedInputError
from certpolicy.policy import PolicySet, default_policies, defaults_origin
from certpolicy.report import CheckResult, Report

# 0 all accepted, 1 a rejection, 2 usage or input error, 3 unreachable (nothing to judge).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

CONFIG_ENV: Final = "CERTPOLICY_CONFIG"


class UsageError(CertPolicyError):
    """Bad command-line input (exit code 2). ``details`` are added to the ``--json`` error
    object."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class OperationFailed(CertPolicyError):
    """A server could not be reached or gave nothing to judge: connection refused, timeout,
    DNS failure, an HTTP error, a download over its size cap (exit code 3)."""


class Rejected(CertPolicyError):
    """What a server sent was judged and refused, e.g. a CRL whose signature does not
    verify (exit code 1)."""


# --- input helpers ---


_PEM_BLOCK: Final = re.compile(
    rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", flags=re.DOTALL
)


def _pem_blocks(data: bytes) -> list[tuple[re.Match[bytes], bytes]]:
    """The CERTIFICATE blocks of a PEM document: (where, DER) each."""
    blocks = []
    for match in _PEM_BLOCK.finditer(data):
        try:
            der = base64.b64decode(b"".join(match[1].split()), validate=True)
        except ValueError as exc:
            raise MalformedInputError(f"bad base64 in a PEM certificate: {exc}") from exc
        blocks.append((match, der))
    return blocks


def _pem_certificates(data: bytes) -> list[bytes]:
    """Splits a PEM document into DER certificates (the store parses, we only split)."""
    return [der for _, der in _pem_blocks(data)]


def _certificates_in(path: str | os.PathLike[str]) -> list[bytes]:
    """The certificates of a PEM file, or the one certificate of a DER file."""
    data = Path(path).read_bytes()
    if b"-----BEGIN" in data:
        certs = _pem_certificates(data)
        if not certs:
            raise MalformedInputError(f"{os.fspath(path)}: no PEM CERTIFICATE block")
        return certs
    try:
        cert_info(data)
    except MalformedInputError as exc:
        raise MalformedInputError(
            f"{os.fspath(path)}: no PEM CERTIFICATE block, and not a DER certificate ({exc})"
        ) from None
    return [data]


def _pem(der: bytes) -> bytes:
    """One DER certificate as a PEM block."""
    text = base64.b64encode(der).decode("ascii")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return (
        "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    ).encode()


def _parse_time(text: str | None) -> dt.datetime | None:
    """The ``--at`` time (UTC unless it names a zone), or None."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--at {text!r}: not an ISO 8601 time") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _config_path(args: argparse.Namespace) -> str | None:
    """``--config``, else ``$CERTPOLICY_CONFIG``, else None."""
    value: str | None = getattr(args, "config", None) or os.environ.get(CONFIG_ENV) or None
    return value


def _engine(args: argparse.Namespace) -> Engine:
    """The engine of ``--config`` (or the defaults; ``--defaults`` chooses fresh-install or
    upgrade ones), with ``--ca`` replacing its anchors; ``--no-fetch-intermediates`` turns
    the fetching of missing intermediates off."""
    path = _config_path(args)
    defaults: str | None = getattr(args, "defaults", None)
    fetch = False if getattr(args, "fetch_intermediates", True) is False else None
    if path:
        engine = Engine.from_config(path, defaults=defaults, fetch_intermediates=fetch)
    else:
        fresh = defaults != "upgrade"
        engine = Engine(
            PolicySet.defaults(fresh_install=fresh),
            origins={p.name: defaults_origin(fresh) for p in default_policies(fresh_install=fresh)},
            fetch_intermediates=fetch is None,
        )
    ca_files: list[str] = getattr(args, "ca", None) or []
    if ca_files:
        store = TrustStore()
        for name in ca_files:
            store.add_file(name)
        replaced = Engine(
            engine.policies,
            store,
            engine.revocation,
            config=engine.config,
            origins=engine.policy_origins,
            fetch_intermediates=engine.fetch_intermediates,
        )
        replaced.saved_policies_problem = engine.saved_policies_problem
        engine = replaced
    return engine


# --- output ---


def _escape(code: int) -> str:
    """The visible escape of one character, as Python writes it: ``\\n``, ``\\x1b``,
    ``\\u202e``."""
    short = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}.get(code)
    if short is not None:
        return short
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# What a terminal acts on instead of showing: C0 controls (newline too), DEL and C1 controls
# (escape sequences, BEL, carriage return, 8-bit CSI); the bidi embeddings, overrides and
# isolates that reorder the text after them (U+202A-U+202E, U+2066-U+2069); and lone
# surrogates (a file name's undecodable bytes), which no terminal encoding can write.
_UNSAFE: Final = (
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    *range(0xD800, 0xE000),
)
_ESCAPES: Final[dict[int, str]] = {code: _escape(code) for code in _UNSAFE}
_ESCAPES_BUT_NEWLINE: Final[dict[int, str]] = {
    code: text for code, text in _ESCAPES.items() if code != 0x0A
}


def _printable(value: object, *, newlines: bool = False) -> str:
    """``str(value)`` safe to print on a terminal: every character in _UNSAFE as a visible
    escape (``\\x1b``, ``\\x9b``, ``\\u202e``, ``\\n``), everything else as it is. With
    ``newlines`` line breaks stay (for text the CLI itself laid out in lines). Certificates,
    CRLs, servers and files choose the text the human output shows; this keeps them from
    retitling or clearing the terminal, or hiding and forging lines."""
    return str(value).translate(_ESCAPES_BUT_NEWLINE if newlines else _ESCAPES)


class _PrintableFormatter(logging.Formatter):
    """Log lines for a terminal (``-v``): the message escaped as :func:`_printable` does,
    newlines too (one record, one line); a traceback keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return _printable(super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        return _printable(super().format(record), newlines=True)


def _iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 text, or None."""
    return None if value is None else value.isoformat()


def _text_lines(lines: list[str]) -> str:
    """Lines for a terminal, each escaped by :func:`_printable`: a line break inside one
    (a certificate's, a server's) is shown as ``\\n``, never taken as a line."""
    return "\n".join(_printable(line) for line in lines)


def _emit(as_json: bool, data: Any, text: Callable[[], list[str]]) -> None:
    """Prints ``data`` as JSON, or the lines of ``text()`` (one line each: what they embed
    is escaped by :func:`_text_lines`). JSON is ASCII (``json.dumps`` escapes every control,
    C1 and bidi character as ``\\uXXXX``), so it keeps the exact values for programs and is
    safe on a terminal too."""
    if as_json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print(_text_lines(text()))


# --- reports ---


def _chain_entry(der: bytes) -> dict[str, Any]:
    """A certificate's summary for reports (or the reason it is unreadable)."""
    try:
        info = cert_info(der)
    except CertPolicyError as exc:
        return {"error": str(exc)}
    return {
        "subject": info["subject"],
        "issuer": info["issuer"],
        "serial": hex(info["serial"]),
        "not_before": info["not_before"].isoformat(),
        "not_after": info["not_after"].isoformat(),
        "sha256": info["sha256"],
    }


def _report_json(report: Report) -> dict[str, Any]:
    """A report as JSON data, with its chain and verified path."""
    data = report.to_dict()
    data["chain"] = [_chain_entry(der) for der in report.chain]
    data["path"] = (
        []
        if report.verified_path is None
        else [cert_info(d)["subject"] for d in report.verified_path]
    )
    return data


def _cert_line(index: int, der: bytes) -> str:
    """One certificate of a chain, as a text line."""
    entry = _chain_entry(der)
    if "error" in entry:
        return f"  [{index}] unreadable: {entry['error']}"
    validity = f"{entry['not_before'][:10]} .. {entry['not_after'][:10]}"
    return f"  [{index}] {entry['subject']} (valid {validity})"


def _result_line(result: CheckResult) -> str:
    """One check as a text line; a check that did not pass ends with its reason code (not
    for "skipped.policy": the detail says the policy does not enable it)."""
    line = f"{result.name:10} {result.status:7} {result.detail}"
    if result.status != "passed" and result.code and result.code != "skipped.policy":
        line += f" [{result.code}]"
    return line


def _verdict(report: Report) -> str:
    """OK, REJECTED, or the failures an audit-mode policy let through."""
    if report.ok:
        return "OK"
    if not report.enforced:
        return f'WOULD BE REJECTED (audit mode: policy "{report.policy.name}" lets it through)'
    return "REJECTED"


def _report_lines(report: Report) -> list[str]:
    """A report as text lines, ending with the verdict."""
    lines = [f"{'policy':10} {report.policy.name} ({report.policy.kind}): {report.reason}"]
    lines += [_result_line(r) for r in report.results]
    if report.verified_path is not None:
        lines.append("verified path:")
        lines += [_cert_line(i, der) for i, der in enumerate(report.verified_path)]
    elif report.chain:
        lines.append("presented chain (not verified):")
        lines += [_cert_line(i, der) for i, der in enumerate(report.chain)]
    if report.revocation is not None:
        lines.append("revocation sources:")
        lines += [f"  {answer.describe()}" for answer in report.revocation.answers]
    lines.append("verdict:  " + _verdict(report))
    return lines
