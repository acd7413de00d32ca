//! Subject public keys (RFC 5280 section 4.1.2.7): the key types and sizes the CA/Browser
//! Forum Baseline Requirements allow (section 6.1.5), read from the SubjectPublicKeyInfo as
//! RFC 3279 section 2.3.1 (RSA) and RFC 5480 section 2.1.1 (elliptic curves) define it.

use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_DSA, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519, Oid,
};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::Rule;

/// BR section 6.1.5 (key sizes) and 7.1.3.1 (SubjectPublicKeyInfo): RSA keys of at least
/// 2048 bits whose modulus size is a multiple of 8, ECDSA keys on P-256, P-384 or P-521, and
/// Ed25519 keys (which the signature algorithms of this library accept). DSA and every other
/// key type are refused.
pub(super) fn check_public_key(spki: &SubjectPublicKeyInfo<'_>) -> Rule {
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let bits = match spki.parsed() {
            Ok(PublicKey::RSA(key)) => modulus_bits(key.modulus),
            _ => None,
        };
        return match bits {
            None => Err("has a malformed RSA public key (RFC 3279 section 2.3.1)".into()),
            Some(bits) if bits < 2048 => Err(format!(
                "has a {bits}-bit RSA key; the CA/Browser Forum Baseline Requirements section \
                 6.1.5 require at least 2048 bits"
            )
            .into()),
            Some(bits) if bits % 8 != 0 => Err(format!(
                "has a {bits}-bit RSA key; the CA/Browser Forum Baseline Requirements section \
                 6.1.5 require a modulus size in bits divisible by 8"
            )
            .into()),
            Some(_) => Ok(()),
        };
    }
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|params| Oid::try_from(params).ok());
        return match curve {
            Some(curve)
                if curve == OID_EC_P256
                    || curve == OID_NIST_EC_P384
                    || curve == OID_NIST_EC_P521 =>
            {
                Ok(())
            }
            Some(curve) => Err(format!(
                "has an ECDSA key on curve {}; the CA/Browser Forum Baseline Requirements \
                 section 6.1.5 allow only P-256, P-384 and P-521",
                curve.to_id_string()
            )
            .into()),
            None => Err(
                "has an ECDSA key without a named curve; RFC 5480 section 2.1.1 \
                 requires one, and the CA/Browser Forum Baseline Requirements section \
                 6.1.5 allow only P-256, P-384 and P-521"
                    .into(),
            ),
        };
    }
    if *algorithm == OID_SIG_ED25519 {
        return Ok(());
    }
    if *algorithm == OID_KEY_TYPE_DSA {
        return Err(
            "has a DSA key; the CA/Browser Forum Baseline Requirements section 6.1.5 \
             allow only RSA and ECDSA keys"
                .into(),
        );
    }
    Err(format!(
        "has a public key of unsupported type {}; the CA/Browser Forum Baseline Requirements \
         section 6.1.5 allow only RSA and ECDSA keys",
        algorithm.to_id_string()
    )
    .into())
}

/// The size in bits of a DER INTEGER's content octets read as an RSA modulus; `None` when it
/// is negative or zero.
fn modulus_bits(modulus: &[u8]) -> Option<usize> {
    if modulus.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let start = modulus.iter().position(|&b| b != 0)?;
    let significant = modulus.get(start..)?;
    let first = *significant.first()?;
    Some(significant.len() * 8 - first.leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn rsa_modulus_sizes() {
        let mut modulus = vec![0x00, 0x80];
        modulus.extend([0u8; 255]);
        assert_eq!(modulus_bits(&modulus), Some(2048));
        assert_eq!(modulus_bits(&modulus[1..]), None, "negative");
        let mut odd = vec![0x00, 0x0f];
        odd.extend([0xffu8; 256]);
        assert_eq!(modulus_bits(&odd), Some(2052));
        assert_eq!(modulus_bits(&[0x00, 0x00]), None);
        assert_eq!(modulus_bits(&[]), None);
    }

    #[test]
    fn the_test_pki_keys_are_accepted() {
        for der in [
            testdata::root(),
            testdata::intermediate(),
            testdata::leaf(),
            testdata::cn_only(),
        ] {
            let cert = crate::profile::parse(&der).expect("parses");
            assert_eq!(check_public_key(cert.public_key()), Ok(()));
        }
    }
}
