"""The certpolicy command line.

Exit codes: 0 all accepted, 1 a rejection (a check failed, a serial is revoked, an OCSP status
is not good, a fetched CRL or OCSP response is unusable, a sync was not done), 2 usage,
configuration or input error, 3 unreachable (an endpoint, responder or download that gave
nothing to judge). The global options -v, --json, --config and --defaults go before or after
the command; with --json the output is one JSON object on stdout, errors included
({"ok": false, "error": ..., "exit_code": ...}). --config takes a config.xml or a
certpolicy.toml (default: $CERTPOLICY_CONFIG, else the built-in defaults).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final, NoReturn

from certpolicy._util import core
from certpolicy.cli._audit import add_audit_command
from certpolicy.cli._cache import _cmd_cache_clear, _cmd_cache_show
from certpolicy.cli._check import _cmd_check, _cmd_demo, _cmd_example, _cmd_verify
from certpolicy.cli._common import (
    CONFIG_ENV,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    OperationFailed,
    Rejected,
    UsageError,
    _printable,
    _PrintableFormatter,
)
from certpolicy.cli._policies import (
    _cmd_policy_list,
    _cmd_policy_select,
    _cmd_sync,
    _cmd_trust_import,
)
from certpolicy.cli._revocation import (
    _cmd_crl_fetch,
    _cmd_crl_lookup,
    _cmd_crl_show,
    _cmd_ocsp,
)
from certpolicy.cli._trust import _cmd_trust_list, _cmd_trust_remove
from certpolicy.errors import CertPolicyError, ConfigError
from certpolicy.policy import DEFAULTS_MODES

__all__ = ["main"]

FETCH_TIMEOUT_HELP = (
    "per-read timeout, seconds; retries and the overall deadline follow the config's "
    "[revocation] settings"
)


def _port(text: str) -> int:
    """A TCP port, 0 to 65535 (argparse reports anything else as a usage error)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535)")
    return port


class _ArgumentError(Exception):
    """A usage error argparse found (raised instead of exiting, so main can answer in
    JSON)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors raise :class:`_ArgumentError` (subcommand
    parsers are of the same class)."""

    def error(self, message: str) -> NoReturn:
        raise _ArgumentError(self, message)


# The parser levels that take the global options: the dest of -v differs by level (argparse
# copies a subcommand's namespace over its parent's), the counts are added up.
_LEVELS: Final = ("top", "group", "command")


def _global_options(level: str) -> argparse.ArgumentParser:
    """-v, --json, --config and --defaults for parsers at ``level``. Below the top level
    their default is SUPPRESS: an option given after the command sets the value, one not
    given there leaves the value from before the command alone."""
    top = level == "top"
    options = _Parser(add_help=False)
    options.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest="verbose" if top else f"verbose_{level}",
        default=0 if top else argparse.SUPPRESS,
        help="log to stderr (-v info, -vv debug)",
    )
    options.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="machine-readable output (errors too)",
    )
    options.add_argument(
        "--config",
        metavar="FILE",
        default=None if top else argparse.SUPPRESS,
        help=f"config.xml or certpolicy.toml (default: ${CONFIG_ENV})",
    )
    options.add_argument(
        "--defaults",
        choices=DEFAULTS_MODES,
        default=None if top else argparse.SUPPRESS,
        help="shipped defaults: fresh_install (intranet checks on) or upgrade (intranet checks "
        "off); default: the config's, else fresh_install",
    )
    return options


def _verbosity(args: argparse.Namespace) -> int:
    """-v counted over every level it was given at."""
    return sum(
        int(getattr(args, "verbose" if level == "top" else f"verbose_{level}", 0))
        for level in _LEVELS
    )


