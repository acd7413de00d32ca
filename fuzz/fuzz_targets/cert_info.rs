//! `cert_info` (RFC 5280 section 4.1 summary) and trust anchor parsing (`TrustStore::add_der`)
//! of one DER certificate: arbitrary bytes must give a value or a typed error, never a panic.
#![no_main]

use certpolicy_core::{Error, TrustStore, cert_info};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match cert_info(data) {
        Ok(info) => {
            assert_eq!(info.sha256.len(), 64);
            assert!(!info.serial.is_empty() || data.is_empty());
        }
        Err(err) => assert!(matches!(err, Error::MalformedInput(_)), "{err:?}"),
    }
    let mut store = TrustStore::new();
    match store.add_der(data) {
        Ok(added) => {
            assert!(added);
            assert_eq!(store.len(), 1);
            assert_eq!(store.anchor_index_of(data), Some(0));
            // A second addition of the same bytes is a no-op.
            assert_eq!(store.add_der(data), Ok(false));
        }
        Err(err) => {
            assert!(matches!(err, Error::MalformedInput(_)), "{err:?}");
            assert!(store.is_empty());
        }
    }
});
