//! Host patterns of policies: an exact name (`api.example.com`), a wildcard suffix
//! (`*.example.com`: any depth below the suffix, never the suffix itself), optionally with
//! `:port`, optionally written as a URL (`https://api.example.com:8443/path`). Names are
//! compared after lowercasing, dropping one trailing dot and IDNA (UTS #46) to A-labels.

use crate::hostname::ReferenceId;

/// What a host pattern matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostMatch {
    /// Exactly this normalised name.
    Exact(String),
    /// Any name with at least one more label in front of this normalised suffix.
    Suffix(String),
}

/// A parsed host pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPattern {
    /// The names it matches.
    pub host: HostMatch,
    /// The only port it matches, or any port.
    pub port: Option<u16>,
}

/// Normalises a DNS name as RFC 6125 section 6.2.1 and UTS #46 say; `None` when it is not a
/// valid name (IP literals are not names here).
pub fn normalize_dns_name(name: &str) -> Option<String> {
    match ReferenceId::parse(name).ok()? {
        ReferenceId::Dns(ascii) => Some(ascii),
        ReferenceId::Ip(_) => None,
    }
}

/// Splits `host:port` (also `[v6]:port`); a bare IPv6 literal has no port.
fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| "an unclosed '['".to_owned())?;
        return match after {
            "" => Ok((inside, None)),
            _ => {
                let port = after
                    .strip_prefix(':')
                    .ok_or_else(|| "text after ']'".to_owned())?;
                Ok((inside, Some(parse_port(port)?)))
            }
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((host, Some(parse_port(port)?))),
        _ => Ok((text, None)),
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("\"{text}\" is not a port number (1-65535)")),
    }
}

/// The result of parsing an entry of a policy's `hosts`: a host pattern, or an IP literal
/// (which the policy then matches as a one-address range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEntry {
    /// A DNS name pattern.
    Pattern(HostPattern),
    /// An IP address literal.
    Address(std::net::IpAddr),
}

/// Parses one `hosts` entry.
pub fn parse_host_entry(text: &str) -> Result<HostEntry, String> {
    let bad = |why: String| format!("bad host pattern \"{text}\": {why}");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if let Some((scheme, after)) = rest.split_once("://") {
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return Err(bad("not a URL scheme".into()));
        }
        rest = after.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some((_, host)) = rest.rsplit_once('@') {
            rest = host;
        }
    }
    let (host, port) = split_port(rest).map_err(bad)?;
    if let Some(address) = super::iprange::parse_address(host) {
        if port.is_some() {
            return Err(bad(
                "ports are not supported on IP addresses; list the address in ip_ranges".into(),
            ));
        }
        return Ok(HostEntry::Address(address));
    }
    let pattern = if let Some(suffix) = host.strip_prefix("*.") {
        let normal = normalize_dns_name(suffix)
            .ok_or_else(|| bad("the part after \"*.\" is not a valid DNS name".into()))?;
        HostMatch::Suffix(normal)
    } else if host.contains('*') {
        return Err(bad(
            "a wildcard must be the whole left-most label, as in *.example.com".into(),
        ));
    } else {
        HostMatch::Exact(
            normalize_dns_name(host).ok_or_else(|| bad("not a valid DNS name".into()))?,
        )
    };
    Ok(HostEntry::Pattern(HostPattern {
        host: pattern,
        port,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> HostPattern {
        match parse_host_entry(text) {
            Ok(HostEntry::Pattern(p)) => p,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn forms() {
        assert_eq!(
            pattern("API.Example.com."),
            HostPattern {
                host: HostMatch::Exact("api.example.com".into()),
                port: None
            }
        );
        assert_eq!(
            pattern("*.example.com:8443").host,
            HostMatch::Suffix("example.com".into())
        );
        assert_eq!(pattern("*.example.com:8443").port, Some(8443));
        let url = pattern("https://user@Svc.example.com:444/path?q");
        assert_eq!(url.host, HostMatch::Exact("svc.example.com".into()));
        assert_eq!(url.port, Some(444));
        assert_eq!(
            pattern("bücher.example").host,
            HostMatch::Exact("xn--bcher-kva.example".into())
        );
    }

    #[test]
    fn addresses() {
        assert!(matches!(
            parse_host_entry("10.1.2.3"),
            Ok(HostEntry::Address(_))
        ));
        assert!(matches!(
            parse_host_entry("[::1]"),
            Ok(HostEntry::Address(_))
        ));
        assert!(parse_host_entry("10.1.2.3:443").is_err());
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "a*.example.com",
            "*.*.example.com",
            "example..com",
            "host:0",
            "host:99999",
            "host:x",
            "*",
            "://x",
            "a b.example",
        ] {
            assert!(parse_host_entry(bad).is_err(), "{bad}");
        }
    }
}
