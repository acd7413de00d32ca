"""Policies and trust: ``policy list``, ``policy select``, ``trust import`` and ``sync``."""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from certpolicy._util import atomic_write_bytes
from certpolicy.checks import TrustStore, cert_info, read_keystore
from certpolicy.cli._common import (
    CONFIG_ENV,
    EXIT_FAILED,
    EXIT_OK,
    OperationFailed,
    UsageError,
    _certificates_in,
    _config_path,
    _emit,
    _engine,
    _pem,
)
from certpolicy.engine import trust_store_file
from certpolicy.errors import MalformedInputError
from certpolicy.policy import Policy, PolicySet


def _policy_lines(policy: Policy, origin: str | None = None) -> list[str]:
    """A policy as a text line (and a second one saying where it came from, when known)."""
    flags = ", ".join(f"{name} {'on' if on else 'off'}" for name, on in policy.checks.items())
    where = ", ".join([*policy.hosts, *policy.ip_ranges]) or "-"
    state = "" if policy.active else " [inactive]"
    line = f"{policy.name} ({policy.kind}, order {policy.order}){state}: {flags}; matches {where}"
    return [line, f"    from {origin}"] if origin else [line]


def _policies_json(policies: PolicySet, origins: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{**p.to_dict(), "origin": origins.get(p.name)} for p in policies.policies]


def _cmd_policy_list(args: argparse.Namespace) -> int:
    """``certpolicy policy list``: the policies in force and where each came from."""
    engine = _engine(args)
    policies, origins = engine.policies, engine.policy_origins
    problem = engine.saved_policies_problem

    def text() -> list[str]:
        lines = [line for p in policies.policies for line in _policy_lines(p, origins.get(p.name))]
        if problem:
            lines.append(f"note: saved policies ignored: {problem}")
        return lines

    _emit(
        args.json,
        {"policies": _policies_json(policies, origins), "saved_policies_problem": problem},
        text,
    )
    return EXIT_OK