def _parser() -> argparse.ArgumentParser:
    """The ``certpolicy`` argument parser, every command wired to its handler."""
    parser = _Parser(
        prog="certpolicy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_global_options("top")],
    )
    parser.add_argument(
        "--version", action="store_true", help="print the version (and the Rust core's) and exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Every command takes the global options (commands that use no config refuse --config
    # and --defaults); command groups (policy, trust, crl, cache) take them too.
    configured = _global_options("command")
    output = configured
    grouped = _global_options("group")
    # How the policy is chosen for a connection: the same rule as ssl_context() everywhere.
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--trust-peer-ip",
        action="store_true",
        help="let the peer address select a weaker (e.g. intranet) policy than the host name "
        "alone: only for direct connections, never through a proxy",
    )
    # Chains that lack an intermediate: completed from caIssuers URLs unless told not to.
    connection.add_argument(
        "--no-fetch-intermediates",
        dest="fetch_intermediates",
        action="store_false",
        help="never fetch a missing intermediate from the certificate's caIssuers URL (AIA); "
        "a policy's own fetch_intermediates still applies",
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
        parents=[configured, connection],
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
    check.add_argument(
        "--resolve",
        action="append",
        metavar="HOST:PORT:ADDR",
        help="connect to ADDR for the target HOST:PORT; SNI and the hostname check stay HOST "
        "(curl's syntax; IPv6 ADDR in brackets; repeatable)",
    )
    check.add_argument(
        "--servername",
        metavar="NAME",
        help="send NAME as SNI and check the certificate (and select the policy) for NAME, "
        "while connecting to the target",
    )
    add_audit_command(sub, [configured, connection])

    verify = command(
        "verify",
        _cmd_verify,
        "check a PEM chain file offline by the policy for a host",
        parents=[configured, connection],
    )
    verify.add_argument("chain", help="PEM file: leaf first, then intermediates")
    verify.add_argument(
        "--host", required=True, help="hostname or IP the certificate must be valid for"
    )
    verify.add_argument("--ip", help="the address connected to (selects IP-range policies)")
    verify.add_argument("--port", type=_port, default=443)
    verify.add_argument(
        "--ca", action="append", metavar="FILE", help="trust only these roots (PEM/DER; repeatable)"
    )
    verify.add_argument("--at", help="validation time, ISO 8601 (default: now)")
    verify.add_argument(
        "--revocation", action="store_true", help="also check revocation (fetches CRL/OCSP)"
    )

    policy = command(
        "policy", _cmd_policy_list, "list policies or select one for a host", parents=[grouped]
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
        parents=[configured, connection],
        group=policy_sub,
    )
    select.add_argument("host")
    address = select.add_mutually_exclusive_group()
    address.add_argument("--ip", help="the address connected to")
    address.add_argument(
        "--resolve", action="store_true", help="resolve the host and use its first address"
    )
    select.add_argument("--port", type=_port)

    trust = command(
        "trust", _cmd_trust_list, "manage the agent's trust store file", parents=[grouped]
    )
    trust_sub = trust.add_subparsers(dest="trust_command", required=True, metavar="SUBCOMMAND")
    trust_import = command(
        "import",
        _cmd_trust_import,
        "add certificates (PEM/DER, or a keystore's trusted entries) to the trust store file",
        parents=[configured],
        group=trust_sub,
    )
    trust_import.add_argument("file", help="PEM/DER certificates, or a JKS/JCEKS/PKCS#12 keystore")
    storepass = trust_import.add_mutually_exclusive_group()
    storepass.add_argument(
        "--storepass", help="the keystore's password (else $CERTPOLICY_STOREPASS)"
    )
    storepass.add_argument(
        "--storepass-file", metavar="FILE", help="read the keystore's password from FILE"
    )
    trust_list = command(
        "list",
        _cmd_trust_list,
        "the certificates in the trust store file the config names",
        parents=[configured],
        group=trust_sub,
    )
    trust_list.add_argument(
        "--all",
        action="store_true",
        help="every anchor in force: the defaults or configured files, and the store file",
    )
    trust_remove = command(
        "remove",
        _cmd_trust_remove,
        "remove certificates from the trust store file (by SHA-256 or part of the subject)",
        parents=[configured],
        group=trust_sub,
    )
    trust_remove.add_argument(
        "certificate", metavar="SHA256|SUBJECT", help="a SHA-256 (hex) or part of a subject"
    )
    trust_remove.add_argument(
        "--all", action="store_true", help="remove every match (more than one needs it)"
    )

    cache = command(
        "cache",
        _cmd_cache_show,
        "the disk caches (CRL, OCSP, intermediates)",
        parents=[grouped],
    )
    cache_sub = cache.add_subparsers(dest="cache_command", required=True, metavar="SUBCOMMAND")
    for name, func, text in (
        ("show", _cmd_cache_show, "list the cached CRLs, OCSP responses and intermediates"),
        ("clear", _cmd_cache_clear, "delete the cached CRLs, OCSP responses and intermediates"),
    ):
        cache_command = command(name, func, text, parents=[configured], group=cache_sub)
        # Naming some caches narrows the command to them; none: all three.
        cache_command.add_argument("--crl", action="store_true", help="the CRL cache")
        cache_command.add_argument("--ocsp", action="store_true", help="the OCSP cache")
        cache_command.add_argument(
            "--intermediates",
            action="store_true",
            help="the cache of intermediates fetched from caIssuers URLs",
        )

    crl = command("crl", _cmd_crl_show, "download, show and query CRLs", parents=[grouped])
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
    fetch.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help=FETCH_TIMEOUT_HELP,
    )
    show = command(
        "show", _cmd_crl_show, "summarise a CRL file", parents=[configured], group=crl_sub
    )
    show.add_argument("file")
    show.add_argument("--issuer", metavar="CERT", help="verify the signature with this issuer")
    lookup = command(
        "lookup",
        _cmd_crl_lookup,
        "is a serial (or a certificate) revoked? exit 1 if so; a certificate the CRL does "
        "not cover (issuer, scope) is an input error (exit 2)",
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
    ocsp.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help=FETCH_TIMEOUT_HELP,
    )

    sync = command(
        "sync", _cmd_sync, "fetch the policies from the instance (config.xml)", parents=[configured]
    )
    sync.add_argument("--timeout", type=float, default=10.0)
    sync.add_argument(
        "--dry-run",
        action="store_true",
        help="fetch and show what would change; change nothing (no save, no config.xml write)",
    )

    command(
        "demo", _cmd_demo, "run the engine against local demo servers (offline)", parents=[output]
    )
    return parser


