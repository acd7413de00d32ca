//! `certpolicy._core.PolicyMatcher`: the compiled matcher of a `certpolicy.PolicySet`. It keeps
//! the Python `Policy` objects so `select` returns them without another lookup.

use pyo3::prelude::*;
use pyo3::types::PyString;

use certpolicy_core::policy::{
    Kind, Matcher, PolicyChecks, PolicySpec, Reason, Selection, parse_address,
};

use crate::errors::{Error, Result};

/// One policy as the matcher needs it: (name, kind, hosts, ip_ranges, active, order, checks),
/// checks being (chain, hostname, revocation, allow_common_name, audit).
type SpecTuple = (
    String,
    String,
    Vec<String>,
    Vec<String>,
    bool,
    i64,
    (bool, bool, bool, bool, bool),
);

/// Reason codes returned by `select` (mirrored in `certpolicy.policy`).
const REASON_EXACT: u8 = 0;
const REASON_WILDCARD: u8 = 1;
const REASON_IP: u8 = 2;
const REASON_DEFAULT: u8 = 3;

#[pyclass(frozen, module = "certpolicy._core", name = "PolicyMatcher")]
pub struct PolicyMatcher {
    matcher: Matcher,
    policies: Vec<Py<PyAny>>,
    fallback: Py<PyAny>,
    /// The policies' names (the counters count by name), then the fallback's.
    names: Vec<String>,
}

fn to_spec((name, kind, hosts, ip_ranges, active, order, checks): SpecTuple) -> Result<PolicySpec> {
    let (chain, hostname, revocation, allow_common_name, audit) = checks;
    let kind = Kind::parse(&kind).ok_or_else(|| {
        Error::Core(certpolicy_core::Error::Policy(format!(
            "policy \"{name}\": unknown kind \"{kind}\" (expected override, instance, \
             intranet or internet)"
        )))
    })?;
    Ok(PolicySpec {
        name,
        kind,
        hosts,
        ip_ranges,
        active,
        order,
        checks: PolicyChecks {
            chain,
            hostname,
            revocation,
            allow_common_name,
            audit,
        },
    })
}

/// `(policy, reason_code, source)` of a selection.
type SelectionTuple<'py> = (Bound<'py, PyAny>, u8, Option<String>);

/// `(policy, reason_code, source, set_aside)` of a connection's selection.
type ConnectionTuple<'py> = (
    Bound<'py, PyAny>,
    u8,
    Option<String>,
    Option<SelectionTuple<'py>>,
);

fn extract_ip(ip: &Bound<'_, PyAny>) -> Result<std::net::IpAddr> {
    // str, or anything whose str() is an address (ipaddress.IPv4Address / IPv6Address).
    let text = match ip.cast::<PyString>() {
        Ok(text) => text.to_cow().map(|c| c.into_owned()),
        Err(_) => ip.str().and_then(|s| s.to_cow().map(|c| c.into_owned())),
    }
    .map_err(|_| Error::Core(certpolicy_core::Error::Policy("ip is not text".into())))?;
    parse_address(&text).ok_or_else(|| {
        Error::Core(certpolicy_core::Error::Policy(format!(
            "\"{text}\" is not an IP address"
        )))
    })
}

#[pymethods]
impl PolicyMatcher {
    /// Compiles `specs` (one tuple per policy, in the order of `policies`).
    #[new]
    fn new(
        py: Python<'_>,
        specs: Vec<SpecTuple>,
        policies: Vec<Py<PyAny>>,
        fallback: Py<PyAny>,
    ) -> Result<Self> {
        if specs.len() != policies.len() {
            return Err(Error::Core(certpolicy_core::Error::Policy(
                "specs and policies differ in length".into(),
            )));
        }
        let fallback_name: String = fallback
            .bind(py)
            .getattr("name")
            .and_then(|name| name.extract())
            .map_err(Error::Python)?;
        let specs = specs.into_iter().map(to_spec).collect::<Result<Vec<_>>>()?;
        let mut names: Vec<String> = specs.iter().map(|spec| spec.name.clone()).collect();
        names.push(fallback_name);
        let matcher = py.detach(|| Matcher::compile(&specs))?;
        Ok(Self {
            matcher,
            policies,
            fallback,
            names,
        })
    }

