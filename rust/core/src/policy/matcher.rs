//! The compiled policy matcher.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use super::checks::PolicyChecks;
use super::iprange::{Family, IpRange, address_key, parse_range};
use super::pattern::{HostEntry, HostMatch, parse_host_entry};
use crate::error::Error;
use crate::hostname::ReferenceId;

/// The kind of a policy; the declaration order is the precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// User-made exceptions for listed hosts or ranges.
    Override,
    /// The central instance's hosts.
    Instance,
    /// Reserved and private address ranges.
    Intranet,
    /// Everything else.
    Internet,
}

impl Kind {
    /// Parses the lowercase name of a kind.
    pub fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "override" => Kind::Override,
            "instance" => Kind::Instance,
            "intranet" => Kind::Intranet,
            "internet" => Kind::Internet,
            _ => return None,
        })
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Override => "override",
            Kind::Instance => "instance",
            Kind::Intranet => "intranet",
            Kind::Internet => "internet",
        }
    }
}

/// What the matcher needs to know of one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySpec {
    /// Unique name.
    pub name: String,
    /// Kind.
    pub kind: Kind,
    /// Host patterns (see [`parse_host_entry`]).
    pub hosts: Vec<String>,
    /// IP ranges (see [`parse_range`]).
    pub ip_ranges: Vec<String>,
    /// Inactive policies never match.
    pub active: bool,
    /// Tie-breaker inside a kind: lower first.
    pub order: i64,
    /// The checks it runs (for [`Matcher::select_connection`] and the connection decision).
    pub checks: PolicyChecks,
}

/// Why a policy was selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The host equals one of the policy's exact host patterns (as written).
    ExactHost(String),
    /// The host is below one of the policy's wildcard patterns (as written).
    WildcardHost(String),
    /// The IP address is in one of the policy's ranges (as written).
    IpRange(String),
    /// Nothing else matched: the internet policy applies.
    Default,
}

/// The outcome of [`Matcher::select`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Index of the selected policy in the compiled list; `None` for the built-in internet
    /// default (all checks on), used when the set has no active internet policy.
    pub index: Option<usize>,
    /// Why.
    pub reason: Reason,
}

/// Orders candidates: the smallest rank wins (RFC-free: DESIGN.md "Policies").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    kind: Kind,
    /// 0 exact host, 1 wildcard host, 2 IP range: any host match beats an IP match.
    class: u8,
    /// Exact: 0. Wildcard: fewer is a longer suffix. IP: the range's span.
    specificity: u128,
    /// 0 when the pattern names a port, 1 for any port.
    any_port: u8,
    order: i64,
    name_rank: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    rank: Rank,
    port: Option<u16>,
    policy: u32,
    /// Index into `Matcher::sources`, the pattern or range as written.
    source: u32,
}

impl Candidate {
    fn accepts(&self, port: Option<u16>) -> bool {
        self.port.is_none() || self.port == port
    }
}

/// A maximal run of addresses with one winning candidate.
#[derive(Debug, Clone, Copy)]
struct Interval {
    first: u128,
    last: u128,
    winner: Candidate,
}

/// A compiled policy set.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    exact: HashMap<String, Vec<Candidate>>,
    suffix: HashMap<String, Vec<Candidate>>,
    v4: Vec<Interval>,
    v6: Vec<Interval>,
    internet: Option<usize>,
    sources: Vec<String>,
    /// The checks of each compiled policy, by index.
    checks: Vec<PolicyChecks>,
}

/// The outcome of [`Matcher::select_connection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSelection {
    /// The policy that applies.
    pub selection: Selection,
    /// When the peer address was set aside: the weaker selection it would have made.
    pub set_aside: Option<Selection>,
}

