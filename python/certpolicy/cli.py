"""The ``certpolicy`` command line.

Exit codes: 0 every check passed, 1 a check failed, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from certpolicy.errors import CertificateCheckError, CertPolicyError
from certpolicy.trust import TrustStore
from certpolicy.verify import cert_info, verify_chain, verify_hostname

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# The bundled example PKI is valid from 2025-01-01 to 2045-01-01.
EXAMPLE_HOST = "leaf.example.com"


def _pem_certificates(data: bytes) -> list[bytes]:
    """Splits a PEM document into DER certificates (the store parses, we only split)."""
    import base64
    import re

    blocks = re.findall(
        rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", data, flags=re.DOTALL
    )
    try:
        return [base64.b64decode(b"".join(block.split()), validate=True) for block in blocks]
    except ValueError as exc:
        raise CertPolicyError(f"bad base64 in a PEM certificate: {exc}") from exc


def _verify(
    chain_pem: bytes, store: TrustStore, host: str | None, at: dt.datetime | None
) -> dict[str, Any]:
    chain = _pem_certificates(chain_pem)
    if not chain:
        raise CertPolicyError("no PEM CERTIFICATE block in the chain file")
    result: dict[str, Any] = {"host": host, "checks": {}, "ok": True}
    try:
        path = verify_chain(chain, store, at=at)
        result["checks"]["chain"] = {"status": "passed", "detail": f"{len(path)} certificates"}
        result["path"] = [cert_info(der)["subject"] for der in path]
    except CertificateCheckError as exc:
        result["checks"]["chain"] = {"status": "failed", "detail": str(exc)}
        result["ok"] = False
    if host is not None:
        try:
            verify_hostname(chain[0], host)
            result["checks"]["hostname"] = {"status": "passed", "detail": host}
        except CertificateCheckError as exc:
            result["checks"]["hostname"] = {"status": "failed", "detail": str(exc)}
            result["ok"] = False
    return result


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for name, check in result["checks"].items():
        print(f"{name:9} {check['status']:7} {check['detail']}")
    for depth, subject in enumerate(result.get("path", [])):
        print(f"  [{depth}] {subject}")
    print("verdict:  " + ("OK" if result["ok"] else "REJECTED"))


def _cmd_example(args: argparse.Namespace) -> int:
    data = resources.files("certpolicy") / "data"
    store = TrustStore()
    store.add_pem((data / "example_root.pem").read_bytes())
    at = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    if not args.json:
        print(f"certpolicy example: bundled chain for {EXAMPLE_HOST}, checked at {at:%Y-%m-%d}")
    result = _verify((data / "example_chain.pem").read_bytes(), store, EXAMPLE_HOST, at)
    _print_result(result, args.json)
    return EXIT_OK if result["ok"] else EXIT_FAILED


def _cmd_verify(args: argparse.Namespace) -> int:
    store = TrustStore()
    if args.ca:
        for path in args.ca:
            store.add_file(path)
    else:
        store = TrustStore.default()
    at = dt.datetime.fromisoformat(args.at) if args.at else None
    result = _verify(Path(args.chain).read_bytes(), store, args.host, at)
    _print_result(result, args.json)
    return EXIT_OK if result["ok"] else EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="certpolicy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    example = sub.add_parser("example", help="verify the bundled example chain (offline)")
    example.add_argument("--json", action="store_true", help="machine-readable output")
    example.set_defaults(func=_cmd_example)
    verify = sub.add_parser("verify", help="verify a PEM chain file offline")
    verify.add_argument("chain", help="PEM file: leaf first, then intermediates")
    verify.add_argument("--host", help="hostname or IP the certificate must be valid for")
    verify.add_argument("--ca", action="append", help="PEM/DER roots (default: certifi)")
    verify.add_argument("--at", help="validation time, ISO 8601 (default: now)")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(func=_cmd_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (CertPolicyError, OSError, ValueError) as exc:
        print(f"certpolicy: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
