//! Names of the server certificate: the subjectAltName extension (RFC 5280 section 4.2.1.6),
//! the syntax of its DNS names (RFC 1034 section 3.5, RFC 1123 section 2.1), wildcards and
//! public suffixes (BR sections 3.2.2.6 and 7.1.2.7.12), and the subject common name, which must
//! be an exact copy of a subjectAltName value (BR section 7.1.4.3; the subjectAltName alone
//! decides the identity, RFC 6125 section 6.4.4).

use std::borrow::Cow;
use std::net::IpAddr;

use x509_parser::extensions::{GeneralName, SubjectAlternativeName, X509Extension};
use x509_parser::x509::X509Name;

use super::extensions::decode;
use super::{Role, Rule};

/// RFC 5280 section 4.2.1.6: "If the subject field contains an empty sequence, then the
/// issuing CA MUST include a subjectAltName extension that is marked as critical." For the
/// server certificate, BR section 7.1.2.7.12 adds that the extension MUST NOT be critical
/// when the subject is not empty. Returns the decoded names.
pub(super) fn check_subject_alt_name<'a>(
    ext: Option<&X509Extension<'a>>,
    subject_empty: bool,
    role: Role,
) -> Result<Option<SubjectAlternativeName<'a>>, Cow<'static, str>> {
    let Some(ext) = ext else {
        if subject_empty && role == Role::Leaf {
            return Err(
                "has neither a subject nor a subjectAltName extension; RFC 5280 \
                 section 4.2.1.6 requires a critical subjectAltName when the subject \
                 is empty"
                    .into(),
            );
        }
        return Ok(None);
    };
    if subject_empty && !ext.critical {
        return Err(
            "has an empty subject and a non-critical subjectAltName extension; RFC \
             5280 section 4.2.1.6 requires it to be critical when the subject is empty"
                .into(),
        );
    }
    if !subject_empty && ext.critical && role == Role::Leaf {
        return Err(
            "has a critical subjectAltName extension and a non-empty subject; the \
             CA/Browser Forum Baseline Requirements section 7.1.2.7.12 require it to \
             be non-critical then"
                .into(),
        );
    }
    decode::<SubjectAlternativeName>(ext, "subjectAltName", "4.2.1.6").map(Some)
}