fn flatten(mut ranges: Vec<(IpRange, Candidate)>) -> Vec<Interval> {
    // Sweep over the range boundaries; between two boundaries the set of covering ranges is
    // constant, so its minimum is the winner of that whole stretch.
    ranges.sort_unstable_by_key(|(range, _)| range.first);
    let mut boundaries: Vec<u128> = Vec::with_capacity(ranges.len() * 2);
    for (range, _) in &ranges {
        boundaries.push(range.first);
        if let Some(after) = range.last.checked_add(1) {
            boundaries.push(after);
        }
    }
    boundaries.sort_unstable();
    boundaries.dedup();
    let mut ends: Vec<(u128, usize)> = ranges
        .iter()
        .enumerate()
        .filter_map(|(i, (range, _))| range.last.checked_add(1).map(|end| (end, i)))
        .collect();
    ends.sort_unstable();
    let mut active: BTreeSet<(Candidate, usize)> = BTreeSet::new();
    let (mut next_start, mut next_end) = (0usize, 0usize);
    let mut out: Vec<Interval> = Vec::new();
    for (i, &point) in boundaries.iter().enumerate() {
        while next_end < ends.len() && ends[next_end].0 == point {
            let index = ends[next_end].1;
            active.remove(&(ranges[index].1, index));
            next_end += 1;
        }
        while next_start < ranges.len() && ranges[next_start].0.first == point {
            active.insert((ranges[next_start].1, next_start));
            next_start += 1;
        }
        let Some(&(winner, _)) = active.first() else {
            continue;
        };
        let last = boundaries.get(i + 1).map_or(u128::MAX, |next| next - 1);
        match out.last_mut() {
            Some(previous)
                if previous.winner == winner && previous.last.checked_add(1) == Some(point) =>
            {
                previous.last = last;
            }
            _ => out.push(Interval {
                first: point,
                last,
                winner,
            }),
        }
    }
    out
}

fn lookup(intervals: &[Interval], key: u128) -> Option<Candidate> {
    let after = intervals.partition_point(|interval| interval.first <= key);
    let interval = intervals.get(after.checked_sub(1)?)?;
    (key <= interval.last).then_some(interval.winner)
}

fn best_for_port(candidates: Option<&Vec<Candidate>>, port: Option<u16>) -> Option<Candidate> {
    candidates?.iter().find(|c| c.accepts(port)).copied()
}

impl Matcher {
    /// Validates and compiles a policy list. Errors name the offending policy and value.
    pub fn compile(specs: &[PolicySpec]) -> Result<Matcher, Error> {
        let policy_error = |message: String| Error::Policy(message);
        let mut names: Vec<(&str, usize)> = Vec::with_capacity(specs.len());
        let mut seen = HashSet::new();
        for (index, spec) in specs.iter().enumerate() {
            if spec.name.trim().is_empty() {
                return Err(policy_error(format!("policy #{index} has an empty name")));
            }
            if !seen.insert(spec.name.as_str()) {
                return Err(policy_error(format!(
                    "duplicate policy name \"{}\"",
                    spec.name
                )));
            }
            names.push((spec.name.as_str(), index));
        }
        if u32::try_from(specs.len()).is_err() {
            return Err(policy_error("too many policies".into()));
        }
        names.sort_unstable();
        let mut name_rank = vec![0u32; specs.len()];
        for (rank, (_, index)) in names.iter().enumerate() {
            name_rank[*index] = u32::try_from(rank).unwrap_or(u32::MAX);
        }

        let mut matcher = Matcher {
            checks: specs.iter().map(|spec| spec.checks).collect(),
            ..Matcher::default()
        };
        let mut ranges: Vec<(IpRange, Candidate)> = Vec::new();
        for (index, spec) in specs.iter().enumerate() {
            let policy = u32::try_from(index).unwrap_or(u32::MAX);
            let rank = |class: u8, specificity: u128, any_port: bool| Rank {
                kind: spec.kind,
                class,
                specificity,
                any_port: u8::from(any_port),
                order: spec.order,
                name_rank: name_rank[index],
            };
            if spec.kind == Kind::Internet && !(spec.hosts.is_empty() && spec.ip_ranges.is_empty())
            {
                return Err(policy_error(format!(
                    "internet policy \"{}\" matches every host; it takes no hosts or ip_ranges",
                    spec.name
                )));
            }
            let mut parsed_ranges = Vec::new();
            let mut patterns = Vec::new();
            for host in &spec.hosts {
                match parse_host_entry(host)
                    .map_err(|why| policy_error(format!("policy \"{}\": {why}", spec.name)))?
                {
                    HostEntry::Pattern(pattern) => patterns.push((host, pattern)),
                    HostEntry::Address(address) => {
                        let (family, value) = address_key(address);
                        parsed_ranges.push((
                            host,
                            IpRange {
                                family,
                                first: value,
                                last: value,
                            },
                        ));
                    }
                }
            }
            for text in &spec.ip_ranges {
                let range = parse_range(text)
                    .map_err(|why| policy_error(format!("policy \"{}\": {why}", spec.name)))?;
                parsed_ranges.push((text, range));
            }
            if !spec.active {
                continue;
            }
            if spec.kind == Kind::Internet {
                let better = matcher.internet.is_none_or(|current| {
                    (spec.order, name_rank[index]) < (specs[current].order, name_rank[current])
                });
                if better {
                    matcher.internet = Some(index);
                }
                continue;
            }
            for (text, pattern) in patterns {
                let source = matcher.add_source(text);
                let (map, key, class, specificity) = match pattern.host {
                    HostMatch::Exact(name) => (&mut matcher.exact, name, 0, 0),
                    HostMatch::Suffix(suffix) => {
                        let specificity = u128::MAX - suffix.len() as u128;
                        (&mut matcher.suffix, suffix, 1, specificity)
                    }
                };
                map.entry(key).or_default().push(Candidate {
                    rank: rank(class, specificity, pattern.port.is_none()),
                    port: pattern.port,
                    policy,
                    source,
                });
            }
            for (text, range) in parsed_ranges {
                let source = matcher.add_source(text);
                ranges.push((
                    range,
                    Candidate {
                        rank: rank(2, range.span(), true),
                        port: None,
                        policy,
                        source,
                    },
                ));
            }
        }
        for candidates in matcher
            .exact
            .values_mut()
            .chain(matcher.suffix.values_mut())
        {
            candidates.sort_unstable();
        }
        let (v4, v6): (Vec<_>, Vec<_>) = ranges
            .into_iter()
            .partition(|(range, _)| range.family == Family::V4);
        matcher.v4 = flatten(v4);
        matcher.v6 = flatten(v6);
        Ok(matcher)
    }

