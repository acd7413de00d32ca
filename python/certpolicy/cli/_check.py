"""Chain checks: ``example``, ``verify``, ``check`` and ``demo``."""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

from certpolicy.checks import TrustStore
from certpolicy.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    UsageError,
    _certificates_in,
    _emit,
    _engine,
    _parse_time,
    _pem_certificates,
    _report_json,
    _report_lines,
)
from certpolicy.engine import Engine
from certpolicy.errors import CertificateCheckError, CertPolicyError
from certpolicy.policy import Policy, PolicySet
from certpolicy.report import Report
from certpolicy.tls import parse_endpoint

# The bundled example PKI is valid from 2025-01-01 to 2045-01-01.
EXAMPLE_HOST = "leaf.example.com"
MAX_CHECK_WORKERS: Final = 16


def _no_config(args: argparse.Namespace, command: str) -> None:
    """``example`` and ``demo`` bring their own settings: a --config or --defaults given to
    them would be silently ignored, so it is refused."""
    if getattr(args, "config", None) or getattr(args, "defaults", None):
        raise UsageError(f"{command} uses its own settings: --config and --defaults do not apply")


def _cmd_example(args: argparse.Namespace) -> int:
    """``certpolicy example``."""
    _no_config(args, "example")
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


@dataclass(frozen=True, slots=True)
class _Target:
    """One endpoint of ``check``: as given, where to connect, and the name to check."""

    text: str
    host: str
    port: int
    address: str | None  # --resolve: connect here instead of resolving ``host``
    server_name: str  # SNI and the hostname check: --servername, else ``host``


def _resolve_entry(text: str) -> tuple[str, int, str]:
    """``HOST:PORT:ADDR`` (curl's ``--resolve``; ADDR an IP address, IPv6 in brackets or
    not) as (host, port, address)."""
    bad = f"--resolve {text!r}: expected HOST:PORT:ADDR (e.g. example.com:443:127.0.0.1)"
    if text.startswith("["):  # an IPv6 literal host, as curl allows
        host, sep, rest = text[1:].partition("]:")
    else:
        host, sep, rest = text.partition(":")
    port_text, sep2, address = rest.partition(":")
    if not (sep and sep2 and host and port_text and address):
        raise UsageError(bad)
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(f"{bad}: {port_text!r} is not a port") from None
    if not 0 < port <= 65535:
        raise UsageError(f"{bad}: {port} is not a port (1 to 65535)")
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise UsageError(f"{bad}: {address!r} is not an IP address") from None
    return _name_key(host), port, address


def _name_key(host: str) -> str:
    """A host name as --resolve compares it: lowercase, one trailing dot dropped."""
    return host.lower().removesuffix(".")


def _require_host_name(name: str, where: str) -> None:
    """A name the resolver and SNI can carry (IDNA), or an IP literal; else a usage error
    before anything is connected."""
    try:
        ipaddress.ip_address(name)
        return
    except ValueError:
        pass
    try:
        name.encode("idna")
    except UnicodeError as exc:
        raise UsageError(f"{where}: {name!r} is not a host name ({exc})") from None


def _targets(args: argparse.Namespace) -> list[_Target]:
    """Every target parsed, with its --resolve address and --servername; any bad target or
    --resolve entry is a usage error before anything is connected."""
    resolved: dict[tuple[str, int], str] = {}
    for text in args.resolve or []:
        name, number, ip = _resolve_entry(text)
        if resolved.get((name, number), ip) != ip:
            raise UsageError(f"--resolve: two addresses for {name}:{number}")
        resolved[(name, number)] = ip
    server_name: str | None = args.servername
    if server_name is not None:
        if not server_name.strip():
            raise UsageError("--servername: empty name")
        _require_host_name(server_name, "--servername")
    targets = []
    used = set()
    for text in args.targets:
        host, port = parse_endpoint(text)
        _require_host_name(host, text)
        key = (_name_key(host), port)
        address = resolved.get(key)
        if address is not None:
            used.add(key)
        targets.append(_Target(text, host, port, address, server_name or host))
    unused = [f"{name}:{number}" for name, number in resolved if (name, number) not in used]
    if unused:
        raise UsageError(f"--resolve for {', '.join(unused)} matches no target (HOST:PORT)")
    return targets


