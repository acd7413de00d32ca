//! PKCS#12 files (RFC 7292) as trust stores: the certificate bags that are trust anchors.
//!
//! ```text
//! PFX ::= SEQUENCE { version 3, authSafe ContentInfo (data), macData MacData OPTIONAL }
//! AuthenticatedSafe ::= SEQUENCE OF ContentInfo   -- data, or encryptedData (RFC 5652 8)
//! SafeContents ::= SEQUENCE OF SafeBag
//! SafeBag ::= SEQUENCE { bagId, bagValue [0] EXPLICIT, bagAttributes SET OF Attribute OPTIONAL }
//! CertBag ::= SEQUENCE { certId (x509Certificate), certValue [0] EXPLICIT OCTET STRING }
//! ```
//!
//! Which certificate bags are anchors:
//!
//! - **A Java trust store or a file with a private key** (some certificate bag carries
//!   Oracle's trustedKeyUsage attribute, 2.16.840.1.113894.746875.1.1, as keytool and
//!   `cryptography`'s `serialize_java_truststore` write it; or some bag is a key): exactly the
//!   bags with that attribute, which is what Java itself reads as trusted-certificate entries.
//!   A file with a private key is an identity: the key's certificate and the CA certificates
//!   beside it are its chain, never anchors, whoever wrote the file (keytool, OpenSSL,
//!   `cryptography`), as in a JKS keystore.
//! - **Certificates only, none marked** (`openssl pkcs12 -export -nokeys`): every certificate
//!   bag.
//!
//! Integrity (RFC 7292 section 5, password integrity mode): with a password, the MAC is
//! verified (HMAC with SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512, its key from the PKCS#12
//! KDF of appendix B) before anything is decrypted or returned, and a file without a MAC is
//! refused ([`KeystoreErrorKind::Integrity`]): anyone who can write it could have removed the
//! MAC to add a certificate. Without a password nothing is authenticated, MAC or not. Encrypted SafeContents are
//! decrypted with PBES2 (RFC 8018 section 6.2: PBKDF2 with HMAC-SHA-1/SHA-2 and AES-CBC or
//! DES-EDE3-CBC) or the PKCS#12 PBE schemes of appendix C (SHA-1 with 3-key or 2-key
//! triple-DES, 128-bit or 40-bit RC2). Private keys are never decrypted. Only DER is read (BER
//! indefinite lengths are refused as malformed).

use std::collections::HashSet;

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, InnerIvInit, KeyIvInit};
use der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use der::{Decode, Reader, Sequence, SliceReader, Tag, Tagged};
use hmac::{Hmac, Mac};
use pkcs5::pbes2;
use spki::AlgorithmIdentifierRef;

use super::{
    KdfBudget, Keystore, KeystoreError, KeystoreErrorKind, KeystoreKind, MAX_KEYSTORE_ENTRIES,
    MAX_KEYSTORE_NESTING, SkippedEntry, TrustedCert,
};
use crate::limits::MAX_CERT_BYTES;

const fn oid(text: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(text)
}

// Content types (RFC 5652 section 4, 8; RFC 7292 section 4.1).
const DATA: ObjectIdentifier = oid("1.2.840.113549.1.7.1");
const SIGNED_DATA: ObjectIdentifier = oid("1.2.840.113549.1.7.2");
const ENVELOPED_DATA: ObjectIdentifier = oid("1.2.840.113549.1.7.3");
const ENCRYPTED_DATA: ObjectIdentifier = oid("1.2.840.113549.1.7.6");
// Bag types (RFC 7292 section 4.2).
const KEY_BAG: ObjectIdentifier = oid("1.2.840.113549.1.12.10.1.1");
const SHROUDED_KEY_BAG: ObjectIdentifier = oid("1.2.840.113549.1.12.10.1.2");
const CERT_BAG: ObjectIdentifier = oid("1.2.840.113549.1.12.10.1.3");
const CRL_BAG: ObjectIdentifier = oid("1.2.840.113549.1.12.10.1.4");
const SECRET_BAG: ObjectIdentifier = oid("1.2.840.113549.1.12.10.1.5");
const SAFE_CONTENTS_BAG: ObjectIdentifier = oid("1.2.840.113549.1.12.10.1.6");
// Certificate types (RFC 7292 section 4.2.3).
const X509_CERTIFICATE: ObjectIdentifier = oid("1.2.840.113549.1.9.22.1");
// Attributes: friendlyName, localKeyId (RFC 2985 sections 5.5.1, 5.5.2), Oracle's
// trustedKeyUsage (what keytool marks trusted-certificate entries with).
const FRIENDLY_NAME: ObjectIdentifier = oid("1.2.840.113549.1.9.20");
const LOCAL_KEY_ID: ObjectIdentifier = oid("1.2.840.113549.1.9.21");
const TRUSTED_KEY_USAGE: ObjectIdentifier = oid("2.16.840.1.113894.746875.1.1");
// Encryption: PBES2 (RFC 8018 appendix A.4) and the PKCS#12 PBE schemes (RFC 7292 appendix C).
const PBES2: ObjectIdentifier = oid("1.2.840.113549.1.5.13");
const PBE_SHA1_RC4_128: ObjectIdentifier = oid("1.2.840.113549.1.12.1.1");
const PBE_SHA1_RC4_40: ObjectIdentifier = oid("1.2.840.113549.1.12.1.2");
const PBE_SHA1_3DES: ObjectIdentifier = oid("1.2.840.113549.1.12.1.3");
const PBE_SHA1_2DES: ObjectIdentifier = oid("1.2.840.113549.1.12.1.4");
const PBE_SHA1_RC2_128: ObjectIdentifier = oid("1.2.840.113549.1.12.1.5");
const PBE_SHA1_RC2_40: ObjectIdentifier = oid("1.2.840.113549.1.12.1.6");
// MAC digests (RFC 8017 appendix B.1; RFC 5754 section 2).
const SHA1: ObjectIdentifier = oid("1.3.14.3.2.26");
const SHA224: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.4");
const SHA256: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = oid("2.16.840.1.101.3.4.2.3");
// PBMAC1 (RFC 9579), which newer OpenSSL can write.
const PBMAC1: ObjectIdentifier = oid("1.2.840.113549.1.5.14");