_LOG_HANDLER: Final = "certpolicy-cli"


def _configure_logging(verbosity: int) -> None:
    """Reports carry the reasons; the engine's WARNING lines go to stderr only with -v. The
    handler of an earlier run in the same process is replaced, not added to."""
    logger = logging.getLogger("certpolicy")
    for old in [h for h in logger.handlers if h.get_name() == _LOG_HANDLER]:
        logger.removeHandler(old)
        logger.setLevel(logging.NOTSET)
    if verbosity <= 0:
        if not logging.getLogger().handlers and not logger.handlers:
            logger.addHandler(logging.NullHandler())  # no "last resort" printing
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_LOG_HANDLER)
    handler.setFormatter(_PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)


def _json_requested(argv: Sequence[str]) -> bool:
    """Whether --json (or an abbreviation argparse accepts, --js...) is among the options,
    wherever it is: usage errors are then answered in JSON too."""
    for token in argv:
        if token == "--":
            return False
        if token.startswith("--j") and "--json".startswith(token.split("=", 1)[0]):
            return True
    return False


def _versions() -> dict[str, str | None]:
    """The package's version (its metadata) and the Rust core's."""
    try:
        package: str | None = importlib.metadata.version("certpolicy")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a tree
        package = None
    core_version = getattr(core, "__version__", None)
    return {"version": package or core_version, "core_version": core_version}


