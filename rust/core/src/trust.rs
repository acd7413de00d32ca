//! The trust store: the set of anchors that path building may end at (RFC 5280 section 6.1.1
//! (d), "trust anchor information"). Anchors are parsed once when added, never per check.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor};

use crate::error::Error;
use crate::limits::{MAX_CERT_BYTES, MAX_PEM_BYTES, MAX_TRUST_ANCHORS};
use crate::profile::AnchorProfile;

/// One anchor: what webpki needs, plus the certificate it came from (returned to callers as
/// the last element of a verified path) and its profile facts, read once here so that
/// verification never re-parses the anchor.
#[derive(Debug, Clone)]
pub(crate) struct Anchor {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) profile: AnchorProfile,
    /// notBefore and notAfter (seconds since the epoch), for the verified-chain cache's
    /// validity window; `None` when unreadable, and then paths to it are not cached.
    pub(crate) validity: Option<(i64, i64)>,
}

/// An immutable-after-construction set of trust anchors. Clone it to add to it; the bindings
/// share stores behind `Arc` and swap in a new one on change, so a check never waits for an
/// addition.
#[derive(Debug, Clone)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    certs: Vec<Anchor>,
    /// Anchor indexes by [`TailKey`] of their DER: duplicates are refused, and a presented
    /// certificate that is itself an anchor is found without path building. A lookup hashes
    /// a few dozen bytes instead of the whole certificate (SHA-256 of a presented certificate
    /// cost ~0.5 µs on every cold verification); the DER is then compared byte for byte, so
    /// only an identical certificate is ever found.
    by_tail: HashMap<TailKey, Vec<usize>>,
    /// Anchor indexes by subject (the Name's contents), so path building is offered only the
    /// anchors that can issue a presented certificate, however large the store.
    by_subject: HashMap<Box<[u8]>, Vec<usize>>,
    generation: u64,
}

/// The source of store generations: unique in the process, never reused.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

fn next_generation() -> u64 {
    NEXT_GENERATION.fetch_add(1, Ordering::Relaxed)
}

impl Default for TrustStore {
    fn default() -> Self {
        Self {
            anchors: Vec::new(),
            certs: Vec::new(),
            by_tail: HashMap::new(),
            by_subject: HashMap::new(),
            generation: next_generation(),
        }
    }
}

/// How many trailing bytes of a certificate its [`TailKey`] holds. A certificate ends with its
/// signature, which differs between any two certificates a key signs.
const TAIL_KEY_BYTES: usize = 32;

/// The lookup key of a certificate among the anchors: its length and its last
/// [`TAIL_KEY_BYTES`] bytes (zero-padded when shorter). Certificates of equal keys are told
/// apart by comparing their bytes.
type TailKey = (usize, [u8; TAIL_KEY_BYTES]);

fn tail_key(der: &[u8]) -> TailKey {
    let mut tail = [0u8; TAIL_KEY_BYTES];
    let end = der
        .get(der.len().saturating_sub(TAIL_KEY_BYTES)..)
        .unwrap_or_default();
    if let Some(slot) = tail.get_mut(..end.len()) {
        slot.copy_from_slice(end);
    }
    (der.len(), tail)
}

