//! Java's JKS and JCEKS keystores (the format of `sun.security.provider.JavaKeyStore` and
//! `com.sun.crypto.provider.JceKeyStore`; no RFC describes it):
//!
//! ```text
//! magic u32 (0xFEEDFEED JKS, 0xCECECECE JCEKS) | version u32 (1 or 2) | count u32
//! count entries:
//!   tag u32 | alias (u16 length + modified UTF-8) | timestamp u64 (ms since the epoch)
//!   tag 1, private key:  u32 length + EncryptedPrivateKeyInfo | chain count u32 | chain certs
//!   tag 2, trusted cert: cert
//!   tag 3, secret key (JCEKS): a Java serialized SealedObject (no length prefix)
//!   cert: (version 2: cert type, u16 length + UTF-8, "X.509") | u32 length + DER
//! digest: 20 bytes, SHA-1(password as UTF-16BE, "Mighty Aphrodite", every byte before it)
//! ```
//!
//! Big-endian throughout (`java.io.DataOutputStream`). Trusted-certificate entries are the
//! anchors; private-key entries are skipped, their chains included. A JCEKS secret-key entry
//! is a serialized Java object with no length, so nothing after it can be found: such a
//! keystore is refused as a whole ([`KeystoreErrorKind::Unsupported`]).

use super::{
    Keystore, KeystoreError, KeystoreErrorKind, KeystoreKind, MAX_KEYSTORE_ENTRIES, SkippedEntry,
    TrustedCert,
};
use crate::limits::MAX_CERT_BYTES;

/// The first bytes of a JKS keystore.
pub const JKS_MAGIC: [u8; 4] = [0xfe, 0xed, 0xfe, 0xed];
/// The first bytes of a JCEKS keystore.
pub const JCEKS_MAGIC: [u8; 4] = [0xce, 0xce, 0xce, 0xce];

/// The salt of the keystore digest, as `JavaKeyStore.getPreKeyedHash` adds it.
const DIGEST_SALT: &[u8] = b"Mighty Aphrodite";
const DIGEST_LEN: usize = 20;

const TAG_PRIVATE_KEY: u32 = 1;
const TAG_TRUSTED_CERT: u32 = 2;
const TAG_SECRET_KEY: u32 = 3;

/// A bounds-checked big-endian reader over the keystore bytes.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], KeystoreError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.data.len());
        let Some(end) = end else {
            return Err(KeystoreError::malformed(format!(
                "keystore is truncated: {what} at byte {} needs {len} bytes, {} are left",
                self.pos,
                self.data.len().saturating_sub(self.pos)
            )));
        };
        let bytes = self.data.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(bytes)
    }

    fn u16(&mut self, what: &str) -> Result<u16, KeystoreError> {
        let bytes = self.take(2, what)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, KeystoreError> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// A `DataOutputStream.writeUTF` string (modified UTF-8), read for display.
    fn utf(&mut self, what: &str) -> Result<String, KeystoreError> {
        let len = usize::from(self.u16(what)?);
        Ok(String::from_utf8_lossy(self.take(len, what)?).into_owned())
    }

    /// A u32 length and that many bytes, at most `max`.
    fn blob(&mut self, what: &str, max: usize) -> Result<&'a [u8], KeystoreError> {
        let len = self.u32(what)?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > max {
            return Err(KeystoreError::malformed(format!(
                "{what} is {len} bytes; at most {max} are accepted"
            )));
        }
        self.take(len, what)
    }

    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }
}

/// A certificate of an entry: its type (version 2 only) and DER.
fn read_cert<'a>(
    reader: &mut Reader<'a>,
    version: u32,
    alias: &str,
) -> Result<(String, &'a [u8]), KeystoreError> {
    let cert_type = if version == 2 {
        reader.utf(&format!("certificate type of entry {alias:?}"))?
    } else {
        "X.509".to_owned()
    };
    let der = reader.blob(&format!("certificate of entry {alias:?}"), MAX_CERT_BYTES)?;
    Ok((cert_type, der))
}

