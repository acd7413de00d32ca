//! Server identity checks (RFC 6125 section 6): is a certificate valid for the host a client
//! connected to?
//!
//! The reference identity is normalised first (section 6.2.1: lowercase, one trailing dot
//! removed, internationalised names turned into A-labels per UTS #46). SAN matching is done by
//! rustls-webpki's RFC 6125 matcher (dNSName with a wildcard only as the whole left-most
//! label, iPAddress for IP literals). The subject common name (section 6.4.4) is consulted
//! only when the caller allows it and the certificate has no subjectAltName extension.

use std::net::IpAddr;

use rustls_pki_types::{CertificateDer, DnsName, ServerName};
use webpki::EndEntityCert;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::Error;
use crate::limits::{MAX_CERT_BYTES, MAX_HOST_BYTES};

/// A normalised reference identity (RFC 6125 section 6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceId {
    /// An ASCII DNS name: lowercase, A-labels, no trailing dot.
    Dns(String),
    /// An IP address literal.
    Ip(IpAddr),
}

impl ReferenceId {
    /// Parses a host as given by a client: an IP literal (v4, v6, optionally bracketed or with
    /// a zone) or a DNS name (optionally with one trailing dot, optionally a U-label IDN).
    pub fn parse(host: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::Hostname {
            message: format!("\"{host}\" is not a valid hostname: {reason}"),
            host: host.to_owned(),
            presented: Vec::new(),
        };
        if host.is_empty() {
            return Err(invalid("it is empty"));
        }
        if host.len() > 4 * MAX_HOST_BYTES {
            return Err(invalid("it is too long"));
        }
        let unbracketed = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        // A zone index (RFC 6874) names a local interface of an IPv6 address; it is not part
        // of the identity. IPv4 has none: "10.0.0.1%x" is no address (a resolver would treat
        // it as a name), so it must not be matched as one.
        let without_zone = match unbracketed.split_once('%') {
            Some((address, zone)) if address.contains(':') && !zone.is_empty() => address,
            Some(_) => return Err(invalid("it has a zone index but is not an IPv6 address")),
            None => unbracketed,
        };
        // Only text with a ':' (IPv6) or made of digits and dots (IPv4) can be an address:
        // anything else is not offered to the address parser at all.
        let may_be_address = without_zone.contains(':')
            || without_zone
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.');
        if may_be_address {
            if let Ok(ip) = without_zone.parse::<IpAddr>() {
                return Ok(ReferenceId::Ip(ip));
            }
        }
        let ascii = normalize_dns(host).map_err(invalid)?;
        if ascii.len() > MAX_HOST_BYTES - 1 {
            return Err(invalid("it is longer than 253 octets"));
        }
        if DnsName::try_from(ascii.as_str()).is_err() {
            return Err(invalid("it is not a syntactically valid DNS name"));
        }
        Ok(ReferenceId::Dns(ascii))
    }

    fn server_name(&self) -> Option<ServerName<'_>> {
        match self {
            ReferenceId::Dns(name) => DnsName::try_from(name.as_str())
                .ok()
                .map(ServerName::DnsName),
            ReferenceId::Ip(ip) => Some(ServerName::IpAddress((*ip).into())),
        }
    }
}

/// A DNS name as RFC 6125 section 6.2.1 compares it: mapped first (UTS #46 processing, as
/// section 6.2.1 and RFC 5891 section 5 ask for an internationalised name: lowercase, A-labels;
/// the mapping also turns the ideographic and fullwidth full stops U+3002, U+FF0E and U+FF61
/// into '.' and drops ignorable code points such as U+200B and U+00AD), then one trailing dot
/// removed (the root label of an absolute name, RFC 1034 section 3.1), then refused when what
/// remains still ends with a dot or has an empty label. Mapping before stripping is what makes
/// "api.example.com\u{3002}" and "api.example.com.\u{200b}" the name "api.example.com".
/// Returns the reason on refusal; the caller checks the DNS syntax of the result.
fn normalize_dns(host: &str) -> Result<String, &'static str> {
    let mapped = if host.is_ascii() {
        host.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(host).map_err(|_| "it is not a valid IDNA name")?
    };
    let mut name = mapped;
    if name.ends_with('.') {
        name.pop();
    }
    if name.ends_with('.') {
        return Err("it ends with more than one dot");
    }
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.split('.').any(str::is_empty) {
        return Err("it has an empty label");
    }
    Ok(name)
}

