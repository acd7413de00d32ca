"""Certificate check policies and policy sets (DESIGN.md "Policies").

A :class:`Policy` says which checks (chain, hostname, revocation) apply to the connections it
matches; a :class:`PolicySet` selects the policy for a connection by host, port and IP with a
matcher compiled in Rust.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, Final, Literal, NamedTuple

from certpolicy import _core
from certpolicy.errors import PolicyError

__all__ = [
    "DEFAULT_INSTANCE_HOSTS",
    "INTRANET_RANGES",
    "KINDS",
    "Policy",
    "PolicySet",
    "Selection",
]

logger = logging.getLogger("certpolicy")

PolicyKind = Literal["override", "instance", "intranet", "internet"]
KINDS: Final = ("override", "instance", "intranet", "internet")
DEFAULT_INSTANCE_HOSTS: Final = ("*.service-now.com", "*.servicenow.com")
INTRANET_RANGES: Final = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "::1",
    "fc00::/7",
    "fe80::/10",
)


def _string_tuple(value: Any, field: str, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        # A lone string is a common slip for a one-element list; comma lists come from the
        # instance table API ("a.example,b.example").
        value = [part for part in value.split(",")]
    try:
        items = tuple(value)
    except TypeError:
        raise PolicyError(f"policy {name!r}: {field} must be a list of strings") from None
    for item in items:
        if not isinstance(item, str):
            raise PolicyError(f"policy {name!r}: {field} entry {item!r} is not a string")
    return tuple(item.strip() for item in items if item.strip())


@dataclass(frozen=True, slots=True)
class Policy:
    """One certificate check policy.

    ``kind`` is override, instance, intranet or internet. ``hosts`` are exact names or
    ``*.suffix`` wildcards, optionally with ``:port`` or written as URLs; ``ip_ranges`` are
    CIDR, ``addr/netmask``, ``first-last`` or single addresses. Invalid values raise
    :class:`PolicyError` naming them.
    """

    name: str
    kind: PolicyKind
    _: KW_ONLY
    check_chain: bool = True
    check_hostname: bool = True
    check_revocation: bool = True
    hosts: tuple[str, ...] = ()
    ip_ranges: tuple[str, ...] = ()
    active: bool = True
    order: int = 100
    allow_common_name: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise PolicyError(f"policy name must be a non-empty string, not {self.name!r}")
        if self.kind not in KINDS:
            raise PolicyError(
                f"policy {self.name!r}: unknown kind {self.kind!r} "
                f"(expected one of {', '.join(KINDS)})"
            )
        for flag in ("check_chain", "check_hostname", "check_revocation", "active"):
            if not isinstance(getattr(self, flag), bool):
                raise PolicyError(f"policy {self.name!r}: {flag} must be True or False")
        if not isinstance(self.allow_common_name, bool):
            raise PolicyError(f"policy {self.name!r}: allow_common_name must be True or False")
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise PolicyError(f"policy {self.name!r}: order must be an integer")
        if not -(2**63) <= self.order < 2**63:
            raise PolicyError(f"policy {self.name!r}: order {self.order} is out of range")
        object.__setattr__(self, "hosts", _string_tuple(self.hosts, "hosts", self.name))
        object.__setattr__(self, "ip_ranges", _string_tuple(self.ip_ranges, "ip_ranges", self.name))
        # Validates every pattern and range (the Rust parser is the one source of truth).
        _core.PolicyMatcher([self._spec()], [self], self)

    def _spec(self) -> tuple[str, str, list[str], list[str], bool, int]:
        return (
            self.name,
            self.kind,
            list(self.hosts),
            list(self.ip_ranges),
            self.active,
            self.order,
        )

    @property
    def checks(self) -> dict[str, bool]:
        """The three checks and whether this policy enables them."""
        return {
            "chain": self.check_chain,
            "hostname": self.check_hostname,
            "revocation": self.check_revocation,
        }

    def replace(self, **changes: Any) -> Policy:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field, as plain JSON/TOML-friendly values."""
        return {
            "name": self.name,
            "kind": self.kind,
            "check_chain": self.check_chain,
            "check_hostname": self.check_hostname,
            "check_revocation": self.check_revocation,
            "hosts": list(self.hosts),
            "ip_ranges": list(self.ip_ranges),
            "active": self.active,
            "order": self.order,
            "allow_common_name": self.allow_common_name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """The inverse of :meth:`to_dict`; unknown keys are a :class:`PolicyError`."""
        fields = {f.name for f in dataclasses.fields(cls) if f.name != "_"}
        unknown = set(data) - fields
        name = data.get("name", "?")
        if unknown:
            raise PolicyError(f"policy {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
        missing = {"name", "kind"} - set(data)
        if missing:
            raise PolicyError(f"policy {name!r}: missing field(s) {', '.join(sorted(missing))}")
        return cls(**data)


# Used when a set has no active internet policy: every check on (fail closed).
BUILTIN_INTERNET: Final = Policy("Internet (built-in default)", "internet")

_REASONS: Final = {
    0: "host {host!r} matches {source!r}",
    1: "host {host!r} is below {source!r}",
    2: "address {ip} is in {source!r}",
    3: "no other policy matches",
}


class Selection(NamedTuple):
    """A selected policy and why it was chosen."""

    policy: Policy
    reason: str


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
        policy, code, source = self._matcher.select(host, ip, port)
        if logger.isEnabledFor(logging.DEBUG):
            reason = _REASONS[code].format(host=host, ip=ip or host, source=source)
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
        return policy  # type: ignore[no-any-return]

    def explain(
        self,
        host: str,
        ip: str | ipaddress.IPv4Address | ipaddress.IPv6Address | None = None,
        port: int | None = None,
    ) -> Selection:
        """Like :meth:`select`, with the reason in words."""
        policy, code, source = self._matcher.select(host, ip, port)
        return Selection(policy, _REASONS[code].format(host=host, ip=ip or host, source=source))

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
        intranet_on = bool(fresh_install)
        return cls(
            [
                Policy("Instance", "instance", hosts=tuple(instance_hosts), order=100),
                Policy(
                    "Intranet",
                    "intranet",
                    ip_ranges=INTRANET_RANGES,
                    check_chain=intranet_on,
                    check_hostname=intranet_on,
                    check_revocation=intranet_on,
                    order=100,
                ),
                Policy("Internet", "internet", order=100),
            ]
        )

    def to_records(self) -> list[dict[str, Any]]:
        """Every policy as a dict (see :meth:`Policy.to_dict`)."""
        return [p.to_dict() for p in self._policies]

    @classmethod
    def from_records(cls, rows: Iterable[Mapping[str, Any]]) -> PolicySet:
        """Policies from instance table rows (``mid_cert_check_policy``), where booleans and
        numbers arrive as strings. A bad row raises :class:`PolicyError` naming it."""
        from certpolicy.records import policy_from_record

        return cls(policy_from_record(row, index) for index, row in enumerate(rows))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> PolicySet:
        """Reads a TOML (``.toml``) or JSON (``.json``) policy file."""
        from certpolicy.policyfile import read_policy_file

        return cls(read_policy_file(path))

    def to_file(self, path: str | os.PathLike[str]) -> None:
        """Writes the set as TOML or JSON (by suffix), atomically."""
        from certpolicy.policyfile import write_policy_file

        write_policy_file(path, self._policies)

    @classmethod
    def from_config_xml(cls, path: str | os.PathLike[str]) -> PolicySet:
        """The defaults, with the instance policy taken from a config.xml's bootstrap
        parameters (see :mod:`certpolicy.config`)."""
        from certpolicy.config import AgentConfig

        return AgentConfig.read(path).policy_set()
