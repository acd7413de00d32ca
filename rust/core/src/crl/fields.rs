//! The CertificateList fields outside revokedCertificates (RFC 5280 section 5.1): where the
//! signed part, the signature and the issuer lie in the DER, the update times, and the CRL
//! extensions of section 5.2 that certpolicy uses.
//!
//! webpki has already checked the profile (version 2, matching algorithm identifiers,
//! nextUpdate present, no delta or indirect CRL, no unknown critical extension) but does not
//! expose these values, so they are read here with x509-parser, which walks only the few
//! top-level elements: the revoked list is skipped over by its length.

use std::ops::Range;

use x509_parser::der_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::{ASN1Time, FromDer, X509Extension, X509Name};

use crate::dn::rfc4514;

/// id-ce-cRLNumber (RFC 5280 section 5.2.3).
const OID_CRL_NUMBER: &str = "2.5.29.20";
/// id-ce-issuingDistributionPoint (RFC 5280 section 5.2.5).
const OID_ISSUING_DISTRIBUTION_POINT: &str = "2.5.29.28";
/// id-ce-authorityKeyIdentifier (RFC 5280 section 5.2.1).
const OID_AUTHORITY_KEY_IDENTIFIER: &str = "2.5.29.35";

/// A GeneralName in a form that compares equal exactly when the names are the same name of
/// the same type (RFC 5280 section 6.3.3 (b)(2)(i) compares distribution point names).
pub(super) fn general_name_key(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::URI(uri) => format!("uri:{uri}"),
        GeneralName::DNSName(dns) => format!("dns:{}", dns.to_ascii_lowercase()),
        GeneralName::RFC822Name(mail) => format!("rfc822:{mail}"),
        GeneralName::DirectoryName(dn) => {
            let hex: String = dn.as_raw().iter().map(|b| format!("{b:02x}")).collect();
            format!("dn:{hex}")
        }
        GeneralName::IPAddress(ip) => {
            let hex: String = ip.iter().map(|b| format!("{b:02x}")).collect();
            format!("ip:{hex}")
        }
        other => format!("other:{other:?}"),
    }
}

/// The scope an issuingDistributionPoint extension gives the CRL (section 5.2.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Scope {
    /// onlyContainsUserCerts: the CRL says nothing about CA certificates.
    pub(super) only_user_certs: bool,
    /// onlyContainsCACerts: the CRL says nothing about end-entity certificates.
    pub(super) only_ca_certs: bool,
    /// Whether the CRL names a distribution point, i.e. is one partition of the issuer's CRLs.
    pub(super) partitioned: bool,
    /// The names of that distribution point's fullName ([`general_name_key`] form).
    pub(super) names: Vec<String>,
}

/// Everything of a CRL except its entries.
#[derive(Debug, Clone)]
pub(super) struct Fields {
    /// tbsCertList, tag and length included: the signed bytes.
    pub(super) tbs: Range<usize>,
    /// The content octets of signatureAlgorithm (the AlgorithmIdentifier SEQUENCE).
    pub(super) algorithm: Range<usize>,
    /// The signature value (the BIT STRING without its unused-bits octet).
    pub(super) signature: Range<usize>,
    /// The issuer Name, tag and length included.
    pub(super) issuer_der: Range<usize>,
    /// The issuer as an RFC 4514 string.
    pub(super) issuer: String,
    pub(super) this_update: i64,
    pub(super) next_update: Option<i64>,
    /// The CRL number's INTEGER content octets, leading zero octets stripped.
    pub(super) number: Option<Vec<u8>>,
    /// The authorityKeyIdentifier keyIdentifier (section 5.2.1).
    pub(super) authority_key_id: Option<Vec<u8>>,
    pub(super) scope: Scope,
    /// Whether tbsCertList has a crlExtensions field at all (section 5.1.2.7).
    pub(super) has_extensions: bool,
}

/// Offset of `part` inside `whole` (`part` must be a subslice of `whole`).
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

fn range_in(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = offset_in(whole, part);
    start..start + part.len()
}

fn malformed(what: &str) -> String {
    format!("the CRL is not valid DER: {what}")
}

/// Reads one element; returns it and the bytes after it.
fn element<'a>(input: &'a [u8], what: &str) -> Result<(Any<'a>, &'a [u8]), String> {
    let (rest, any) = Any::from_der(input).map_err(|_| malformed(what))?;
    Ok((any, rest))
}

fn time<'a>(input: &'a [u8], what: &str) -> Result<(i64, &'a [u8]), String> {
    let (rest, time) = ASN1Time::from_der(input).map_err(|_| malformed(what))?;
    Ok((time.timestamp(), rest))
}

fn is_time(input: &[u8]) -> bool {
    matches!(input.first(), Some(0x17 | 0x18)) // UTCTime, GeneralizedTime
}

