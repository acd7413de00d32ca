"""Policies and trust: ``policy list``, ``policy select``, ``trust import`` and ``sync``."""

from __future__ import annotations

import argparse
from typing import Any

from certpolicy._util import atomic_write_bytes
from certpolicy.checks import TrustStore, cert_info
from certpolicy.cli._common import (
    CONFIG_ENV,
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    _certificates_in,
    _config_path,
    _emit,
    _engine,
    _pem,
)
from certpolicy.engine import Engine, trust_store_file
from certpolicy.policy import Policy


def _policy_line(policy: Policy) -> str:
    """A policy as one text line."""
    flags = ", ".join(f"{name} {'on' if on else 'off'}" for name, on in policy.checks.items())
    where = ", ".join([*policy.hosts, *policy.ip_ranges]) or "-"
    state = "" if policy.active else " [inactive]"
    return f"{policy.name} ({policy.kind}, order {policy.order}){state}: {flags}; matches {where}"


def _cmd_policy_list(args: argparse.Namespace) -> int:
    """``certpolicy policy list``."""
    policies = _engine(args).policies
    _emit(
        args.json,
        {"policies": policies.to_records()},
        lambda: [_policy_line(p) for p in policies.policies],
    )
    return EXIT_OK


def _cmd_policy_select(args: argparse.Namespace) -> int:
    """``certpolicy policy select``."""
    selection = _engine(args).policies.explain(args.host, args.ip, args.port)
    _emit(
        args.json,
        {"policy": selection.policy.to_dict(), "reason": selection.reason},
        lambda: [_policy_line(selection.policy), f"why: {selection.reason}"],
    )
    return EXIT_OK


def _cmd_trust_import(args: argparse.Namespace) -> int:
    """``certpolicy trust import``."""
    config = _config_path(args)
    if not config:
        raise UsageError(f"trust import needs --config (or {CONFIG_ENV}) naming the agent's config")
    target = trust_store_file(config)
    new_certs = _certificates_in(args.file)
    TrustStore().add_pem(b"".join(_pem(d) for d in new_certs))  # all parse as anchors, or none
    existing = _certificates_in(target) if target.is_file() else []
    known = {cert_info(d)["sha256"] for d in existing}
    added: list[dict[str, Any]] = []
    present: list[dict[str, Any]] = []
    for der in new_certs:
        info = cert_info(der)
        entry = {"subject": info["subject"], "sha256": info["sha256"]}
        if info["sha256"] in known:
            present.append(entry)
            continue
        known.add(info["sha256"])
        existing.append(der)
        added.append(entry)
    if added:
        atomic_write_bytes(target, b"".join(_pem(d) for d in existing), mode=0o644)

    def text() -> list[str]:
        lines = [f"added {e['subject']} (sha256 {e['sha256'][:16]}...)" for e in added]
        lines += [f"already trusted: {e['subject']}" for e in present]
        lines.append(f"trust store: {target} ({len(existing)} certificates)")
        return lines

    _emit(args.json, {"store": str(target), "added": added, "already_present": present}, text)
    return EXIT_OK


def _cmd_sync(args: argparse.Namespace) -> int:
    """``certpolicy sync``."""
    config = _config_path(args)
    if not config:
        raise UsageError(f"sync needs --config (or {CONFIG_ENV}) naming the agent's config.xml")
    engine = Engine.from_config(config)
    result = engine.sync_policies(timeout=args.timeout)
    _emit(
        args.json,
        {"ok": result.ok, "reason": result.reason, "policies": result.policies.to_records()},
        lambda: [
            f"sync {'done' if result.ok else 'not done'}: {result.reason}",
            *[_policy_line(p) for p in result.policies.policies],
        ],
    )
    return EXIT_OK if result.ok else EXIT_FAILED
