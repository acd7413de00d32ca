//! The crate's own DER reader, in the style of rustls-webpki's `src/der.rs`: just enough
//! navigation (element headers decoded by the `der` crate, X.690 section 10) to find the fields
//! of a certificate that are needed on hot paths without a full X.509 parse: the signed bytes,
//! the signature, the issuer, the subject public key and the validity period (RFC 5280 section
//! 4.1). Its users are the verified-chain cache and the signature floor ([`crate::chain`]) and
//! the trust store ([`crate::trust`]).
//!
//! A full X.509 parse costs more than a cache hit; this walk costs a few dozen nanoseconds.
//! Every function returns `None` on input it cannot read, never panics, and reads nothing
//! beyond its slice.

/// One DER element: its tag byte, its contents and its whole encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'a> {
    pub(crate) tag: u8,
    pub(crate) contents: &'a [u8],
    pub(crate) encoded: &'a [u8],
}

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// `[0] EXPLICIT Version` of a TBSCertificate.
const VERSION: u8 = 0xa0;

/// Reads the element at the start of `input` with the `der` crate (X.690 section 10: definite,
/// minimal lengths) and returns it with the bytes after it.
pub(crate) fn element(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    // `::der` is the external crate; this module is `crate::der`.
    use ::der::{Decode, Reader};
    let mut reader = ::der::SliceReader::new(input).ok()?;
    let header = ::der::Header::decode(&mut reader).ok()?;
    let contents = reader.read_slice(header.length).ok()?;
    let consumed = input.len() - usize::try_from(reader.remaining_len()).ok()?;
    let (encoded, after) = input.split_at_checked(consumed)?;
    Some((
        Element {
            tag: u8::from(header.tag),
            contents,
            encoded,
        },
        after,
    ))
}

/// Reads an element that must carry `tag`.
fn expect(input: &[u8], tag: u8) -> Option<(Element<'_>, &[u8])> {
    element(input).filter(|(found, _)| found.tag == tag)
}

/// The three parts of a signed certificate (RFC 5280 section 4.1.1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signed<'a> {
    /// The DER of the TBSCertificate: the bytes the signature covers.
    pub(crate) tbs: &'a [u8],
    /// The contents of the signatureAlgorithm AlgorithmIdentifier.
    pub(crate) algorithm: &'a [u8],
    /// The signature value, without the BIT STRING's unused-bits octet.
    pub(crate) signature: &'a [u8],
    /// The contents of the TBSCertificate.
    tbs_contents: &'a [u8],
}

/// Splits a certificate into what is signed, how and the signature.
pub(crate) fn signed(cert: &[u8]) -> Option<Signed<'_>> {
    let (certificate, _) = expect(cert, SEQUENCE)?;
    let (tbs, rest) = expect(certificate.contents, SEQUENCE)?;
    let (algorithm, rest) = expect(rest, SEQUENCE)?;
    let (signature, _) = expect(rest, BIT_STRING)?;
    let (&unused_bits, signature) = signature.contents.split_first()?;
    (unused_bits == 0).then_some(Signed {
        tbs: tbs.encoded,
        algorithm: algorithm.contents,
        signature,
        tbs_contents: tbs.contents,
    })
}

/// The TBSCertificate fields from `validity` on: version, serialNumber, signature and issuer
/// skipped.
fn from_validity(tbs_contents: &[u8]) -> Option<&[u8]> {
    let mut rest = tbs_contents;
    if rest.first() == Some(&VERSION) {
        rest = element(rest)?.1;
    }
    for _ in 0..3 {
        rest = element(rest)?.1; // serialNumber, signature, issuer
    }
    Some(rest)
}

/// The contents of a certificate's issuer Name (RFC 5280 section 4.1.2.4): the bytes webpki
/// compares with a trust anchor's subject.
pub(crate) fn issuer(cert: &[u8]) -> Option<&[u8]> {
    let signed = signed(cert)?;
    let mut rest = signed.tbs_contents;
    if rest.first() == Some(&VERSION) {
        rest = element(rest)?.1;
    }
    for _ in 0..2 {
        rest = element(rest)?.1; // serialNumber, signature
    }
    expect(rest, SEQUENCE).map(|(name, _)| name.contents)
}

/// The contents of a certificate's subject Name (RFC 5280 section 4.1.2.6), in the form of
/// [`issuer`], so that the two compare as webpki compares them.
pub(crate) fn subject(cert: &[u8]) -> Option<&[u8]> {
    let signed = signed(cert)?;
    let (_validity, rest) = expect(from_validity(signed.tbs_contents)?, SEQUENCE)?;
    expect(rest, SEQUENCE).map(|(name, _)| name.contents)
}

