"""How the policies in force are put together from their sources (DESIGN.md "Instance sync"),
and where each came from.

The rules, in order:

1. **Overrides** from the instance table are always taken.
2. **The instance policy**: the table's instance rows when config.xml says
   ``mid.ssl.use.instance.security.policy=true``; otherwise (or when the table has none) the
   bootstrap policy of config.xml. Whichever it is also covers config.xml's ``url`` host and
   ``mid.ssl.bootstrap.default.target_endpoint`` (self-hosted instances have their own names):
   they are added to the first instance policy (lowest ``order``, then name).
3. **Intranet** and **internet**: the table's rows of that kind replace the shipped default of
   that kind; without such rows the default stays ("fresh install": every check on;
   "upgrade": intranet checks off — ``certpolicy.defaults`` in config.xml).
4. Policies from a ``certpolicy.toml`` next to the config.xml are added to all of that; a
   name already in use is a :class:`ConfigError` naming both sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from certpolicy.errors import ConfigError
from certpolicy.policy._config_xml import AgentConfig
from certpolicy.policy._policy import Policy, default_policies
from certpolicy.policy._saved import SavedPolicies

__all__ = ["ComposedPolicies", "compose_policies", "defaults_origin"]


@dataclass(frozen=True, slots=True)
class ComposedPolicies:
    """Policies (in precedence-independent order; a PolicySet selects among them) and, for
    each policy name, where it came from (in words)."""

    policies: tuple[Policy, ...]
    origins: Mapping[str, str] = field(default_factory=dict)

    def with_extra(self, extra: Iterable[Policy], origin: str) -> ComposedPolicies:
        """These policies plus ``extra`` (rule 4); a name clash is a ConfigError."""
        items = list(self.policies)
        origins = dict(self.origins)
        for policy in extra:
            if policy.name in origins:
                raise ConfigError(
                    f"policy {policy.name!r} from {origin} clashes with the policy of that "
                    f"name from {origins[policy.name]}: rename one of them"
                )
            items.append(policy)
            origins[policy.name] = origin
        return ComposedPolicies(tuple(items), origins)


def defaults_origin(fresh_install: bool) -> str:
    return "shipped defaults (" + ("fresh install" if fresh_install else "upgrade") + ")"


def _covering(policy: Policy, hosts: tuple[str, ...]) -> Policy:
    missing = tuple(host for host in hosts if host not in policy.hosts)
    return policy.replace(hosts=policy.hosts + missing) if missing else policy


def compose_policies(config: AgentConfig, table: SavedPolicies | None = None) -> ComposedPolicies:
    """The policies in force for an agent with ``config`` and, when it has synced, the
    ``table`` policies of its last good sync (rules 1 to 3 of the module documentation)."""
    fresh = config.fresh_install
    defaults = default_policies(fresh_install=fresh)
    shipped = defaults_origin(fresh)
    rows = table.policies if table is not None else ()
    from_table = table.describe() if table is not None else ""
    items: list[Policy] = []
    origins: dict[str, str] = {}

    def add(policy: Policy, origin: str) -> None:
        items.append(policy)
        origins.setdefault(policy.name, origin)

    for policy in rows:
        if policy.kind == "override":
            add(policy, from_table)
    instance_rows = sorted(
        (p for p in rows if p.kind == "instance" and p.active), key=lambda p: (p.order, p.name)
    )
    if config.use_instance_policy and instance_rows:
        first, *others = instance_rows
        add(_covering(first, config.required_instance_hosts()), from_table)
        for policy in others:
            add(policy, from_table)
    else:
        add(config.bootstrap_policy(), "config.xml bootstrap parameters")
    for kind in ("intranet", "internet"):
        of_kind = [p for p in rows if p.kind == kind]
        if of_kind:
            for policy in of_kind:
                add(policy, from_table)
        else:
            for policy in defaults:
                if policy.kind == kind:
                    add(policy, shipped)
    return ComposedPolicies(tuple(items), origins)
