//! Java keystores (JKS, JCEKS): `keystore::jks::read` and `keystore::read_keystore`.
//!
//! Input: one flags byte (bit 0: read with the password "changeit", the password of every
//! seed), then the keystore.
//!
//! Invariants: a keystore read with its password was integrity-checked and reads the same
//! without one (the digest is checked apart from the entries); read without a password it
//! was not; every anchor fits the certificate size limit; every error is typed (the bindings
//! turn all of them into `MalformedInputError`); anchors that parse are added to a store.
#![no_main]

use certpolicy_core::TrustStore;
use certpolicy_core::keystore::{KeystoreErrorKind, jks, read_keystore};
use certpolicy_core::limits::MAX_CERT_BYTES;
use certpolicy_fuzz::flags;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, keystore) = flags(data);
    let password = (flags & 1 != 0).then_some("changeit");
    let direct = jks::read(keystore, password);
    let dispatched = read_keystore(keystore, password);
    if keystore.starts_with(&jks::JKS_MAGIC) || keystore.starts_with(&jks::JCEKS_MAGIC) {
        assert_eq!(
            direct, dispatched,
            "read_keystore dispatches JKS to jks::read"
        );
    }
    let store = match direct {
        Ok(store) => store,
        Err(err) => {
            assert!(!err.message.is_empty());
            if password.is_some() && err.kind != KeystoreErrorKind::Integrity {
                // The digest verified, so the failure is in the entries: the same without it.
                assert_eq!(jks::read(keystore, None).map_err(|e| e.kind), Err(err.kind));
            }
            return;
        }
    };
    assert_eq!(store.integrity_checked, password.is_some());
    if password.is_some() {
        let unchecked = jks::read(keystore, None).expect("verified, so readable without it");
        assert_eq!(unchecked.anchors, store.anchors);
        assert_eq!(unchecked.skipped, store.skipped);
    }
    let mut trust = TrustStore::new();
    for anchor in &store.anchors {
        assert!(anchor.der.len() <= MAX_CERT_BYTES);
        let _ = trust.add_der(&anchor.der);
    }
});