    fn add_source(&mut self, text: &str) -> u32 {
        self.sources.push(text.to_owned());
        u32::try_from(self.sources.len() - 1).unwrap_or(u32::MAX)
    }

    /// Selects the policy for a connection to `host` (a DNS name or IP literal) on `port`,
    /// connected to `ip`. With no `ip` and a DNS host, only host patterns are consulted.
    pub fn select(
        &self,
        host: &str,
        ip: Option<IpAddr>,
        port: Option<u16>,
    ) -> Result<Selection, Error> {
        Ok(match self.best(host, ip, port)? {
            Some(candidate) => {
                let source = self
                    .sources
                    .get(candidate.source as usize)
                    .cloned()
                    .unwrap_or_default();
                Selection {
                    index: Some(candidate.policy as usize),
                    reason: match candidate.rank.class {
                        0 => Reason::ExactHost(source),
                        1 => Reason::WildcardHost(source),
                        _ => Reason::IpRange(source),
                    },
                }
            }
            None => Selection {
                index: self.internet,
                reason: Reason::Default,
            },
        })
    }

    /// [`Matcher::select`]'s policy index alone (no reason: nothing is copied).
    pub fn select_index(
        &self,
        host: &str,
        ip: Option<IpAddr>,
        port: Option<u16>,
    ) -> Result<Option<usize>, Error> {
        Ok(match self.best(host, ip, port)? {
            Some(candidate) => Some(candidate.policy as usize),
            None => self.internet,
        })
    }