/// SHA-256 of DER bytes, the identity of a certificate throughout certpolicy.
pub fn sha256(der: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

impl TrustStore {
    /// An empty store: nothing verifies against it.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of distinct anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// True when the store holds no anchor.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The identity of exactly this set of anchors, for cache keys: two stores with the same
    /// generation hold the same anchors in the same order (a clone keeps it), and every
    /// addition gives a new one, never used before in this process.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    /// The certificate of the anchor at `index`, in the order anchors were added (the index
    /// the `anchor` of a verified chain path names).
    pub fn anchor_der(&self, index: usize) -> Option<&CertificateDer<'static>> {
        self.certs.get(index).map(|anchor| &anchor.der)
    }

    /// The validity window of the anchor at `index`, when readable.
    pub(crate) fn anchor_validity(&self, index: usize) -> Option<(i64, i64)> {
        self.certs.get(index).and_then(|anchor| anchor.validity)
    }

    /// The stored anchor at `index` of `anchors()`.
    pub(crate) fn anchor_at(&self, index: usize) -> Option<&Anchor> {
        self.certs.get(index)
    }

    /// The index of the anchor that is byte for byte `der`, if any (an imported server
    /// certificate, typically self-signed).
    pub fn anchor_index_of(&self, der: &[u8]) -> Option<usize> {
        self.by_tail
            .get(&tail_key(der))?
            .iter()
            .copied()
            .find(|&index| {
                self.anchor_der(index)
                    .is_some_and(|anchor| anchor.as_ref() == der)
            })
    }

    /// Indexes of the anchors whose subject is `subject` (a Name's contents), in store order.
    pub(crate) fn anchors_with_subject(&self, subject: &[u8]) -> &[usize] {
        self.by_subject.get(subject).map_or(&[], Vec::as_slice)
    }

    /// Adds one DER certificate as an anchor (v1 certificates included, as RFC 5280 section
    /// 6.1.1 allows any trusted public key). Returns false when it was already present.
    pub fn add_der(&mut self, der: &[u8]) -> Result<bool, Error> {
        if der.len() > MAX_CERT_BYTES {
            return Err(Error::MalformedInput(format!(
                "trust anchor is {} bytes; at most {MAX_CERT_BYTES} are accepted",
                der.len()
            )));
        }
        if self.anchor_index_of(der).is_some() {
            return Ok(false);
        }
        if self.anchors.len() >= MAX_TRUST_ANCHORS {
            return Err(Error::MalformedInput(format!(
                "trust store is full ({MAX_TRUST_ANCHORS} anchors)"
            )));
        }
        let cert = CertificateDer::from(der.to_vec());
        let anchor = webpki::anchor_from_trusted_cert(&cert)
            .map_err(|err| {
                Error::MalformedInput(format!("not a usable trust anchor certificate: {err}"))
            })?
            .to_owned();
        let profile = AnchorProfile::of(&cert);
        let validity = crate::der::validity(&cert);
        self.by_subject
            .entry(Box::from(anchor.subject.as_ref()))
            .or_default()
            .push(self.anchors.len());
        self.anchors.push(anchor);
        self.certs.push(Anchor {
            der: cert,
            profile,
            validity,
        });
        self.by_tail
            .entry(tail_key(der))
            .or_default()
            .push(self.certs.len() - 1);
        self.generation = next_generation();
        Ok(true)
    }

    /// Adds every `CERTIFICATE` block of a PEM document (RFC 7468 section 5); other block
    /// types are ignored. All-or-nothing: on a bad block nothing is added. Returns how many
    /// new anchors were added (duplicates are not counted).
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<usize, Error> {
        let ders = parse_pem_certificates(pem)?;
        if ders.is_empty() {
            return Err(Error::MalformedInput(
                "no PEM CERTIFICATE block found".to_owned(),
            ));
        }
        let mut staged = self.clone();
        let mut added = 0;
        for (index, der) in ders.iter().enumerate() {
            match staged.add_der(der) {
                Ok(true) => added += 1,
                Ok(false) => {}
                Err(err) => {
                    return Err(Error::MalformedInput(format!(
                        "PEM certificate #{index}: {err}"
                    )));
                }
            }
        }
        *self = staged;
        Ok(added)
    }
}

