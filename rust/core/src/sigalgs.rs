//! The signature algorithms certpolicy accepts, everywhere a signature is checked:
//! certificate paths, CRLs and OCSP responses (RFC 5280 section 4.1.1.2, RFC 6960 section
//! 4.2.1), all verified by ring through rustls-webpki.
//!
//! The set is the CA/Browser Forum Baseline Requirements section 7.1.3.2 profile: ECDSA
//! P-256/P-384, RSA PKCS#1 v1.5 and PSS with 2048-8192 bit keys, Ed25519. SHA-1 and keys under
//! 2048 bits are not accepted.

use rustls_pki_types::SignatureVerificationAlgorithm;

/// Every accepted algorithm, in webpki's form.
pub(crate) static SUPPORTED_SIGNATURE_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sha1_and_no_duplicates() {
        let ids: Vec<_> = SUPPORTED_SIGNATURE_ALGORITHMS
            .iter()
            .map(|alg| (alg.public_key_alg_id(), alg.signature_alg_id()))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert!(!ids[i + 1..].contains(id), "duplicate algorithm");
        }
        // sha1WithRSAEncryption (1.2.840.113549.1.1.5) never appears.
        let sha1_rsa: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
        assert!(
            ids.iter()
                .all(|(_, sig)| !sig.as_ref().windows(9).any(|w| w == sha1_rsa))
        );
    }
}