/// Reads the fields of the CertificateList `der`.
pub(super) fn read(der: &[u8]) -> Result<Fields, String> {
    let (list, rest) = element(der, "CertificateList")?;
    if !rest.is_empty() || list.tag() != Tag::Sequence {
        return Err(malformed("CertificateList"));
    }
    let (tbs, after_tbs) = element(list.data, "tbsCertList")?;
    let tbs_raw = &list.data[..list.data.len() - after_tbs.len()];
    let (algorithm, after_algorithm) = element(after_tbs, "signatureAlgorithm")?;
    let (signature, _) = element(after_algorithm, "signatureValue")?;
    let signature_bits = match signature.data.split_first() {
        Some((0, bits)) if signature.tag() == Tag::BitString => bits,
        _ => return Err(malformed("signatureValue")),
    };

    // tbsCertList: version, signature, issuer, thisUpdate, nextUpdate, revokedCertificates,
    // crlExtensions [0].
    let (_version, input) = element(tbs.data, "version")?;
    let (_signature_algorithm, input) = element(input, "signature")?;
    let (issuer_rest, issuer) = X509Name::from_der(input).map_err(|_| malformed("issuer"))?;
    let issuer_raw = &input[..input.len() - issuer_rest.len()];
    let (this_update, mut input) = time(issuer_rest, "thisUpdate")?;
    let mut next_update = None;
    if is_time(input) {
        let (value, rest) = time(input, "nextUpdate")?;
        next_update = Some(value);
        input = rest;
    }
    let mut fields = Fields {
        tbs: range_in(der, tbs_raw),
        algorithm: range_in(der, algorithm.data),
        signature: range_in(der, signature_bits),
        issuer_der: range_in(der, issuer_raw),
        issuer: rfc4514(&issuer),
        this_update,
        next_update,
        number: None,
        authority_key_id: None,
        scope: Scope::default(),
        has_extensions: false,
    };
    while !input.is_empty() {
        let (item, rest) = element(input, "tbsCertList")?;
        input = rest;
        // revokedCertificates is skipped: webpki reads the entries.
        if item.class() == Class::ContextSpecific && item.tag() == Tag(0) {
            fields.has_extensions = true;
            read_extensions(item.data, &mut fields)?;
        }
    }
    Ok(fields)
}

/// Reads the crlExtensions SEQUENCE.
fn read_extensions(explicit: &[u8], fields: &mut Fields) -> Result<(), String> {
    let (sequence, _) = element(explicit, "crlExtensions")?;
    let mut input = sequence.data;
    while !input.is_empty() {
        let (rest, extension) =
            X509Extension::from_der(input).map_err(|_| malformed("a CRL extension"))?;
        input = rest;
        match extension.parsed_extension() {
            ParsedExtension::CRLNumber(_) => {
                // RFC 5280 section 5.2.3: "this extension MUST NOT be marked critical".
                if extension.critical {
                    return Err("the CRL number extension is marked critical; RFC 5280 \
                                section 5.2.3 requires it to be non-critical"
                        .to_owned());
                }
                let (integer, _) = element(extension.value, "CRL number")?;
                let digits = integer.data;
                let first_non_zero = digits.iter().position(|&b| b != 0).unwrap_or(digits.len());
                fields.number = Some(digits[first_non_zero..].to_vec());
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                fields.authority_key_id = aki.key_identifier.as_ref().map(|id| id.0.to_vec());
            }
            ParsedExtension::IssuingDistributionPoint(idp) => {
                fields.scope.only_user_certs = idp.only_contains_user_certs;
                fields.scope.only_ca_certs = idp.only_contains_ca_certs;
                match &idp.distribution_point {
                    Some(DistributionPointName::FullName(names)) => {
                        fields.scope.partitioned = true;
                        fields.scope.names = names.iter().map(general_name_key).collect();
                    }
                    // A name relative to the issuer cannot be matched reliably: refuse the
                    // CRL rather than guess its scope (fail closed).
                    Some(DistributionPointName::NameRelativeToCRLIssuer(_)) => {
                        return Err("the CRL's issuing distribution point is a name relative                                     to the CRL issuer, which is not supported"
                            .to_owned());
                    }
                    None => {}
                }
            }
            // An extension that decides the CRL's scope or signer must be read, or the CRL is
            // refused: treating it as absent would widen the scope (fail open).
            ParsedExtension::ParseError { .. } | ParsedExtension::UnsupportedExtension { .. }
                if [
                    OID_CRL_NUMBER,
                    OID_ISSUING_DISTRIBUTION_POINT,
                    OID_AUTHORITY_KEY_IDENTIFIER,
                ]
                .contains(&extension.oid.to_id_string().as_str()) =>
            {
                return Err(malformed(&format!(
                    "the CRL extension {}",
                    extension.oid.to_id_string()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage() {
        assert!(read(b"").is_err());
        assert!(read(b"\x30\x00").is_err());
        assert!(read(b"\x30\x03\x02\x01\x01").is_err());
        assert!(read(b"\x04\x00").is_err());
    }

    #[test]
    fn reads_a_crl() {
        let der = super::super::testdata::file("crl.der");
        let fields = read(&der).expect("valid");
        assert_eq!(fields.number, Some(vec![42]));
        assert_eq!(fields.authority_key_id.as_ref().map(Vec::len), Some(20));
        assert_eq!(fields.scope, Scope::default());
        assert!(fields.has_extensions);
        assert_eq!(der[fields.tbs.start], 0x30);
        assert_eq!(der[fields.issuer_der.start], 0x30);
        assert!(fields.signature.end == der.len());
        let scoped = super::super::testdata::file("crl_user_only.der");
        let scope = read(&scoped).expect("valid").scope;
        assert!(scope.only_user_certs && !scope.only_ca_certs);
        assert!(scope.partitioned);
        assert_eq!(scope.names, ["uri:http://a/ca.crl"]);
    }

    #[test]
    fn offsets_of_subslices() {
        let whole = [1u8, 2, 3, 4];
        assert_eq!(range_in(&whole, &whole[1..3]), 1..3);
        assert!(is_time(&[0x17]) && is_time(&[0x18]) && !is_time(&[0x30]) && !is_time(&[]));
    }
}