/// Every `CERTIFICATE` block of a PEM document, decoded (RFC 7468 section 5.1). Only those
/// blocks are decoded, and strictly (by rustls-pki-types, each block on its own); every other
/// block is skipped whatever its content: a private key with the encapsulated headers of RFC
/// 1421 section 4.6 ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ...") is not base64 alone, and is no
/// reason to refuse the certificates beside it. Text outside the blocks is ignored (RFC 7468
/// section 2). A block without its END line is an error.
pub fn parse_pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    if pem.len() > MAX_PEM_BYTES {
        return Err(Error::MalformedInput(format!(
            "PEM input is {} bytes; at most {MAX_PEM_BYTES} are accepted",
            pem.len()
        )));
    }
    let bad = |what: String| Error::MalformedInput(format!("bad PEM: {what}"));
    let mut certs = Vec::new();
    // The open block: where its BEGIN line starts, and its label.
    let mut open: Option<(usize, &[u8])> = None;
    let mut offset = 0;
    // Lines end at CR or LF, as rustls-pki-types reads them.
    for line in pem.split(|&byte| byte == b'\n' || byte == b'\r') {
        let start = offset;
        offset += line.len() + 1;
        if line.starts_with(b"-----BEGIN ") {
            let label = begin_label(line).ok_or_else(|| {
                bad(format!(
                    "illegal section start: {:?}",
                    String::from_utf8_lossy(line)
                ))
            })?;
            open = Some((start, label));
            continue;
        }
        let Some((begin, label)) = open else {
            continue;
        };
        let is_end = line
            .strip_prefix(b"-----END ")
            .and_then(|rest| rest.strip_prefix(label))
            .is_some_and(|rest| rest.starts_with(b"-----"));
        if !is_end {
            continue;
        }
        open = None;
        if label == b"CERTIFICATE" {
            let block = pem.get(begin..start + line.len()).unwrap_or_default();
            let der = CertificateDer::from_pem_slice(block).map_err(|err| bad(err.to_string()))?;
            certs.push(der);
        }
    }
    match open {
        Some((_, label)) => Err(bad(format!(
            "the \"{}\" block has no END line",
            String::from_utf8_lossy(label)
        ))),
        None => Ok(certs),
    }
}

