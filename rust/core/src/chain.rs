//! Certification path building and validation for TLS server certificates (RFC 5280 section
//! 6.1), delegated to rustls-webpki: it tries every candidate path (RFC 4158), checks
//! signatures, validity, basic constraints, path length, name constraints (RFC 5280 section
//! 4.2.1.10) and the serverAuth extended key usage (RFC 5280 section 4.2.1.12).

use std::cell::RefCell;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage, VerifiedPath};

use crate::error::Error;
use crate::limits::{MAX_CERT_BYTES, MAX_PATH_INTERMEDIATES, MAX_PRESENTED_CERTS};
use crate::profile;
use crate::trust::TrustStore;

/// The signature algorithms accepted in a path: those of the CA/Browser Forum Baseline
/// Requirements section 7.1.3.2 (ECDSA P-256/P-384, RSA PKCS#1 v1.5 and PSS with 2048-8192
/// bit keys, Ed25519). SHA-1 and keys under 2048 bits are not accepted.
static SUPPORTED_SIGNATURE_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// How a chain is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Validation time, seconds since the Unix epoch (RFC 5280 section 6.1.1 (b)).
    pub at_unix_seconds: u64,
    /// The most intermediates allowed between the leaf and the anchor; `None` for the
    /// built-in limit.
    pub max_intermediates: Option<usize>,
}

impl VerifyOptions {
    /// Options for validation at `at_unix_seconds` with the default depth limit.
    pub fn at(at_unix_seconds: u64) -> Self {
        Self {
            at_unix_seconds,
            max_intermediates: None,
        }
    }
}

/// The webpki error that stands for "rejected by [`profile::check_path`]". webpki never
/// returns it during path building without revocation options, so it cannot be confused.
const PROFILE_REJECTION: webpki::Error = webpki::Error::UnsupportedCrlVersion;

/// The certificate a trust anchor of `store` came from (the anchor is one of its elements).
fn anchor_der_of<'s>(
    store: &'s TrustStore,
    anchor: &TrustAnchor<'_>,
) -> Result<&'s CertificateDer<'static>, webpki::Error> {
    store
        .anchors()
        .iter()
        .position(|candidate| std::ptr::eq(candidate, anchor))
        .and_then(|index| store.anchor_der(index))
        .ok_or(webpki::Error::UnknownIssuer)
}

/// Checks the size budgets of a presented chain before any parsing.
fn check_presented(chain: &[&[u8]]) -> Result<(), Error> {
    if chain.is_empty() {
        return Err(Error::Chain(
            "the chain is empty: no server certificate was presented".to_owned(),
        ));
    }
    if chain.len() > MAX_PRESENTED_CERTS {
        return Err(Error::Chain(format!(
            "the chain has {} certificates; at most {MAX_PRESENTED_CERTS} are accepted",
            chain.len()
        )));
    }
    if let Some((index, cert)) = chain
        .iter()
        .enumerate()
        .find(|(_, cert)| cert.len() > MAX_CERT_BYTES)
    {
        return Err(Error::Chain(format!(
            "certificate #{index} of the chain is {} bytes; at most {MAX_CERT_BYTES} are accepted",
            cert.len()
        )));
    }
    Ok(())
}

/// The subject of a DER certificate as an RFC 4514 string, for messages.
pub(crate) fn subject_of(der: &[u8]) -> String {
    use x509_parser::prelude::{FromDer, X509Certificate};
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => crate::dn::rfc4514(cert.subject()),
        Err(_) => "<unparseable certificate>".to_owned(),
    }
}

fn format_time(unix: UnixTime) -> String {
    crate::timefmt::rfc3339(i64::try_from(unix.as_secs()).unwrap_or(i64::MAX))
}

/// Explains a webpki error in words a user can act on.
fn explain(err: &webpki::Error) -> String {
    use webpki::Error as E;
    match err {
        E::UnknownIssuer => {
            "no path to a trusted root: the issuer is not in the trust store and no \
             presented intermediate leads to one"
                .to_owned()
        }
        E::CertExpired { time, not_after } => format!(
            "a certificate in the path expired at {} (checked at {})",
            format_time(*not_after),
            format_time(*time)
        ),
        E::CertNotValidYet { time, not_before } => format!(
            "a certificate in the path is not valid before {} (checked at {})",
            format_time(*not_before),
            format_time(*time)
        ),
        E::InvalidSignatureForPublicKey => {
            "a signature in the path does not verify with its issuer's key".to_owned()
        }
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate in the path uses an unsupported or insecure signature algorithm"
                .to_owned()
        }
        E::NameConstraintViolation => {
            "a name in the certificate violates the name constraints of an issuing CA".to_owned()
        }
        E::RequiredEkuNotFoundContext(_) => {
            "a certificate in the path is not valid for TLS server authentication \
             (extended key usage)"
                .to_owned()
        }
        E::CaUsedAsEndEntity => "a CA certificate was presented as the server certificate".into(),
        E::EndEntityUsedAsCa => "a non-CA certificate was used to issue another one".into(),
        E::PathLenConstraintViolated => "a CA's path length constraint is exceeded".into(),
        E::MaximumPathDepthExceeded => {
            "the path needs more intermediates than the allowed maximum depth".into()
        }
        E::MaximumSignatureChecksExceeded | E::MaximumPathBuildCallsExceeded => {
            "path building gave up: the work budget was exhausted (too many candidate paths)".into()
        }
        E::MaximumNameConstraintComparisonsExceeded => {
            "name constraint checking gave up: the work budget was exhausted".into()
        }
        E::CertDistrusted => "a certificate in the path is explicitly distrusted".into(),
        E::UnsupportedCertVersion => "the certificate is not an X.509 v3 certificate".into(),
        E::BadDer | E::BadDerTime | E::TrailingData(_) => {
            "a certificate in the path is not valid DER".into()
        }
        other => format!("{other}"),
    }
}