/// PFX (RFC 7292 section 4).
#[derive(Sequence)]
struct Pfx<'a> {
    version: u8,
    auth_safe: ContentInfo<'a>,
    mac_data: Option<MacData<'a>>,
}

/// ContentInfo (RFC 5652 section 3).
#[derive(Sequence)]
struct ContentInfo<'a> {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    content: Option<AnyRef<'a>>,
}

/// MacData (RFC 7292 section 4); `iterations` DEFAULT 1.
#[derive(Sequence)]
struct MacData<'a> {
    mac: DigestInfo<'a>,
    mac_salt: OctetStringRef<'a>,
    #[asn1(optional = "true")]
    iterations: Option<u32>,
}

/// DigestInfo (RFC 8017 section 9.2).
#[derive(Sequence)]
struct DigestInfo<'a> {
    algorithm: AlgorithmIdentifierRef<'a>,
    digest: OctetStringRef<'a>,
}

/// EncryptedContentInfo (RFC 5652 section 6.1).
#[derive(Sequence)]
struct EncryptedContentInfo<'a> {
    content_type: ObjectIdentifier,
    algorithm: AlgorithmIdentifierRef<'a>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    encrypted_content: Option<OctetStringRef<'a>>,
}

/// SafeBag (RFC 7292 section 4.2); the attributes are read by [`BagAttributes::read`].
#[derive(Sequence)]
struct SafeBag<'a> {
    bag_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    bag_value: AnyRef<'a>,
    bag_attributes: Option<AnyRef<'a>>,
}

/// CertBag (RFC 7292 section 4.2.3).
#[derive(Sequence)]
struct CertBag<'a> {
    cert_id: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    cert_value: OctetStringRef<'a>,
}

/// Attribute (RFC 5652 section 5.3): the values are a SET, read as it is.
#[derive(Sequence)]
struct Attribute<'a> {
    id: ObjectIdentifier,
    values: AnyRef<'a>,
}

/// pkcs-12PbeParams (RFC 7292 appendix C).
#[derive(Sequence)]
struct PbeParams<'a> {
    salt: OctetStringRef<'a>,
    iterations: u32,
}

fn malformed(what: &str, err: impl std::fmt::Display) -> KeystoreError {
    KeystoreError::malformed(format!("PKCS#12 {what} is malformed: {err}"))
}

/// The refusal of a file without a MAC when a password is given.
fn no_mac() -> KeystoreError {
    KeystoreError::new(
        KeystoreErrorKind::Integrity,
        "the file has no MAC: its integrity cannot be checked with the password, so nothing \
         is imported (a password-less PKCS#12 file, such as the cacerts of Java 18 and later, \
         is read without a password, unauthenticated)",
    )
}

fn unsupported(message: String) -> KeystoreError {
    KeystoreError::new(KeystoreErrorKind::Unsupported, message)
}

/// The attributes of a bag that matter here.
#[derive(Default)]
struct BagAttributes {
    friendly_name: Option<String>,
    local_key_id: Option<Vec<u8>>,
    trusted: bool,
}

impl BagAttributes {
    /// Reads `SET OF Attribute` element by element (no DER set ordering is demanded: some
    /// writers do not sort, and nothing here depends on the order).
    fn read(set: Option<AnyRef<'_>>) -> Result<Self, KeystoreError> {
        let mut out = Self::default();
        let Some(set) = set else {
            return Ok(out);
        };
        if set.tag() != Tag::Set {
            return Err(malformed("bag attributes", "not a SET"));
        }
        let mut reader =
            SliceReader::new(set.value()).map_err(|e| malformed("bag attributes", e))?;
        while !reader.is_finished() {
            let attribute: Attribute<'_> =
                reader.decode().map_err(|e| malformed("bag attribute", e))?;
            if attribute.values.tag() != Tag::Set {
                return Err(malformed("bag attribute", "values are not a SET"));
            }
            let first = || -> Result<AnyRef<'_>, KeystoreError> {
                SliceReader::new(attribute.values.value())
                    .and_then(|mut values| values.decode::<AnyRef<'_>>())
                    .map_err(|e| malformed("bag attribute value", e))
            };
            if attribute.id == TRUSTED_KEY_USAGE {
                out.trusted = true;
            } else if attribute.id == FRIENDLY_NAME {
                let value = first()?;
                if value.tag() == Tag::BmpString {
                    let units: Vec<u16> = value
                        .value()
                        .chunks(2)
                        .map(|pair| u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]))
                        .collect();
                    out.friendly_name = Some(String::from_utf16_lossy(&units));
                }
            } else if attribute.id == LOCAL_KEY_ID {
                let value = first()?;
                if value.tag() == Tag::OctetString {
                    out.local_key_id = Some(value.value().to_vec());
                }
            }
        }
        Ok(out)
    }
}

