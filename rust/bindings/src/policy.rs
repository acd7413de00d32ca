//! `certpolicy._core.PolicyMatcher`: the compiled matcher of a `certpolicy.PolicySet`. It keeps
//! the Python `Policy` objects so `select` returns them without another lookup.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use certpolicy_core::policy::{Kind, Matcher, PolicySpec, Reason, parse_address};

use crate::errors::{Error, Result};

/// One policy as the matcher needs it: (name, kind, hosts, ip_ranges, active, order).
type SpecTuple = (String, String, Vec<String>, Vec<String>, bool, i64);

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
}

fn to_spec((name, kind, hosts, ip_ranges, active, order): SpecTuple) -> Result<PolicySpec> {
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
    })
}

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
        let specs = specs.into_iter().map(to_spec).collect::<Result<Vec<_>>>()?;
        let matcher = py.detach(|| Matcher::compile(&specs))?;
        Ok(Self {
            matcher,
            policies,
            fallback,
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
    ) -> Result<Bound<'py, PyTuple>> {
        let ip = ip.map(extract_ip).transpose()?;
        let selection = self.matcher.select(host, ip, port)?;
        let policy = match selection.index.and_then(|index| self.policies.get(index)) {
            Some(policy) => policy.bind(py).clone(),
            None => self.fallback.bind(py).clone(),
        };
        let (code, source) = match selection.reason {
            Reason::ExactHost(source) => (REASON_EXACT, Some(source)),
            Reason::WildcardHost(source) => (REASON_WILDCARD, Some(source)),
            Reason::IpRange(source) => (REASON_IP, Some(source)),
            Reason::Default => (REASON_DEFAULT, None),
        };
        (policy, code, source)
            .into_pyobject(py)
            .map_err(Error::Python)
    }

    /// (IPv4, IPv6) counts of the disjoint intervals the ranges were flattened into.
    fn interval_counts(&self) -> (usize, usize) {
        self.matcher.interval_counts()
    }

    fn __len__(&self) -> usize {
        self.policies.len()
    }
}
