//! The body of a caIssuers URL (RFC 5280 section 4.2.2.1): `parse_ca_issuers` reads one DER
//! certificate, a BER/DER PKCS#7 "certs-only" message (RFC 5652 section 5) or PEM of either.
//!
//! Invariants: arbitrary bytes give certificates or a `MalformedInput` error, never a panic;
//! what is returned is within the bounds of `certpolicy_core::limits` (at most
//! `MAX_AIA_CERTS` certificates, each at most `MAX_CERT_BYTES`, no more bytes in all than the
//! body decodes to), each one well-formed DER that `cert_info` reads or refuses with a typed
//! error; a DER certificate body gives back exactly itself.
#![no_main]

use certpolicy_core::limits::{MAX_AIA_BODY_BYTES, MAX_AIA_CERTS, MAX_CERT_BYTES};
use certpolicy_core::{BodyFormat, Error, cert_info, parse_ca_issuers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_ca_issuers(data) {
        Ok(found) => {
            assert!(data.len() <= MAX_AIA_BODY_BYTES);
            assert!(!found.certificates.is_empty());
            assert!(found.certificates.len() <= MAX_AIA_CERTS);
            let total: usize = found.certificates.iter().map(Vec::len).sum();
            assert!(total <= data.len(), "{total} bytes out of {}", data.len());
            for der in &found.certificates {
                assert!(der.len() <= MAX_CERT_BYTES);
                if let Err(err) = cert_info(der) {
                    assert!(matches!(err, Error::MalformedInput(_)), "{err:?}");
                }
            }
            match found.format {
                BodyFormat::Certificate => assert_eq!(found.certificates, [data]),
                BodyFormat::Pkcs7 => assert_eq!(data.first(), Some(&0x30)),
                BodyFormat::Pem => {}
            }
        }
        Err(err) => assert!(matches!(err, Error::MalformedInput(_)), "{err:?}"),
    }
});
