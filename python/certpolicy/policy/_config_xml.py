"""The agent's ``config.xml``: bootstrap parameters for the first connection to the instance.

Read with the standard XML parser (DTDs and entities refused). Rewritten by editing only the
``value`` of the named ``<parameter>`` elements in the original bytes, so comments, order,
unknown parameters and formatting survive byte for byte; the write is atomic.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit
from xml.parsers import expat

from certpolicy._util import atomic_write_bytes, parse_flag
from certpolicy.checks import DEFAULT_TRUST_SOURCES, TRUST_SOURCES
from certpolicy.errors import ConfigError, PolicyError
from certpolicy.policy._policy import DEFAULT_INSTANCE_HOSTS, Policy

__all__ = [
    "CHECK_CHAIN",
    "CHECK_HOSTNAME",
    "CHECK_REVOCATION",
    "DEFAULTS",
    "DEFAULTS_MODES",
    "TARGET_ENDPOINT",
    "TRUST_SOURCES_PARAMETER",
    "USE_INSTANCE_POLICY",
    "AgentConfig",
    "rewrite_parameters",
]

CHECK_HOSTNAME: Final = "mid.ssl.bootstrap.default.check_cert_hostname"
CHECK_CHAIN: Final = "mid.ssl.bootstrap.default.check_cert_chain"
CHECK_REVOCATION: Final = "mid.ssl.bootstrap.default.check_cert_revocation"
USE_INSTANCE_POLICY: Final = "mid.ssl.use.instance.security.policy"
TARGET_ENDPOINT: Final = "mid.ssl.bootstrap.default.target_endpoint"
URL: Final = "url"
USERNAME: Final = "mid.instance.username"
PASSWORD: Final = "mid.instance.password"
# certpolicy's own parameter: which shipped defaults apply, "fresh_install" (every check on
# for intranet endpoints) or "upgrade" (intranet checks off, as for an upgraded agent).
DEFAULTS: Final = "certpolicy.defaults"
DEFAULTS_MODES: Final = ("fresh_install", "upgrade")
# certpolicy's own parameter: where the trust anchors come from, a comma list of
# certpolicy.checks.TRUST_SOURCES ("certifi", "system") or "none"; absent or empty: certifi.
TRUST_SOURCES_PARAMETER: Final = "certpolicy.trust.sources"

MAX_CONFIG_BYTES: Final = 8 * 1024 * 1024


def _bool(params: Mapping[str, str], name: str, default: bool) -> bool:
    raw = params.get(name)
    try:
        return parse_flag(raw, default)
    except ValueError:
        raise ConfigError(f"config.xml parameter {name} is {raw!r}, not true or false") from None


def _trust_sources(params: Mapping[str, str]) -> tuple[str, ...]:
    raw = params.get(TRUST_SOURCES_PARAMETER, "")
    names = [part.strip().lower() for part in raw.split(",")]
    if names == [""]:
        return DEFAULT_TRUST_SOURCES
    if names == ["none"]:
        return ()
    if "" in names or not set(names) <= set(TRUST_SOURCES):
        raise ConfigError(
            f"config.xml parameter {TRUST_SOURCES_PARAMETER} is {raw!r}, not a comma list of "
            + ", ".join(TRUST_SOURCES)
            + ' (or "none")'
        )
    return tuple(dict.fromkeys(names))


def _read_bytes(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def parse_parameters(data: bytes, source: str = "config.xml") -> dict[str, str]:
    """Every ``<parameter name=.. value=..>`` of the document (the last one wins).

    A document type declaration (and so any entity declaration) is refused by the parser
    itself, in whatever encoding the file is written: an internal entity could otherwise
    turn a check off behind a harmless-looking value."""
    params: dict[str, str] = {}

    def refuse_dtd(*_args: object) -> None:
        raise ConfigError(f"{source}: DTDs and entity declarations are not accepted")

    def element(name: str, attributes: dict[str, str]) -> None:
        if name == "parameter" and attributes.get("name"):
            params[attributes["name"]] = attributes.get("value", "")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.StartElementHandler = element
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ConfigError(f"{source}: not well-formed XML: {exc}") from exc
    return params


@dataclass(frozen=True)
class AgentConfig:
    """The bootstrap parameters of a config.xml, with their documented defaults."""

    path: Path | None
    url: str | None
    username: str | None
    password: str | None = field(repr=False)
    check_hostname: bool = True
    check_chain: bool = True
    check_revocation: bool = False
    use_instance_policy: bool = False
    target_endpoint: str = "*.service-now.com"
    defaults: str = "fresh_install"
    trust_sources: tuple[str, ...] = DEFAULT_TRUST_SOURCES
    parameters: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> AgentConfig:
        target = Path(path)
        return cls.from_parameters(parse_parameters(_read_bytes(target), str(target)), target)

    @classmethod
    def from_parameters(cls, params: Mapping[str, str], path: Path | None = None) -> AgentConfig:
        url = params.get(URL, "").strip() or None
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ConfigError(f"config.xml parameter url is {url!r}, not an http(s) URL")
        defaults = params.get(DEFAULTS, "").strip().lower() or "fresh_install"
        if defaults not in DEFAULTS_MODES:
            raise ConfigError(
                f"config.xml parameter {DEFAULTS} is {params.get(DEFAULTS)!r}, not "
                + " or ".join(DEFAULTS_MODES)
            )
        return cls(
            path=path,
            url=url,
            username=params.get(USERNAME) or None,
            password=params.get(PASSWORD) or None,
            check_hostname=_bool(params, CHECK_HOSTNAME, True),
            check_chain=_bool(params, CHECK_CHAIN, True),
            check_revocation=_bool(params, CHECK_REVOCATION, False),
            use_instance_policy=_bool(params, USE_INSTANCE_POLICY, False),
            target_endpoint=params.get(TARGET_ENDPOINT, "").strip() or "*.service-now.com",
            defaults=defaults,
            trust_sources=_trust_sources(params),
            parameters=dict(params),
        )

    @property
    def instance_host(self) -> str | None:
        """The host of ``url``."""
        return urlsplit(self.url).hostname if self.url else None

    @property
    def fresh_install(self) -> bool:
        """True unless the config asks for the upgrade defaults."""
        return self.defaults != "upgrade"

    def required_instance_hosts(self) -> tuple[str, ...]:
        """The hosts the instance policy in force must always cover, whatever the instance
        table says: the target endpoint(s) and the ``url`` host (self-hosted instances have
        names of their own)."""
        hosts = [h.strip() for h in self.target_endpoint.split(",") if h.strip()]
        if self.instance_host:
            hosts.append(self.instance_host)
        return tuple(dict.fromkeys(hosts))

    def instance_hosts(self) -> tuple[str, ...]:
        """The bootstrap instance policy's hosts: the defaults and the required hosts."""
        return tuple(dict.fromkeys((*DEFAULT_INSTANCE_HOSTS, *self.required_instance_hosts())))

    def bootstrap_policy(self) -> Policy:
        """The instance policy the bootstrap parameters describe."""
        try:
            return Policy(
                "Instance",
                "instance",
                hosts=self.instance_hosts(),
                check_chain=self.check_chain,
                check_hostname=self.check_hostname,
                check_revocation=self.check_revocation,
            )
        except PolicyError as exc:
            raise ConfigError(f"config.xml: {exc}") from exc

    def write_checks(self, *, chain: bool, hostname: bool, revocation: bool) -> None:
        """Writes the instance policy's checks back into the file (atomically)."""
        if self.path is None:
            raise ConfigError("this configuration was not read from a file")
        rewrite_parameters(
            self.path,
            {
                CHECK_CHAIN: "true" if chain else "false",
                CHECK_HOSTNAME: "true" if hostname else "false",
                CHECK_REVOCATION: "true" if revocation else "false",
            },
        )


