"""Which policy applies to a connection: policies and policy sets, policy files (TOML/JSON),
instance table rows, the agent's config.xml and instance sync (DESIGN.md "Policies")."""

from certpolicy.policy._compose import ComposedPolicies, compose_policies, defaults_origin
from certpolicy.policy._config_xml import DEFAULTS_MODES, AgentConfig, rewrite_parameters
from certpolicy.policy._files import read_policy_file, write_policy_file
from certpolicy.policy._policy import (
    BUILTIN_INTERNET,
    DEFAULT_INSTANCE_HOSTS,
    INTRANET_RANGES,
    KINDS,
    MODES,
    Policy,
    PolicyKind,
    PolicyMode,
    default_policies,
)
from certpolicy.policy._records import TYPE_NAMES, policy_from_record
from certpolicy.policy._saved import (
    SAVED_POLICIES_FILE,
    SavedPolicies,
    load_saved_policies,
    saved_policies_path,
)
from certpolicy.policy._set import PolicySet, Selection, selection_reason
from certpolicy.policy._sync import TABLE_PATH, HttpsGet, SyncResult, sync_failed, sync_policies

__all__ = [
    "BUILTIN_INTERNET",
    "DEFAULTS_MODES",
    "DEFAULT_INSTANCE_HOSTS",
    "INTRANET_RANGES",
    "KINDS",
    "MODES",
    "SAVED_POLICIES_FILE",
    "TABLE_PATH",
    "TYPE_NAMES",
    "AgentConfig",
    "ComposedPolicies",
    "HttpsGet",
    "Policy",
    "PolicyKind",
    "PolicyMode",
    "PolicySet",
    "SavedPolicies",
    "Selection",
    "SyncResult",
    "compose_policies",
    "default_policies",
    "defaults_origin",
    "load_saved_policies",
    "policy_from_record",
    "read_policy_file",
    "rewrite_parameters",
    "saved_policies_path",
    "selection_reason",
    "sync_failed",
    "sync_policies",
    "write_policy_file",
]