/// RFC 6125 section 6.4.3: does a presented DNS identifier match the reference name? Only a
/// whole left-most `*` label is a wildcard; it matches exactly one non-empty label, and the
/// rest of the pattern must have at least two labels. One trailing dot of the presented name
/// is ignored: section 6.4.1 compares names without the root label, so a dNSName
/// "example.com." is the name "example.com".
pub fn dns_name_matches(presented: &str, reference: &str) -> bool {
    let presented = presented.strip_suffix('.').unwrap_or(presented);
    if !presented.is_ascii() || presented.is_empty() {
        return false;
    }
    let presented = presented.to_ascii_lowercase();
    match presented.strip_prefix("*.") {
        Some(suffix) => {
            let labels_ok = !suffix.contains('*')
                && suffix.split('.').count() >= 2
                && suffix.split('.').all(|label| !label.is_empty());
            labels_ok
                && reference
                    .split_once('.')
                    .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix)
        }
        None => !presented.contains('*') && presented == reference,
    }
}

/// The identities a certificate presents, read with a full X.509 parser (slow path only).
#[derive(Debug, Default)]
struct PresentedNames {
    has_san: bool,
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    common_names: Vec<String>,
    subject: String,
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

fn presented_names(der: &[u8]) -> Option<PresentedNames> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let mut names = PresentedNames {
        subject: crate::dn::rfc4514(cert.subject()),
        ..PresentedNames::default()
    };
    for ext in cert.extensions() {
        // RFC 6125 section 6.4.4: any subjectAltName, even one this parser cannot read,
        // rules out the common-name fallback.
        if ext.oid.to_id_string() == "2.5.29.17" {
            names.has_san = true;
        }
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for general_name in &san.general_names {
                match general_name {
                    GeneralName::DNSName(dns) => names.dns.push((*dns).to_owned()),
                    GeneralName::IPAddress(bytes) => names.ips.extend(ip_from_bytes(bytes)),
                    _ => {}
                }
            }
        }
    }
    names.common_names = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
        .collect();
    Some(names)
}

impl PresentedNames {
    fn san_matches(&self, reference: &ReferenceId) -> bool {
        match reference {
            ReferenceId::Dns(name) => self.dns.iter().any(|p| dns_name_matches(p, name)),
            ReferenceId::Ip(ip) => self.ips.contains(ip),
        }
    }

    fn common_name_matches(&self, reference: &ReferenceId) -> bool {
        self.common_names.iter().any(|cn| match reference {
            ReferenceId::Dns(name) => dns_name_matches(cn, name),
            ReferenceId::Ip(ip) => cn.parse::<IpAddr>().is_ok_and(|c| c == *ip),
        })
    }

    fn listed(&self, include_cn: bool) -> Vec<String> {
        let mut all: Vec<String> = self.dns.clone();
        all.extend(self.ips.iter().map(IpAddr::to_string));
        if include_cn {
            all.extend(self.common_names.iter().cloned());
        }
        all
    }
}

