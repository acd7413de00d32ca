//! Who may sign an OCSP response and how its signature is checked (RFC 6960 section 4.2.2.2):
//! the CA that issued the certificate, or a delegated responder whose certificate that CA
//! issued directly, with id-kp-OCSPSigning, valid at the check time. Signatures are verified by
//! ring through rustls-webpki's algorithm statics.

use std::time::Duration;

use der::oid::ObjectIdentifier;
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::sigalgs::SUPPORTED_SIGNATURE_ALGORITHMS;
use crate::timefmt::rfc3339;

/// id-kp-OCSPSigning (RFC 6960 section 4.2.2.2), the OID's DER content octets.
static ID_KP_OCSP_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09];

/// Why a signature did not verify.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SignatureFailure {
    /// No accepted algorithm has this AlgorithmIdentifier for this kind of key.
    UnsupportedAlgorithm,
    /// The signature does not verify with the key.
    Invalid,
}

/// Verifies `signature` over `message` with the public key of `signer`. `algorithm` is the
/// DER content of the signature's AlgorithmIdentifier, as webpki's `signature_alg_id()`.
pub(crate) fn verify_signature(
    signer: &EndEntityCert<'_>,
    algorithm: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureFailure> {
    let mut failure = SignatureFailure::UnsupportedAlgorithm;
    // Several algorithms share a signature id (ECDSA with SHA-256 over P-256 or P-384); the
    // key's algorithm decides, and webpki reports a mismatch without checking.
    for candidate in SUPPORTED_SIGNATURE_ALGORITHMS
        .iter()
        .filter(|candidate| candidate.signature_alg_id().as_ref() == algorithm)
    {
        match signer.verify_signature(*candidate, message, signature) {
            Ok(()) => return Ok(()),
            Err(webpki::Error::InvalidSignatureForPublicKey) => {
                failure = SignatureFailure::Invalid;
            }
            Err(_) => {}
        }
    }
    Err(failure)
}

/// Checks that `responder` (DER) is a delegated OCSP responder of `issuer` (DER) at
/// `at_unix_seconds`: issued directly by `issuer` (signature checked), an end-entity
/// certificate with id-kp-OCSPSigning in its extended key usage, valid at that time. On
/// failure, the reason in words.
pub(crate) fn authorize_delegate(
    responder: &EndEntityCert<'_>,
    issuer: &CertificateDer<'_>,
    at_unix_seconds: u64,
) -> Result<(), String> {
    let anchor = webpki::anchor_from_trusted_cert(issuer)
        .map_err(|err| format!("the issuer certificate cannot be used as an anchor: {err}"))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(at_unix_seconds));
    responder
        .verify_for_usage(
            SUPPORTED_SIGNATURE_ALGORITHMS,
            &[anchor],
            &[],
            time,
            KeyUsage::required(ID_KP_OCSP_SIGNING),
            None,
            None,
        )
        .map(|_| ())
        .map_err(|err| explain_delegate(&err))
}

fn explain_delegate(err: &webpki::Error) -> String {
    use webpki::Error as E;
    let when = |unix: UnixTime| rfc3339(i64::try_from(unix.as_secs()).unwrap_or(i64::MAX));
    match err {
        E::RequiredEkuNotFoundContext(_) => {
            "it lacks the id-kp-OCSPSigning extended key usage".to_owned()
        }
        E::UnknownIssuer | E::InvalidSignatureForPublicKey => {
            "it was not issued by the certificate's issuer".to_owned()
        }
        E::CertExpired { time, not_after } => format!(
            "it is not valid at {}: it expired at {}",
            when(*time),
            when(*not_after)
        ),
        E::CertNotValidYet { time, not_before } => format!(
            "it is not valid at {}: it is valid from {}",
            when(*time),
            when(*not_before)
        ),
        E::CaUsedAsEndEntity => "it is a CA certificate, not a responder certificate".to_owned(),
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "it is signed with an unsupported or insecure algorithm".to_owned()
        }
        other => format!("it is not acceptable: {other}"),
    }
}

/// A readable name for an algorithm OID, for messages.
pub(crate) fn algorithm_name(oid: &ObjectIdentifier) -> String {
    match der::oid::db::DB.by_oid(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn ocsp_signing_oid_is_1_3_6_1_5_5_7_3_9() {
        let oid = ObjectIdentifier::from_bytes(ID_KP_OCSP_SIGNING).expect("valid OID");
        assert_eq!(oid, der::oid::db::rfc5280::ID_KP_OCSP_SIGNING);
    }

    #[test]
    fn unknown_algorithm_and_bad_signature() {
        let int = testdata::intermediate();
        let der = CertificateDer::from(int.as_slice());
        let signer = EndEntityCert::try_from(&der).expect("parses");
        assert_eq!(
            verify_signature(&signer, b"\x06\x01\x00", b"message", b"sig"),
            Err(SignatureFailure::UnsupportedAlgorithm)
        );
        let ecdsa_sha256 = webpki::ring::ECDSA_P256_SHA256.signature_alg_id();
        assert_eq!(
            verify_signature(&signer, ecdsa_sha256.as_ref(), b"message", b"\x30\x00"),
            Err(SignatureFailure::Invalid)
        );
    }

    #[test]
    fn a_server_certificate_is_no_delegated_responder() {
        // The test leaf is issued by the intermediate but carries serverAuth only.
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let leaf_der = CertificateDer::from(leaf.as_slice());
        let responder = EndEntityCert::try_from(&leaf_der).expect("parses");
        let issuer = CertificateDer::from(int.as_slice());
        let reason = authorize_delegate(&responder, &issuer, testdata::NOW).expect_err("no EKU");
        assert!(reason.contains("id-kp-OCSPSigning"), "{reason}");
    }

    #[test]
    fn names_known_algorithms() {
        let name = algorithm_name(&der::oid::db::rfc5912::ECDSA_WITH_SHA_256);
        assert!(name.contains("ecdsa-with-SHA256"), "{name}");
    }
}
