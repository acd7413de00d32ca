//! PEM documents (RFC 7468): `parse_pem_certificates`, `TrustStore::add_pem` (trust bundles)
//! and `Crl::from_pem`.
//!
//! Invariants: `add_pem` is all-or-nothing (on an error the store is unchanged) and adds at
//! most as many anchors as the document has CERTIFICATE blocks.
#![no_main]

use certpolicy_core::crl::Crl;
use certpolicy_core::{TrustStore, parse_pem_certificates};
use certpolicy_fuzz::pki;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let blocks = parse_pem_certificates(data);
    let mut store = TrustStore::new();
    store
        .add_der(pki::ROOT)
        .expect("the test root is an anchor");
    let generation = store.generation();
    match store.add_pem(data) {
        Ok(added) => {
            let blocks = blocks.expect("add_pem read the blocks");
            assert!(added <= blocks.len());
            assert_eq!(store.len(), 1 + added);
        }
        Err(_) => {
            assert_eq!(store.len(), 1);
            assert_eq!(store.generation(), generation);
        }
    }
    let _ = Crl::from_pem(data, None);
});
