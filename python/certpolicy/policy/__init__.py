"""Which policy applies to a connection: policies and policy sets, policy files (TOML/JSON),
instance table rows, the agent's config.xml and instance sync (DESIGN.md "Policies")."""

from certpolicy.policy._config_xml import AgentConfig, rewrite_parameters
from certpolicy.policy._files import read_policy_file, write_policy_file
from certpolicy.policy._policy import (
    BUILTIN_INTERNET,
    DEFAULT_INSTANCE_HOSTS,
    INTRANET_RANGES,
    KINDS,
    Policy,
    PolicyKind,
)
from certpolicy.policy._records import policy_from_record
from certpolicy.policy._set import PolicySet, Selection
from certpolicy.policy._sync import TABLE_PATH, HttpsGet, SyncResult, sync_failed, sync_policies

__all__ = [
    "BUILTIN_INTERNET",
    "DEFAULT_INSTANCE_HOSTS",
    "INTRANET_RANGES",
    "KINDS",
    "TABLE_PATH",
    "AgentConfig",
    "HttpsGet",
    "Policy",
    "PolicyKind",
    "PolicySet",
    "Selection",
    "SyncResult",
    "policy_from_record",
    "read_policy_file",
    "rewrite_parameters",
    "sync_failed",
    "sync_policies",
    "write_policy_file",
]