/// One bag, classified.
enum BagContent {
    Cert(Vec<u8>),
    Key,
    Skipped(String),
}

struct Bag {
    attributes: BagAttributes,
    content: BagContent,
}

/// The password in the encodings the schemes need.
struct Password<'p> {
    /// For PBES2 (RFC 8018 section 6.2): the UTF-8 octets, as OpenSSL and Java encode them.
    utf8: &'p str,
    /// For the PKCS#12 KDF (RFC 7292 appendix B.1): BMPString, big-endian, with a two-zero
    /// terminator. For the empty password, OpenSSL also accepts the empty string (no
    /// terminator): both are tried, and the MAC tells which one the file used.
    bmp: Vec<Vec<u8>>,
}

impl<'p> Password<'p> {
    fn new(password: &'p str) -> Self {
        let mut bmp: Vec<u8> = password.encode_utf16().flat_map(u16::to_be_bytes).collect();
        bmp.extend([0, 0]);
        let mut variants = vec![bmp];
        if password.is_empty() {
            variants.push(Vec::new());
        }
        Self {
            utf8: password,
            bmp: variants,
        }
    }
}

/// The state of one read: the password, the KDF budget and the bag count.
struct Context<'p> {
    password: Option<Password<'p>>,
    budget: KdfBudget,
    bags: Vec<Bag>,
}

/// Reads a PKCS#12 file (see the module documentation).
pub fn read(data: &[u8], password: Option<&str>) -> Result<Keystore, KeystoreError> {
    let pfx = Pfx::from_der(data).map_err(|e| malformed("PFX", e))?;
    if pfx.version != 3 {
        return Err(KeystoreError::malformed(format!(
            "PKCS#12 version {}; only 3 exists",
            pfx.version
        )));
    }
    if pfx.auth_safe.content_type == SIGNED_DATA {
        return Err(unsupported(
            "PKCS#12 in public-key integrity mode (signedData) is not supported".to_owned(),
        ));
    }
    let auth_safe = data_octets(&pfx.auth_safe, "authSafe")?;
    let mut context = Context {
        password: password.map(Password::new),
        budget: KdfBudget::new(),
        bags: Vec::new(),
    };
    // A password is a demand for integrity: a file without a MAC cannot meet it (removing
    // the MAC is all it takes to add a root to an unencrypted file), so it is refused rather
    // than read unauthenticated. Without a password nothing is authenticated either way.
    let integrity_checked = match (&mut context.password, &pfx.mac_data) {
        (Some(password), Some(mac)) => {
            verify_mac(mac, auth_safe, password, &mut context.budget)?;
            true
        }
        (Some(_), None) => return Err(no_mac()),
        (None, _) => false,
    };
    let parts: Vec<ContentInfo<'_>> =
        Vec::from_der(auth_safe).map_err(|e| malformed("AuthenticatedSafe", e))?;
    for (index, part) in parts.iter().enumerate() {
        let safe_contents = if part.content_type == DATA {
            data_octets(part, "SafeContents")?.to_vec()
        } else if part.content_type == ENCRYPTED_DATA {
            decrypt_part(part, index, &mut context)?
        } else if part.content_type == ENVELOPED_DATA {
            return Err(unsupported(format!(
                "PKCS#12 part #{index} is encrypted to a public key (envelopedData), which \
                 certpolicy does not read"
            )));
        } else {
            return Err(KeystoreError::malformed(format!(
                "PKCS#12 part #{index} has content type {}",
                part.content_type
            )));
        };
        let outer = AnyRef::from_der(&safe_contents).map_err(|e| malformed("SafeContents", e))?;
        read_safe_contents(outer, 0, &mut context)?;
    }
    Ok(classify(context.bags, integrity_checked))
}

/// The octets of a `data` ContentInfo: `[0] EXPLICIT OCTET STRING`.
fn data_octets<'a>(info: &ContentInfo<'a>, what: &str) -> Result<&'a [u8], KeystoreError> {
    if info.content_type != DATA {
        return Err(KeystoreError::malformed(format!(
            "PKCS#12 {what} has content type {}, not data",
            info.content_type
        )));
    }
    let content = info.content.ok_or_else(|| malformed(what, "no content"))?;
    let octets: OctetStringRef<'a> = content.decode_as().map_err(|e| malformed(what, e))?;
    Ok(octets.as_bytes())
}

