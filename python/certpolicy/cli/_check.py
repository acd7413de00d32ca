"""Chain checks: ``example``, ``verify``, ``check`` and ``demo``."""

from __future__ import annotations

import argparse
import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, Final

from certpolicy.checks import TrustStore
from certpolicy.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    _certificates_in,
    _emit,
    _engine,
    _parse_time,
    _pem_certificates,
    _report_json,
    _report_lines,
)
from certpolicy.engine import Engine
from certpolicy.errors import CertPolicyError, MalformedInputError
from certpolicy.policy import Policy, PolicySet
from certpolicy.report import Report

# The bundled example PKI is valid from 2025-01-01 to 2045-01-01.
EXAMPLE_HOST = "leaf.example.com"
MAX_CHECK_WORKERS: Final = 16


def _cmd_example(args: argparse.Namespace) -> int:
    """``certpolicy example``."""
    data = resources.files("certpolicy") / "data"
    store = TrustStore()
    store.add_pem((data / "example_root.pem").read_bytes())
    at = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    policies = PolicySet([Policy("Example", "internet", check_revocation=False)])
    engine = Engine(policies, store)
    chain = _pem_certificates((data / "example_chain.pem").read_bytes())
    report = engine.check(chain, EXAMPLE_HOST, at=at)
    header = f"certpolicy example: bundled chain for {EXAMPLE_HOST}, checked at {at:%Y-%m-%d}"
    _emit(args.json, _report_json(report), lambda: [header, *_report_lines(report)])
    return EXIT_OK if report.ok else EXIT_FAILED


def _cmd_verify(args: argparse.Namespace) -> int:
    """``certpolicy verify``."""
    engine = _engine(args)
    chain = _certificates_in(args.chain)
    report = engine.check(
        chain,
        args.host,
        ip=args.ip,
        port=args.port,
        at=_parse_time(args.at),
        offline=not args.revocation,
        trust_peer_ip=args.trust_peer_ip,
    )
    _emit(args.json, _report_json(report), lambda: _report_lines(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def _check_one(engine: Engine, target: str, args: argparse.Namespace) -> dict[str, Any]:
    """Checks one endpoint; failures become an ``error`` entry."""
    try:
        report = engine.check_endpoint(
            target, timeout=args.timeout, trust_peer_ip=args.trust_peer_ip
        )
    except MalformedInputError as exc:
        return {"target": target, "ok": False, "error": str(exc), "usage": True}
    except (OSError, CertPolicyError) as exc:
        reason = str(exc) or type(exc).__name__
        return {"target": target, "ok": False, "error": f"cannot check: {reason}"}
    return {"target": target, "ok": report.ok, "report": report}


def _cmd_check(args: argparse.Namespace) -> int:
    """``certpolicy check``."""
    engine = _engine(args)
    workers = max(1, min(MAX_CHECK_WORKERS, len(args.targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="certpolicy-check") as pool:
        results = list(pool.map(lambda t: _check_one(engine, t, args), args.targets))

    def as_json(item: dict[str, Any]) -> dict[str, Any]:
        report = item.get("report")
        out = {k: v for k, v in item.items() if k not in ("report", "usage")}
        if isinstance(report, Report):
            out["report"] = _report_json(report)
        return out

    def text() -> list[str]:
        lines: list[str] = []
        for item in results:
            report = item.get("report")
            lines.append(f"== {item['target']}")
            if isinstance(report, Report):
                lines += _report_lines(report)
            else:
                lines.append(f"error: {item['error']}")
                lines.append("verdict:  REJECTED")
        return lines

    ok = all(item["ok"] for item in results)
    _emit(args.json, {"ok": ok, "endpoints": [as_json(r) for r in results]}, text)
    if any(item.get("usage") for item in results):
        return EXIT_USAGE
    return EXIT_OK if ok else EXIT_FAILED


def _cmd_demo(args: argparse.Namespace) -> int:
    """``certpolicy demo``."""
    from certpolicy.cli._demo import run_demo

    return run_demo(as_json=args.json)