    /// The winning candidate, if any pattern or range matches.
    fn best(
        &self,
        host: &str,
        ip: Option<IpAddr>,
        port: Option<u16>,
    ) -> Result<Option<Candidate>, Error> {
        let reference = ReferenceId::parse(host).map_err(|_| {
            Error::Policy(format!(
                "cannot select a policy for \"{host}\": not a valid hostname or IP address"
            ))
        })?;
        let mut best: Option<Candidate> = None;
        let mut consider = |candidate: Option<Candidate>| {
            if let Some(candidate) = candidate {
                if best.is_none_or(|current| candidate < current) {
                    best = Some(candidate);
                }
            }
        };
        let address = match reference {
            ReferenceId::Dns(ref name) => {
                consider(best_for_port(self.exact.get(name), port));
                let mut rest = name.as_str();
                while let Some((_, suffix)) = rest.split_once('.') {
                    consider(best_for_port(self.suffix.get(suffix), port));
                    rest = suffix;
                }
                ip
            }
            ReferenceId::Ip(literal) => Some(ip.unwrap_or(literal)),
        };
        if let Some(address) = address {
            let (family, key) = address_key(address);
            let table = match family {
                Family::V4 => &self.v4,
                Family::V6 => &self.v6,
            };
            consider(lookup(table, key));
        }
        Ok(best)
    }

    /// The checks of the policy at `index` ([`Selection::index`]); `None`, the built-in
    /// internet default, runs every check.
    pub fn checks_of(&self, index: Option<usize>) -> PolicyChecks {
        index
            .and_then(|index| self.checks.get(index).copied())
            .unwrap_or(PolicyChecks::ALL)
    }

    /// The policy for a connection (DESIGN.md "Policies"): the peer address `ip` counts only
    /// when it does not select a weaker policy ([`PolicyChecks::weaker_than`]) than the
    /// server name alone, since through a proxy the peer is the proxy. `trust_peer_ip` (the
    /// connection is direct) lets the address always count.
    pub fn select_connection(
        &self,
        host: &str,
        ip: Option<IpAddr>,
        port: Option<u16>,
        trust_peer_ip: bool,
    ) -> Result<ConnectionSelection, Error> {
        let by_address = self.select(host, ip, port)?;
        if ip.is_none() || trust_peer_ip {
            return Ok(ConnectionSelection {
                selection: by_address,
                set_aside: None,
            });
        }
        // An IP-literal host is compared too: by name, it is selected by its own address.
        let by_name = self.select(host, None, port)?;
        let weaker = by_address.index != by_name.index
            && self
                .checks_of(by_address.index)
                .weaker_than(&self.checks_of(by_name.index));
        Ok(if weaker {
            ConnectionSelection {
                selection: by_name,
                set_aside: Some(by_address),
            }
        } else {
            ConnectionSelection {
                selection: by_address,
                set_aside: None,
            }
        })
    }