/// Reads a JKS or JCEKS keystore (see the module documentation). With a password, the
/// trailing digest is checked before any entry is read.
pub fn read(data: &[u8], password: Option<&str>) -> Result<Keystore, KeystoreError> {
    let mut reader = Reader { data, pos: 0 };
    let magic = reader.take(4, "magic")?;
    let kind = if magic == JCEKS_MAGIC {
        KeystoreKind::Jceks
    } else if magic == JKS_MAGIC {
        KeystoreKind::Jks
    } else {
        return Err(KeystoreError::malformed("not a JKS or JCEKS keystore"));
    };
    let version = reader.u32("version")?;
    if version != 1 && version != 2 {
        return Err(KeystoreError::malformed(format!(
            "{} keystore version {version}; only 1 and 2 exist",
            kind.as_str().to_uppercase()
        )));
    }
    let Some(body_len) = data.len().checked_sub(DIGEST_LEN).filter(|&len| len >= 12) else {
        return Err(KeystoreError::malformed(
            "keystore is truncated: no room for its digest",
        ));
    };
    let integrity_checked = match password {
        Some(password) => {
            verify_digest(data, body_len, password)?;
            true
        }
        None => false,
    };
    let count = reader.u32("entry count")?;
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > MAX_KEYSTORE_ENTRIES {
        return Err(KeystoreError::new(
            KeystoreErrorKind::TooCostly,
            format!("keystore has {count} entries; at most {MAX_KEYSTORE_ENTRIES} are accepted"),
        ));
    }
    // Entries live before the digest: reading stops there.
    reader.data = data.get(..body_len).unwrap_or_default();
    let mut anchors = Vec::new();
    let mut skipped = Vec::new();
    for index in 0..count {
        let tag = reader.u32(&format!("tag of entry #{index}"))?;
        let alias = reader.utf(&format!("alias of entry #{index}"))?;
        reader.take(8, &format!("timestamp of entry {alias:?}"))?;
        match tag {
            TAG_PRIVATE_KEY => {
                reader.blob(
                    &format!("private key of entry {alias:?}"),
                    reader.remaining(),
                )?;
                let chain = reader.u32(&format!("chain length of entry {alias:?}"))?;
                for _ in 0..chain {
                    read_cert(&mut reader, version, &alias)?;
                }
                skipped.push(SkippedEntry {
                    alias: Some(alias),
                    reason: format!(
                        "private key entry (its chain of {chain} certificate(s) is not a trust \
                         anchor)"
                    ),
                });
            }
            TAG_TRUSTED_CERT => {
                let (cert_type, der) = read_cert(&mut reader, version, &alias)?;
                if cert_type == "X.509" {
                    anchors.push(TrustedCert {
                        alias: Some(alias),
                        der: der.to_vec(),
                    });
                } else {
                    skipped.push(SkippedEntry {
                        alias: Some(alias),
                        reason: format!("certificate of type {cert_type:?}, not X.509"),
                    });
                }
            }
            TAG_SECRET_KEY if kind == KeystoreKind::Jceks => {
                return Err(KeystoreError::new(
                    KeystoreErrorKind::Unsupported,
                    format!(
                        "JCEKS secret-key entry {alias:?}: secret keys are Java serialized \
                         objects, which certpolicy does not read, and the entries after one \
                         cannot be found; nothing was imported (export the trusted \
                         certificates to a JKS or PKCS#12 trust store)"
                    ),
                ));
            }
            other => {
                return Err(KeystoreError::malformed(format!(
                    "entry {alias:?} has unknown tag {other}"
                )));
            }
        }
    }
    if reader.remaining() != 0 {
        return Err(KeystoreError::malformed(format!(
            "{} unexpected bytes after the last entry",
            reader.remaining()
        )));
    }
    Ok(Keystore {
        kind,
        integrity_checked,
        anchors,
        skipped,
    })
}

