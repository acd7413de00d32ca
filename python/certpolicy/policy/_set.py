"""Policy sets: the policy for a connection, selected by host, port and IP with a matcher
compiled in Rust (DESIGN.md "Policies")."""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, NamedTuple

from certpolicy._util import core as _core
from certpolicy.errors import PolicyError
from certpolicy.policy._compose import compose_policies
from certpolicy.policy._config_xml import AgentConfig
from certpolicy.policy._files import read_policy_file, write_policy_file
from certpolicy.policy._policy import (
    BUILTIN_INTERNET,
    DEFAULT_INSTANCE_HOSTS,
    Policy,
    default_policies,
)
from certpolicy.policy._records import policy_from_record

__all__ = ["PolicySet", "Selection", "selection_reason"]

logger = logging.getLogger("certpolicy")

_REASONS: Final = {
    0: "host {host!r} matches {source!r}",
    1: "host {host!r} is below {source!r}",
    2: "address {ip} is in {source!r}",
    3: "no other policy matches",
}


def selection_reason(code: int, host: str, ip: object, source: str | None) -> str:
    """Why a policy was selected, in words, from the matcher's reason code and source."""
    return _REASONS[code].format(host=host, ip=ip or host, source=source)


class Selection(NamedTuple):
    """A selected policy and why it was chosen. ``ip_set_aside`` is the peer address when
    it was not used, because it would have selected a weaker policy than the server name
    (see :meth:`PolicySet.select_connection`)."""

    policy: Policy
    reason: str
    ip_set_aside: str | None = None


