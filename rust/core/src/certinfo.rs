//! A summary of one certificate (RFC 5280 section 4.1 fields and the extensions of sections
//! 4.2.1.6, 4.2.1.9, 4.2.1.13 and 4.2.2.1) for reports, the CLI, revocation fetching and the
//! fetching of missing intermediates.

use std::net::IpAddr;

use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS, OID_PKIX_ACCESS_DESCRIPTOR_OCSP,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::dn::rfc4514;
use crate::error::Error;
use crate::limits::MAX_CERT_BYTES;
use crate::trust::sha256;

/// What `cert_info` reports about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// The serial number's DER content octets (big-endian two's complement).
    pub serial: Vec<u8>,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// subjectAltName dNSName entries, in certificate order.
    pub dns_names: Vec<String>,
    /// subjectAltName iPAddress entries, in textual form.
    pub ip_addresses: Vec<String>,
    /// basicConstraints cA (RFC 5280 section 4.2.1.9).
    pub is_ca: bool,
    /// URIs of the CRL distribution points' fullName (section 4.2.1.13).
    pub crl_urls: Vec<String>,
    /// URIs of the authorityInfoAccess id-ad-ocsp entries (section 4.2.2.1).
    pub ocsp_urls: Vec<String>,
    /// URIs of the authorityInfoAccess id-ad-caIssuers entries (section 4.2.2.1): where the
    /// certificate of its issuer can be fetched (a DER certificate or a PKCS#7 "certs-only"
    /// message, see [`crate::aia`]).
    pub ca_issuers_urls: Vec<String>,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
}

fn uri_of(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::URI(uri) => Some((*uri).to_owned()),
        _ => None,
    }
}

/// Parses `der` and summarises it.
pub fn cert_info(der: &[u8]) -> Result<CertInfo, Error> {
    if der.len() > MAX_CERT_BYTES {
        return Err(Error::MalformedInput(format!(
            "certificate is {} bytes; at most {MAX_CERT_BYTES} are accepted",
            der.len()
        )));
    }
    let (rest, cert) = X509Certificate::from_der(der)
        .map_err(|err| Error::MalformedInput(format!("not a DER X.509 certificate: {err}")))?;
    if !rest.is_empty() {
        return Err(Error::MalformedInput(format!(
            "{} bytes of trailing data after the certificate",
            rest.len()
        )));
    }
    let mut info = CertInfo {
        subject: rfc4514(cert.subject()),
        issuer: rfc4514(cert.issuer()),
        serial: cert.raw_serial().to_vec(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        is_ca: false,
        crl_urls: Vec::new(),
        ocsp_urls: Vec::new(),
        ca_issuers_urls: Vec::new(),
        sha256: sha256(der).iter().map(|b| format!("{b:02x}")).collect(),
    };
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(dns) => info.dns_names.push((*dns).to_owned()),
                        GeneralName::IPAddress(bytes) => {
                            let ip = match bytes.len() {
                                4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                                16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                                _ => None,
                            };
                            if let Some(ip) = ip {
                                info.ip_addresses.push(ip.to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
            ParsedExtension::BasicConstraints(bc) => info.is_ca = bc.ca,
            ParsedExtension::CRLDistributionPoints(points) => {
                for point in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &point.distribution_point
                    {
                        info.crl_urls.extend(names.iter().filter_map(uri_of));
                    }
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for desc in aia.iter() {
                    let urls = if desc.access_method == OID_PKIX_ACCESS_DESCRIPTOR_OCSP {
                        &mut info.ocsp_urls
                    } else if desc.access_method == OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS {
                        &mut info.ca_issuers_urls
                    } else {
                        continue;
                    };
                    urls.extend(uri_of(&desc.access_location));
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn summarises_the_leaf() {
        let info = cert_info(&testdata::leaf()).expect("parses");
        assert_eq!(info.subject, "CN=leaf.example.com,O=certpolicy test");
        assert_eq!(
            info.issuer,
            "CN=certpolicy test intermediate,O=certpolicy test"
        );
        assert_eq!(info.serial, vec![0x00, 0xc0, 0xff, 0xee]);
        assert_eq!(
            info.dns_names,
            [
                "leaf.example.com",
                "*.wild.example.com",
                "xn--bcher-kva.example"
            ]
        );
        assert_eq!(info.ip_addresses, ["127.0.0.1", "::1"]);
        assert!(!info.is_ca);
        assert_eq!(info.not_before, 1_735_689_600);
        assert_eq!(info.sha256.len(), 64);
    }

    #[test]
    fn authority_information_access() {
        use crate::testdata::build::{self, Key, seq, tlv};
        // AccessDescription ::= SEQUENCE { accessMethod OID, accessLocation GeneralName }
        let access = |method: u8, uri: &str| {
            seq(&[
                &tlv(0x06, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, method]),
                &tlv(0x86, uri.as_bytes()),
            ])
        };
        let aia = seq(&[
            &access(0x01, "http://ocsp.example/"),
            &access(0x02, "http://ca.example/int.cer"),
            &seq(&[
                &tlv(0x06, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02]),
                &tlv(0x82, b"not-a-uri.example"),
            ]),
            &access(0x02, "ldap://ca.example/cn=int"),
        ]);
        let key = Key::new();
        let mut cert = build::Cert::new("aia", "issuer");
        cert.extensions = vec![build::extension(
            &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01],
            false,
            &aia,
        )];
        let info = cert_info(&cert.sign(&key, &key)).expect("parses");
        assert_eq!(info.ocsp_urls, ["http://ocsp.example/"]);
        assert_eq!(
            info.ca_issuers_urls,
            ["http://ca.example/int.cer", "ldap://ca.example/cn=int"]
        );
        assert!(
            cert_info(&testdata::leaf())
                .expect("parses")
                .ca_issuers_urls
                .is_empty()
        );
    }

    #[test]
    fn ca_flag() {
        assert!(cert_info(&testdata::root()).expect("parses").is_ca);
    }

    #[test]
    fn rejects_garbage_and_trailing_data() {
        assert!(cert_info(b"").is_err());
        assert!(cert_info(b"\x30\x82\xff\xff").is_err());
        let mut padded = testdata::leaf();
        padded.push(0);
        assert!(cert_info(&padded).is_err());
    }

    #[test]
    fn extreme_years_give_a_value_or_a_typed_error() {
        use crate::testdata::build::{self, Key};
        let key = Key::new();
        for (not_before, not_after) in [
            ("00000101000000Z", "99991231235959Z"),
            ("00000229000000Z", "00001231235959Z"),
            ("19691231235959Z", "20500101000000Z"),
        ] {
            let mut cert = build::Cert::new("years", "years");
            cert.not_before = not_before;
            cert.not_after = not_after;
            let der = cert.sign(&key, &key);
            match cert_info(&der) {
                Ok(info) => {
                    // Seconds since the epoch, whatever the year: Python turns them into a
                    // datetime (and clamps what it cannot represent).
                    assert!(info.not_before <= info.not_after, "{not_before}");
                    if not_before == "00000101000000Z" {
                        assert_eq!(info.not_before, -62_167_219_200, "{not_before}");
                    }
                }
                Err(err) => assert!(matches!(err, Error::MalformedInput(_)), "{err:?}"),
            }
            // The other readers of certificate times never panic either.
            let _ = crate::der::validity(&der);
            let mut store = crate::TrustStore::new();
            let _ = store.add_der(&der);
            let _ = crate::verify_chain(&[&der], &store, crate::VerifyOptions::at(0));
        }
    }
}
