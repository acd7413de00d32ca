"""The certpolicy command line.

Exit codes: 0 every check passed, 1 a check failed (or an endpoint, responder or download
failed), 2 usage, configuration or input error. Every command takes --json (errors too are
then a JSON object on stdout); commands that use policies or trust take --config (a
config.xml or certpolicy.toml; default: $CERTPOLICY_CONFIG, else the built-in defaults).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from certpolicy.cli._check import _cmd_check, _cmd_demo, _cmd_example, _cmd_verify
from certpolicy.cli._common import (
    CONFIG_ENV,
    EXIT_FAILED,
    EXIT_USAGE,
    OperationFailed,
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


def _parser() -> argparse.ArgumentParser:
    """The ``certpolicy`` argument parser, every command wired to its handler."""
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
    configured.add_argument(
        "--defaults",
        choices=DEFAULTS_MODES,
        help="shipped defaults: fresh_install (intranet checks on) or upgrade (intranet checks "
        "off); default: the config's, else fresh_install",
    )
    # How the policy is chosen for a connection: the same rule as ssl_context() everywhere.
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument(
        "--trust-peer-ip",
        action="store_true",
        help="let the peer address select a weaker (e.g. intranet) policy than the host name "
        "alone: only for direct connections, never through a proxy",
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
    """Reports an error on stderr (and as JSON with --json); returns ``code``."""
    print(f"certpolicy: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": message, "exit_code": code}, indent=2))
    return code
