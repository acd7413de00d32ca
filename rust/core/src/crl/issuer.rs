//! Whether a certificate is the CRL's issuer (RFC 5280 section 6.3.3 (f)) and whether a CRL
//! speaks for a certificate (section 6.3.3 (a), (b)).

use x509_parser::extensions::{DistributionPointName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::fields::Fields;
use super::fields::general_name_key;
use crate::dn::rfc4514;
use crate::limits::MAX_CERT_BYTES;
use crate::sigalgs::SUPPORTED_SIGNATURE_ALGORITHMS;

fn parse_cert<'a>(der: &'a [u8], role: &str) -> Result<X509Certificate<'a>, String> {
    if der.len() > MAX_CERT_BYTES {
        return Err(format!(
            "the {role} certificate is {} bytes; at most {MAX_CERT_BYTES} are accepted",
            der.len()
        ));
    }
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(format!(
            "the {role} certificate is not a DER X.509 certificate"
        )),
    }
}

/// Checks that `issuer` (DER) issued the CRL: its subject is the CRL issuer, its subject key
/// identifier matches the CRL's authority key identifier (when both are present), its key
/// usage (when present) allows cRLSign, and its key verifies the CRL signature.
pub(super) fn verify(der: &[u8], fields: &Fields, issuer: &[u8]) -> Result<(), String> {
    let cert = parse_cert(issuer, "issuer")?;
    let crl_issuer = &der[fields.issuer_der.clone()];
    if cert.subject().as_raw() != crl_issuer {
        return Err(format!(
            "the CRL was issued by \"{}\", not by \"{}\"",
            fields.issuer,
            rfc4514(cert.subject())
        ));
    }
    let mut subject_key_id = None;
    for extension in cert.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => subject_key_id = Some(id.0),
            // An unreadable key usage must not count as "no restriction".
            ParsedExtension::ParseError { .. } | ParsedExtension::UnsupportedExtension { .. }
                if extension.oid.to_id_string() == "2.5.29.15" =>
            {
                return Err(format!(
                    "the issuer certificate \"{}\" has a malformed key usage",
                    fields.issuer
                ));
            }
            ParsedExtension::KeyUsage(usage) if !usage.crl_sign() => {
                return Err(format!(
                    "the issuer certificate \"{}\" may not sign CRLs: its key usage lacks \
                     cRLSign (RFC 5280 section 4.2.1.3)",
                    fields.issuer
                ));
            }
            _ => {}
        }
    }
    if let (Some(crl_key_id), Some(cert_key_id)) = (&fields.authority_key_id, subject_key_id) {
        if crl_key_id.as_slice() != cert_key_id {
            return Err(format!(
                "the CRL's authority key identifier does not match the subject key identifier \
                 of \"{}\": it was signed by another key of that name",
                fields.issuer
            ));
        }
    }
    verify_signature(der, fields, issuer)
}

/// Verifies the CRL signature with the issuer's subject public key (RFC 5280 section 6.3.3
/// (g)). The key is read from the certificate directly, so an X.509 v1 issuer (a trust anchor
/// that RFC 5280 section 6.1.1 (d) allows) works as well as a v3 one.
fn verify_signature(der: &[u8], fields: &Fields, issuer: &[u8]) -> Result<(), String> {
    let key = crate::der::signed(issuer)
        .and_then(|signed| crate::der::public_key(&signed))
        .ok_or_else(|| {
            "the issuer certificate cannot be used: its public key cannot be read".to_owned()
        })?;
    let algorithm = &der[fields.algorithm.clone()];
    let (message, signature) = (&der[fields.tbs.clone()], &der[fields.signature.clone()]);
    let mut key_mismatch = false;
    for candidate in SUPPORTED_SIGNATURE_ALGORITHMS
        .iter()
        .filter(|alg| alg.signature_alg_id().as_ref() == algorithm)
    {
        if candidate.public_key_alg_id().as_ref() != key.algorithm {
            key_mismatch = true;
            continue;
        }
        return candidate
            .verify_signature(key.key, message, signature)
            .map_err(|_| {
                format!(
                    "the CRL signature does not verify with the key of \"{}\"",
                    fields.issuer
                )
            });
    }
    Err(if key_mismatch {
        format!(
            "the CRL signature algorithm does not fit the key of \"{}\"",
            fields.issuer
        )
    } else {
        "the CRL is signed with an unsupported or insecure algorithm (accepted: ECDSA P-256/P-384, \
         Ed25519, RSA 2048-8192 PKCS#1 v1.5 or PSS with SHA-256/384/512)"
            .to_owned()
    })
}