    /// Returns `(policy, reason_code, source)`: the selected `Policy`, why (0 exact host,
    /// 1 wildcard host, 2 IP range, 3 default) and the pattern or range that matched.
    #[pyo3(signature = (host, ip=None, port=None))]
    fn select<'py>(
        &self,
        py: Python<'py>,
        host: &str,
        ip: Option<&Bound<'py, PyAny>>,
        port: Option<u16>,
    ) -> Result<SelectionTuple<'py>> {
        let ip = ip.map(extract_ip).transpose()?;
        let selection = self.matcher.select(host, ip, port)?;
        Ok(self.selection_tuple(py, selection))
    }

    /// The selected `Policy` alone (what `PolicySet.select` returns): no reason is made.
    #[pyo3(signature = (host, ip=None, port=None))]
    fn select_policy<'py>(
        &self,
        py: Python<'py>,
        host: &str,
        ip: Option<&Bound<'py, PyAny>>,
        port: Option<u16>,
    ) -> Result<Bound<'py, PyAny>> {
        let ip = ip.map(extract_ip).transpose()?;
        let index = self.matcher.select_index(host, ip, port)?;
        Ok(self.policy(py, index))
    }

    /// The policy for a connection, `PolicySet.select_connection`'s rule: returns
    /// `(policy, reason_code, source, set_aside)`, `set_aside` being None or the
    /// `(policy, reason_code, source)` the peer address would have selected, when it was set
    /// aside because that policy is weaker than the server name's.
    #[pyo3(signature = (host, ip=None, port=None, trust_peer_ip=false))]
    fn select_connection<'py>(
        &self,
        py: Python<'py>,
        host: &str,
        ip: Option<&Bound<'py, PyAny>>,
        port: Option<u16>,
        trust_peer_ip: bool,
    ) -> Result<ConnectionTuple<'py>> {
        let ip = ip.map(extract_ip).transpose()?;
        let chosen = self
            .matcher
            .select_connection(host, ip, port, trust_peer_ip)?;
        let (policy, code, source) = self.selection_tuple(py, chosen.selection);
        let aside = chosen
            .set_aside
            .map(|selection| self.selection_tuple(py, selection));
        Ok((policy, code, source, aside))
    }

    /// (IPv4, IPv6) counts of the disjoint intervals the ranges were flattened into.
    fn interval_counts(&self) -> (usize, usize) {
        self.matcher.interval_counts()
    }

    fn __len__(&self) -> usize {
        self.policies.len()
    }
}

impl PolicyMatcher {
    /// The compiled matcher.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// The `Policy` object of a selection (the fallback for `None`).
    pub fn policy<'py>(&self, py: Python<'py>, index: Option<usize>) -> Bound<'py, PyAny> {
        match index.and_then(|index| self.policies.get(index)) {
            Some(policy) => policy.bind(py).clone(),
            None => self.fallback.bind(py).clone(),
        }
    }

    /// The name of the policy of a selection (the fallback's for `None`).
    pub fn name(&self, index: Option<usize>) -> &str {
        let fallback = self.names.len().saturating_sub(1);
        let position = index.filter(|&index| index < fallback).unwrap_or(fallback);
        self.names.get(position).map_or("", String::as_str)
    }

    /// `(policy, reason_code, source)` of a selection.
    pub fn selection_tuple<'py>(
        &self,
        py: Python<'py>,
        selection: Selection,
    ) -> SelectionTuple<'py> {
        let (code, source) = reason_parts(selection.reason);
        (self.policy(py, selection.index), code, source)
    }
}

/// The reason code (see `select`) and the pattern or range that matched.
pub fn reason_parts(reason: Reason) -> (u8, Option<String>) {
    match reason {
        Reason::ExactHost(source) => (REASON_EXACT, Some(source)),
        Reason::WildcardHost(source) => (REASON_WILDCARD, Some(source)),
        Reason::IpRange(source) => (REASON_IP, Some(source)),
        Reason::Default => (REASON_DEFAULT, None),
    }
}