class PolicySet:
    """An immutable set of policies with a compiled matcher.

    Selection: precedence override > instance > intranet > internet; inside a kind the most
    specific match wins (exact host > longer wildcard suffix > smaller IP range; any host
    match beats an IP match), then the lower ``order``, then the name. Inactive policies never
    match; the internet policy matches everything else.
    """

    __slots__ = ("_matcher", "_policies")

    DEFAULT_INSTANCE_HOSTS: ClassVar[tuple[str, ...]] = DEFAULT_INSTANCE_HOSTS

    def __init__(self, policies: Iterable[Policy]) -> None:
        items = tuple(policies)
        for item in items:
            if not isinstance(item, Policy):
                raise PolicyError(f"not a certpolicy.Policy: {item!r}")
        self._policies = items
        self._matcher = _core.PolicyMatcher(
            [p._spec() for p in items], list(items), BUILTIN_INTERNET
        )

    @property
    def policies(self) -> tuple[Policy, ...]:
        """The policies, in the order given."""
        return self._policies

    def __iter__(self) -> Any:
        return iter(self._policies)

    def __len__(self) -> int:
        return len(self._policies)

    def __getitem__(self, name: str) -> Policy:
        for policy in self._policies:
            if policy.name == name:
                return policy
        raise KeyError(name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PolicySet) and self._policies == other._policies

    def __hash__(self) -> int:
        return hash(self._policies)

    def __repr__(self) -> str:
        return f"PolicySet({list(self._policies)!r})"

    def select(
        self,
        host: str,
        ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address | None = None,
        port: int | None = None,
    ) -> Policy:
        """The policy for a connection to ``host`` (name or IP literal) on ``port``,
        connected to ``ip``. With no ``ip`` and a DNS host only host patterns count."""
        if logger.isEnabledFor(logging.DEBUG):
            return self._select_logged(host, ip, port)
        try:
            return self._matcher.select_policy(host, ip, port)  # type: ignore[no-any-return]
        except (UnicodeEncodeError, OverflowError, TypeError) as exc:
            raise PolicyError(f"cannot select a policy for {host!r}: {exc}") from None

    def _select_logged(self, host: str, ip: Any, port: int | None) -> Policy:
        policy, code, source = self._match(host, ip, port)
        reason = selection_reason(code, host, ip, source)
        logger.debug(
            "calculating security policy for %s (ip %s, port %s): %r, %s",
            host,
            ip,
            port,
            policy.name,
            reason,
            extra={
                "host": host,
                "ip": None if ip is None else str(ip),
                "port": port,
                "policy": policy.name,
                "reason": reason,
            },
        )
        return policy

    def explain(
        self,
        host: str,
        ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address | None = None,
        port: int | None = None,
    ) -> Selection:
        """Like :meth:`select`, with the reason in words."""
        policy, code, source = self._match(host, ip, port)
        return Selection(policy, selection_reason(code, host, ip, source))

    def _match(self, host: str, ip: Any, port: int | None) -> tuple[Policy, int, str | None]:
        try:
            return self._matcher.select(host, ip, port)
        except (UnicodeEncodeError, OverflowError, TypeError) as exc:
            # A lone surrogate in the name, a port or address of the wrong kind: a typed
            # error like every other unusable name.
            raise PolicyError(f"cannot select a policy for {host!r}: {exc}") from None

    def select_connection(
        self,
        host: str,
        ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address | None = None,
        port: int | None = None,
        *,
        trust_peer_ip: bool = False,
    ) -> Selection:
        """The policy for a connection, as every part of certpolicy chooses it (the engine,
        ``ssl_context()``, the integrations, the CLI and the demo).

        The peer address ``ip`` counts only when it does not select a weaker policy than
        the server name alone: through a proxy (HTTP CONNECT, SOCKS) the peer is the proxy,
        not the server, and a proxy in an intranet range must not lower the checks of every
        site behind it. ``trust_peer_ip=True`` (the caller knows the connection is direct)
        lets the address always count. When the address is set aside the selection says so.
        """
        try:
            policy, code, source, aside = self._matcher.select_connection(
                host, ip, port, trust_peer_ip
            )
        except (UnicodeEncodeError, OverflowError, TypeError) as exc:
            raise PolicyError(f"cannot select a policy for {host!r}: {exc}") from None
        reason = selection_reason(code, host, ip, source)
        if aside is None:
            return Selection(policy, reason)
        weaker = aside[0]
        reason = (
            f"{selection_reason(code, host, None, source)}; the peer address {ip} was set "
            f"aside: it would select the weaker policy {weaker.name!r}, and the peer may be a "
            "proxy (pass trust_peer_ip=True for direct connections)"
        )
        return Selection(policy, reason, str(ip))

    @classmethod
    def defaults(
        cls,
        *,
        fresh_install: bool = True,
        instance_hosts: Sequence[str] = DEFAULT_INSTANCE_HOSTS,
    ) -> PolicySet:
        """The shipped policies: instance (its hosts), intranet (reserved and private ranges)
        and internet, all checks on. ``fresh_install=False`` (an upgrade) turns the intranet
        policy's checks off, as the model system does for existing installations."""
        return cls(default_policies(fresh_install=fresh_install, instance_hosts=instance_hosts))

    def to_records(self) -> list[dict[str, Any]]:
        """Every policy as a dict (see :meth:`Policy.to_dict`)."""
        return [p.to_dict() for p in self._policies]

    @classmethod
    def from_records(cls, rows: Iterable[Mapping[str, Any]]) -> PolicySet:
        """Policies from instance table rows (``mid_cert_check_policy``), where booleans and
        numbers arrive as strings. A bad row raises :class:`PolicyError` naming it."""
        return cls(policy_from_record(row, index) for index, row in enumerate(rows))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PolicySet:
        """Reads a TOML (``.toml``) or JSON (``.json``) policy file."""
        return cls(read_policy_file(path))

    def to_file(self, path: str | os.PathLike[str]) -> None:
        """Writes the set as TOML or JSON (by suffix), atomically."""
        write_policy_file(path, self._policies)

    @classmethod
    def from_config_xml(cls, path: str | os.PathLike[str]) -> PolicySet:
        """The defaults, with the instance policy taken from a config.xml's bootstrap
        parameters (see :class:`AgentConfig`)."""
        return cls.from_agent_config(AgentConfig.read(path))

    @classmethod
    def from_agent_config(cls, config: AgentConfig) -> PolicySet:
        """The shipped defaults (``certpolicy.defaults``: fresh install or upgrade) with the
        instance policy replaced by the bootstrap one of an already read config.xml."""
        return cls(compose_policies(config).policies)
