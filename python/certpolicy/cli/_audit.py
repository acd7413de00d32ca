"""``certpolicy audit FILE``: check every endpoint of a file concurrently and report what
passes, what is rejected and what an audit-mode policy would reject.

The file has one endpoint a line (``host[:port]``, ``[v6]:port``, an IP literal or an
``https://`` URL; port 443 by default); blank lines and ``#`` comments (a whole line, or
after whitespace) are ignored. A bad line is a usage error naming every bad line (exit 2,
nothing is contacted): an audit that skipped a mistyped endpoint would report on a list
that is not the one given. The same endpoint twice is checked once.

Every endpoint's report is collected, whatever the policy's mode: the point of an audit is
to learn what would fail. Verdicts: ``accepted``, ``rejected`` (a check failed under an
enforce-mode policy), ``would_reject`` (a check failed under an audit-mode policy: the
connection went through) and ``unreachable`` (no certificate to judge). Exit codes: 0 all
accepted, 1 some endpoint failed a check (rejected or would_reject: finding them is the
command's job), 3 some endpoint unreachable and none failed, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from certpolicy._util import atomic_write_bytes
from certpolicy.cli._audit_html import render_html
from certpolicy.cli._check import _check_one, _Target
from certpolicy.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    _config_path,
    _engine,
    _report_json,
    _text_lines,
)
from certpolicy.engine import Engine
from certpolicy.errors import MalformedInputError
from certpolicy.policy import PolicySet
from certpolicy.report import Report
from certpolicy.tls import parse_endpoint

__all__ = [
    "DEFAULT_CONCURRENCY",
    "MAX_CONCURRENCY",
    "Target",
    "add_audit_command",
    "read_targets",
]

EXIT_UNREACHABLE: Final = 3
DEFAULT_CONCURRENCY: Final = 16
MAX_CONCURRENCY: Final = 256
DEFAULT_TIMEOUT: Final = 10.0
MAX_TIMEOUT: Final = 3600.0
# Input bounds: an endpoints file is a list an administrator keeps, not a data set.
MAX_FILE_BYTES: Final = 16 * 1024 * 1024
MAX_ENDPOINTS: Final = 100_000
MAX_LINE_CHARS: Final = 2048
# At most this many bad lines are named in the error (then "and N more").
MAX_BAD_LINES_SHOWN: Final = 20
STDOUT: Final = "-"


@dataclass(frozen=True, slots=True)
class Target:
    """One endpoint of the file: where it was (1-based line) and what it names."""

    line: int
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        """``host:port``, with an IPv6 address in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _host_ok(host: str) -> bool:
    """An IP literal, or a name made of letters, digits, ``.``, ``-``, ``_`` (and non-ASCII
    letters) that IDNA can encode: nothing a resolver should be asked about otherwise."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    if not all(ch.isalnum() or ch in ".-_" for ch in host) or host.startswith((".", "-")):
        return False
    try:
        host.encode("idna")  # what the socket does with the name: refused here, not later
    except UnicodeError:
        return False
    return True


def _parse_line(text: str) -> tuple[str, int] | str | None:
    """(host, port), or None for a blank/comment line, or the reason the line is bad."""
    if len(text) > MAX_LINE_CHARS:
        return f"longer than {MAX_LINE_CHARS} characters"
    words = text.split()
    for index, word in enumerate(words):
        if word.startswith("#"):
            words = words[:index]
            break
    if not words:
        return None
    if len(words) > 1:
        return f"one endpoint a line, found {len(words)}: {' '.join(words)!r}"
    word = words[0]
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in word):
        return f"control character in {word!r}"
    try:
        host, port = parse_endpoint(word, 443)
    except MalformedInputError as exc:
        return str(exc)
    if not 1 <= port <= 65535:
        return f"{word!r}: port {port} is not 1 to 65535"
    if not host or not _host_ok(host):
        return f"{word!r}: {host!r} is not a host name or IP address"
    try:
        host = ipaddress.ip_address(host).compressed
    except ValueError:
        host = host.lower()
    return host, port


def read_targets(path: str) -> tuple[list[Target], int]:
    """The endpoints of ``path`` (``-``: standard input) in file order, and how many
    duplicates were dropped. Raises :class:`UsageError` naming every bad line."""
    where = "<stdin>" if path == STDOUT else path
    try:
        if path == STDOUT:
            raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the endpoints file {where}: {exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise UsageError(f"{where}: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where}: not UTF-8 text ({exc})") from None
    targets: list[Target] = []
    seen: set[tuple[str, int]] = set()
    duplicates = 0
    bad: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        parsed = _parse_line(line.rstrip("\r"))
        if parsed is None:
            continue
        if isinstance(parsed, str):
            bad.append(f"{where}:{number}: {parsed}")
            continue
        if parsed in seen:
            duplicates += 1
            continue
        seen.add(parsed)
        targets.append(Target(number, *parsed))
        if len(targets) > MAX_ENDPOINTS:
            raise UsageError(f"{where}: more than {MAX_ENDPOINTS} endpoints")
    if bad:
        shown = bad[:MAX_BAD_LINES_SHOWN]
        more = len(bad) - len(shown)
        tail = f"\n(and {more} more)" if more else ""
        raise UsageError(
            f"{len(bad)} bad line(s) in the endpoints file (nothing was checked):\n"
            + "\n".join(shown)
            + tail
        )
    if not targets:
        raise UsageError(f"{where}: no endpoint (one host[:port] a line)")
    return targets, duplicates


# --- argument types ---


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"{value} is not 1 to {MAX_CONCURRENCY}")
    return value


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is not more than 0 and at most {MAX_TIMEOUT:g}")
    return value


def _without_json(parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``parent``'s options but a ``--json`` flag (audit's ``--json`` takes a file). The
    actions are shared, not changed: the other commands keep their ``--json``."""
    copy = argparse.ArgumentParser(add_help=False)
    for action in parent._actions:
        if "--json" in action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        copy._add_action(action)
    return copy


