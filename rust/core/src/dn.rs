//! Distinguished names as RFC 4514 strings (the form `cryptography`'s `rfc4514_string()` and
//! OpenSSL's `-nameopt RFC2253` print), used in `cert_info` and in every error message.

use std::fmt::Write as _;

use x509_parser::der_parser::asn1_rs::{Tag, ToDer};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// RFC 4514 section 3: the short names an implementation must recognise.
fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// Decodes the ASN.1 string types that appear in names; `None` for anything else.
fn decode_string(attr: &AttributeTypeAndValue<'_>) -> Option<String> {
    let value = attr.attr_value();
    let data = value.data;
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(data).ok().map(str::to_owned),
        // T.61 in theory; in practice Latin-1, as every mainstream decoder treats it.
        Tag::TeletexString => Some(data.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        Tag::UniversalString => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

/// RFC 4514 section 2.4: escape the characters that are special in an attribute value.
fn escape_value(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
}

fn push_attribute(attr: &AttributeTypeAndValue<'_>, out: &mut String) {
    let oid = attr.attr_type().to_id_string();
    match short_name(&oid) {
        Some(name) => out.push_str(name),
        None => out.push_str(&oid),
    }
    out.push('=');
    match decode_string(attr) {
        Some(text) => escape_value(&text, out),
        None => {
            // RFC 4514 section 2.4: a value that is not a string is '#' + hex of its BER.
            out.push('#');
            let der = attr.attr_value().to_der_vec().unwrap_or_default();
            for byte in der {
                let _ = write!(out, "{byte:02x}");
            }
        }
    }
}

/// Formats a name per RFC 4514 section 2.1: RDNs in reverse order, separated by ','.
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let mut out = String::new();
    let rdns: Vec<_> = name.iter_rdn().collect();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, attr) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            push_attribute(attr, &mut out);
        }
    }
    out
}

/// Formats a DER-encoded Name (the SEQUENCE) per RFC 4514; a placeholder when unreadable.
#[cfg(test)]
fn rfc4514_from_der(name_der: &[u8]) -> String {
    use x509_parser::prelude::FromDer;
    match X509Name::from_der(name_der) {
        Ok((_, name)) => rfc4514(&name),
        Err(_) => "<unreadable name>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_specials() {
        let mut out = String::new();
        escape_value(" a,b+c\"d\\e<f>g;h ", &mut out);
        assert_eq!(out, "\\ a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h\\ ");
        let mut out = String::new();
        escape_value("#x#", &mut out);
        assert_eq!(out, "\\#x#");
    }

    #[test]
    fn unreadable_name_is_a_placeholder() {
        assert_eq!(rfc4514_from_der(b"\x01\x02"), "<unreadable name>");
    }

    #[test]
    fn reverses_rdns() {
        // SEQUENCE { SET { C=US }, SET { O=Acme }, SET { CN=a } }
        let der: &[u8] = &[
            0x30, 0x2a, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'U',
            b'S', 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x04, b'A', b'c',
            b'm', b'e', 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03, b'a',
            b',', b'b',
        ];
        assert_eq!(rfc4514_from_der(der), "CN=a\\,b,O=Acme,C=US");
    }
}
