//! The cost floor of chain verification, for benchmarks: the signature checks of a known path
//! (RFC 5280 section 6.1.3 (a)(1)) with the very algorithms [`super::verify_chain`] gives
//! webpki, and nothing else: no path building, no profile, validity or name checks, no cache.
//! A cold `verify_chain` can never be cheaper than this; how close it gets is the measure of
//! its overhead.

use crate::der;
use crate::error::{ChainErrorKind, Error};
use crate::limits::MAX_PRESENTED_CERTS;
use crate::sigalgs::SUPPORTED_SIGNATURE_ALGORITHMS;

/// Checks the signature of each certificate of `path` (leaf first, anchor last, as
/// `verify_chain` returns it) with the public key of the next one; the anchor's own signature
/// is not checked, as in path validation. Returns how many signatures were checked.
pub fn signature_floor(path: &[&[u8]]) -> Result<usize, Error> {
    if path.len() > MAX_PRESENTED_CERTS + 1 {
        return Err(Error::MalformedInput(format!(
            "the path has {} certificates; at most {} are accepted",
            path.len(),
            MAX_PRESENTED_CERTS + 1
        )));
    }
    let unreadable =
        |index: usize| Error::MalformedInput(format!("certificate #{index} cannot be read"));
    let mut checked = 0;
    for (index, pair) in path.windows(2).enumerate() {
        let [subject, issuer] = pair else {
            continue;
        };
        if subject == issuer {
            continue; // a directly trusted server certificate: nothing signs it
        }
        let signed = der::signed(subject).ok_or_else(|| unreadable(index))?;
        let issuer_signed = der::signed(issuer).ok_or_else(|| unreadable(index + 1))?;
        let key = der::public_key(&issuer_signed).ok_or_else(|| unreadable(index + 1))?;
        let algorithm = SUPPORTED_SIGNATURE_ALGORITHMS
            .iter()
            .find(|algorithm| {
                algorithm.signature_alg_id().as_ref() == signed.algorithm
                    && algorithm.public_key_alg_id().as_ref() == key.algorithm
            })
            .ok_or_else(|| {
                Error::chain(
                    ChainErrorKind::BadSignature,
                    format!("certificate #{index}: unsupported signature or key algorithm"),
                )
            })?;
        algorithm
            .verify_signature(key.key, signed.tbs, signed.signature)
            .map_err(|_| {
                Error::chain(
                    ChainErrorKind::BadSignature,
                    format!(
                        "certificate #{index}: the signature does not verify with the next \
                         certificate's key"
                    ),
                )
            })?;
        checked += 1;
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn checks_each_signature_of_a_path() {
        let (leaf, int, root) = (testdata::leaf(), testdata::intermediate(), testdata::root());
        assert_eq!(signature_floor(&[&leaf, &int, &root]), Ok(2));
        assert_eq!(signature_floor(&[&int, &root]), Ok(1));
        assert_eq!(signature_floor(&[&root]), Ok(0));
        assert!(matches!(
            signature_floor(&[&leaf, &root]),
            Err(Error::Chain {
                kind: ChainErrorKind::BadSignature,
                ..
            })
        ));
    }

    #[test]
    fn a_changed_signature_fails() {
        let (mut leaf, int) = (testdata::leaf(), testdata::intermediate());
        let last = leaf.len() - 1;
        leaf[last] ^= 1;
        assert!(signature_floor(&[&leaf, &int]).is_err());
        assert!(signature_floor(&[b"garbage", &int]).is_err());
    }
}