def add_audit_command(sub: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Adds ``audit`` to the subcommands ``sub``. ``parents`` bring --config, --defaults
    (and any global options); a ``--json`` flag among them gives way to ``--json OUT``."""
    text = "check every endpoint of a file concurrently; summary, --json and --html reports"
    cmd: argparse.ArgumentParser = sub.add_parser(
        "audit",
        help=text,
        description=text + ". Exit codes: 0 all accepted, 1 an endpoint failed a check "
        "(rejected, or would be under an audit-mode policy), 3 an endpoint unreachable "
        "(and none failed), 2 usage or input error.",
        parents=[_without_json(parent) for parent in parents],
    )
    cmd.set_defaults(func=_cmd_audit)
    cmd.add_argument(
        "file",
        metavar="FILE",
        help="one host[:port], [v6]:port, IP or https URL a line; # comments; - for stdin",
    )
    cmd.add_argument(
        "--policies",
        metavar="FILE",
        help="check against this policy set (TOML/JSON policy file) instead of the config's: "
        "try a change before rolling it out",
    )
    cmd.add_argument(
        "--json",
        metavar="OUT",
        # SUPPRESS: a global --json before the command (True) is kept, meaning stdout.
        default=argparse.SUPPRESS,
        help="write the JSON report to OUT (- for stdout, then without the text summary; "
        "a --json before the command means the same)",
    )
    cmd.add_argument("--html", metavar="OUT", help="write the self-contained HTML report to OUT")
    cmd.add_argument(
        "--concurrency",
        type=_concurrency,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"endpoints checked at once (1 to {MAX_CONCURRENCY}; default {DEFAULT_CONCURRENCY})",
    )
    cmd.add_argument(
        "--timeout",
        type=_timeout,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="connect/handshake timeout per endpoint, seconds",
    )
    cmd.add_argument(
        "--ca", action="append", metavar="FILE", help="trust only these roots (PEM/DER; repeatable)"
    )
    if "--trust-peer-ip" not in cmd._option_string_actions:
        cmd.add_argument(
            "--trust-peer-ip",
            action="store_true",
            help="let the peer address select a weaker (e.g. intranet) policy than the host name "
            "alone: only for direct connections, never through a proxy",
        )
    return cmd


# --- the run ---


class _Progress:
    """``auditing [=====     ] 12/40`` on a terminal (redrawn at most every 0.1 s); nothing
    when the stream is not a terminal."""

    WIDTH: Final = 30

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total, self.stream = total, stream
        self.done = 0
        self.enabled = stream.isatty()
        self._last = 0.0

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        filled = "=" * (self.WIDTH * self.done // self.total)
        self.stream.write(f"\rauditing [{filled:<{self.WIDTH}}] {self.done}/{self.total}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


def _verdict(report: Report) -> str:
    if all(result.status != "failed" for result in report.results):
        return "accepted"
    return "rejected" if report.enforced else "would_reject"


def _check(engine: Engine, target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """One endpoint through ``certpolicy check``'s machinery (the library's check_endpoint,
    its classification of failures and its words for an unreachable endpoint)."""
    plain = _Target(target.endpoint, target.host, target.port, None, target.host)
    return _check_one(engine, plain, args)


def _entry(target: Target, item: dict[str, Any]) -> dict[str, Any]:
    """One endpoint of the JSON report, from what ``_check_one`` returned: a report (the
    verdict is ours: audit-mode findings are ``would_reject``), or no report: unreachable,
    or rejected before the engine could report (e.g. a name IDNA refuses)."""
    entry: dict[str, Any] = {"endpoint": target.endpoint, "line": target.line}
    report = item.get("report")
    if isinstance(report, Report):
        return {**entry, "verdict": _verdict(report), "report": _report_json(report), "error": None}
    # "invalid" (a name only the connection found bad; the file check refuses those first):
    # no certificate to judge either.
    verdict = "rejected" if item.get("status") == "rejected" else "unreachable"
    error = str(item.get("error") or "cannot check")
    return {**entry, "verdict": verdict, "report": None, "error": error}


def _run(
    engine: Engine, targets: list[Target], args: argparse.Namespace, progress: _Progress
) -> list[dict[str, Any]]:
    """Checks every target, at most ``args.concurrency`` at once; entries in file order."""
    entries: list[dict[str, Any] | None] = [None] * len(targets)
    workers = min(args.concurrency, len(targets))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="certpolicy-audit")
    try:
        futures: dict[Future[dict[str, Any]], int] = {
            pool.submit(_check, engine, target, args): index for index, target in enumerate(targets)
        }
        for future in as_completed(futures):
            index = futures[future]
            entries[index] = _entry(targets[index], future.result())
            progress.advance()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        progress.finish()
    pool.shutdown(wait=True)
    return [entry for entry in entries if entry is not None]


def _summary(entries: list[dict[str, Any]], duplicates: int) -> dict[str, Any]:
    verdicts = Counter(entry["verdict"] for entry in entries)
    by_code: Counter[str] = Counter()
    by_policy: dict[str, dict[str, Any]] = {}
    for entry in entries:
        report = entry["report"]
        if report is None:
            continue
        row = by_policy.setdefault(
            report["policy"],
            {
                "kind": report.get("policy_kind"),
                "mode": report.get("mode"),
                "endpoints": 0,
                "accepted": 0,
                "rejected": 0,
                "would_reject": 0,
            },
        )
        row["endpoints"] += 1
        row[entry["verdict"]] += 1
        for check in report["checks"].values():
            if check.get("status") == "failed":
                by_code[str(check.get("code") or "unknown")] += 1
    return {
        "endpoints": len(entries),
        "accepted": verdicts["accepted"],
        "rejected": verdicts["rejected"],
        "audit_findings": verdicts["would_reject"],
        "unreachable": verdicts["unreachable"],
        "duplicates_skipped": duplicates,
        "by_code": dict(sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_policy": dict(sorted(by_policy.items())),
    }


def _text(data: dict[str, Any]) -> list[str]:
    """The human summary, one line each (printed by _text_lines: what servers sent is
    escaped)."""
    summary = data["summary"]
    lines = [
        f"certpolicy audit: {summary['endpoints']} endpoint(s), "
        f"policies from {data['policies_source']}",
        "verdicts:",
        f"  accepted      {summary['accepted']}",
        f"  rejected      {summary['rejected']}",
        f"  would reject  {summary['audit_findings']}  (audit-mode policies: let through)",
        f"  unreachable   {summary['unreachable']}",
    ]
    if summary["duplicates_skipped"]:
        lines.append(f"  ({summary['duplicates_skipped']} duplicate line(s) checked once)")
    if summary["by_code"]:
        lines.append("failures by check code:")
        width = max(len(code) for code in summary["by_code"])
        lines += [f"  {code:{width}}  {n}" for code, n in summary["by_code"].items()]
    if summary["by_policy"]:
        lines.append("by policy:")
        for name, row in summary["by_policy"].items():
            lines.append(
                f"  {name} ({row['kind']}, {row['mode']}): {row['endpoints']} endpoint(s), "
                f"{row['accepted']} accepted, {row['rejected']} rejected, "
                f"{row['would_reject']} would reject"
            )
    problems = [entry for entry in data["endpoints"] if entry["verdict"] != "accepted"]
    if problems:
        lines.append("not accepted:")
        for entry in problems:
            label = entry["verdict"].replace("_", " ").upper()
            report = entry["report"]
            if report is None:
                lines.append(f"  {entry['endpoint']}  {label}: {entry['error']}")
                continue
            failed = [
                (name, check)
                for name, check in report["checks"].items()
                if check.get("status") == "failed"
            ]
            codes = ", ".join(str(check.get("code") or name) for name, check in failed)
            lines.append(f'  {entry["endpoint"]}  {label} (policy "{report["policy"]}"): {codes}')
            lines += [f"      {name}: {check.get('detail', '')}" for name, check in failed]
    return lines


def _exit_code(summary: dict[str, Any]) -> int:
    if summary["rejected"] or summary["audit_findings"]:
        return EXIT_FAILED
    if summary["unreachable"]:
        return EXIT_UNREACHABLE
    return EXIT_OK


def _check_output(option: str, value: str | None, others: list[str]) -> None:
    """Refuses an output that cannot be written, before an audit that may take minutes."""
    if value is None or value == STDOUT:
        return
    target = Path(value)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{option} {value}: no directory {parent}")
    if target.is_dir():
        raise UsageError(f"{option} {value}: is a directory")
    for other in others:
        if other != STDOUT and os.path.realpath(other) == os.path.realpath(value):
            raise UsageError(f"{option} {value}: the same file as another input or output")


def _write(path: str, data: bytes) -> None:
    """Atomically; a new file gets the usual permissions (0o666 less the umask), an
    existing one keeps its own."""
    mode: int | None = None
    if not os.path.exists(path):
        umask = os.umask(0o022)
        os.umask(umask)
        mode = 0o666 & ~umask
    atomic_write_bytes(path, data, mode=mode)


def _policies_engine(args: argparse.Namespace, base: Engine) -> tuple[Engine, str]:
    """The engine to audit with, and where its policies come from."""
    if args.policies:
        policies = PolicySet.from_file(args.policies)
        origin = f"proposed ({args.policies})"
        engine = Engine(
            policies,
            base.trust,
            base.revocation,
            config=base.config,
            origins={policy.name: origin for policy in policies},
            fetch_intermediates=base.fetch_intermediates,
        )
        base.close()
        return engine, f"proposed: {args.policies}"
    path = _config_path(args)
    if path:
        return base, f"config: {path}"
    defaults = getattr(args, "defaults", None) or "fresh_install"
    return base, f"defaults: {defaults}"


def _cmd_audit(args: argparse.Namespace) -> int:
    """``certpolicy audit``."""
    given = getattr(args, "json", None)
    # A --json flag before the command (True): the report on stdout; no flag: False or absent.
    args.json = STDOUT if given is True else (given or None)
    _check_output("--json", args.json, [args.file, *([args.html] if args.html else [])])
    _check_output("--html", args.html, [args.file])
    if args.html == STDOUT:
        raise UsageError("--html needs a file name")
    targets, duplicates = read_targets(args.file)
    engine, source = _policies_engine(args, _engine(args))
    try:
        entries = _run(engine, targets, args, _Progress(len(targets), sys.stderr))
    finally:
        engine.close()
    data: dict[str, Any] = {
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "policies_source": source,
        "summary": _summary(entries, duplicates),
        "endpoints": entries,
    }
    as_json = json.dumps(data, indent=2, default=str) + "\n"
    if args.html:
        _write(args.html, render_html(data).encode("utf-8"))
    if args.json == STDOUT:
        sys.stdout.write(as_json)
    else:
        if args.json:
            _write(args.json, as_json.encode("utf-8"))
        lines = _text(data)
        written = [name for name in (args.json, args.html) if name]
        if written:
            lines.append("wrote " + ", ".join(written))
        print(_text_lines(lines))
    return _exit_code(data["summary"])
