//! Java keystores and PKCS#12 files as sources of trust anchors: the trusted-certificate
//! entries of a JKS or JCEKS keystore ([`jks`]) and the trusted certificate bags of a PKCS#12
//! file (RFC 7292, [`pkcs12`]), including the PKCS#12 trust stores that Java's keytool and
//! `cryptography`'s `serialize_java_truststore` write.
//!
//! With a password, the keystore's integrity is checked before anything is returned (the JKS
//! keyed SHA-1 digest, the PKCS#12 MAC of RFC 7292 section 5); a mismatch, or a PKCS#12 file
//! with no MAC to check, is [`KeystoreErrorKind::Integrity`] and nothing is returned. Without
//! one, nothing is authenticated ([`Keystore::integrity_checked`] is false), as keytool itself
//! allows. So `integrity_checked` is true exactly when a password was given.
//!
//! Private keys are never decrypted and their certificates never become anchors: a key
//! entry's chain (in PKCS#12, every certificate of a file with a key that is not marked
//! trusted) is the identity of its owner, not something to trust. Every input is
//! hostile: sizes, counts, nesting and password-based key derivation work are bounded by the
//! `MAX_KEYSTORE_*` limits below, and no input makes this module panic.

pub mod jks;
pub mod pkcs12;

use std::fmt;

/// The largest keystore file read, in bytes. Java's `cacerts` is ~150 KiB; a store at the
/// trust store's anchor limit (100,000 certificates of ~1.5 KiB) would be ~150 MiB, far past
/// any real one.
pub const MAX_KEYSTORE_BYTES: usize = 64 * 1024 * 1024;

/// The most entries (JKS) or bags (PKCS#12, counted over every nesting level) one keystore
/// may hold: the trust store's own anchor limit.
pub const MAX_KEYSTORE_ENTRIES: usize = crate::limits::MAX_TRUST_ANCHORS;

/// The most iterations of one password-based key derivation (the PKCS#12 KDF of RFC 7292
/// appendix B, PBKDF2 of RFC 8018 section 5.2). keytool uses 10,000, OpenSSL 2,048,
/// `cryptography` 20,000. Measured on a 2-core machine (release build): 1,000,000
/// PBKDF2-HMAC-SHA256 iterations take ~0.2 s, as many PKCS#12 KDF rounds ~0.07 s.
pub const MAX_KEYSTORE_KDF_ITERATIONS: u64 = 1_000_000;

/// The most key-derivation iterations of one whole keystore (the MAC and every encrypted
/// part, each derivation counted by iterations times output blocks, PBKDF2 twice for its two
/// HMAC compressions an iteration): one import stays well under a second (~0.2 s at this
/// bound) whatever the file says.
pub const MAX_KEYSTORE_KDF_WORK: u64 = 2_000_000;

/// The deepest nesting of PKCS#12 SafeContents (safeContentsBag in safeContentsBag...).
pub const MAX_KEYSTORE_NESTING: usize = 4;

/// Which kind of keystore a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeystoreKind {
    /// Java's original keystore (magic 0xFEEDFEED).
    Jks,
    /// Java's JCE keystore (magic 0xCECECECE); the same layout plus secret-key entries.
    Jceks,
    /// PKCS#12 (RFC 7292), from keytool, OpenSSL, `cryptography` or others.
    Pkcs12,
}

impl KeystoreKind {
    /// `"jks"`, `"jceks"` or `"pkcs12"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeystoreKind::Jks => "jks",
            KeystoreKind::Jceks => "jceks",
            KeystoreKind::Pkcs12 => "pkcs12",
        }
    }
}

/// A trusted certificate found in a keystore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedCert {
    /// The entry's alias (JKS) or friendlyName (PKCS#12), when it has one.
    pub alias: Option<String>,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

/// An entry that was read but not taken as a trust anchor, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// The entry's alias or friendlyName, when it has one.
    pub alias: Option<String>,
    /// Why it is not an anchor, e.g. "private key entry".
    pub reason: String,
}

