"""The certpolicy command line.

Exit codes: 0 every check passed, 1 a check failed (or an endpoint, responder or download
failed), 2 usage, configuration or input error. Every command takes --json (errors too are
then a JSON object on stdout); commands that use policies or trust take --config (a
config.xml or certpolicy.toml; default: $CERTPOLICY_CONFIG, else the built-in defaults).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import IO, Any, Final

from certpolicy._atomic import atomic_write_bytes
from certpolicy.engine import Engine, trust_store_file
from certpolicy.errors import CertPolicyError, ConfigError, CrlError, MalformedInputError, OcspError
from certpolicy.policy import Policy, PolicySet
from certpolicy.report import Report
from certpolicy.trust import TrustStore
from certpolicy.verify import cert_info

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# The bundled example PKI is valid from 2025-01-01 to 2045-01-01.
EXAMPLE_HOST = "leaf.example.com"
CONFIG_ENV: Final = "CERTPOLICY_CONFIG"
MAX_CHECK_WORKERS: Final = 16
# Downloads at least this large get a progress bar (on a terminal only).
PROGRESS_MIN_BYTES: Final = 256 * 1024
MAX_OCSP_RESPONSE_BYTES: Final = 1024 * 1024


class UsageError(CertPolicyError):
    """Bad command-line input (exit code 2)."""


class OperationFailed(CertPolicyError):
    """A network operation failed (exit code 1)."""


# --- input helpers ---


def _pem_certificates(data: bytes) -> list[bytes]:
    """Splits a PEM document into DER certificates (the store parses, we only split)."""
    blocks = re.findall(
        rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", data, flags=re.DOTALL
    )
    try:
        return [base64.b64decode(b"".join(block.split()), validate=True) for block in blocks]
    except ValueError as exc:
        raise MalformedInputError(f"bad base64 in a PEM certificate: {exc}") from exc


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
    text = base64.b64encode(der).decode("ascii")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return (
        "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    ).encode()


def _parse_time(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--at {text!r}: not an ISO 8601 time") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _config_path(args: argparse.Namespace) -> str | None:
    value: str | None = getattr(args, "config", None) or os.environ.get(CONFIG_ENV) or None
    return value


def _engine(args: argparse.Namespace) -> Engine:
    """The engine of ``--config`` (or the defaults), with ``--ca`` replacing its anchors."""
    path = _config_path(args)
    engine = Engine.from_config(path) if path else Engine()
    ca_files: list[str] = getattr(args, "ca", None) or []
    if ca_files:
        store = TrustStore()
        for name in ca_files:
            store.add_file(name)
        engine = Engine(engine.policies, store, engine.revocation, config=engine.config)
    return engine


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _emit(as_json: bool, data: Any, text: Callable[[], list[str]]) -> None:
    if as_json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print("\n".join(text()))


# --- reports ---


def _chain_entry(der: bytes) -> dict[str, Any]:
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
    data = report.to_dict()
    data["chain"] = [_chain_entry(der) for der in report.chain]
    data["path"] = (
        []
        if report.verified_path is None
        else [cert_info(d)["subject"] for d in report.verified_path]
    )
    return data


def _cert_line(index: int, der: bytes) -> str:
    entry = _chain_entry(der)
    if "error" in entry:
        return f"  [{index}] unreadable: {entry['error']}"
    validity = f"{entry['not_before'][:10]} .. {entry['not_after'][:10]}"
    return f"  [{index}] {entry['subject']} (valid {validity})"


def _report_lines(report: Report) -> list[str]:
    lines = [f"{'policy':10} {report.policy.name} ({report.policy.kind}): {report.reason}"]
    lines += [f"{r.name:10} {r.status:7} {r.detail}" for r in report.results]
    if report.verified_path is not None:
        lines.append("verified path:")
        lines += [_cert_line(i, der) for i, der in enumerate(report.verified_path)]
    elif report.chain:
        lines.append("presented chain (not verified):")
        lines += [_cert_line(i, der) for i, der in enumerate(report.chain)]
    if report.revocation is not None:
        lines.append("revocation sources:")
        lines += [f"  {answer.describe()}" for answer in report.revocation.answers]
    lines.append("verdict:  " + ("OK" if report.ok else "REJECTED"))
    return lines


# --- example / verify ---


def _cmd_example(args: argparse.Namespace) -> int:
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
    engine = _engine(args)
    chain = _certificates_in(args.chain)
    report = engine.check(
        chain,
        args.host,
        ip=args.ip,
        port=args.port,
        at=_parse_time(args.at),
        offline=not args.revocation,
    )
    _emit(args.json, _report_json(report), lambda: _report_lines(report))
    return EXIT_OK if report.ok else EXIT_FAILED


# --- check ---


def _check_one(engine: Engine, target: str, timeout: float) -> dict[str, Any]:
    try:
        report = engine.check_endpoint(target, timeout=timeout)
    except MalformedInputError as exc:
        return {"target": target, "ok": False, "error": str(exc), "usage": True}
    except (OSError, CertPolicyError) as exc:
        reason = str(exc) or type(exc).__name__
        return {"target": target, "ok": False, "error": f"cannot check: {reason}"}
    return {"target": target, "ok": report.ok, "report": report}


def _cmd_check(args: argparse.Namespace) -> int:
    engine = _engine(args)
    workers = max(1, min(MAX_CHECK_WORKERS, len(args.targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="certpolicy-check") as pool:
        results = list(pool.map(lambda t: _check_one(engine, t, args.timeout), args.targets))

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


# --- policy ---


def _policy_line(policy: Policy) -> str:
    flags = ", ".join(f"{name} {'on' if on else 'off'}" for name, on in policy.checks.items())
    where = ", ".join([*policy.hosts, *policy.ip_ranges]) or "-"
    state = "" if policy.active else " [inactive]"
    return f"{policy.name} ({policy.kind}, order {policy.order}){state}: {flags}; matches {where}"


def _cmd_policy_list(args: argparse.Namespace) -> int:
    policies = _engine(args).policies
    _emit(
        args.json,
        {"policies": policies.to_records()},
        lambda: [_policy_line(p) for p in policies.policies],
    )
    return EXIT_OK


def _cmd_policy_select(args: argparse.Namespace) -> int:
    selection = _engine(args).policies.explain(args.host, args.ip, args.port)
    _emit(
        args.json,
        {"policy": selection.policy.to_dict(), "reason": selection.reason},
        lambda: [_policy_line(selection.policy), f"why: {selection.reason}"],
    )
    return EXIT_OK


# --- trust ---


def _cmd_trust_import(args: argparse.Namespace) -> int:
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
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def _download(engine: Engine, url: str, limit: int, timeout: float) -> bytes:
    """GETs a URL (https through the engine's checks), streaming, at most ``limit`` bytes."""
    import urllib3

    if not url.lower().startswith(("http://", "https://")):
        raise UsageError(f"not an http(s) URL: {url!r}")
    pool = urllib3.PoolManager(ssl_context=engine.ssl_context(), retries=False)
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


def _revocation_api(module_name: str, name: str) -> Any:
    """A CRL/OCSP API object from its module (or the extension), looked up at use time."""
    import importlib

    from certpolicy import _core

    found = getattr(importlib.import_module(module_name), name, None) or getattr(_core, name, None)
    if found is None:
        raise UsageError(f"{name} is not available in this build of certpolicy")
    return found


def _load_crl(data: bytes, issuer_file: str | None) -> Any:
    crl_class = _revocation_api("certpolicy.crl", "Crl")
    issuer = _certificates_in(issuer_file)[0] if issuer_file else None
    if data.lstrip().startswith(b"-----BEGIN"):
        return crl_class.from_pem(data, issuer=issuer)
    return crl_class.from_der(data, issuer=issuer)


def _crl_summary(crl: Any, verified: bool) -> dict[str, Any]:
    return {
        "issuer": crl.issuer,
        "this_update": _iso(crl.this_update),
        "next_update": _iso(crl.next_update),
        "number": crl.number,
        "entries": len(crl),
        "signature_verified": verified,
    }


def _crl_lines(summary: dict[str, Any]) -> list[str]:
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
    crl = _load_crl(Path(args.file).read_bytes(), args.issuer)
    summary = _crl_summary(crl, args.issuer is not None)
    _emit(args.json, summary, lambda: _crl_lines(summary))
    return EXIT_OK


def _serial_of(text: str) -> int:
    candidate = Path(text)
    if candidate.is_file():
        return cert_info(_certificates_in(candidate)[0])["serial"]
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        raise UsageError(f"{text!r} is neither a serial number nor a certificate file") from None


def _cmd_crl_lookup(args: argparse.Namespace) -> int:
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
    import urllib3

    ocsp_request = _revocation_api("certpolicy.ocsp", "ocsp_request")
    ocsp_check_response = _revocation_api("certpolicy.ocsp", "ocsp_check_response")
    cert = _certificates_in(args.cert)[0]
    issuer = _certificates_in(args.issuer)[0]
    url = args.url or next(iter(cert_info(cert)["ocsp_urls"]), None)
    if not url:
        raise UsageError("the certificate names no OCSP responder: pass --url")
    nonce = os.urandom(16) if args.nonce else None
    request = ocsp_request(cert, issuer, nonce=nonce)
    engine = _engine(args)
    pool = urllib3.PoolManager(ssl_context=engine.ssl_context(), retries=False)
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


# --- sync / demo ---


def _cmd_sync(args: argparse.Namespace) -> int:
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


def _cmd_demo(args: argparse.Namespace) -> int:
    from certpolicy.demo import run_demo

    return run_demo(as_json=args.json)


# --- parser ---


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="certpolicy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log to stderr (-v info, -vv debug)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="machine-readable output")
    configured = argparse.ArgumentParser(add_help=False, parents=[output])
    configured.add_argument(
        "--config", metavar="FILE", help=f"config.xml or certpolicy.toml (default: ${CONFIG_ENV})"
    )

    def command(
        name: str,
        func: Callable[[argparse.Namespace], int],
        text: str,
        *,
        parents: list[argparse.ArgumentParser],
        group: Any = sub,
    ) -> argparse.ArgumentParser:
        cmd: argparse.ArgumentParser = group.add_parser(
            name, help=text, description=text, parents=parents
        )
        cmd.set_defaults(func=func)
        return cmd

    command("example", _cmd_example, "verify the bundled example chain (offline)", parents=[output])

    check = command(
        "check",
        _cmd_check,
        "connect to endpoints and check them (concurrently)",
        parents=[configured],
    )
    check.add_argument(
        "targets", nargs="+", metavar="URL", help="https://host[:port]/..., host[:port] or an IP"
    )
    check.add_argument(
        "--ca", action="append", metavar="FILE", help="trust only these roots (PEM/DER; repeatable)"
    )
    check.add_argument(
        "--timeout", type=float, default=10.0, help="connect/handshake timeout, seconds"
    )

    verify = command(
        "verify",
        _cmd_verify,
        "check a PEM chain file offline by the policy for a host",
        parents=[configured],
    )
    verify.add_argument("chain", help="PEM file: leaf first, then intermediates")
    verify.add_argument(
        "--host", required=True, help="hostname or IP the certificate must be valid for"
    )
    verify.add_argument("--ip", help="the address connected to (selects IP-range policies)")
    verify.add_argument("--port", type=int, default=443)
    verify.add_argument(
        "--ca", action="append", metavar="FILE", help="trust only these roots (PEM/DER; repeatable)"
    )
    verify.add_argument("--at", help="validation time, ISO 8601 (default: now)")
    verify.add_argument(
        "--revocation", action="store_true", help="also check revocation (fetches CRL/OCSP)"
    )

    policy = command(
        "policy", _cmd_policy_list, "list policies or select one for a host", parents=[]
    )
    policy_sub = policy.add_subparsers(dest="policy_command", required=True, metavar="SUBCOMMAND")
    command(
        "list",
        _cmd_policy_list,
        "list the policies in force",
        parents=[configured],
        group=policy_sub,
    )
    select = command(
        "select",
        _cmd_policy_select,
        "which policy applies to a host, and why",
        parents=[configured],
        group=policy_sub,
    )
    select.add_argument("host")
    select.add_argument("--ip", help="the address connected to")
    select.add_argument("--port", type=int)

    trust = command("trust", _cmd_trust_import, "manage the agent's trust store file", parents=[])
    trust_sub = trust.add_subparsers(dest="trust_command", required=True, metavar="SUBCOMMAND")
    trust_import = command(
        "import",
        _cmd_trust_import,
        "add certificates (PEM/DER) to the trust store file the config names",
        parents=[configured],
        group=trust_sub,
    )
    trust_import.add_argument("file")

    crl = command("crl", _cmd_crl_show, "download, show and query CRLs", parents=[])
    crl_sub = crl.add_subparsers(dest="crl_command", required=True, metavar="SUBCOMMAND")
    fetch = command(
        "fetch",
        _cmd_crl_fetch,
        "download a CRL (progress bar on a terminal)",
        parents=[configured],
        group=crl_sub,
    )
    fetch.add_argument("url")
    fetch.add_argument("-o", "--output", metavar="FILE", help="save the CRL there")
    fetch.add_argument("--issuer", metavar="CERT", help="verify the signature with this issuer")
    fetch.add_argument(
        "--max-bytes", type=int, help="size limit (default: the config's max_crl_bytes)"
    )
    fetch.add_argument("--timeout", type=float, default=30.0)
    show = command(
        "show", _cmd_crl_show, "summarise a CRL file", parents=[configured], group=crl_sub
    )
    show.add_argument("file")
    show.add_argument("--issuer", metavar="CERT", help="verify the signature with this issuer")
    lookup = command(
        "lookup",
        _cmd_crl_lookup,
        "is a serial (or a certificate) revoked? exit 1 if so",
        parents=[configured],
        group=crl_sub,
    )
    lookup.add_argument("file", help="the CRL (DER or PEM)")
    lookup.add_argument("serial", help="serial number (decimal or 0x-hex) or a certificate file")
    lookup.add_argument("--issuer", metavar="CERT", help="verify the signature with this issuer")

    ocsp = command(
        "ocsp",
        _cmd_ocsp,
        "ask a certificate's OCSP responder; exit 1 unless good",
        parents=[configured],
    )
    ocsp.add_argument("cert")
    ocsp.add_argument("issuer")
    ocsp.add_argument("--url", help="responder URL (default: from the certificate)")
    ocsp.add_argument("--nonce", action="store_true", help="send a nonce and require its echo")
    ocsp.add_argument("--timeout", type=float, default=10.0)

    sync = command(
        "sync", _cmd_sync, "fetch the policies from the instance (config.xml)", parents=[configured]
    )
    sync.add_argument("--timeout", type=float, default=10.0)

    command(
        "demo", _cmd_demo, "run the engine against local demo servers (offline)", parents=[output]
    )
    return parser


def _configure_logging(verbosity: int) -> None:
    """Reports carry the reasons; the engine's WARNING lines go to stderr only with -v."""
    logger = logging.getLogger("certpolicy")
    if verbosity <= 0:
        if not logging.getLogger().handlers and not logger.handlers:
            logger.addHandler(logging.NullHandler())  # no "last resort" printing
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        code: int = args.func(args)
    except BrokenPipeError:
        # The reader went away (``certpolicy ... | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except OperationFailed as exc:
        return _fail(args, EXIT_FAILED, str(exc))
    except (CertPolicyError, OSError, ValueError) as exc:
        kind = "config error" if isinstance(exc, ConfigError) else "error"
        return _fail(args, EXIT_USAGE, f"{kind}: {exc}")
    return code


def _fail(args: argparse.Namespace, code: int, message: str) -> int:
    print(f"certpolicy: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": message, "exit_code": code}, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