/// Verifies `chain` (DER, leaf first, then untrusted intermediates in any order) for TLS
/// server authentication against `store`, and returns the verified path, leaf to anchor.
pub fn verify_chain(
    chain: &[&[u8]],
    store: &TrustStore,
    options: VerifyOptions,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    check_presented(chain)?;
    let leaf_der = CertificateDer::from(chain[0]);
    let leaf = EndEntityCert::try_from(&leaf_der).map_err(|err| {
        Error::Chain(format!(
            "the server certificate is malformed or unsupported: {}",
            explain(&err)
        ))
    })?;
    let intermediates: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|c| CertificateDer::from(*c))
        .collect();
    let max_intermediates = options
        .max_intermediates
        .unwrap_or(MAX_PATH_INTERMEDIATES)
        .min(MAX_PATH_INTERMEDIATES);
    // Called for each candidate path webpki finds; returning an error here makes webpki go
    // on with the next candidate. Profile rejections carry their own explanation.
    let profile_reason = RefCell::new(None::<String>);
    let check_candidate = |path: &VerifiedPath<'_>| {
        let intermediates: Vec<CertificateDer<'_>> = path
            .intermediate_certificates()
            .map(|cert| cert.der())
            .collect();
        if intermediates.len() > max_intermediates {
            return Err(webpki::Error::MaximumPathDepthExceeded);
        }
        let anchor = store
            .anchor_for(path.anchor())
            .ok_or(webpki::Error::UnknownIssuer)?;
        let mut certs = Vec::with_capacity(1 + intermediates.len());
        certs.push(chain[0]);
        certs.extend(intermediates.iter().map(|cert| cert.as_ref()));
        profile::check_path(
            &certs,
            anchor.der.as_ref(),
            &anchor.profile,
            options.at_unix_seconds,
        )
        .map_err(|reason| {
            profile_reason.replace(Some(reason));
            PROFILE_REJECTION
        })
    };
    let time = UnixTime::since_unix_epoch(Duration::from_secs(options.at_unix_seconds));
    let path = leaf
        .verify_for_usage(
            SUPPORTED_SIGNATURE_ALGORITHMS,
            store.anchors(),
            &intermediates,
            time,
            KeyUsage::server_auth(),
            None,
            Some(&check_candidate),
        )
        .map_err(|err| {
            let reason = match profile_reason.take() {
                Some(reason) if err == PROFILE_REJECTION => reason,
                _ => explain(&err),
            };
            Error::Chain(format!(
                "certificate \"{}\" is not trusted: {reason}",
                subject_of(chain[0])
            ))
        })?;

    let mut verified = Vec::with_capacity(2 + path.intermediate_certificates().count());
    verified.push(leaf_der.clone().into_owned());
    for cert in path.intermediate_certificates() {
        verified.push(cert.der().into_owned());
    }
    let anchor_der = anchor_der_of(store, path.anchor())
        .map_err(|_| Error::Chain("internal error: verified anchor not in store".into()))?;
    verified.push(anchor_der.clone());
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn store() -> TrustStore {
        let mut store = TrustStore::new();
        store.add_der(&testdata::root()).expect("root parses");
        store
    }

    #[test]
    fn verifies_leaf_and_intermediate() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let path = verify_chain(&[&leaf, &int], &store(), VerifyOptions::at(testdata::NOW))
            .expect("valid chain");
        assert_eq!(path.len(), 3);
        assert_eq!(path[0].as_ref(), leaf.as_slice());
        assert_eq!(path[1].as_ref(), int.as_slice());
        assert_eq!(path[2].as_ref(), testdata::root().as_slice());
    }

    #[test]
    fn missing_intermediate_is_unknown_issuer() {
        let leaf = testdata::leaf();
        let err = verify_chain(&[&leaf], &store(), VerifyOptions::at(testdata::NOW))
            .expect_err("no intermediate");
        assert!(
            err.to_string().contains("no path to a trusted root"),
            "{err}"
        );
        assert!(err.to_string().contains("CN=leaf.example.com"), "{err}");
    }

    #[test]
    fn expired_is_reported_with_dates() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let err = verify_chain(&[&leaf, &int], &store(), VerifyOptions::at(testdata::LATER))
            .expect_err("expired");
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn depth_limit_is_enforced() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let options = VerifyOptions {
            at_unix_seconds: testdata::NOW,
            max_intermediates: Some(0),
        };
        let err = verify_chain(&[&leaf, &int], &store(), options).expect_err("too deep");
        assert!(err.to_string().contains("depth"), "{err}");
    }

    #[test]
    fn budgets_reject_oversized_input() {
        let empty: [&[u8]; 0] = [];
        assert!(verify_chain(&empty, &store(), VerifyOptions::at(0)).is_err());
        let big = vec![0u8; MAX_CERT_BYTES + 1];
        assert!(verify_chain(&[&big], &store(), VerifyOptions::at(0)).is_err());
        let leaf = testdata::leaf();
        let many = vec![leaf.as_slice(); MAX_PRESENTED_CERTS + 1];
        assert!(verify_chain(&many, &store(), VerifyOptions::at(0)).is_err());
        assert!(verify_chain(&[b"garbage"], &store(), VerifyOptions::at(0)).is_err());
    }
}
