//! Shared helpers of the fuzz targets: how an input is cut into parts, and the fixed test
//! data of certpolicy-core that the targets verify against.
//!
//! Multi-part inputs are the parts joined by [`SEP`] (the UTF-8 of U+2702, "✂"), which no
//! seed contains inside a part; `make_seeds.py` writes seeds in this form.
#![forbid(unsafe_code)]

/// The part separator of multi-part inputs.
pub const SEP: &[u8] = "\u{2702}".as_bytes();

/// Splits `data` at every [`SEP`].
pub fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEP.len()).position(|window| window == SEP) {
        parts.push(&rest[..at]);
        rest = &rest[at + SEP.len()..];
    }
    parts.push(rest);
    parts
}

/// The first byte (option flags) and the rest.
pub fn flags(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&flags, rest)) => (flags, rest),
        None => (0, data),
    }
}

/// 2030-01-01T00:00:00Z: inside the validity of every test certificate (certpolicy-core's
/// `testdata::NOW`).
pub const NOW: u64 = 1_893_456_000;
/// 2050-01-01T00:00:00Z: after every test certificate expired.
pub const LATER: u64 = 2_524_608_000;

/// A validation time chosen by two bits of the flags: now, later, the epoch or the end of
/// time.
pub fn time(bits: u8) -> u64 {
    match bits & 3 {
        0 => NOW,
        1 => LATER,
        2 => 0,
        _ => u64::MAX,
    }
}

/// The fixed test PKI of `rust/core/testdata` (EC P-256 root, intermediate, leaves).
pub mod pki {
    pub const ROOT: &[u8] = include_bytes!("../../rust/core/testdata/root.der");
    pub const INTERMEDIATE: &[u8] = include_bytes!("../../rust/core/testdata/intermediate.der");
    pub const LEAF: &[u8] = include_bytes!("../../rust/core/testdata/leaf.der");
    pub const CN_ONLY: &[u8] = include_bytes!("../../rust/core/testdata/cn_only.der");
}

/// The CRL test data of `rust/core/src/crl/testdata`.
pub mod crl {
    pub const ISSUER: &[u8] = include_bytes!("../../rust/core/src/crl/testdata/issuer.der");
    pub const REVOKED_LEAF: &[u8] =
        include_bytes!("../../rust/core/src/crl/testdata/revoked_leaf.der");
    pub const GOOD_LEAF: &[u8] = include_bytes!("../../rust/core/src/crl/testdata/good_leaf.der");
}

/// The OCSP test data of `rust/core/src/ocsp/testdata`.
pub mod ocsp {
    pub const CA: &[u8] = include_bytes!("../../rust/core/src/ocsp/testdata/ca.der");
    pub const LEAF: &[u8] = include_bytes!("../../rust/core/src/ocsp/testdata/leaf.der");
    pub const LEAF2: &[u8] = include_bytes!("../../rust/core/src/ocsp/testdata/leaf2.der");
    /// The nonce of `good_nonce.der`.
    pub const NONCE: &[u8] = b"certpolicy-nonce";
}

/// Strips the redundant sign octets of a two's complement big-endian integer (X.690 section
/// 8.3.2), so that two encodings of one serial number compare equal.
pub fn minimal_integer(mut octets: &[u8]) -> &[u8] {
    while let [first, second, ..] = octets {
        let redundant =
            (*first == 0x00 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0);
        if !redundant {
            break;
        }
        octets = &octets[1..];
    }
    octets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_every_separator() {
        let data = [b"a".as_slice(), SEP, b"", SEP, b"bc"].concat();
        assert_eq!(split(&data), [b"a".as_slice(), b"", b"bc"]);
        assert_eq!(split(b"x"), [b"x".as_slice()]);
        assert_eq!(split(b""), [b"".as_slice()]);
    }
}
