"""A certificate check policy (DESIGN.md "Policies"): which checks (chain, hostname,
revocation) apply to the connections it matches."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Final, Literal

from certpolicy._util import core as _core
from certpolicy.errors import PolicyError

__all__ = [
    "BUILTIN_INTERNET",
    "DEFAULT_INSTANCE_HOSTS",
    "INTRANET_RANGES",
    "KINDS",
    "MODES",
    "Policy",
    "PolicyKind",
    "PolicyMode",
    "default_policies",
]

PolicyKind = Literal["override", "instance", "intranet", "internet"]
KINDS: Final = ("override", "instance", "intranet", "internet")
# "enforce": a failed check breaks the connection. "audit": the checks run and failures are
# logged ("would reject") and counted, but the connection goes through (safe rollout).
PolicyMode = Literal["enforce", "audit"]
MODES: Final = ("enforce", "audit")
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
        # instance table API ("a.example,b.example"). An empty string is no entry at all.
        value = value.split(",") if value.strip() else []
    try:
        items = tuple(value)
    except TypeError:
        raise PolicyError(f"policy {name!r}: {field} must be a list of strings") from None
    for item in items:
        if not isinstance(item, str):
            raise PolicyError(f"policy {name!r}: {field} entry {item!r} is not a string")
        if not item.strip():
            # Refused, not dropped: a blank where a pattern was meant must not pass unseen.
            raise PolicyError(f"policy {name!r}: {field} has an empty entry")
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise PolicyError(f"policy {name!r}: {field} entry {item!r} is not text") from None
    return tuple(item.strip() for item in items)


@dataclass(frozen=True, slots=True)
class Policy:
    """One certificate check policy.

    ``kind`` is override, instance, intranet or internet. ``hosts`` are exact names or
    ``*.suffix`` wildcards, optionally with ``:port`` or written as URLs; ``ip_ranges`` are
    CIDR, ``addr/netmask``, ``first-last`` or single addresses. ``mode`` is "enforce" (a
    failed check breaks the connection) or "audit" (failures are logged at WARNING as "would
    reject" and counted; the connection goes through). ``fetch_intermediates`` turns the
    fetching of missing intermediates (AIA chasing) on or off for this policy's connections;
    None (the default) leaves it to the engine's ``fetch_intermediates``. Invalid values
    raise :class:`PolicyError` naming them.
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
    mode: PolicyMode = "enforce"
    fetch_intermediates: bool | None = None

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
        if self.fetch_intermediates is not None and not isinstance(self.fetch_intermediates, bool):
            raise PolicyError(
                f"policy {self.name!r}: fetch_intermediates must be True, False or None"
            )
        if self.mode not in MODES:
            raise PolicyError(
                f"policy {self.name!r}: mode must be " + " or ".join(MODES) + f", not {self.mode!r}"
            )
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise PolicyError(f"policy {self.name!r}: order must be an integer")
        if not -(2**63) <= self.order < 2**63:
            raise PolicyError(f"policy {self.name!r}: order {self.order} is out of range")
        object.__setattr__(self, "hosts", _string_tuple(self.hosts, "hosts", self.name))
        object.__setattr__(self, "ip_ranges", _string_tuple(self.ip_ranges, "ip_ranges", self.name))
        # Validates every pattern and range (the Rust parser is the one source of truth).
        _core.PolicyMatcher([self._spec()], [self], self)

    def _spec(
        self,
    ) -> tuple[str, str, list[str], list[str], bool, int, tuple[bool, bool, bool, bool, bool]]:
        """What the Rust matcher (and the engine's decision in Rust) needs of the policy."""
        return (
            self.name,
            self.kind,
            list(self.hosts),
            list(self.ip_ranges),
            self.active,
            self.order,
            (
                self.check_chain,
                self.check_hostname,
                self.check_revocation,
                self.allow_common_name,
                self.mode == "audit",
            ),
        )

    @property
    def checks(self) -> dict[str, bool]:
        """The three checks and whether this policy enables them."""
        return {
            "chain": self.check_chain,
            "hostname": self.check_hostname,
            "revocation": self.check_revocation,
        }

    def weaker_than(self, other: Policy) -> bool:
        """True when this policy turns off a check ``other`` runs, or loosens one (audit mode
        is looser than enforce: it lets failures through). (The same rule as the Rust
        ``PolicyChecks::weaker_than`` the connection selection uses; a test keeps them equal.)"""
        return (
            (self.mode == "audit" and other.mode == "enforce")
            or (other.check_chain and not self.check_chain)
            or (other.check_hostname and not self.check_hostname)
            or (other.check_revocation and not self.check_revocation)
            or (self.allow_common_name and not other.allow_common_name)
        )

    def replace(self, **changes: Any) -> Policy:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every field, as plain JSON/TOML-friendly values (``fetch_intermediates`` only when
        set: None, the engine's default, has no TOML spelling)."""
        data: dict[str, Any] = {
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
            "mode": self.mode,
        }
        if self.fetch_intermediates is not None:
            data["fetch_intermediates"] = self.fetch_intermediates
        return data

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


def default_policies(
    *, fresh_install: bool = True, instance_hosts: Sequence[str] = DEFAULT_INSTANCE_HOSTS
) -> tuple[Policy, ...]:
    """The shipped policies (see :meth:`PolicySet.defaults`)."""
    intranet_on = bool(fresh_install)
    return (
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
    )