_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_PARAMETER_TAG = re.compile(rb"<parameter\b[^>]*>", re.DOTALL)
_NAME_ATTR = re.compile(rb"""\bname\s*=\s*(["'])(.*?)\1""", re.DOTALL)
_VALUE_ATTR = re.compile(rb"""\bvalue\s*=\s*(["'])(.*?)\1""", re.DOTALL)
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _escape(value: str, encoding: str) -> bytes:
    text = (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )
    return text.encode(encoding, errors="xmlcharrefreplace")


def rewrite_parameters(path: str | os.PathLike[str], values: Mapping[str, str]) -> None:
    """Sets parameter values in a config.xml, changing nothing else.

    Existing ``<parameter>`` elements keep everything but their ``value``; a missing
    parameter is added before the root element's closing tag, indented like its siblings.
    Parameters inside comments are left alone. The write is atomic (temp file, fsync,
    rename); a crash mid-write leaves the old file intact.
    """
    # A symlinked config.xml is edited where it points: replacing the link by a regular file
    # would leave the real file (the one the agent reads) with the old values.
    target = Path(os.path.realpath(path))
    data = _read_bytes(target)
    parse_parameters(data, str(target))  # refuse to edit a file we could not read back
    declared = _ENCODING.match(data)
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    # Markup inside comments and CDATA sections is text, not parameters: never edited.
    comments = [m.span() for m in _COMMENT.finditer(data)]
    comments += [m.span() for m in _CDATA.finditer(data)]

    def in_comment(position: int) -> bool:
        return any(start <= position < end for start, end in comments)

    pending = dict(values)
    found: set[str] = set()
    edits: list[tuple[int, int, bytes]] = []
    last_tag_line_start = None
    for tag in _PARAMETER_TAG.finditer(data):
        if in_comment(tag.start()):
            continue
        last_tag_line_start = data.rfind(b"\n", 0, tag.start()) + 1
        name_match = _NAME_ATTR.search(tag.group(0))
        if not name_match:
            continue
        name = name_match.group(2).decode(encoding, errors="replace")
        found.add(name)
        if name not in pending:
            continue
        # Every occurrence is updated: the reader takes the last one.
        new_value = _escape(pending[name], encoding)
        value_match = _VALUE_ATTR.search(tag.group(0))
        if value_match:
            start = tag.start() + value_match.start(2)
            end = tag.start() + value_match.end(2)
            edits.append((start, end, new_value))
        else:
            insert_at = tag.start() + name_match.end()
            edits.append((insert_at, insert_at, b' value="' + new_value + b'"'))
    missing = [name for name in pending if name not in found]
    if missing:
        closing = _root_closing_tag(data, comments)
        if closing is None:
            raise ConfigError(f"{target}: cannot find the root element's closing tag")
        indent = b"    "
        if last_tag_line_start is not None:
            line = data[last_tag_line_start:]
            indent = line[: len(line) - len(line.lstrip(b" \t"))]
        newline = b"\r\n" if b"\r\n" in data else b"\n"
        line_start = data.rfind(b"\n", 0, closing) + 1
        insertion = b"".join(
            indent
            + b'<parameter name="'
            + _escape(name, encoding)
            + b'" value="'
            + _escape(pending[name], encoding)
            + b'"/>'
            + newline
            for name in missing
        )
        if data[line_start:closing].strip():
            # The closing tag shares its line with content: start a new line for ours.
            insertion = newline + insertion
            line_start = closing
        edits.append((line_start, line_start, insertion))
    out = bytearray(data)
    for start, end, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        out[start:end] = replacement
    result = bytes(out)
    if result == data:
        return
    # Refuse to write a file that would not read back with exactly the new values (e.g. a
    # '>' inside an attribute value confused the tag scan).
    try:
        written = parse_parameters(result, str(target))
    except ConfigError:
        written = {}
    wrong = [name for name, value in values.items() if written.get(name) != value]
    if wrong:
        raise ConfigError(
            f"{target}: cannot rewrite {', '.join(wrong)} safely; the file was left unchanged"
        )
    atomic_write_bytes(target, result)


def _root_closing_tag(data: bytes, comments: list[tuple[int, int]]) -> int | None:
    for match in reversed(list(re.finditer(rb"</[A-Za-z_][\w.:-]*\s*>", data))):
        if not any(start <= match.start() < end for start, end in comments):
            return match.start()
    return None
