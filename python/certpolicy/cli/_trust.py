"""The agent's trust store file: ``trust list`` and ``trust remove`` (``trust import`` is in
:mod:`certpolicy.cli._policies`)."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any, Final

from certpolicy._util import atomic_write_bytes
from certpolicy.checks import TrustStore, cert_info
from certpolicy.cli._common import (
    CONFIG_ENV,
    EXIT_OK,
    UsageError,
    _certificates_in,
    _config_path,
    _emit,
    _engine,
    _pem_blocks,
    _printable,
)
from certpolicy.engine import trust_store_file

_SHA256: Final = re.compile(r"[0-9a-f]{64}")


def _store_file(args: argparse.Namespace, command: str) -> Path:
    """The trust store file the config names (symlinks resolved, as ``trust import``
    writes through them)."""
    config = _config_path(args)
    if not config:
        raise UsageError(
            f"trust {command} needs --config (or {CONFIG_ENV}) naming the agent's config"
        )
    return Path(os.path.realpath(trust_store_file(config)))


def _certificates(count: int) -> str:
    return f"{count} certificate{'' if count == 1 else 's'}"


def _anchor(der: bytes) -> dict[str, Any]:
    """An anchor's summary."""
    info = cert_info(der)
    return {
        "subject": info["subject"],
        "sha256": info["sha256"].lower(),
        "not_before": info["not_before"].isoformat(),
        "not_after": info["not_after"].isoformat(),
    }


def _anchor_lines(anchors: list[dict[str, Any]], *, mark_others: bool) -> list[str]:
    """Two lines an anchor; with ``mark_others`` those not in the store file say so."""
    lines = []
    for anchor in anchors:
        other = mark_others and not anchor.get("in_store_file", True)
        mark = "  (not from the store file)" if other else ""
        lines.append(f"{anchor['subject']}{mark}")
        lines.append(f"    sha256 {anchor['sha256']}  not after {anchor['not_after'][:10]}")
    return lines


def _cmd_trust_list(args: argparse.Namespace) -> int:
    """``certpolicy trust list``: the anchors in the trust store file the config names;
    ``--all``: every anchor the engine trusts (the defaults or the configured files, and the
    store file), each marked with whether the store file has it."""
    config = _config_path(args)
    target = _store_file(args, "list") if config or not args.all else None
    in_file = _certificates_in(target) if target is not None and target.is_file() else []
    ders = _engine(args).trust.certificates() if args.all else in_file
    file_digests = {cert_info(der)["sha256"].lower() for der in in_file}
    anchors = []
    for der in ders:
        anchor = _anchor(der)
        if args.all:
            anchor["in_store_file"] = anchor["sha256"] in file_digests
        anchors.append(anchor)
    store = None if target is None else str(target)
    exists = target is not None and target.is_file()

    def text() -> list[str]:
        if target is None:
            head = f"{len(anchors)} anchors (no config: the defaults)"
        elif args.all:
            head = f"{len(anchors)} anchors in force; trust store file: {target}"
        elif not exists:
            head = f"no trust store file yet at {target} (trust import creates it)"
        else:
            head = f"trust store file {target}: {_certificates(len(anchors))}"
        return [head, *_anchor_lines(anchors, mark_others=target is not None)]

    _emit(args.json, {"store": store, "exists": exists, "anchors": anchors}, text)
    return EXIT_OK


def _matches(query: str, anchor: dict[str, Any]) -> bool:
    """A full SHA-256 (hex, colons allowed) matches that certificate only; anything else is
    a case-insensitive substring of the subject."""
    digest = query.replace(":", "").lower()
    if _SHA256.fullmatch(digest):
        return bool(anchor["sha256"] == digest)
    return query.lower() in str(anchor["subject"]).lower()


def _remaining(original: bytes, doomed: set[str]) -> tuple[bytes, int]:
    """The store file's bytes without the certificates whose SHA-256 is in ``doomed`` (every
    block of each: a duplicate goes too), everything else kept byte for byte; and how many
    certificates stay. A DER file (one certificate) that goes becomes empty."""
    if b"-----BEGIN" not in original:
        return (b"", 0) if _anchor(original)["sha256"] in doomed else (original, 1)
    kept: list[bytes] = []
    position = count = 0
    for match, der in _pem_blocks(original):
        if cert_info(der)["sha256"].lower() not in doomed:
            count += 1
            continue
        kept.append(original[position : match.start()])
        end = match.end()
        # The block's line ends with it.
        if original.startswith(b"\r\n", end):
            end += 2
        elif original.startswith(b"\n", end):
            end += 1
        position = end
    kept.append(original[position:])
    return b"".join(kept), count


def _cmd_trust_remove(args: argparse.Namespace) -> int:
    """``certpolicy trust remove SHA256|SUBJECT``: removes the matching certificates from
    the trust store file (atomically; the rest of the file stays byte for byte). More than
    one match needs ``--all``; none is an error."""
    target = _store_file(args, "remove")
    if not target.is_file():
        raise UsageError(f"no trust store file at {target}: nothing to remove")
    original = target.read_bytes()
    anchors = [_anchor(der) for der in _certificates_in(target)] if original.strip() else []
    matched: dict[str, dict[str, Any]] = {}
    for anchor in anchors:
        if _matches(args.certificate, anchor):
            matched.setdefault(anchor["sha256"], anchor)
    found = list(matched.values())
    if not found:
        raise UsageError(
            f"no certificate in {target} matches {args.certificate!r} "
            "(a SHA-256 or part of a subject; see trust list)",
            store=str(target),
            matched=[],
        )
    if len(found) > 1 and not args.all:
        names = "; ".join(
            f"{_printable(a['subject'])} (sha256 {a['sha256'][:16]}...)" for a in found
        )
        raise UsageError(
            f"{args.certificate!r} matches {len(found)} certificates: {names}; pass the "
            "SHA-256 of one, or --all to remove them all",
            store=str(target),
            matched=found,
        )
    content, count = _remaining(original, set(matched))
    if count == 0:
        # A file with no certificate left is no trust store (the engine would refuse to
        # load it): it goes.
        target.unlink()
    else:
        TrustStore().add_pem(content)  # what stays still loads, or nothing is written
        atomic_write_bytes(target, content)  # keeps the file's permission bits
    deleted = count == 0

    def text() -> list[str]:
        lines = [f"removed {a['subject']} (sha256 {a['sha256'][:16]}...)" for a in found]
        if deleted:
            lines.append(f"trust store: {target} deleted (no certificate left)")
        else:
            lines.append(f"trust store: {target} ({_certificates(count)})")
        lines.append("running agents keep the anchors they loaded until they restart")
        return lines

    _emit(
        args.json,
        {"store": str(target), "removed": found, "remaining": count, "deleted_file": deleted},
        text,
    )
    return EXIT_OK