/// Verifies the MAC (RFC 7292 section 5): HMAC over the AuthenticatedSafe octets with a key
/// from the PKCS#12 KDF (ID 3) of the MAC's digest. On success, keeps only the password
/// encoding that matched.
fn verify_mac(
    mac: &MacData<'_>,
    auth_safe: &[u8],
    password: &mut Password<'_>,
    budget: &mut KdfBudget,
) -> Result<(), KeystoreError> {
    let algorithm = mac.mac.algorithm.oid;
    let iterations = mac.iterations.unwrap_or(1);
    let salt = mac.mac_salt.as_bytes();
    let expected = mac.mac.digest.as_bytes();
    if algorithm == PBMAC1 {
        return Err(unsupported(
            "PKCS#12 MAC PBMAC1 (RFC 9579) is not supported".to_owned(),
        ));
    }
    let supported = [SHA1, SHA224, SHA256, SHA384, SHA512];
    if !supported.contains(&algorithm) {
        return Err(unsupported(format!(
            "PKCS#12 MAC digest {algorithm} is not supported"
        )));
    }
    for (index, bmp) in password.bmp.iter().enumerate() {
        budget.spend("PKCS#12 MAC", u64::from(iterations), 1)?;
        let rounds = i32::try_from(iterations).map_err(|_| malformed("MAC", "iteration count"))?;
        if mac_matches(algorithm, bmp, salt, rounds, auth_safe, expected)? {
            let keep = password.bmp.swap_remove(index);
            password.bmp = vec![keep];
            return Ok(());
        }
    }
    Err(KeystoreError::integrity("PKCS#12 MAC does not verify"))
}

/// HMAC of `message` with the key the PKCS#12 KDF (ID 3) derives with `algorithm`'s digest,
/// compared with `expected` in constant time.
fn mac_matches(
    algorithm: ObjectIdentifier,
    password: &[u8],
    salt: &[u8],
    rounds: i32,
    message: &[u8],
    expected: &[u8],
) -> Result<bool, KeystoreError> {
    use ::pkcs12::kdf::{Pkcs12KeyType, derive_key};
    use sha2::Digest as _;
    macro_rules! check {
        ($digest:ty) => {{
            let key = derive_key::<$digest>(
                password,
                salt,
                Pkcs12KeyType::Mac,
                rounds,
                <$digest>::output_size(),
            );
            let mut mac =
                <Hmac<$digest> as Mac>::new_from_slice(&key).map_err(|e| malformed("MAC", e))?;
            mac.update(message);
            Ok(mac.verify_slice(expected).is_ok())
        }};
    }
    match algorithm {
        a if a == SHA1 => check!(sha1::Sha1),
        a if a == SHA224 => check!(sha2::Sha224),
        a if a == SHA256 => check!(sha2::Sha256),
        a if a == SHA384 => check!(sha2::Sha384),
        a if a == SHA512 => check!(sha2::Sha512),
        other => Err(unsupported(format!(
            "PKCS#12 MAC digest {other} is not supported"
        ))),
    }
}

/// Decrypts an encryptedData part (RFC 5652 section 8) into its SafeContents octets.
fn decrypt_part(
    part: &ContentInfo<'_>,
    index: usize,
    context: &mut Context<'_>,
) -> Result<Vec<u8>, KeystoreError> {
    let what = format!("encrypted part #{index}");
    let content = part.content.ok_or_else(|| malformed(&what, "no content"))?;
    if content.tag() != Tag::Sequence {
        return Err(malformed(&what, "not a SEQUENCE"));
    }
    // EncryptedData ::= SEQUENCE { version, encryptedContentInfo, [1] unprotectedAttrs }:
    // the attributes, when present, are not needed.
    let mut reader = SliceReader::new(content.value()).map_err(|e| malformed(&what, e))?;
    let _version: u8 = reader.decode().map_err(|e| malformed(&what, e))?;
    let info: EncryptedContentInfo<'_> = reader.decode().map_err(|e| malformed(&what, e))?;
    let ciphertext = info
        .encrypted_content
        .map(|octets| octets.as_bytes())
        .unwrap_or_default();
    let Some(password) = &context.password else {
        return Err(KeystoreError::new(
            KeystoreErrorKind::PasswordRequired,
            "the keystore's certificates are encrypted: its password is needed to read them",
        ));
    };
    let algorithm = info.algorithm;
    let failed = || KeystoreError::integrity(&format!("cannot decrypt PKCS#12 {what}"));
    if algorithm.oid == PBES2 {
        let params = algorithm
            .parameters
            .ok_or_else(|| malformed(&what, "PBES2 without parameters"))?;
        let params = pbes2::Parameters::try_from(params).map_err(|e| {
            unsupported(format!(
                "PKCS#12 {what}: PBES2 parameters not supported: {e}"
            ))
        })?;
        let pbes2::Kdf::Pbkdf2(kdf) = &params.kdf else {
            return Err(unsupported(format!(
                "PKCS#12 {what}: only PBKDF2 is supported as the PBES2 key derivation"
            )));
        };
        let prf_len: u64 = match kdf.prf {
            pbes2::Pbkdf2Prf::HmacWithSha1 => 20,
            pbes2::Pbkdf2Prf::HmacWithSha224 => 28,
            pbes2::Pbkdf2Prf::HmacWithSha256 => 32,
            pbes2::Pbkdf2Prf::HmacWithSha384 => 48,
            pbes2::Pbkdf2Prf::HmacWithSha512 => 64,
            other => {
                return Err(unsupported(format!(
                    "PKCS#12 {what}: PBKDF2 with {} is not supported",
                    other.oid()
                )));
            }
        };
        let key_len = params.encryption.key_size() as u64;
        let blocks = key_len.div_ceil(prf_len);
        // PBKDF2 costs two compressions an iteration: counted twice.
        context.budget.spend(
            &format!("PKCS#12 {what}"),
            u64::from(kdf.iteration_count),
            2 * blocks,
        )?;
        return params
            .decrypt(password.utf8.as_bytes(), ciphertext)
            .map_err(|err| match err {
                pkcs5::Error::DecryptFailed => failed(),
                other => unsupported(format!("PKCS#12 {what}: {other}")),
            });
    }
    let (key_len, cipher) = match algorithm.oid {
        o if o == PBE_SHA1_3DES => (24, LegacyCipher::TripleDes3),
        o if o == PBE_SHA1_2DES => (16, LegacyCipher::TripleDes2),
        o if o == PBE_SHA1_RC2_128 => (16, LegacyCipher::Rc2(128)),
        o if o == PBE_SHA1_RC2_40 => (5, LegacyCipher::Rc2(40)),
        o if o == PBE_SHA1_RC4_128 || o == PBE_SHA1_RC4_40 => {
            return Err(unsupported(format!(
                "PKCS#12 {what}: RC4 encryption ({o}) is not supported"
            )));
        }
        other => {
            return Err(unsupported(format!(
                "PKCS#12 {what}: encryption algorithm {other} is not supported"
            )));
        }
    };
    let params: PbeParams<'_> = algorithm
        .parameters
        .ok_or_else(|| malformed(&what, "PBE without parameters"))?
        .decode_as()
        .map_err(|e| malformed(&what, e))?;
    let salt = params.salt.as_bytes();
    let mut last = None;
    for bmp in &password.bmp {
        // The key (ID 1) and the IV (ID 2), SHA-1: 20 bytes an output block.
        let blocks = (key_len as u64).div_ceil(20) + 1;
        context.budget.spend(
            &format!("PKCS#12 {what}"),
            u64::from(params.iterations),
            blocks,
        )?;
        let rounds =
            i32::try_from(params.iterations).map_err(|_| malformed(&what, "iterations"))?;
        use ::pkcs12::kdf::{Pkcs12KeyType, derive_key};
        let key =
            derive_key::<sha1::Sha1>(bmp, salt, Pkcs12KeyType::EncryptionKey, rounds, key_len);
        let iv = derive_key::<sha1::Sha1>(bmp, salt, Pkcs12KeyType::Iv, rounds, 8);
        match cipher.decrypt(&key, &iv, ciphertext) {
            Some(plain) => return Ok(plain),
            None => last = Some(failed()),
        }
    }
    Err(last.unwrap_or_else(failed))
}