def _address_of(host: str) -> str:
    """The first address ``host`` resolves to (``--resolve``)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OperationFailed(f"cannot resolve {host}: {exc}") from exc
    return str(infos[0][4][0])


def _cmd_policy_select(args: argparse.Namespace) -> int:
    """``certpolicy policy select``: the policy for a connection, chosen as ``check`` and
    ``ssl_context()`` choose it."""
    engine = _engine(args)
    ip = _address_of(args.host) if args.resolve else args.ip
    selection = engine.policies.select_connection(
        args.host, ip, args.port, trust_peer_ip=args.trust_peer_ip
    )
    origin = engine.policy_origins.get(selection.policy.name)
    _emit(
        args.json,
        {
            "policy": selection.policy.to_dict(),
            "reason": selection.reason,
            "ip": ip,
            "ip_set_aside": selection.ip_set_aside,
            "origin": origin,
        },
        lambda: [*_policy_lines(selection.policy, origin), f"why: {selection.reason}"],
    )
    return EXIT_OK


# The keystore password when neither --storepass nor --storepass-file is given.
STOREPASS_ENV = "CERTPOLICY_STOREPASS"
_KEYSTORE_MAGIC = (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce")  # JKS, JCEKS


def _is_keystore(path: str) -> bool:
    """True for a JKS/JCEKS keystore (by its magic) or a PKCS#12 file (DER: a SEQUENCE
    whose first element is INTEGER 3, the PFX version; a certificate starts with a
    SEQUENCE)."""
    try:
        with open(path, "rb") as file:
            head = file.read(8)
    except OSError:
        return False  # _certificates_in says why
    if head[:4] in _KEYSTORE_MAGIC:
        return True
    if len(head) < 2 or head[0] != 0x30:
        return False
    length_octets = head[1] & 0x7F if head[1] & 0x80 else 0
    return head[2 + length_octets : 5 + length_octets] == b"\x02\x01\x03"


def _storepass(args: argparse.Namespace) -> str | None:
    """The keystore password: --storepass, the first line of --storepass-file, or
    $CERTPOLICY_STOREPASS; None when none is given."""
    if args.storepass is not None:
        return str(args.storepass)
    if args.storepass_file is not None:
        try:
            text = Path(args.storepass_file).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read --storepass-file {args.storepass_file}: {exc}") from exc
        lines = text.splitlines()
        return lines[0] if lines else ""
    return os.environ.get(STOREPASS_ENV)


def _cmd_trust_import(args: argparse.Namespace) -> int:
    """``certpolicy trust import`` (certificates, or the trusted entries of a keystore)."""
    config = _config_path(args)
    if not config:
        raise UsageError(f"trust import needs --config (or {CONFIG_ENV}) naming the agent's config")
    target = Path(os.path.realpath(trust_store_file(config)))
    keystore: dict[str, Any] | None = None
    skipped_summary = ""
    if _is_keystore(args.file):
        contents = read_keystore(args.file, _storepass(args))
        skipped_summary = contents.skipped_summary()
        if not contents.anchors:
            raise MalformedInputError(
                f"keystore {args.file!r} ({contents.kind}) has no trusted certificate entry; "
                + (
                    f"{len(contents.skipped)} entries skipped: {skipped_summary}"
                    if contents.skipped
                    else "it is empty"
                )
            )
        new_certs = [der for _, der in contents.anchors]
        keystore = {
            "kind": contents.kind,
            "integrity_checked": contents.integrity_checked,
            "trusted_entries": len(contents.anchors),
            "skipped": [{"alias": a, "reason": r} for a, r in contents.skipped],
        }
    else:
        if args.storepass is not None or args.storepass_file is not None:
            raise UsageError(f"{args.file} is not a keystore: --storepass applies to keystores")
        new_certs = _certificates_in(args.file)
    TrustStore().add_pem(b"".join(_pem(d) for d in new_certs))  # all parse as anchors, or none
    original = target.read_bytes() if target.is_file() else b""
    existing = _certificates_in(target) if original else []
    known = {cert_info(d)["sha256"] for d in existing}
    added: list[dict[str, Any]] = []
    present: list[dict[str, Any]] = []
    appended: list[bytes] = []
    for der in new_certs:
        info = cert_info(der)
        entry = {"subject": info["subject"], "sha256": info["sha256"]}
        if info["sha256"] in known:
            present.append(entry)
            continue
        known.add(info["sha256"])
        appended.append(der)
        added.append(entry)
    if added:
        # Appended to the file as it is: its comments, other blocks and permission bits
        # stay (a new file is 0644: anchors are public).
        separator = b"" if not original or original.endswith(b"\n") else b"\n"
        content = original + separator + b"".join(_pem(d) for d in appended)
        atomic_write_bytes(target, content, mode=None if original else 0o644)
    count = len(existing) + len(appended)

    def text() -> list[str]:
        lines = []
        if keystore is not None:
            lines.append(
                f"keystore {args.file} ({keystore['kind']}): {keystore['trusted_entries']} "
                f"trusted certificate(s), {len(keystore['skipped'])} other entries skipped"
            )
            if skipped_summary:
                lines.append(f"skipped: {skipped_summary}")
            if not keystore["integrity_checked"]:
                lines.append(
                    "warning: integrity not checked (no password given): the certificates "
                    "are trusted as read"
                )
        lines += [f"added {e['subject']} (sha256 {e['sha256'][:16]}...)" for e in added]
        lines += [f"already trusted: {e['subject']}" for e in present]
        lines.append(f"trust store: {target} ({count} certificates)")
        return lines

    result = {"store": str(target), "added": added, "already_present": present}
    _emit(args.json, {**result, "keystore": keystore}, text)
    return EXIT_OK


def _cmd_sync(args: argparse.Namespace) -> int:
    """``certpolicy sync`` (``--dry-run``: show what would change, change nothing)."""
    config = _config_path(args)
    if not config:
        raise UsageError(f"sync needs --config (or {CONFIG_ENV}) naming the agent's config.xml")
    engine = _engine(args)
    before = {p.name: p for p in engine.policies.policies}
    result = engine.sync_policies(timeout=args.timeout, dry_run=args.dry_run)
    origins = result.origins or engine.policy_origins
    after = {p.name: p for p in result.policies.policies}
    changes = [
        *(f"+ {name}" for name in after if name not in before),
        *(f"- {name}" for name in before if name not in after),
        *(f"~ {name}" for name in after if name in before and after[name] != before[name]),
    ]

    def text() -> list[str]:
        verb = "would be" if result.dry_run else "are"
        lines = [f"sync {'done' if result.ok else 'not done'}: {result.reason}"]
        if result.ok:
            lines.append(f"changes: {', '.join(changes) if changes else 'none'}")
            lines.append(f"policies that {verb} in force:")
            for policy in result.policies.policies:
                lines += _policy_lines(policy, origins.get(policy.name))
        if result.saved_to is not None:
            lines.append(f"saved to {result.saved_to}")
        return lines

    _emit(
        args.json,
        {
            "ok": result.ok,
            "reason": result.reason,
            "dry_run": result.dry_run,
            "changes": changes,
            "rejected": list(result.rejected),
            "saved_to": None if result.saved_to is None else str(result.saved_to),
            "policies": _policies_json(result.policies, origins),
        },
        text,
    )
    return EXIT_OK if result.ok else EXIT_FAILED
