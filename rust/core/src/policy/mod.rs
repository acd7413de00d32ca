//! Certificate check policies: which checks apply to a connection is decided by the policy
//! selected for its host, port and IP address. Four kinds, highest precedence first:
//! override, instance, intranet, internet (the catch-all).
//!
//! Matching is compiled once per policy set ([`Matcher::compile`]): hash maps keyed by
//! normalised names and name suffixes, and the IP ranges of all policies flattened into
//! disjoint sorted intervals that carry their winning policy, searched by binary search.

mod checks;
mod iprange;
mod matcher;
mod pattern;

pub use checks::PolicyChecks;
pub use iprange::{Family, IpRange, address_key, parse_address, parse_range};
pub use matcher::{ConnectionSelection, Kind, Matcher, PolicySpec, Reason, Selection};
pub use pattern::{HostEntry, HostMatch, HostPattern, normalize_dns_name, parse_host_entry};
