//! Policies: host patterns, IP ranges, matcher construction (`Matcher::compile`) and
//! selection (`Matcher::select`).
//!
//! Input: text, one statement a line:
//!
//! ```text
//! policy NAME KIND ORDER [inactive]   starts a policy (KIND: override, instance, ...)
//! host TEXT                           a host pattern of the current policy
//! range TEXT                          an IP range of the current policy
//! select HOST [IP|-] [PORT]           a selection to check
//! ```
//!
//! Any other line is parsed as a host pattern and as an IP range on its own.
//!
//! Invariants: `select` never panics, fails exactly when the host is no valid name or
//! address, and picks the policy a linear scan of every pattern and range picks (kind, then
//! exact host over wildcard over IP range, then the longest wildcard suffix or the narrowest
//! range, a pattern with a port over one without, then order, then name).
#![no_main]

use std::net::IpAddr;

use certpolicy_core::ReferenceId;
use certpolicy_core::policy::{
    HostEntry, HostMatch, Kind, Matcher, PolicySpec, address_key, parse_address, parse_host_entry,
    parse_range,
};
use libfuzzer_sys::fuzz_target;

struct Query {
    host: String,
    ip: Option<IpAddr>,
    port: Option<u16>,
}

fn read(text: &str) -> (Vec<PolicySpec>, Vec<Query>) {
    let (mut specs, mut queries) = (Vec::<PolicySpec>::new(), Vec::new());
    for line in text.lines().take(256) {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "policy" => {
                let mut fields = rest.split_whitespace();
                let name = fields.next().unwrap_or_default().to_owned();
                let kind = fields
                    .next()
                    .and_then(Kind::parse)
                    .unwrap_or(Kind::Override);
                let order = fields.next().and_then(|o| o.parse().ok()).unwrap_or(0);
                let active = fields.next() != Some("inactive");
                specs.push(PolicySpec {
                    name,
                    kind,
                    hosts: Vec::new(),
                    ip_ranges: Vec::new(),
                    active,
                    order,
                    checks: certpolicy_core::policy::PolicyChecks::ALL,
                });
            }
            "host" => {
                if let Some(spec) = specs.last_mut() {
                    spec.hosts.push(rest.to_owned());
                }
            }
            "range" => {
                if let Some(spec) = specs.last_mut() {
                    spec.ip_ranges.push(rest.to_owned());
                }
            }
            "select" => {
                let mut fields = rest.split_whitespace();
                let host = fields.next().unwrap_or_default().to_owned();
                let ip = fields.next().and_then(parse_address);
                let port = fields.next().and_then(|p| p.parse().ok());
                queries.push(Query { host, ip, port });
            }
            _ => {
                let _ = parse_host_entry(line);
                let _ = parse_range(line);
                let _ = parse_address(line);
            }
        }
    }
    (specs, queries)
}

/// The rank of a candidate, smallest first (see the module documentation).
type Rank<'a> = (Kind, u8, u128, u8, i64, &'a str);

/// The policy a linear scan selects: its index, or the internet default.
fn linear_select<'s>(specs: &'s [PolicySpec], query: &Query) -> Result<Option<usize>, ()> {
    let reference = ReferenceId::parse(&query.host).map_err(|_| ())?;
    let address = match &reference {
        ReferenceId::Dns(_) => query.ip,
        ReferenceId::Ip(literal) => Some(query.ip.unwrap_or(*literal)),
    };
    let mut candidates: Vec<(Rank<'s>, usize)> = Vec::new();
    let mut consider = |rank: Rank<'s>, index: usize| candidates.push((rank, index));
    for (index, spec) in specs.iter().enumerate() {
        if !spec.active || spec.kind == Kind::Internet {
            continue;
        }
        let rank = |class: u8, specificity: u128, any_port: bool| -> Rank<'s> {
            (
                spec.kind,
                class,
                specificity,
                u8::from(any_port),
                spec.order,
                spec.name.as_str(),
            )
        };
        let mut ranges = Vec::new();
        for host in &spec.hosts {
            match parse_host_entry(host).map_err(|_| ())? {
                HostEntry::Pattern(pattern) => {
                    let ReferenceId::Dns(name) = &reference else {
                        continue;
                    };
                    if pattern.port.is_some() && pattern.port != query.port {
                        continue;
                    }
                    let any_port = pattern.port.is_none();
                    match &pattern.host {
                        HostMatch::Exact(exact) if exact == name => {
                            consider(rank(0, 0, any_port), index);
                        }
                        HostMatch::Suffix(suffix)
                            if name
                                .strip_suffix(suffix.as_str())
                                .is_some_and(|front| front.len() > 1 && front.ends_with('.')) =>
                        {
                            let specificity = u128::MAX - suffix.len() as u128;
                            consider(rank(1, specificity, any_port), index);
                        }
                        _ => {}
                    }
                }
                HostEntry::Address(literal) => {
                    let (family, value) = address_key(literal);
                    ranges.push((family, value, value));
                }
            }
        }
        for text in &spec.ip_ranges {
            let range = parse_range(text).map_err(|_| ())?;
            ranges.push((range.family, range.first, range.last));
        }
        if let Some(address) = address {
            let (family, value) = address_key(address);
            for (range_family, first, last) in ranges {
                if range_family == family && first <= value && value <= last {
                    consider(rank(2, last - first, true), index);
                }
            }
        }
    }
    if let Some((_, index)) = candidates.into_iter().min() {
        return Ok(Some(index));
    }
    Ok(specs
        .iter()
        .enumerate()
        .filter(|(_, spec)| spec.active && spec.kind == Kind::Internet)
        .min_by_key(|(_, spec)| (spec.order, spec.name.as_str()))
        .map(|(index, _)| index))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (specs, queries) = read(&text);
    let Ok(matcher) = Matcher::compile(&specs) else {
        return;
    };
    let _ = matcher.interval_counts();
    for query in &queries {
        let selected = matcher.select(&query.host, query.ip, query.port);
        let expected = linear_select(&specs, query);
        match (&selected, &expected) {
            (Ok(selection), Ok(index)) => {
                assert_eq!(selection.index, *index, "{:?}", query.host);
            }
            (Err(_), Err(())) => {}
            _ => panic!(
                "{:?}: the matcher says {selected:?}, a linear scan {expected:?}",
                query.host
            ),
        }
    }
});