/// A subjectPublicKeyInfo split as signature algorithms want it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PublicKey<'a> {
    /// The contents of its AlgorithmIdentifier.
    pub(crate) algorithm: &'a [u8],
    /// The subjectPublicKey, without the BIT STRING's unused-bits octet.
    pub(crate) key: &'a [u8],
}

/// The subject public key of a certificate (RFC 5280 section 4.1.2.7).
pub(crate) fn public_key<'a>(cert: &Signed<'a>) -> Option<PublicKey<'a>> {
    let rest = from_validity(cert.tbs_contents)?;
    let (_validity, rest) = expect(rest, SEQUENCE)?;
    let (_subject, rest) = expect(rest, SEQUENCE)?;
    let (spki, _) = expect(rest, SEQUENCE)?;
    let (algorithm, rest) = expect(spki.contents, SEQUENCE)?;
    let (key, _) = expect(rest, BIT_STRING)?;
    let (&unused_bits, key) = key.contents.split_first()?;
    (unused_bits == 0).then_some(PublicKey {
        algorithm: algorithm.contents,
        key,
    })
}

/// notBefore and notAfter of a certificate, seconds since the Unix epoch (RFC 5280 section
/// 4.1.2.5).
pub(crate) fn validity(cert: &[u8]) -> Option<(i64, i64)> {
    let signed = signed(cert)?;
    let (validity, _) = expect(from_validity(signed.tbs_contents)?, SEQUENCE)?;
    let (not_before, rest) = element(validity.contents)?;
    let (not_after, _) = element(rest)?;
    Some((time(&not_before)?, time(&not_after)?))
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 1950-2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`), the
/// only forms RFC 5280 section 4.1.2.5 allows, as seconds since the Unix epoch.
fn time(element: &Element<'_>) -> Option<i64> {
    let text = element.contents;
    let (year, rest) = match element.tag {
        UTC_TIME if text.len() == 13 => {
            let yy = digits(text.get(..2)?)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME if text.len() == 15 => (digits(text.get(..4)?)?, &text[4..]),
        _ => return None,
    };
    if rest.last() != Some(&b'Z') {
        return None;
    }
    let field = |at: usize| digits(rest.get(at..at + 2)?);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Decimal ASCII digits as a number.
fn digits(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |acc, &byte| {
        byte.is_ascii_digit()
            .then(|| acc * 10 + i64::from(byte - b'0'))
    })
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn reads_the_fields_of_a_real_certificate() {
        let leaf = testdata::leaf();
        let parts = signed(&leaf).expect("certificate splits");
        assert_eq!(parts.tbs.first(), Some(&SEQUENCE));
        assert!(!parts.signature.is_empty());
        assert!(public_key(&parts).is_some_and(|key| !key.key.is_empty()));
        let root = testdata::root();
        let root_der = rustls_pki_types::CertificateDer::from(root.as_slice());
        let anchor = webpki::anchor_from_trusted_cert(&root_der).expect("anchor");
        let int = testdata::intermediate();
        assert_eq!(issuer(&int), Some(anchor.subject.as_ref()));
        assert_eq!(subject(&root), Some(anchor.subject.as_ref()));
        assert_eq!(subject(&int), issuer(&leaf));
        let (not_before, not_after) = validity(&leaf).expect("validity reads");
        let expected = crate::cert_info(&leaf).expect("cert_info");
        assert_eq!(
            (not_before, not_after),
            (expected.not_before, expected.not_after)
        );
    }

    #[test]
    fn times_of_both_forms() {
        let utc = |text: &[u8]| {
            time(&Element {
                tag: UTC_TIME,
                contents: text,
                encoded: text,
            })
        };
        let generalized = |text: &[u8]| {
            time(&Element {
                tag: GENERALIZED_TIME,
                contents: text,
                encoded: text,
            })
        };
        assert_eq!(utc(b"700101000000Z"), Some(0));
        assert_eq!(utc(b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(generalized(b"20000229120000Z"), Some(951_825_600));
        assert_eq!(generalized(b"19691231235959Z"), Some(-1));
        for bad in [
            &b"7001010000Z"[..],
            b"701301000000Z",
            b"70010100000aZ",
            b"700101000000+",
        ] {
            assert_eq!(utc(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn garbage_and_truncations_are_none() {
        let leaf = testdata::leaf();
        for cut in 0..leaf.len() {
            let _ = validity(&leaf[..cut]);
            let _ = signed(&leaf[..cut]).and_then(|s| public_key(&s));
            let _ = subject(&leaf[..cut]);
        }
        assert!(validity(&leaf[..leaf.len() - 1]).is_none());
        assert!(element(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(element(&[0x30, 0x80]).is_none());
        assert!(element(&[0x1f, 0x01, 0x00]).is_none());
        assert!(element(&[0x30, 0x82, 0xff]).is_none());
        assert!(validity(b"").is_none());
    }
}