/// The block ciphers of the PKCS#12 PBE schemes (RFC 7292 appendix C), in CBC mode with
/// PKCS#7 padding.
#[derive(Clone, Copy)]
enum LegacyCipher {
    TripleDes3,
    TripleDes2,
    /// RC2 with this many effective key bits (RFC 2268).
    Rc2(usize),
}

impl LegacyCipher {
    fn decrypt(self, key: &[u8], iv: &[u8], ciphertext: &[u8]) -> Option<Vec<u8>> {
        match self {
            LegacyCipher::TripleDes3 => cbc::Decryptor::<des::TdesEde3>::new_from_slices(key, iv)
                .ok()?
                .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
                .ok(),
            LegacyCipher::TripleDes2 => cbc::Decryptor::<des::TdesEde2>::new_from_slices(key, iv)
                .ok()?
                .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
                .ok(),
            LegacyCipher::Rc2(bits) => {
                let cipher = rc2::Rc2::new_with_eff_key_len(key, bits);
                let iv: [u8; 8] = iv.try_into().ok()?;
                cbc::Decryptor::<rc2::Rc2>::inner_iv_init(cipher, &iv.into())
                    .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
                    .ok()
            }
        }
    }
}

/// Reads the bags of a SafeContents, recursing into safeContentsBags up to the nesting limit.
fn read_safe_contents(
    outer: AnyRef<'_>,
    depth: usize,
    context: &mut Context<'_>,
) -> Result<(), KeystoreError> {
    if depth >= MAX_KEYSTORE_NESTING {
        return Err(KeystoreError::new(
            KeystoreErrorKind::TooCostly,
            format!("PKCS#12 SafeContents nested deeper than {MAX_KEYSTORE_NESTING}"),
        ));
    }
    if outer.tag() != Tag::Sequence {
        return Err(malformed("SafeContents", "not a SEQUENCE"));
    }
    let mut reader = SliceReader::new(outer.value()).map_err(|e| malformed("SafeContents", e))?;
    while !reader.is_finished() {
        if context.bags.len() >= MAX_KEYSTORE_ENTRIES {
            return Err(KeystoreError::new(
                KeystoreErrorKind::TooCostly,
                format!("PKCS#12 file has more than {MAX_KEYSTORE_ENTRIES} bags"),
            ));
        }
        let bag: SafeBag<'_> = reader.decode().map_err(|e| malformed("SafeBag", e))?;
        let attributes = BagAttributes::read(bag.bag_attributes)?;
        let content = match bag.bag_id {
            id if id == CERT_BAG => {
                let cert: CertBag<'_> = bag
                    .bag_value
                    .decode_as()
                    .map_err(|e| malformed("CertBag", e))?;
                if cert.cert_id != X509_CERTIFICATE {
                    BagContent::Skipped(format!("certificate of type {}, not X.509", cert.cert_id))
                } else if cert.cert_value.as_bytes().len() > MAX_CERT_BYTES {
                    return Err(KeystoreError::malformed(format!(
                        "PKCS#12 certificate is {} bytes; at most {MAX_CERT_BYTES} are accepted",
                        cert.cert_value.as_bytes().len()
                    )));
                } else {
                    BagContent::Cert(cert.cert_value.as_bytes().to_vec())
                }
            }
            id if id == KEY_BAG || id == SHROUDED_KEY_BAG => BagContent::Key,
            id if id == CRL_BAG => BagContent::Skipped("CRL".to_owned()),
            id if id == SECRET_BAG => BagContent::Skipped("secret".to_owned()),
            id if id == SAFE_CONTENTS_BAG => {
                read_safe_contents(bag.bag_value, depth + 1, context)?;
                continue;
            }
            other => BagContent::Skipped(format!("bag of unknown type {other}")),
        };
        context.bags.push(Bag {
            attributes,
            content,
        });
    }
    Ok(())
}