def _print_version(as_json: bool) -> int:
    versions = _versions()
    if as_json:
        print(json.dumps({"name": "certpolicy", **versions}, indent=2))
    else:
        line = f"certpolicy {versions['version'] or 'unknown'}"
        if versions["core_version"]:
            line += f" (Rust core {versions['core_version']})"
        print(line)
    return EXIT_OK


# The option whose value is a secret: argparse accepts any unambiguous abbreviation of it
# (--st...), as the next argument or after "=".
_SECRET_OPTION: Final = "--storepass"


def _secrets_in(argv: Sequence[str]) -> set[str]:
    """The values given to --storepass (or an abbreviation of it) in ``argv``; wherever it
    stands, even where no command takes it (a usage error then quotes it)."""
    secrets: set[str] = set()
    for index, token in enumerate(argv):
        name, equals, value = token.partition("=")
        if len(name) < len("--st") or not _SECRET_OPTION.startswith(name):
            continue
        if equals:
            secrets.add(value)
        elif index + 1 < len(argv):
            secrets.add(argv[index + 1])
    secrets.discard("")
    return secrets


def _masked(message: str, argv: Sequence[str]) -> str:
    """``message`` with every --storepass value of ``argv`` replaced by ***, where it stands
    as a whole argument (argparse joins arguments with spaces, quotes choices, and keeps
    "--opt=value" whole)."""
    for secret in sorted(_secrets_in(argv), key=len, reverse=True):
        whole = "(?<![^\\s'\"=])" + re.escape(secret) + "(?![^\\s'\",])"
        message = re.sub(whole, "***", message)
    return message


def _usage_failure(error: _ArgumentError, as_json: bool, argv: Sequence[str]) -> int:
    """An argparse usage error: usage and message on stderr as argparse prints them, and
    with --json the error object on stdout; exit code 2. A --storepass value the message
    quotes is masked."""
    message = _masked(error.message, argv)
    error.parser.print_usage(sys.stderr)
    print(f"{error.parser.prog}: error: {_printable(message)}", file=sys.stderr)
    if as_json:
        data = {
            "ok": False,
            "error": f"usage error: {message}",
            "exit_code": EXIT_USAGE,
            "usage": error.parser.format_usage().strip(),
        }
        print(json.dumps(data, indent=2))
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    try:
        args = parser.parse_args(arguments)
        if args.version:
            return _print_version(bool(args.json))
        if args.command is None:
            parser.error("a command is required (see certpolicy --help)")
    except _ArgumentError as exc:
        return _usage_failure(exc, _json_requested(arguments), arguments)
    _configure_logging(_verbosity(args))
    try:
        code: int = args.func(args)
    except BrokenPipeError:
        # The reader went away (``certpolicy ... | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except OperationFailed as exc:
        return _fail(args, EXIT_UNREACHABLE, str(exc))
    except Rejected as exc:
        return _fail(args, EXIT_FAILED, str(exc))
    except UsageError as exc:
        return _fail(args, EXIT_USAGE, f"error: {exc}", exc.details, lines=True)
    except (CertPolicyError, OSError, ValueError) as exc:
        kind = "config error" if isinstance(exc, ConfigError) else "error"
        return _fail(args, EXIT_USAGE, f"{kind}: {exc}")
    return code


def _fail(
    args: argparse.Namespace,
    code: int,
    message: str,
    details: dict[str, Any] | None = None,
    *,
    lines: bool = False,
) -> int:
    """Reports an error on stderr (and as JSON with --json, with ``details``); returns
    ``code``. On stderr the message is escaped by _printable, its line breaks too unless
    ``lines`` (a message the CLI laid out in lines, with what it quotes escaped)."""
    print(f"certpolicy: {_printable(message, newlines=lines)}", file=sys.stderr)
    if getattr(args, "json", False):
        data = {"ok": False, "error": message, "exit_code": code, **(details or {})}
        print(json.dumps(data, indent=2, default=str))
    return code