/// What a keystore holds, as far as trust is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keystore {
    /// The kind of file.
    pub kind: KeystoreKind,
    /// True when a password was given and the file's integrity was verified with it (the
    /// JKS digest or the PKCS#12 MAC); with a password nothing else is returned. False
    /// without a password: then the certificates are unauthenticated.
    pub integrity_checked: bool,
    /// The trusted certificates, in file order.
    pub anchors: Vec<TrustedCert>,
    /// Everything else: private keys, their certificates, secrets, CRLs.
    pub skipped: Vec<SkippedEntry>,
}

/// Why a keystore could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeystoreErrorKind {
    /// Not a keystore, truncated, trailing bytes, or a structure that breaks its format.
    Malformed,
    /// The integrity check failed, or encrypted contents did not decrypt: a wrong password,
    /// or a file that was altered.
    Integrity,
    /// The certificates are encrypted and no password was given.
    PasswordRequired,
    /// A well-formed feature certpolicy does not read (an unknown cipher, a public-key
    /// encrypted part, a JCEKS secret key).
    Unsupported,
    /// Over a work budget (size, entry count, nesting, key-derivation iterations).
    TooCostly,
}

/// A keystore that could not be read: nothing from it may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreError {
    /// The category, for callers that act on it.
    pub kind: KeystoreErrorKind,
    /// A sentence fragment naming the entry and the reason.
    pub message: String,
}

impl KeystoreError {
    pub(crate) fn new(kind: KeystoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Self::new(KeystoreErrorKind::Malformed, message)
    }

    /// The message of a failed integrity check.
    pub(crate) fn integrity(what: &str) -> Self {
        Self::new(
            KeystoreErrorKind::Integrity,
            format!("{what}: the password is wrong or the file was altered"),
        )
    }
}

impl fmt::Display for KeystoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KeystoreError {}

impl From<KeystoreError> for crate::Error {
    fn from(err: KeystoreError) -> Self {
        crate::Error::MalformedInput(err.message)
    }
}

/// The budget of key-derivation work left for one keystore.
#[derive(Debug)]
pub(crate) struct KdfBudget {
    left: u64,
}

impl KdfBudget {
    pub(crate) fn new() -> Self {
        Self {
            left: MAX_KEYSTORE_KDF_WORK,
        }
    }

    /// Takes `iterations` times `blocks` from the budget, or refuses.
    pub(crate) fn spend(
        &mut self,
        what: &str,
        iterations: u64,
        blocks: u64,
    ) -> Result<(), KeystoreError> {
        if iterations == 0 {
            return Err(KeystoreError::malformed(format!("{what}: zero iterations")));
        }
        if iterations > MAX_KEYSTORE_KDF_ITERATIONS {
            return Err(KeystoreError::new(
                KeystoreErrorKind::TooCostly,
                format!(
                    "{what}: {iterations} key-derivation iterations; at most \
                     {MAX_KEYSTORE_KDF_ITERATIONS} are accepted"
                ),
            ));
        }
        let cost = iterations.saturating_mul(blocks.max(1));
        if cost > self.left {
            return Err(KeystoreError::new(
                KeystoreErrorKind::TooCostly,
                format!(
                    "{what}: the keystore needs more than {MAX_KEYSTORE_KDF_WORK} key-derivation \
                     iterations in all"
                ),
            ));
        }
        self.left -= cost;
        Ok(())
    }
}