/// RFC 5280 section 4.2.1.6: a dNSName "MUST be in the 'preferred name syntax', as specified
/// by Section 3.5 of \[RFC1034\] and as modified by Section 2.1 of \[RFC1123\]" (letters, digits
/// and hyphens; no underscore). BR sections 7.1.2.7.12 and 3.2.2.6: a wildcard is only a
/// whole left-most `*` label, and never directly in front of a public suffix. Section 3.2.2.6
/// says to consult the ICANN section of the Public Suffix List only, not its private section
/// (whose owners, such as `s3.amazonaws.com`, get wildcard certificates for their namespace).
pub(super) fn check_leaf_san_names(san: &SubjectAlternativeName<'_>) -> Rule {
    for name in &san.general_names {
        match name {
            GeneralName::DNSName(dns) => {
                if !is_dns_name(dns, true) {
                    return Err(format!(
                        "has the subjectAltName \"{}\", which is not a valid DNS name; RFC \
                         5280 section 4.2.1.6 requires the preferred name syntax of RFC 1034 \
                         section 3.5 (letters, digits and hyphens)",
                        dns.escape_debug()
                    )
                    .into());
                }
                if let Some(base) = dns.strip_prefix("*.") {
                    if is_public_suffix(base) {
                        return Err(format!(
                            "has the wildcard subjectAltName \"{dns}\" on the public suffix \
                             \"{base}\"; the CA/Browser Forum Baseline Requirements section \
                             3.2.2.6 forbid wildcards directly under a public suffix"
                        )
                        .into());
                    }
                }
            }
            GeneralName::IPAddress(bytes) if bytes.len() != 4 && bytes.len() != 16 => {
                return Err(
                    "has an iPAddress subjectAltName that is neither 4 nor 16 octets; \
                     RFC 5280 section 4.2.1.6 defines only those"
                        .into(),
                );
            }
            GeneralName::Invalid(..) => {
                return Err(
                    "has a malformed subjectAltName entry (RFC 5280 section 4.2.1.6)".into(),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// Is `name` (a valid ASCII DNS name, lowercased here) exactly a public suffix of the ICANN
/// section of the Public Suffix List (BR section 3.2.2.6)?
fn is_public_suffix(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    psl::suffix(lower.as_bytes()).is_some_and(|suffix| {
        suffix.typ() == Some(psl::Type::Icann) && suffix.as_bytes().len() == lower.len()
    })
}

/// RFC 1034 section 3.5 as modified by RFC 1123 section 2.1: labels of 1 to 63 letters,
/// digits and hyphens, not starting or ending with a hyphen; at most 253 octets. With
/// `wildcard`, the left-most label may be exactly `*` (BR section 7.1.2.7.12).
pub(super) fn is_dns_name(name: &str, wildcard: bool) -> bool {
    let name = if wildcard {
        name.strip_prefix("*.").unwrap_or(name)
    } else {
        name
    };
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// BR section 7.1.4.3: a subject common name of a server certificate "MUST be encoded as a
/// character-for-character copy of the dNSName entry value from the subjectAltName
/// extension", an IPv4 address in the dotted-decimal text of RFC 3986 section 3.2.2 and an
/// IPv6 address in the text of RFC 5952 section 4. A common name that names one of the
/// subjectAltName values in another spelling (other letter case, a U-label for an A-label,
/// hexadecimal or zero-padded IPv4, uppercase or uncompressed IPv6) is rejected: clients that
/// still read the common name could disagree about which host it names. So is a domain name
/// in Unicode form: "P-Labels MUST NOT be converted to their Unicode representation", and a
/// dNSName is always ASCII.
///
/// The section also requires the common name to be one of the subjectAltName values at all;
/// that part is not enforced, because certificates whose common name is an unrelated label
/// (private CAs, test PKIs) are common and the subjectAltName alone decides the identity
/// (RFC 6125 section 6.4.4).
pub(super) fn check_leaf_common_name(
    subject: &X509Name<'_>,
    san: &SubjectAlternativeName<'_>,
) -> Rule {
    for attribute in subject.iter_common_name() {
        let Ok(cn) = attribute.as_str() else {
            continue;
        };
        let exact = san.general_names.iter().any(|name| match name {
            GeneralName::DNSName(dns) => *dns == cn,
            GeneralName::IPAddress(bytes) => ip_text(bytes).is_some_and(|text| text == cn),
            _ => false,
        });
        if exact {
            continue;
        }
        if is_unicode_domain_name(cn) {
            return Err(format!(
                "has the subject common name \"{}\", a domain name in Unicode form; the \
                 CA/Browser Forum Baseline Requirements section 7.1.4.3 require a \
                 character-for-character copy of a subjectAltName dNSName, whose \
                 internationalised labels are always in ASCII (xn--) form",
                cn.escape_debug()
            )
            .into());
        }
        if let Some(value) = san
            .general_names
            .iter()
            .find_map(|name| denoted_by(cn, name))
        {
            return Err(format!(
                "has the subject common name \"{}\", which names its subjectAltName \"{value}\" \
                 but is not a character-for-character copy of it; the CA/Browser Forum \
                 Baseline Requirements section 7.1.4.3 require an exact copy (RFC 5952 text \
                 for IPv6 addresses, dotted decimal for IPv4)",
                cn.escape_debug()
            )
            .into());
        }
    }
    Ok(())
}

/// Is `cn` a multi-label domain name written with Unicode (U-label) characters, one that
/// IDNA (UTS #46) turns into a valid ASCII DNS name?
fn is_unicode_domain_name(cn: &str) -> bool {
    !cn.is_ascii()
        && !cn.chars().any(char::is_whitespace)
        && mapped_name(cn).is_some_and(|ascii| ascii.contains('.') && is_dns_name(&ascii, true))
}

/// `name` mapped by IDNA (UTS #46: lowercase, A-labels, the ideographic and fullwidth full
/// stops made '.', ignorable code points dropped), then one trailing dot removed: the mapping
/// comes first, or "example.com\u{3002}" would keep a dot (RFC 6125 section 6.2.1 compares
/// names without the root label). `None` when IDNA refuses the name.
fn mapped_name(name: &str) -> Option<String> {
    let mut ascii = idna::domain_to_ascii(name).ok()?;
    if ascii.ends_with('.') {
        ascii.pop();
    }
    Some(ascii)
}

/// The text of a subjectAltName value when the common name `cn` denotes the same DNS name
/// (ignoring letter case, a trailing dot and IDNA encoding) or IP address (in any common
/// spelling).
fn denoted_by(cn: &str, name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::DNSName(dns) => {
            let bare = cn.strip_suffix('.').unwrap_or(cn);
            let same = bare.eq_ignore_ascii_case(dns)
                || (!cn.is_ascii()
                    && mapped_name(cn).is_some_and(|ascii| ascii.eq_ignore_ascii_case(dns)));
            same.then(|| dns.escape_debug().to_string())
        }
        GeneralName::IPAddress(bytes) => {
            let address = ip_text(bytes)?;
            let parsed = match bytes.len() {
                4 => lenient_ipv4(cn).map(|octets| octets.as_slice() == *bytes),
                _ => cn
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::Ipv6Addr>()
                    .ok()
                    .map(|ip| ip.octets().as_slice() == *bytes),
            };
            parsed.unwrap_or(false).then_some(address)
        }
        _ => None,
    }
}

/// Reads an IPv4 address the lenient way of inet_aton(3): one to four dot-separated parts,
/// each decimal (leading zeros allowed) or `0x` hexadecimal, the last part filling the
/// remaining octets.
fn lenient_ipv4(text: &str) -> Option<[u8; 4]> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        let value = match part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            Some(hex) if !hex.is_empty() && hex.len() <= 8 => u32::from_str_radix(hex, 16).ok()?,
            Some(_) => return None,
            None if !part.is_empty()
                && part.len() <= 10
                && part.bytes().all(|b| b.is_ascii_digit()) =>
            {
                part.parse::<u32>().ok()?
            }
            None => return None,
        };
        values.push(value);
    }
    let (last, leading) = values.split_last()?;
    if leading.iter().any(|&v| v > 255) {
        return None;
    }
    let remaining_bits = 8 * (4 - leading.len() as u32);
    if remaining_bits < 32 && *last >= 1u32 << remaining_bits {
        return None;
    }
    let mut address: u32 = *last;
    for (index, &value) in leading.iter().enumerate() {
        address |= value << (24 - 8 * index as u32);
    }
    Some(address.to_be_bytes())
}

/// The canonical text of an iPAddress value: dotted decimal without leading zeros for IPv4
/// (RFC 3986 section 3.2.2), RFC 5952 section 4 for IPv6 (which Rust's formatting follows).
fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::from(b).to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_name_syntax() {
        for good in [
            "example.com",
            "a-b.example",
            "xn--bcher-kva.example",
            "1.example",
            "EXAMPLE.com",
        ] {
            assert!(is_dns_name(good, false), "{good}");
        }
        for bad in [
            "",
            ".example.com",
            "foo_bar.example.com",
            "a..b",
            "-a.example",
            "a-.example",
            "example.com.",
            "*.example.com",
            "a b.example",
            &"a".repeat(64),
        ] {
            assert!(!is_dns_name(bad, false), "{bad}");
        }
        assert!(is_dns_name("*.example.com", true));
        assert!(!is_dns_name("*", true));
        assert!(!is_dns_name("a*.example.com", true));
        assert!(!is_dns_name("*.*.example.com", true));
    }

    #[test]
    fn public_suffixes_of_the_icann_section() {
        for suffix in ["com", "co.uk", "CO.UK"] {
            assert!(is_public_suffix(suffix), "{suffix}");
        }
        // Registrable names, unknown TLDs and the private section are not.
        for name in [
            "example.com",
            "example.co.uk",
            "s3.amazonaws.com",
            "example.invalid",
        ] {
            assert!(!is_public_suffix(name), "{name}");
        }
    }

    #[test]
    fn lenient_ipv4_spellings() {
        assert_eq!(lenient_ipv4("0xC0A80101"), Some([192, 168, 1, 1]));
        assert_eq!(lenient_ipv4("192.168.001.001"), Some([192, 168, 1, 1]));
        assert_eq!(lenient_ipv4("192.168.1.1"), Some([192, 168, 1, 1]));
        assert_eq!(lenient_ipv4("10.1"), Some([10, 0, 0, 1]));
        assert_eq!(lenient_ipv4("1.2.0x0304"), Some([1, 2, 3, 4]));
        assert_eq!(lenient_ipv4("3232235777"), Some([192, 168, 1, 1]));
        for bad in [
            "",
            "1..2",
            "256.1.1.1",
            "1.2.3.256",
            "1.2.3.4.5",
            "0x",
            "a.b.c.d",
            "99999999999",
        ] {
            assert_eq!(lenient_ipv4(bad), None, "{bad}");
        }
    }

    #[test]
    fn common_name_spellings_of_san_values() {
        let ipv6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let v6 = GeneralName::IPAddress(&ipv6);
        assert_eq!(ip_text(&ipv6).as_deref(), Some("2001:db8::1"));
        assert!(denoted_by("2001:DB8::1", &v6).is_some());
        assert!(denoted_by("2001:0db8:0000:0000:0000:0000:0000:0001", &v6).is_some());
        assert!(denoted_by("2001:db8::2", &v6).is_none());
        let v4 = GeneralName::IPAddress(&[192, 168, 1, 1]);
        assert!(denoted_by("0xC0A80101", &v4).is_some());
        assert!(denoted_by("192.168.1.2", &v4).is_none());
        let dns = GeneralName::DNSName("example.com");
        assert!(denoted_by("Example.COM", &dns).is_some());
        assert!(denoted_by("example.com.", &dns).is_some());
        assert!(denoted_by("other.example.com", &dns).is_none());
        let idn = GeneralName::DNSName("xn--bcher-kva.example");
        assert!(denoted_by("bücher.example", &idn).is_some());
        assert!(is_unicode_domain_name("bücher.example"));
        assert!(!is_unicode_domain_name("bücher"));
        assert!(!is_unicode_domain_name("Bücher Server.example"));
        assert!(!is_unicode_domain_name("example.com"));
    }

    #[test]
    fn common_names_are_mapped_before_the_trailing_dot_is_dropped() {
        let dns = GeneralName::DNSName("example.com");
        for cn in [
            "example.com\u{3002}",
            "example.com.\u{200b}",
            "EXAMPLE.com\u{ff0e}",
        ] {
            assert!(denoted_by(cn, &dns).is_some(), "{cn:?}");
        }
        assert!(denoted_by("example.com.\u{3002}", &dns).is_none());
        assert!(is_unicode_domain_name("bücher.example\u{3002}"));
        assert!(!is_unicode_domain_name("bücher\u{3002}"));
    }
}