/// The label of a `-----BEGIN LABEL-----` line (RFC 7468 section 2), read as rustls-pki-types
/// reads it: exactly five dashes at the end, trailing spaces and line ends ignored.
fn begin_label(line: &[u8]) -> Option<&[u8]> {
    let (mut dashes, mut end) = (0, line.len());
    for (index, &byte) in line.iter().enumerate().rev() {
        match byte {
            b'-' => {
                dashes += 1;
                end = index;
            }
            b'\n' | b'\r' | b' ' => {}
            _ => break,
        }
    }
    (dashes == 5).then(|| line.get(11..end)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_store() {
        let store = TrustStore::new();
        assert!(store.is_empty());
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn garbage_is_rejected() {
        let mut store = TrustStore::new();
        assert!(matches!(
            store.add_der(b"\x30\x03\x02\x01\x01"),
            Err(Error::MalformedInput(_))
        ));
        assert!(matches!(store.add_der(&[]), Err(Error::MalformedInput(_))));
        assert!(matches!(
            store.add_der(&vec![0u8; MAX_CERT_BYTES + 1]),
            Err(Error::MalformedInput(_))
        ));
        assert!(store.is_empty());
    }

    #[test]
    fn pem_without_certificates() {
        let mut store = TrustStore::new();
        assert!(matches!(
            store.add_pem(b"hello"),
            Err(Error::MalformedInput(_))
        ));
        let bad = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(store.add_pem(bad), Err(Error::MalformedInput(_))));
    }

    #[test]
    fn generation_changes_with_the_anchors_only() {
        let mut store = TrustStore::new();
        let empty = store.generation();
        assert_ne!(TrustStore::new().generation(), empty);
        assert_eq!(store.clone().generation(), empty);
        assert!(store.add_der(&crate::testdata::root()).expect("root"));
        let one = store.generation();
        assert_ne!(one, empty);
        assert!(!store.add_der(&crate::testdata::root()).expect("duplicate"));
        assert_eq!(store.generation(), one, "a duplicate changes nothing");
        assert!(store.add_der(&[0u8; 3]).is_err());
        assert_eq!(store.generation(), one, "a failed addition changes nothing");
        assert!(store.anchor_validity(0).is_some());
        assert!(store.anchor_der(0).is_some() && store.anchor_der(1).is_none());
    }

    #[test]
    fn anchors_are_found_by_their_exact_bytes() {
        let root = crate::testdata::root();
        // Another certificate of the same length and the same last bytes: one byte of the
        // public key changed (anchors are not checked for a valid signature).
        let key = crate::der::signed(&root)
            .and_then(|signed| crate::der::public_key(&signed))
            .expect("the root's key")
            .key;
        let offset = key.as_ptr() as usize - root.as_ptr() as usize + key.len() / 2;
        let mut twin = root.clone();
        twin[offset] ^= 0x01;
        assert_eq!(tail_key(&twin), tail_key(&root));
        let mut store = TrustStore::new();
        assert!(store.add_der(&root).expect("root"));
        assert_eq!(store.anchor_index_of(&root), Some(0));
        assert_eq!(store.anchor_index_of(&twin), None, "same key, other bytes");
        assert!(store.add_der(&twin).expect("the twin is another anchor"));
        assert!(!store.add_der(&twin).expect("a duplicate"));
        assert_eq!(store.len(), 2);
        assert_eq!(store.anchor_index_of(&twin), Some(1));
        assert_eq!(store.anchor_index_of(&root), Some(0));
        assert_eq!(store.anchor_index_of(&root[..root.len() - 1]), None);
        assert_eq!(store.anchor_index_of(b""), None);
        // Inputs shorter than the key are padded, their length keeps them apart.
        assert_ne!(tail_key(b"ab"), tail_key(b"ab\0"));
    }

    #[test]
    fn sha256_known_answer() {
        let hex: String = sha256(b"abc").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn pem_block(label: &str, der: &[u8], headers: &str) -> String {
        use std::fmt::Write as _;
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut text = String::new();
        for chunk in der.chunks(3) {
            let bytes = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    text.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    text.push('=');
                }
            }
        }
        let mut out = format!("-----BEGIN {label}-----\n{headers}");
        for line in text.as_bytes().chunks(64) {
            let _ = writeln!(out, "{}", String::from_utf8_lossy(line));
        }
        let _ = writeln!(out, "-----END {label}-----");
        out
    }

    /// RFC 1421 section 4.6 encapsulated headers, as OpenSSL writes them for an encrypted
    /// traditional private key.
    const ENCRYPTED: &str =
        "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n";

    #[test]
    fn other_blocks_are_skipped_whatever_their_content() {
        let root = crate::testdata::root();
        let key = pem_block("RSA PRIVATE KEY", b"not really a key, encrypted", ENCRYPTED);
        let document = format!(
            "{key}{}{}",
            pem_block("EC PRIVATE KEY", b"x", "not base64 at all!\n"),
            pem_block("CERTIFICATE", &root, "")
        );
        assert_eq!(
            parse_pem_certificates(document.as_bytes())
                .expect("the key blocks are skipped")
                .len(),
            1
        );
        let mut store = TrustStore::new();
        assert_eq!(store.add_pem(document.as_bytes()), Ok(1));
        assert_eq!(
            store.anchor_der(0).map(|der| der.to_vec()),
            Some(root.clone())
        );
        // A CERTIFICATE block is still read strictly: headers in it are an error.
        let headers = pem_block("CERTIFICATE", &root, ENCRYPTED);
        assert!(matches!(
            TrustStore::new().add_pem(headers.as_bytes()),
            Err(Error::MalformedInput(_))
        ));
        // CRLF line ends and text around the blocks.
        let crlf = format!(
            "bundle\r\n{}trailer\r\n",
            pem_block("CERTIFICATE", &root, "")
        )
        .replace('\n', "\r\n");
        assert_eq!(TrustStore::new().add_pem(crlf.as_bytes()), Ok(1));
        // A block without its END line is an error, whatever its label (a BEGIN line starts
        // a new block, as in rustls-pki-types).
        let cut = key.replace("-----END RSA PRIVATE KEY-----\n", "");
        let text = parse_pem_certificates(
            format!("{}{cut}", pem_block("CERTIFICATE", &root, "")).as_bytes(),
        )
        .expect_err("unterminated")
        .to_string();
        assert!(text.contains("END"), "{text}");
        assert!(parse_pem_certificates(b"-----BEGIN CERTIFICATE----\n").is_err());
    }
}