/// Checks the keystore digest: SHA-1 over the password (each UTF-16 code unit big-endian, as
/// `JavaKeyStore` writes Java chars), "Mighty Aphrodite" and the file up to the digest.
fn verify_digest(data: &[u8], body_len: usize, password: &str) -> Result<(), KeystoreError> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    for unit in password.encode_utf16() {
        context.update(&unit.to_be_bytes());
    }
    context.update(DIGEST_SALT);
    context.update(data.get(..body_len).unwrap_or_default());
    let expected = data.get(body_len..).unwrap_or_default();
    if context.finish().as_ref() == expected {
        Ok(())
    } else {
        Err(KeystoreError::integrity("keystore digest does not match"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    const TRUST: &[u8] = include_bytes!("testdata/trust.jks");
    const TRUST_JCEKS: &[u8] = include_bytes!("testdata/trust.jceks");
    const IDENTITY: &[u8] = include_bytes!("testdata/identity.jks");
    const SECRET: &[u8] = include_bytes!("testdata/secret.jceks");

    /// A keystore written here, with its digest computed for `password`.
    fn write(version: u32, entries: &[(u32, &str, &[&[u8]])], password: &str) -> Vec<u8> {
        let mut out = JKS_MAGIC.to_vec();
        out.extend(version.to_be_bytes());
        out.extend(u32::try_from(entries.len()).expect("few").to_be_bytes());
        for (tag, alias, certs) in entries {
            out.extend(tag.to_be_bytes());
            out.extend(u16::try_from(alias.len()).expect("short").to_be_bytes());
            out.extend(alias.as_bytes());
            out.extend(0u64.to_be_bytes());
            if *tag == TAG_PRIVATE_KEY {
                out.extend(3u32.to_be_bytes());
                out.extend(b"key");
                out.extend(u32::try_from(certs.len()).expect("few").to_be_bytes());
            }
            for cert in *certs {
                if version == 2 {
                    out.extend(5u16.to_be_bytes());
                    out.extend(b"X.509");
                }
                out.extend(u32::try_from(cert.len()).expect("small").to_be_bytes());
                out.extend(*cert);
            }
        }
        let mut context = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
        for unit in password.encode_utf16() {
            context.update(&unit.to_be_bytes());
        }
        context.update(DIGEST_SALT);
        context.update(&out);
        out.extend(context.finish().as_ref());
        out
    }

    #[test]
    fn keytool_trust_store_with_and_without_password() {
        for (data, kind) in [
            (TRUST, KeystoreKind::Jks),
            (TRUST_JCEKS, KeystoreKind::Jceks),
        ] {
            let store = read(data, Some("changeit")).expect("keytool store");
            assert_eq!(store.kind, kind);
            assert!(store.integrity_checked);
            let ders: Vec<_> = store.anchors.iter().map(|a| a.der.clone()).collect();
            assert_eq!(ders.len(), 2);
            assert!(ders.contains(&testdata::root()));
            assert!(ders.contains(&testdata::intermediate()));
            assert!(store.skipped.is_empty());
            let unchecked = read(data, None).expect("without a password");
            assert!(!unchecked.integrity_checked);
            assert_eq!(unchecked.anchors, store.anchors);
        }
    }

    #[test]
    fn wrong_password_and_tampering_fail_the_digest() {
        let err = read(TRUST, Some("wrong")).expect_err("wrong password");
        assert_eq!(err.kind, KeystoreErrorKind::Integrity);
        let mut tampered = TRUST.to_vec();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 1;
        let err = read(&tampered, Some("changeit")).expect_err("tampered");
        assert_eq!(err.kind, KeystoreErrorKind::Integrity);
    }

    #[test]
    fn a_password_demands_the_whole_digest() {
        // JKS always carries its digest: with a password, a file whose digest is cut short,
        // removed or replaced by anything is refused, and nothing is returned.
        for data in [TRUST, TRUST_JCEKS] {
            for cut in [1, 10, DIGEST_LEN, DIGEST_LEN + 1] {
                let short = &data[..data.len() - cut];
                let err = read(short, Some("changeit")).expect_err("digest cut short");
                assert_eq!(err.kind, KeystoreErrorKind::Integrity, "cut {cut}: {err}");
            }
            let mut zeroed = data.to_vec();
            let body_len = zeroed.len() - DIGEST_LEN;
            zeroed[body_len..].fill(0);
            for password in ["changeit", ""] {
                let err = read(&zeroed, Some(password)).expect_err("zeroed digest");
                assert_eq!(err.kind, KeystoreErrorKind::Integrity, "{err}");
            }
        }
        // Too short to hold a digest at all: malformed, with or without a password.
        let err = read(&TRUST[..12 + DIGEST_LEN - 1], Some("changeit")).expect_err("tiny");
        assert_eq!(err.kind, KeystoreErrorKind::Malformed, "{err}");
    }

    #[test]
    fn private_key_entries_are_skipped_with_their_chain() {
        let store = read(IDENTITY, Some("changeit")).expect("identity");
        assert_eq!(store.anchors.len(), 1);
        assert_eq!(store.anchors[0].der, testdata::root());
        assert_eq!(store.skipped.len(), 1);
        assert_eq!(store.skipped[0].alias.as_deref(), Some("identity"));
        assert!(store.skipped[0].reason.contains("private key entry"));
    }

    #[test]
    fn jceks_secret_key_is_refused_clearly() {
        let err = read(SECRET, Some("changeit")).expect_err("secret key");
        assert_eq!(err.kind, KeystoreErrorKind::Unsupported);
        assert!(err.message.contains("secret-key entry"), "{err}");
        // The digest is checked first: a wrong password says so, not "unsupported".
        let err = read(SECRET, Some("nope")).expect_err("wrong password");
        assert_eq!(err.kind, KeystoreErrorKind::Integrity);
    }

    #[test]
    fn version_1_and_written_stores() {
        let root = testdata::root();
        let leaf = testdata::leaf();
        for version in [1, 2] {
            let data = write(
                version,
                &[
                    (TAG_TRUSTED_CERT, "root", &[&root]),
                    (TAG_PRIVATE_KEY, "me", &[&leaf, &root]),
                ],
                "pw\u{1F511}",
            );
            let store = read(&data, Some("pw\u{1F511}")).expect("written store");
            assert_eq!(store.anchors.len(), 1);
            assert_eq!(store.skipped.len(), 1);
            assert!(store.skipped[0].reason.contains("chain of 2"));
        }
    }

    #[test]
    fn truncation_trailing_bytes_and_bad_headers_are_malformed() {
        let root = testdata::root();
        let data = write(2, &[(TAG_TRUSTED_CERT, "root", &[&root])], "pw");
        for cut in [4, 8, 12, 20, 30, data.len() - 21, data.len() - 1] {
            let err = read(&data[..cut], None).expect_err("truncated");
            assert_eq!(
                err.kind,
                KeystoreErrorKind::Malformed,
                "cut at {cut}: {err}"
            );
        }
        // A byte inserted before the digest: without a password it is trailing data.
        let mut longer = data.clone();
        longer.insert(data.len() - 20, 0);
        assert_eq!(
            read(&longer, None).expect_err("extra").kind,
            KeystoreErrorKind::Malformed
        );
        let mut version = data.clone();
        version[7] = 3;
        assert_eq!(
            read(&version, None).expect_err("v3").kind,
            KeystoreErrorKind::Malformed
        );
        let mut tag = data.clone();
        tag[15] = 9;
        assert_eq!(
            read(&tag, None).expect_err("tag").kind,
            KeystoreErrorKind::Malformed
        );
        let mut count = data.clone();
        count[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            read(&count, None).expect_err("count").kind,
            KeystoreErrorKind::TooCostly
        );
        let mut huge = data;
        // The certificate length of the only entry (after tag, alias, timestamp, type).
        let at = 12 + 4 + 2 + 4 + 8 + 2 + 5;
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            read(&huge, None).expect_err("length").kind,
            KeystoreErrorKind::Malformed
        );
    }
}