def _unreachable_reason(exc: OSError, target: _Target, timeout: float) -> str:
    """Why no certificate could be had, in words."""
    where = f"{target.address or target.host}:{target.port}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {target.host}: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        return f"{where}: timed out after {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where}: connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"{where}: TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionError):
        return f"{where}: the connection was closed during the TLS handshake ({exc})"
    return f"{where}: {exc.strerror or exc or type(exc).__name__}"


def _check_one(engine: Engine, target: _Target, args: argparse.Namespace) -> dict[str, Any]:
    """Checks one endpoint: accepted or rejected with a report, rejected without one (a
    failure before the engine could report), or unreachable (nothing to judge)."""
    entry: dict[str, Any] = {
        "target": target.text,
        "host": target.host,
        "port": target.port,
        "address": target.address,
        "server_name": target.server_name,
    }
    try:
        report = engine.check_endpoint(
            target.host,
            target.port,
            timeout=args.timeout,
            trust_peer_ip=args.trust_peer_ip,
            connect_to=target.address,
            server_name=target.server_name,
        )
    except CertificateCheckError as exc:  # an ssl error too: before OSError
        return {**entry, "status": "rejected", "ok": False, "error": str(exc)}
    except OSError as exc:
        reason = _unreachable_reason(exc, target, args.timeout)
        return {**entry, "status": "unreachable", "ok": False, "error": reason}
    except ValueError as exc:  # e.g. a name IDNA cannot encode: the input is at fault
        reason = str(exc) or type(exc).__name__
        return {**entry, "status": "invalid", "ok": False, "error": f"bad target: {reason}"}
    except CertPolicyError as exc:
        reason = str(exc) or type(exc).__name__
        return {**entry, "status": "rejected", "ok": False, "error": f"cannot check: {reason}"}
    status = "accepted" if report.ok else "rejected"
    return {**entry, "status": status, "ok": report.ok, "report": report}


def _check_exit_code(results: list[dict[str, Any]]) -> int:
    """2 if a target was invalid (found only when connecting, e.g. a name IDNA refuses),
    else 1 if any endpoint was rejected, else 3 if any was unreachable, else 0: a rejection
    is a finding about a certificate; an unreachable endpoint is only the lack of one."""
    statuses = {item["status"] for item in results}
    if "invalid" in statuses:
        return EXIT_USAGE
    if "rejected" in statuses:
        return EXIT_FAILED
    if "unreachable" in statuses:
        return EXIT_UNREACHABLE
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    """``certpolicy check``."""
    targets = _targets(args)
    engine = _engine(args)
    workers = max(1, min(MAX_CHECK_WORKERS, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="certpolicy-check") as pool:
        results = list(pool.map(lambda t: _check_one(engine, t, args), targets))
    code = _check_exit_code(results)

    def as_json(item: dict[str, Any]) -> dict[str, Any]:
        report = item.get("report")
        out = {k: v for k, v in item.items() if k != "report"}
        if isinstance(report, Report):
            out["report"] = _report_json(report)
        return out

    def text() -> list[str]:
        lines: list[str] = []
        for item in results:
            report = item.get("report")
            lines.append(f"== {item['target']}")
            if item["address"] is not None or item["server_name"] != item["host"]:
                address = item["address"] or item["host"]
                lines.append(f"connected to {address}:{item['port']} as {item['server_name']}")
            if isinstance(report, Report):
                lines += _report_lines(report)
            elif item["status"] == "unreachable":
                lines.append(f"unreachable: {item['error']}")
                lines.append("verdict:  UNREACHABLE (no certificate to judge)")
            elif item["status"] == "invalid":
                lines.append(f"error: {item['error']}")
                lines.append("verdict:  NOT CHECKED (bad target)")
            else:
                lines.append(f"error: {item['error']}")
                lines.append("verdict:  REJECTED")
        return lines

    ok = code == EXIT_OK
    _emit(
        args.json,
        {"ok": ok, "exit_code": code, "endpoints": [as_json(r) for r in results]},
        text,
    )
    return code


def _cmd_demo(args: argparse.Namespace) -> int:
    """``certpolicy demo``."""
    _no_config(args, "demo")
    from certpolicy.cli._demo import run_demo

    return run_demo(as_json=args.json)