    /// The number of disjoint IP intervals the ranges were flattened into (v4, v6).
    pub fn interval_counts(&self) -> (usize, usize) {
        (self.v4.len(), self.v6.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, kind: Kind, hosts: &[&str], ranges: &[&str], order: i64) -> PolicySpec {
        PolicySpec {
            name: name.into(),
            kind,
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            ip_ranges: ranges.iter().map(|r| (*r).to_owned()).collect(),
            active: true,
            order,
            checks: PolicyChecks::ALL,
        }
    }

    #[test]
    fn select_index_is_selects_index() {
        let specs = [
            spec("Exact", Kind::Override, &["a.example"], &[], 100),
            spec("Wild", Kind::Override, &["*.example"], &["10.0.0.0/8"], 100),
            spec("Internet", Kind::Internet, &[], &[], 100),
        ];
        let matcher = Matcher::compile(&specs).expect("compiles");
        for (host, ip) in [
            ("a.example", None),
            ("b.example", None),
            ("c.other", Some("10.1.1.1")),
            ("c.other", None),
            ("10.2.2.2", None),
        ] {
            let ip = ip.map(|text: &str| text.parse().expect("ip"));
            assert_eq!(
                matcher.select_index(host, ip, None).expect("selects"),
                matcher.select(host, ip, None).expect("selects").index,
                "{host}"
            );
        }
        assert!(matcher.select_index("bad name", None, None).is_err());
    }

    #[test]
    fn a_peer_address_selecting_a_weaker_policy_is_set_aside() {
        let mut intranet = spec("Intranet", Kind::Intranet, &[], &["10.0.0.0/8"], 100);
        intranet.checks.revocation = false;
        let specs = [intranet, spec("Internet", Kind::Internet, &[], &[], 100)];
        let matcher = Matcher::compile(&specs).expect("compiles");
        let proxy: IpAddr = "10.1.2.3".parse().expect("ip");
        let through_proxy = matcher
            .select_connection("www.example.com", Some(proxy), None, false)
            .expect("selects");
        assert_eq!(through_proxy.selection.index, Some(1));
        assert_eq!(
            through_proxy.set_aside.map(|aside| aside.index),
            Some(Some(0))
        );
        let direct = matcher
            .select_connection("www.example.com", Some(proxy), None, true)
            .expect("selects");
        assert_eq!((direct.selection.index, direct.set_aside), (Some(0), None));
        // An address selecting a policy at least as strong counts.
        let public: IpAddr = "192.0.2.1".parse().expect("ip");
        let plain = matcher
            .select_connection("www.example.com", Some(public), None, false)
            .expect("selects");
        assert_eq!((plain.selection.index, plain.set_aside), (Some(1), None));
        assert_eq!(matcher.checks_of(Some(0)), specs[0].checks);
        assert_eq!(matcher.checks_of(None), PolicyChecks::ALL);
    }

    fn pick(matcher: &Matcher, specs: &[PolicySpec], host: &str, ip: Option<&str>) -> String {
        let ip = ip.map(|text| text.parse().expect("ip"));
        let selection = matcher.select(host, ip, None).expect("select");
        selection
            .index
            .map_or("<default>".into(), |i| specs[i].name.clone())
    }

    fn defaults() -> Vec<PolicySpec> {
        vec![
            spec("Instance", Kind::Instance, &["*.service-now.com"], &[], 100),
            spec(
                "Intranet",
                Kind::Intranet,
                &[],
                &["10.0.0.0/8", "192.168.0.0/16", "::1", "fc00::/7"],
                100,
            ),
            spec("Internet", Kind::Internet, &[], &[], 100),
        ]
    }

    #[test]
    fn precedence_and_defaults() {
        let mut specs = defaults();
        specs.push(spec(
            "Lab",
            Kind::Override,
            &["lab.corp.example"],
            &["10.9.0.0/16"],
            100,
        ));
        let m = Matcher::compile(&specs).expect("compiles");
        assert_eq!(pick(&m, &specs, "acme.service-now.com", None), "Instance");
        assert_eq!(pick(&m, &specs, "service-now.com", None), "Internet");
        assert_eq!(
            pick(&m, &specs, "example.org", Some("10.1.1.1")),
            "Intranet"
        );
        assert_eq!(pick(&m, &specs, "example.org", Some("10.9.1.1")), "Lab");
        assert_eq!(pick(&m, &specs, "lab.corp.example", Some("8.8.8.8")), "Lab");
        assert_eq!(pick(&m, &specs, "example.org", None), "Internet");
        assert_eq!(pick(&m, &specs, "10.0.0.1", None), "Intranet");
        assert_eq!(pick(&m, &specs, "::ffff:10.0.0.1", None), "Intranet");
        assert_eq!(pick(&m, &specs, "[::1]", None), "Intranet");
        // An intranet IP for an instance host: instance outranks intranet.
        assert_eq!(
            pick(&m, &specs, "a.service-now.com", Some("10.0.0.1")),
            "Instance"
        );
    }

    #[test]
    fn specificity_inside_a_kind() {
        let specs = vec![
            spec(
                "wide",
                Kind::Override,
                &["*.example.com"],
                &["10.0.0.0/8"],
                1,
            ),
            spec(
                "narrow",
                Kind::Override,
                &["*.a.example.com"],
                &["10.1.0.0/16"],
                50,
            ),
            spec("exact", Kind::Override, &["x.a.example.com"], &[], 99),
            spec("Internet", Kind::Internet, &[], &[], 0),
        ];
        let m = Matcher::compile(&specs).expect("compiles");
        assert_eq!(pick(&m, &specs, "x.a.example.com", None), "exact");
        assert_eq!(pick(&m, &specs, "y.a.example.com", None), "narrow");
        assert_eq!(pick(&m, &specs, "y.b.example.com", None), "wide");
        assert_eq!(pick(&m, &specs, "a.example.com", None), "wide");
        assert_eq!(
            pick(&m, &specs, "h.example.org", Some("10.1.2.3")),
            "narrow"
        );
        assert_eq!(pick(&m, &specs, "h.example.org", Some("10.2.2.3")), "wide");
        // A host match beats an IP match in the same kind.
        assert_eq!(pick(&m, &specs, "q.example.com", Some("10.1.2.3")), "wide");
    }

    #[test]
    fn order_then_name_break_ties() {
        let specs = vec![
            spec("b", Kind::Override, &["h.example"], &[], 5),
            spec("a", Kind::Override, &["h.example"], &[], 5),
            spec("c", Kind::Override, &["h.example"], &[], 1),
        ];
        let m = Matcher::compile(&specs).expect("compiles");
        assert_eq!(pick(&m, &specs, "h.example", None), "c");
        let specs = specs[..2].to_vec();
        let m = Matcher::compile(&specs).expect("compiles");
        assert_eq!(pick(&m, &specs, "h.example", None), "a");
        assert_eq!(pick(&m, &specs, "other.example", None), "<default>");
    }

    #[test]
    fn ports() {
        let specs = vec![
            spec("any", Kind::Override, &["svc.example"], &[], 1),
            spec("tls8443", Kind::Override, &["svc.example:8443"], &[], 9),
        ];
        let m = Matcher::compile(&specs).expect("compiles");
        let at = |port| {
            m.select("svc.example", None, port)
                .expect("select")
                .index
                .map(|i| specs[i].name.as_str())
        };
        assert_eq!(at(Some(8443)), Some("tls8443"));
        assert_eq!(at(Some(443)), Some("any"));
        assert_eq!(at(None), Some("any"));
    }

    #[test]
    fn inactive_never_match() {
        let mut specs = defaults();
        specs[1].active = false;
        let m = Matcher::compile(&specs).expect("compiles");
        assert_eq!(pick(&m, &specs, "x.example", Some("10.0.0.1")), "Internet");
    }

    #[test]
    fn validation() {
        let dup = vec![
            spec("a", Kind::Override, &[], &[], 1),
            spec("a", Kind::Intranet, &[], &[], 1),
        ];
        assert!(Matcher::compile(&dup).is_err());
        let internet_with_hosts = vec![spec("i", Kind::Internet, &["x.example"], &[], 1)];
        assert!(Matcher::compile(&internet_with_hosts).is_err());
        let bad_range = vec![spec("r", Kind::Override, &[], &["10.0.0.1/8"], 1)];
        let err = Matcher::compile(&bad_range).expect_err("bad range");
        assert!(err.to_string().contains("10.0.0.1/8"), "{err}");
        let bad_host = vec![spec("h", Kind::Override, &["a*.x"], &[], 1)];
        assert!(Matcher::compile(&bad_host).is_err());
        assert!(Matcher::compile(&[]).is_ok());
    }

    #[test]
    fn flattening_overlaps() {
        let specs = vec![
            spec("big", Kind::Intranet, &[], &["10.0.0.0/8"], 1),
            spec("mid", Kind::Intranet, &[], &["10.1.0.0/16"], 1),
            spec("small", Kind::Intranet, &[], &["10.1.1.0/24"], 1),
            spec("all", Kind::Intranet, &[], &["0.0.0.0/0", "::/0"], 1),
        ];
        let m = Matcher::compile(&specs).expect("compiles");
        assert_eq!(pick(&m, &specs, "h.example", Some("10.1.1.1")), "small");
        assert_eq!(pick(&m, &specs, "h.example", Some("10.1.2.1")), "mid");
        assert_eq!(pick(&m, &specs, "h.example", Some("10.2.2.1")), "big");
        assert_eq!(pick(&m, &specs, "h.example", Some("11.0.0.0")), "all");
        assert_eq!(
            pick(&m, &specs, "h.example", Some("255.255.255.255")),
            "all"
        );
        assert_eq!(pick(&m, &specs, "h.example", Some("0.0.0.0")), "all");
        assert_eq!(pick(&m, &specs, "h.example", Some("ffff::1")), "all");
        // all | big | mid | small | mid | big | all
        assert_eq!(m.interval_counts(), (7, 1));
    }

    #[test]
    fn invalid_host_is_an_error() {
        let m = Matcher::compile(&defaults()).expect("compiles");
        assert!(m.select("a..b", None, None).is_err());
        assert!(m.select("", None, None).is_err());
    }
}