/// Checks that `cert_der` is valid for `host` (RFC 6125 section 6). With
/// `allow_common_name`, a certificate without subjectAltName is matched on its subject CN.
pub fn verify_hostname(cert_der: &[u8], host: &str, allow_common_name: bool) -> Result<(), Error> {
    let reference = ReferenceId::parse(host)?;
    // One certificate and nothing after it (RFC 5280 section 4.1: a Certificate is one DER
    // SEQUENCE): bytes appended to a certificate are refused here as `cert_info` refuses
    // them, never read past.
    if matches!(crate::der::element(cert_der), Some((_, rest)) if !rest.is_empty()) {
        return Err(Error::Hostname {
            message: format!(
                "cannot check the certificate for \"{host}\": it is not one DER certificate \
                 (data follows it)"
            ),
            host: host.to_owned(),
            presented: Vec::new(),
        });
    }
    let cert = CertificateDer::from(cert_der);
    let fast = if cert_der.len() <= MAX_CERT_BYTES {
        EndEntityCert::try_from(&cert).ok()
    } else {
        None
    };
    if let (Some(ee), Some(server_name)) = (&fast, reference.server_name()) {
        if ee.verify_is_valid_for_subject_name(&server_name).is_ok() {
            return Ok(());
        }
    }
    // Slow path: a mismatch to explain, the CN fallback, or a certificate webpki does not
    // parse (e.g. X.509 v1), read with the full parser.
    let names = match (cert_der.len() <= MAX_CERT_BYTES)
        .then(|| presented_names(cert_der))
        .flatten()
    {
        Some(names) => names,
        None => {
            return Err(Error::Hostname {
                message: format!(
                    "cannot check the certificate for \"{host}\": it is not a readable \
                     X.509 certificate"
                ),
                host: host.to_owned(),
                presented: Vec::new(),
            });
        }
    };
    let cn_consulted = allow_common_name && !names.has_san;
    // Consulted whether or not webpki read the certificate: webpki refuses a presented
    // dNSName with a trailing dot ("example.com."), which RFC 6125 section 6.4.1 compares
    // without it; `dns_name_matches` does, so both paths give one answer for such a name.
    // Every other name webpki refuses cannot equal a (valid) reference identity anyway.
    if names.san_matches(&reference) {
        return Ok(());
    }
    if cn_consulted && names.common_name_matches(&reference) {
        return Ok(());
    }
    let presented = names.listed(cn_consulted);
    let mut message = format!(
        "certificate \"{}\" is not valid for \"{host}\": ",
        names.subject
    );
    if presented.is_empty() {
        message.push_str("it presents no DNS or IP address names");
    } else {
        message.push_str("it is valid for ");
        message.push_str(&presented.join(", "));
    }
    if !names.has_san && !allow_common_name && !names.common_names.is_empty() {
        message.push_str(&format!(
            " (it has no subjectAltName; its common name \"{}\" is consulted only with \
             allow_common_name=True)",
            names.common_names.join(", ")
        ));
    }
    Err(Error::Hostname {
        message,
        host: host.to_owned(),
        presented,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn normalises_reference_ids() {
        assert_eq!(
            ReferenceId::parse("Leaf.Example.COM.").ok(),
            Some(ReferenceId::Dns("leaf.example.com".into()))
        );
        assert_eq!(
            ReferenceId::parse("bücher.example").ok(),
            Some(ReferenceId::Dns("xn--bcher-kva.example".into()))
        );
        assert!(matches!(
            ReferenceId::parse("[::1]"),
            Ok(ReferenceId::Ip(IpAddr::V6(_)))
        ));
        assert!(matches!(
            ReferenceId::parse("fe80::1%eth0"),
            Ok(ReferenceId::Ip(_))
        ));
        assert!(ReferenceId::parse("").is_err());
        assert!(ReferenceId::parse("a..b").is_err());
        assert!(ReferenceId::parse("example.com..").is_err());
    }

    #[test]
    fn wildcard_rules() {
        assert!(dns_name_matches("*.example.com", "a.example.com"));
        assert!(!dns_name_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_name_matches("*.example.com", "example.com"));
        assert!(!dns_name_matches("*.com", "example.com"));
        assert!(!dns_name_matches("a*.example.com", "ab.example.com"));
        assert!(!dns_name_matches("*.*.example.com", "a.b.example.com"));
        assert!(dns_name_matches("EXAMPLE.com.", "example.com"));
    }

    #[test]
    fn only_address_shaped_text_is_an_address() {
        for (host, address) in [
            ("127.0.0.1", true),
            ("[::1]", true),
            ("::ffff:10.0.0.1", true),
            ("fe80::1%eth0", true),
            ("10.0.0.256", false),
            ("1.2.3", false),
            ("1e2.example", false),
            ("a.b", false),
        ] {
            let parsed = ReferenceId::parse(host);
            assert_eq!(matches!(parsed, Ok(ReferenceId::Ip(_))), address, "{host}");
        }
    }

    #[test]
    fn san_dns_ip_and_wildcard() {
        let leaf = testdata::leaf();
        for host in [
            "leaf.example.com",
            "LEAF.example.com.",
            "x.wild.example.com",
            "127.0.0.1",
            "::1",
            "[::1]",
            "bücher.example",
        ] {
            assert!(verify_hostname(&leaf, host, false).is_ok(), "{host}");
        }
        for host in [
            "wild.example.com",
            "a.b.wild.example.com",
            "127.0.0.2",
            "other.com",
        ] {
            assert!(verify_hostname(&leaf, host, false).is_err(), "{host}");
        }
    }

    #[test]
    fn mismatch_lists_presented_names() {
        let err = verify_hostname(&testdata::leaf(), "other.example", false).expect_err("no");
        match err {
            Error::Hostname {
                presented, message, ..
            } => {
                assert!(presented.contains(&"leaf.example.com".to_owned()));
                assert!(presented.contains(&"::1".to_owned()));
                assert!(message.contains("CN=leaf.example.com"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn common_name_only_when_allowed_and_no_san() {
        let cert = testdata::cn_only();
        let err = verify_hostname(&cert, "cn-only.example.com", false).expect_err("no CN");
        assert!(err.to_string().contains("allow_common_name"), "{err}");
        assert!(verify_hostname(&cert, "cn-only.example.com", true).is_ok());
        // A certificate with a SAN never falls back to its CN.
        assert!(verify_hostname(&testdata::leaf(), "leaf.example.com", true).is_ok());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(verify_hostname(b"", "a.example", false).is_err());
        assert!(verify_hostname(b"\x30\x80", "a.example", true).is_err());
    }

    #[test]
    fn a_zone_index_is_only_for_ipv6() {
        assert!(matches!(
            ReferenceId::parse("fe80::1%eth0"),
            Ok(ReferenceId::Ip(_))
        ));
        assert!(ReferenceId::parse("10.0.0.1%x").is_err());
        assert!(ReferenceId::parse("10.0.0.1%").is_err());
    }

    /// UTS #46 maps these to a dot or to nothing, so after mapping each spelling ends with one
    /// dot, the root label, which must be stripped after the mapping, not before.
    const SPELLINGS: [&str; 4] = [
        "\u{3002}",  // ideographic full stop
        ".\u{200b}", // a dot, then a zero width space
        ".\u{00ad}", // a dot, then a soft hyphen
        "\u{ff0e}",  // fullwidth full stop
    ];

    #[test]
    fn one_trailing_dot_is_stripped_after_idna_mapping() {
        for suffix in SPELLINGS {
            let host = format!("api.example.com{suffix}");
            assert_eq!(
                ReferenceId::parse(&host).ok(),
                Some(ReferenceId::Dns("api.example.com".into())),
                "{host:?}"
            );
            // A second dot after mapping is refused, as "example.com.." is.
            let twice = format!("api.example.com.{suffix}");
            assert!(ReferenceId::parse(&twice).is_err(), "{twice:?}");
        }
        assert!(ReferenceId::parse("\u{3002}").is_err());
        assert!(ReferenceId::parse("a\u{3002}\u{3002}b").is_err());
    }

    #[test]
    fn the_hostname_check_and_the_policy_matcher_agree_on_mapped_dots() {
        use crate::policy::{Kind, Matcher, PolicySpec, Reason};
        let spec = |name: &str, host: &str| PolicySpec {
            name: name.into(),
            kind: Kind::Override,
            hosts: vec![host.into()],
            ip_ranges: Vec::new(),
            active: true,
            order: 0,
            checks: crate::policy::PolicyChecks::ALL,
        };
        let exact = Matcher::compile(&[spec("exact", "leaf.example.com")]).expect("compiles");
        let wildcard =
            Matcher::compile(&[spec("wildcard", "*.wild.example.com")]).expect("compiles");
        let leaf = testdata::leaf();
        for suffix in SPELLINGS {
            let host = format!("leaf.example.com{suffix}");
            assert!(verify_hostname(&leaf, &host, false).is_ok(), "{host:?}");
            let selected = exact.select(&host, None, None).expect("a valid host");
            assert_eq!(selected.index, Some(0), "{host:?}");
            assert!(matches!(selected.reason, Reason::ExactHost(_)), "{host:?}");

            let host = format!("x.wild.example.com{suffix}");
            assert!(verify_hostname(&leaf, &host, false).is_ok(), "{host:?}");
            let selected = wildcard.select(&host, None, None).expect("a valid host");
            assert_eq!(selected.index, Some(0), "{host:?}");
            assert!(
                matches!(selected.reason, Reason::WildcardHost(_)),
                "{host:?}"
            );
        }
    }

    #[test]
    fn a_san_with_a_trailing_dot_matches_on_both_paths() {
        use crate::testdata::build::{self, Key};
        let (key, ca_key) = (Key::new(), Key::new());
        let names = ["example.com.", "*.wild.example.com."];
        // webpki reads this one (the fast path) but refuses its absolute dNSNames.
        let readable = build::leaf("example.com", "test CA", &names, &key, &ca_key);
        // webpki refuses this one for its unknown critical extension (the slow path).
        let mut cert = build::Cert::new("example.com", "test CA");
        cert.extensions = build::server_names(&names);
        cert.extensions
            .push(build::extension(&[0x2a, 0x03, 0x04], true, &[0x05, 0x00]));
        let unreadable = cert.sign(&key, &ca_key);
        assert!(EndEntityCert::try_from(&CertificateDer::from(readable.as_slice())).is_ok());
        assert!(EndEntityCert::try_from(&CertificateDer::from(unreadable.as_slice())).is_err());
        for der in [&readable, &unreadable] {
            for host in [
                "example.com",
                "example.com.",
                "EXAMPLE.com",
                "a.wild.example.com.",
            ] {
                assert!(verify_hostname(der, host, false).is_ok(), "{host}");
            }
            for host in [
                "other.com",
                "a.example.com",
                "wild.example.com",
                "a.b.wild.example.com",
            ] {
                assert!(verify_hostname(der, host, false).is_err(), "{host}");
            }
        }
    }

    #[test]
    fn trailing_data_after_the_certificate_is_refused() {
        let mut der = crate::testdata::leaf();
        verify_hostname(&der, "leaf.example.com", false).expect("the plain certificate matches");
        der.extend_from_slice(b"\x00\x00");
        let err = verify_hostname(&der, "leaf.example.com", false).expect_err("trailing data");
        assert!(err.to_string().contains("not one DER certificate"), "{err}");
    }
}