/// Checks that the CRL speaks for `cert` (DER): the same issuer name, and a scope
/// (issuingDistributionPoint) that includes it.
pub(super) fn check_scope(der: &[u8], fields: &Fields, cert: &[u8]) -> Result<(), String> {
    let cert = parse_cert(cert, "checked")?;
    if cert.issuer().as_raw() != &der[fields.issuer_der.clone()] {
        return Err(format!(
            "the CRL of \"{}\" does not cover a certificate issued by \"{}\"",
            fields.issuer,
            rfc4514(cert.issuer())
        ));
    }
    // A basicConstraints that is present but unreadable must not count as "not a CA".
    let is_ca = cert
        .basic_constraints()
        .map_err(|_| "the checked certificate's basic constraints are malformed".to_owned())?
        .is_some_and(|bc| bc.value.ca);
    if fields.scope.only_user_certs && is_ca {
        return Err("the CRL covers only end-entity certificates, not this CA".to_owned());
    }
    if fields.scope.only_ca_certs && !is_ca {
        return Err("the CRL covers only CA certificates, not this end-entity".to_owned());
    }
    if !fields.scope.partitioned {
        return Ok(());
    }
    // Section 6.3.3 (b)(2)(i): the CRL is one partition; a distribution point of the
    // certificate must carry one of its names (any name type, compared exactly). A
    // certificate without any distribution point is in scope by issuer name alone.
    let mut has_points = false;
    let mut cert_names = Vec::new();
    for extension in cert.extensions() {
        match extension.parsed_extension() {
            ParsedExtension::CRLDistributionPoints(points) => {
                has_points = true;
                for point in points.iter() {
                    if point.reasons.is_some() {
                        continue; // a reason-partitioned point is never this CRL's scope
                    }
                    if let Some(DistributionPointName::FullName(names)) = &point.distribution_point
                    {
                        cert_names.extend(names.iter().map(general_name_key));
                    }
                }
            }
            ParsedExtension::ParseError { .. } | ParsedExtension::UnsupportedExtension { .. }
                if extension.oid.to_id_string() == "2.5.29.31" =>
            {
                return Err(
                    "the checked certificate's CRL distribution points are malformed".to_owned(),
                );
            }
            _ => {}
        }
    }
    if !has_points
        || cert_names
            .iter()
            .any(|name| fields.scope.names.contains(name))
    {
        return Ok(());
    }
    Err(format!(
        "the CRL is the partition for {} and does not cover this certificate's distribution \
         points ({})",
        fields.scope.names.join(", "),
        if cert_names.is_empty() {
            "none with a full name".to_owned()
        } else {
            cert_names.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fields;
    use super::super::testdata::file;
    use super::*;

    #[test]
    fn verifies_the_right_issuer_only() {
        let der = file("crl.der");
        let fields = fields::read(&der).expect("fields");
        assert!(verify(&der, &fields, &file("issuer.der")).is_ok());
        assert!(verify(&der, &fields, &file("other_ca.der")).is_err());
        assert!(verify(&der, &fields, &file("imposter.der")).is_err());
        assert!(verify(&der, &fields, &file("no_crl_sign.der")).is_err());
        assert!(verify(&der, &fields, b"").is_err());
        let huge = vec![0u8; MAX_CERT_BYTES + 1];
        assert!(
            verify(&der, &fields, &huge)
                .expect_err("too big")
                .contains("at most")
        );
    }

    #[test]
    fn a_signature_made_by_another_key_fails() {
        let der = file("crl_wrong_signer.der");
        let fields = fields::read(&der).expect("fields");
        let text = verify_signature(&der, &fields, &file("issuer.der")).expect_err("wrong key");
        assert!(text.contains("does not verify"), "{text}");
    }
}
