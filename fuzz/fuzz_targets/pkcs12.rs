//! PKCS#12 files (RFC 7292): `keystore::pkcs12::read` and `keystore::read_keystore`, through
//! the MAC, PBES2 and PKCS#12 PBE decryption, the bag walk and the anchor classification.
//!
//! Input: one flags byte (bits 0-1: no password, "changeit" (the password of the seeds), the
//! empty password, or "wrong"), then the file.
//!
//! Invariants: a read without a password never claims an integrity check; a file that reads
//! without a password (nothing encrypted) reads the same with a password, or fails on its MAC
//! (wrong password, a MAC over budget or of an unknown kind), never for want of a password;
//! anchors fit the certificate size limit; every error is typed.
#![no_main]

use certpolicy_core::TrustStore;
use certpolicy_core::keystore::{KeystoreErrorKind, pkcs12, read_keystore};
use certpolicy_core::limits::MAX_CERT_BYTES;
use certpolicy_fuzz::flags;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, file) = flags(data);
    let password = match flags & 3 {
        0 => None,
        1 => Some("changeit"),
        2 => Some(""),
        _ => Some("wrong"),
    };
    let result = pkcs12::read(file, password);
    // Dispatch (compared without a password only: with one, a second read would double the
    // key-derivation work of every run).
    if file.first() == Some(&0x30) && password.is_none() {
        assert_eq!(
            result,
            read_keystore(file, password),
            "dispatch to pkcs12::read"
        );
    }
    let store = match result {
        Ok(store) => store,
        Err(err) => {
            assert!(!err.message.is_empty());
            return;
        }
    };
    if password.is_none() {
        assert!(!store.integrity_checked);
        // Nothing was encrypted: with a password, the MAC decides, and nothing else changes.
        match pkcs12::read(file, Some("changeit")) {
            Ok(checked) => assert_eq!(checked.anchors, store.anchors),
            Err(err) => assert_ne!(err.kind, KeystoreErrorKind::PasswordRequired, "{err}"),
        }
    }
    let mut trust = TrustStore::new();
    for anchor in &store.anchors {
        assert!(anchor.der.len() <= MAX_CERT_BYTES);
        let _ = trust.add_der(&anchor.der);
    }
});