/// Sorts the bags into anchors and skipped entries (see the module documentation): when a
/// certificate bag is marked trusted or the file holds a private key, only the marked
/// certificates are anchors; otherwise (certificates only) every certificate is.
fn classify(bags: Vec<Bag>, integrity_checked: bool) -> Keystore {
    let marked = bags
        .iter()
        .any(|bag| bag.attributes.trusted && matches!(bag.content, BagContent::Cert(_)));
    let has_key = bags
        .iter()
        .any(|bag| matches!(bag.content, BagContent::Key));
    let key_ids: HashSet<Vec<u8>> = bags
        .iter()
        .filter(|bag| matches!(bag.content, BagContent::Key))
        .filter_map(|bag| bag.attributes.local_key_id.clone())
        .collect();
    let mut anchors = Vec::new();
    let mut skipped = Vec::new();
    for bag in bags {
        let alias = bag.attributes.friendly_name;
        let reason = match bag.content {
            BagContent::Cert(der) => {
                if bag.attributes.trusted || !(marked || has_key) {
                    anchors.push(TrustedCert { alias, der });
                    continue;
                }
                let of_a_key = bag
                    .attributes
                    .local_key_id
                    .is_some_and(|id| key_ids.contains(&id));
                if of_a_key {
                    "certificate of a private key (an identity, not a trust anchor)"
                } else if has_key {
                    "certificate not marked trusted in a file with a private key (part of the \
                     key's chain: only certificates marked trusted are anchors there)"
                } else {
                    "certificate not marked trusted"
                }
                .to_owned()
            }
            BagContent::Key => "private key".to_owned(),
            BagContent::Skipped(reason) => reason,
        };
        skipped.push(SkippedEntry { alias, reason });
    }
    Keystore {
        kind: KeystoreKind::Pkcs12,
        integrity_checked,
        anchors,
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    const KEYTOOL_TRUST: &[u8] = include_bytes!("testdata/trust.pkcs12");
    const KEYTOOL_IDENTITY: &[u8] = include_bytes!("testdata/identity.pkcs12");
    const OPENSSL_DEFAULT: &[u8] = include_bytes!("testdata/openssl-default.p12");
    const OPENSSL_LEGACY: &[u8] = include_bytes!("testdata/openssl-legacy.p12");
    const OPENSSL_3DES: &[u8] = include_bytes!("testdata/openssl-3des.p12");
    const OPENSSL_NOKEYS: &[u8] = include_bytes!("testdata/openssl-nokeys.p12");
    const OPENSSL_ITER1: &[u8] = include_bytes!("testdata/openssl-iter1.p12");
    const PY_TRUST: &[u8] = include_bytes!("testdata/cryptography-truststore.p12");
    const PY_TRUST_NOENC: &[u8] = include_bytes!("testdata/cryptography-truststore-noenc.p12");
    const PY_IDENTITY: &[u8] = include_bytes!("testdata/cryptography-identity.p12");
    const IDENTITY_CERT_PEM: &[u8] = include_bytes!("testdata/identity-cert.pem");
    const KEYTOOL_KEY_ONLY: &[u8] = include_bytes!("testdata/keyonly.pkcs12");
    const KEYTOOL_NO_MAC: &[u8] = include_bytes!("testdata/trust-nomac.pkcs12");
    const PY_TRUST_MAC_STRIPPED: &[u8] =
        include_bytes!("testdata/cryptography-truststore-nomac.p12");

    fn ders(store: &Keystore) -> Vec<Vec<u8>> {
        store.anchors.iter().map(|a| a.der.clone()).collect()
    }

    fn root_and_intermediate(store: &Keystore) {
        let found = ders(store);
        assert_eq!(found.len(), 2, "{:?}", store.skipped);
        assert!(found.contains(&testdata::root()));
        assert!(found.contains(&testdata::intermediate()));
    }

    fn identity_cert() -> Vec<u8> {
        crate::parse_pem_certificates(IDENTITY_CERT_PEM).expect("pem")[0].to_vec()
    }

    fn reasons(store: &Keystore) -> Vec<&str> {
        store.skipped.iter().map(|s| s.reason.as_str()).collect()
    }

    /// The number of skipped entries whose reason contains `needle`.
    fn skipped_for(store: &Keystore, needle: &str) -> usize {
        reasons(store).iter().filter(|r| r.contains(needle)).count()
    }

    /// `data` re-encoded without its MAC.
    fn without_mac(data: &[u8]) -> Vec<u8> {
        use der::Encode;
        let mut pfx = Pfx::from_der(data).expect("pfx");
        assert!(pfx.mac_data.is_some());
        pfx.mac_data = None;
        pfx.to_der().expect("encode")
    }

    #[test]
    fn keytool_trust_store() {
        let store = read(KEYTOOL_TRUST, Some("changeit")).expect("keytool PKCS#12");
        assert!(store.integrity_checked);
        root_and_intermediate(&store);
        let aliases: Vec<_> = store
            .anchors
            .iter()
            .filter_map(|a| a.alias.clone())
            .collect();
        assert!(aliases.contains(&"root".to_owned()), "{aliases:?}");
    }

    #[test]
    fn keytool_identity_keeps_only_the_trusted_entry() {
        let store = read(KEYTOOL_IDENTITY, Some("changeit")).expect("keytool identity");
        assert_eq!(ders(&store), vec![testdata::root()]);
        assert_eq!(
            reasons(&store),
            [
                "private key",
                "certificate of a private key (an identity, not a trust anchor)"
            ],
        );
    }

    #[test]
    fn keytool_key_only_store_has_no_anchor() {
        // keytool -genkeypair -storetype PKCS12, then a CA-signed reply: one private-key entry
        // whose chain is the leaf and its CA. Java trusts no entry of it, and neither does the
        // same store as JKS (jks.rs): the CA must not become an anchor.
        let store = read(KEYTOOL_KEY_ONLY, Some("changeit")).expect("keytool key entry");
        assert!(store.integrity_checked);
        assert!(store.anchors.is_empty(), "{:?}", store.anchors);
        assert_eq!(store.skipped.len(), 3, "{:?}", store.skipped);
        assert_eq!(
            reasons(&store)
                .iter()
                .filter(|r| **r == "private key")
                .count(),
            1
        );
        assert_eq!(skipped_for(&store, "certificate of a private key"), 1);
        assert_eq!(
            skipped_for(&store, "not marked trusted in a file with a private key"),
            1
        );
    }

    #[test]
    fn openssl_and_cryptography_identities_give_no_anchor() {
        // A key, its certificate and the CA certificates packed beside it: an identity. None
        // is marked trusted, so none is an anchor (the CA certificates are the key's chain).
        for data in [OPENSSL_DEFAULT, OPENSSL_LEGACY, OPENSSL_3DES, PY_IDENTITY] {
            let store = read(data, Some("changeit")).expect("identity PKCS#12");
            assert!(store.integrity_checked);
            assert!(store.anchors.is_empty(), "{:?}", store.anchors);
            assert_eq!(skipped_for(&store, "certificate of a private key"), 1);
            assert_eq!(
                skipped_for(&store, "not marked trusted in a file with a private key"),
                2
            );
            assert_eq!(store.skipped.len(), 4, "{:?}", store.skipped);
        }
        assert!(!identity_cert().is_empty());
        let store = read(OPENSSL_NOKEYS, Some("changeit")).expect("certificates only");
        root_and_intermediate(&store);
        let store = read(OPENSSL_ITER1, Some("changeit")).expect("one iteration");
        assert!(store.integrity_checked);
        root_and_intermediate(&store);
    }

    #[test]
    fn cryptography_files() {
        root_and_intermediate(&read(PY_TRUST, Some("changeit")).expect("truststore"));
        let noenc = read(PY_TRUST_NOENC, None).expect("unencrypted truststore");
        assert!(!noenc.integrity_checked);
        root_and_intermediate(&noenc);
        // Its MAC is keyed with the empty password.
        assert!(
            read(PY_TRUST_NOENC, Some(""))
                .expect("empty password")
                .integrity_checked
        );
    }

    #[test]
    fn a_password_demands_a_mac() {
        // The MAC removed from an unencrypted trust store (anyone who can write the file can
        // do it, and add a root), a password-less keytool store (as Java 18+ ships cacerts),
        // and the MAC removed from a store whose certificates are encrypted: with any
        // password, right or wrong, nothing is returned.
        let stripped = without_mac(KEYTOOL_TRUST);
        for data in [PY_TRUST_MAC_STRIPPED, KEYTOOL_NO_MAC, stripped.as_slice()] {
            for password in ["changeit", "wrong", ""] {
                let err = read(data, Some(password)).expect_err("no MAC to check");
                assert_eq!(err.kind, KeystoreErrorKind::Integrity, "{err}");
                assert!(err.message.contains("the file has no MAC"), "{err}");
            }
        }
        assert_eq!(without_mac(PY_TRUST_NOENC), PY_TRUST_MAC_STRIPPED);
        // Without a password they read as before, unauthenticated.
        for data in [PY_TRUST_MAC_STRIPPED, KEYTOOL_NO_MAC] {
            let store = read(data, None).expect("no password");
            assert!(!store.integrity_checked);
            root_and_intermediate(&store);
        }
        let err = read(&stripped, None).expect_err("encrypted certificates");
        assert_eq!(err.kind, KeystoreErrorKind::PasswordRequired);
    }

    #[test]
    fn marks_decide_beside_a_key_and_without_one() {
        fn cert(trusted: bool, key_id: Option<&[u8]>, der: &[u8]) -> Bag {
            Bag {
                attributes: BagAttributes {
                    friendly_name: None,
                    local_key_id: key_id.map(<[u8]>::to_vec),
                    trusted,
                },
                content: BagContent::Cert(der.to_vec()),
            }
        }
        let key = |key_id: Option<&[u8]>| Bag {
            attributes: BagAttributes {
                local_key_id: key_id.map(<[u8]>::to_vec),
                ..BagAttributes::default()
            },
            content: BagContent::Key,
        };
        let (root, inter, leaf) = (testdata::root(), testdata::intermediate(), testdata::leaf());
        // Certificates only, none marked: all anchors.
        let store = classify(
            vec![cert(false, None, &root), cert(false, None, &inter)],
            true,
        );
        assert_eq!(ders(&store), [root.clone(), inter.clone()]);
        // One marked: only it.
        let store = classify(
            vec![cert(true, None, &root), cert(false, None, &inter)],
            true,
        );
        assert_eq!(ders(&store), std::slice::from_ref(&root));
        assert_eq!(reasons(&store), ["certificate not marked trusted"]);
        // A key, with or without a localKeyId: only marked certificates.
        for key_id in [Some(&b"1"[..]), None] {
            let bags = vec![
                key(key_id),
                cert(false, key_id, &leaf),
                cert(false, None, &inter),
                cert(true, None, &root),
            ];
            let store = classify(bags, true);
            assert_eq!(ders(&store), std::slice::from_ref(&root));
            assert_eq!(store.skipped.len(), 3);
        }
        let store = classify(vec![key(Some(b"1")), cert(false, None, &root)], false);
        assert!(store.anchors.is_empty());
        assert!(!store.integrity_checked);
    }

    #[test]
    fn wrong_password_tampering_and_missing_password() {
        for data in [KEYTOOL_TRUST, OPENSSL_LEGACY, PY_TRUST, PY_TRUST_NOENC] {
            let err = read(data, Some("wrong")).expect_err("wrong password");
            assert_eq!(err.kind, KeystoreErrorKind::Integrity, "{err}");
        }
        let mut tampered = KEYTOOL_TRUST.to_vec();
        let at = tampered.len() / 2;
        tampered[at] ^= 0x01;
        let err = read(&tampered, Some("changeit")).expect_err("tampered");
        assert!(
            matches!(
                err.kind,
                KeystoreErrorKind::Integrity | KeystoreErrorKind::Malformed
            ),
            "{err}"
        );
        let err = read(KEYTOOL_TRUST, None).expect_err("encrypted certificates");
        assert_eq!(err.kind, KeystoreErrorKind::PasswordRequired);
    }

    #[test]
    fn truncated_and_trailing_bytes_are_malformed() {
        for cut in [1, 10, KEYTOOL_TRUST.len() / 2, KEYTOOL_TRUST.len() - 1] {
            let err = read(&KEYTOOL_TRUST[..cut], Some("changeit")).expect_err("truncated");
            assert_eq!(err.kind, KeystoreErrorKind::Malformed, "cut {cut}: {err}");
        }
        let mut longer = KEYTOOL_TRUST.to_vec();
        longer.push(0);
        assert_eq!(
            read(&longer, Some("changeit")).expect_err("trailing").kind,
            KeystoreErrorKind::Malformed
        );
    }

    #[test]
    fn iteration_counts_over_the_budget_are_refused() {
        use der::Encode;
        // The keytool file with its MAC iteration count raised: refused before any work.
        let mut pfx = Pfx::from_der(KEYTOOL_TRUST).expect("pfx");
        let mac = pfx.mac_data.as_mut().expect("mac");
        assert_eq!(mac.iterations, Some(10_000));
        mac.iterations = Some(u32::MAX);
        let data = pfx.to_der().expect("encode");
        let err = read(&data, Some("changeit")).expect_err("too many iterations");
        assert_eq!(err.kind, KeystoreErrorKind::TooCostly, "{err}");
        assert!(err.message.contains("at most 1000000"), "{err}");
    }

    #[test]
    fn legacy_ciphers_round_trip() {
        use cbc::cipher::BlockEncryptMut;
        let plain = b"SafeContents stand-in";
        let key = [7u8; 24];
        let iv = [9u8; 8];
        let encrypted = cbc::Encryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .expect("key")
            .encrypt_padded_vec_mut::<Pkcs7>(plain);
        assert_eq!(
            LegacyCipher::TripleDes3
                .decrypt(&key, &iv, &encrypted)
                .as_deref(),
            Some(&plain[..])
        );
        assert!(
            LegacyCipher::TripleDes3
                .decrypt(&key[..16], &iv, &encrypted)
                .is_none()
        );
        assert!(
            LegacyCipher::Rc2(40)
                .decrypt(&key[..5], &iv[..4], &encrypted)
                .is_none()
        );
        let rc2 = cbc::Encryptor::<rc2::Rc2>::inner_iv_init(
            rc2::Rc2::new_with_eff_key_len(&key[..5], 40),
            &iv.into(),
        )
        .encrypt_padded_vec_mut::<Pkcs7>(plain);
        assert_eq!(
            LegacyCipher::Rc2(40)
                .decrypt(&key[..5], &iv, &rc2)
                .as_deref(),
            Some(&plain[..])
        );
    }
}