/// Reads a JKS, JCEKS or PKCS#12 keystore, told apart by their first bytes. With a
/// `password`, the file's integrity is checked with it first (and a PKCS#12 file's encrypted
/// certificates are decrypted with it): a file that cannot be checked (a PKCS#12 file without
/// a MAC) is refused like one that fails. Without one, nothing is authenticated and encrypted
/// certificates cannot be read ([`KeystoreErrorKind::PasswordRequired`]).
pub fn read_keystore(data: &[u8], password: Option<&str>) -> Result<Keystore, KeystoreError> {
    if data.len() > MAX_KEYSTORE_BYTES {
        return Err(KeystoreError::new(
            KeystoreErrorKind::TooCostly,
            format!(
                "keystore is {} bytes; at most {MAX_KEYSTORE_BYTES} are accepted",
                data.len()
            ),
        ));
    }
    let store = if data.starts_with(&jks::JKS_MAGIC) || data.starts_with(&jks::JCEKS_MAGIC) {
        jks::read(data, password)?
    } else if data.first() == Some(&0x30) {
        // A DER SEQUENCE, however short: the PKCS#12 reader says what is wrong with it.
        pkcs12::read(data, password)?
    } else {
        return Err(KeystoreError::malformed(
            "not a keystore: neither JKS, JCEKS nor PKCS#12 (DER)",
        ));
    };
    // Both readers refuse what a password cannot authenticate; this holds it for any reader.
    if password.is_some() && !store.integrity_checked {
        return Err(KeystoreError::new(
            KeystoreErrorKind::Integrity,
            "the keystore's integrity cannot be checked with the password",
        ));
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_empty_input_are_malformed() {
        for data in [&b""[..], b"\xfe\xed", b"hello world", b"\xfe\xed\xfe\xed"] {
            let err = read_keystore(data, None).expect_err("garbage");
            assert_eq!(err.kind, KeystoreErrorKind::Malformed, "{data:?}: {err}");
        }
    }

    #[test]
    fn any_der_sequence_goes_to_the_pkcs12_reader() {
        // Found by the pkcs12 fuzz target: a lone 0x30 was "not a keystore" from
        // read_keystore but a malformed PFX from pkcs12::read.
        for data in [&b"\x30"[..], b"\x30\x00", b"\x30\x03\x02\x01"] {
            assert_eq!(read_keystore(data, None), pkcs12::read(data, None));
        }
    }

    #[test]
    fn with_a_password_every_result_is_authenticated() {
        let files: [&[u8]; 6] = [
            include_bytes!("testdata/trust.jks"),
            include_bytes!("testdata/trust.pkcs12"),
            include_bytes!("testdata/trust-nomac.pkcs12"),
            include_bytes!("testdata/cryptography-truststore-noenc.p12"),
            include_bytes!("testdata/cryptography-truststore-nomac.p12"),
            include_bytes!("testdata/keyonly.pkcs12"),
        ];
        let mut read_ok = 0;
        for data in files {
            for password in ["changeit", "", "wrong"] {
                match read_keystore(data, Some(password)) {
                    Ok(store) => {
                        assert!(store.integrity_checked);
                        read_ok += 1;
                    }
                    Err(err) => assert_eq!(err.kind, KeystoreErrorKind::Integrity, "{err}"),
                }
            }
            let unchecked = read_keystore(data, None);
            assert!(unchecked.is_err() || !unchecked.is_ok_and(|store| store.integrity_checked));
        }
        // trust.jks, trust.pkcs12 and keyonly.pkcs12 with "changeit", the cryptography
        // truststore with "" (its MAC's password).
        assert_eq!(read_ok, 4);
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let data = vec![0x30; MAX_KEYSTORE_BYTES + 1];
        let err = read_keystore(&data, None).expect_err("too big");
        assert_eq!(err.kind, KeystoreErrorKind::TooCostly);
    }

    #[test]
    fn kdf_budget() {
        let mut budget = KdfBudget::new();
        assert!(budget.spend("mac", 0, 1).is_err());
        let err = budget
            .spend("mac", MAX_KEYSTORE_KDF_ITERATIONS + 1, 1)
            .expect_err("over the per-derivation cap");
        assert_eq!(err.kind, KeystoreErrorKind::TooCostly);
        budget
            .spend("a", MAX_KEYSTORE_KDF_ITERATIONS, 1)
            .expect("fits");
        budget
            .spend("b", MAX_KEYSTORE_KDF_ITERATIONS, 1)
            .expect("fits");
        let err = budget.spend("c", 1, 1).expect_err("budget spent");
        assert_eq!(err.kind, KeystoreErrorKind::TooCostly);
        assert!(KdfBudget::new().spend("d", u64::MAX / 2, u64::MAX).is_err());
    }

    #[test]
    fn errors_become_malformed_input() {
        let err = KeystoreError::integrity("keystore digest");
        assert!(err.to_string().contains("password is wrong"));
        assert!(matches!(
            crate::Error::from(err),
            crate::Error::MalformedInput(message) if message.contains("altered")
        ));
    }
}
