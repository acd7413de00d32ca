//! Certificate revocation lists (RFC 5280 section 5): parsing, signature verification against
//! the issuer, and a compact serial index searched by binary search.
//!
//! - rustls-webpki (`BorrowedCertRevocationList`, the parser behind the chain code) checks
//!   the profile and parses every entry: version 2, nextUpdate present (section 5.1.2.5),
//!   matching signature algorithms (section 5.1.1.2), no delta CRL (section 5.2.4), no
//!   indirect CRL or reason partition (sections 5.2.5, 5.3.3), no unrecognised critical CRL
//!   or entry extension (sections 5.2, 5.3), well-formed entries and reason codes.
//! - On top of that, the CRL number (section 5.2.3) must be present and non-critical, and no
//!   entry may carry removeFromCRL (section 5.3.1: delta CRLs only). The fields webpki does
//!   not expose (thisUpdate, CRL number, authority key identifier, distribution point scope)
//!   are read by [`fields`].
//! - Each entry becomes one 16-byte slot of an index sorted by normalised serial number
//!   ([`index`]). The DER itself is kept, not copied, and slots point into it. (webpki's own
//!   `OwnedCertRevocationList` copies every serial into a `BTreeMap`: several times the
//!   memory.)
//! - [`Crl::verify`] checks the issuer certificate (section 6.3.3 (f)): subject equals the CRL
//!   issuer, subject key identifier equals the CRL's authority key identifier, keyUsage (if
//!   any) has cRLSign, and its key verifies the signature, with the same ring algorithms as
//!   certificate chains. For a large CRL, `from_der` does this on a second thread while it
//!   reads the entries, then sorts the two parts of the index on the two threads.

mod fields;
mod index;
mod issuer;

use rustls_pki_types::CertificateRevocationListDer;
use rustls_pki_types::pem::PemObject;
use webpki::{BorrowedCertRevocationList, RevocationReason};

use crate::error::Error;
use crate::limits::{MAX_CRL_BYTES, MAX_CRL_ENTRIES, MAX_CRL_PEM_BYTES};
use fields::Fields;
use index::{IndexBuilder, NO_REASON, SerialIndex};

/// The smallest revokedCertificates entry: SEQUENCE header (2), INTEGER of one octet (3),
/// UTCTime (15). Bounds how many entries a list of a given size can hold.
const MIN_ENTRY_BYTES: usize = 20;

/// From this size on, `from_der` uses a second thread: it checks the signature while this
/// one reads the entries, then sorts half of the index (see [`index_in_parallel`]). Below
/// it, starting a thread would cost more than it saves.
const PARALLEL_MIN_BYTES: usize = 1024 * 1024;

/// A CRLReason (RFC 5280 section 5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    CertificateHold,
    PrivilegeWithdrawn,
    AaCompromise,
}

impl Reason {
    /// The ASN.1 name of section 5.3.1 (`keyCompromise`, `cACompromise`, ...), as OpenSSL
    /// and `cryptography` print it.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::CertificateHold => "certificateHold",
            Reason::PrivilegeWithdrawn => "privilegeWithdrawn",
            Reason::AaCompromise => "aACompromise",
        }
    }

    fn from_code(code: u8) -> Option<Reason> {
        Some(match code {
            0 => Reason::Unspecified,
            1 => Reason::KeyCompromise,
            2 => Reason::CaCompromise,
            3 => Reason::AffiliationChanged,
            4 => Reason::Superseded,
            5 => Reason::CessationOfOperation,
            6 => Reason::CertificateHold,
            9 => Reason::PrivilegeWithdrawn,
            10 => Reason::AaCompromise,
            _ => return None,
        })
    }
}

/// One revoked certificate of a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The serial number, minimal two's complement big-endian octets.
    pub serial: Vec<u8>,
    /// revocationDate, seconds since the Unix epoch.
    pub revoked_at: i64,
    /// The reasonCode entry extension, when present.
    pub reason: Option<Reason>,
}

/// The bytes of a CRL, owned by whoever made it: a `Vec<u8>`, or the caller's buffer (the
/// Python bindings keep the `bytes` object) so that a large CRL is never copied.
pub type CrlBytes = Box<dyn AsRef<[u8]> + Send + Sync>;

/// A parsed, indexed CRL. Immutable; share it behind an `Arc`.
pub struct Crl {
    der: CrlBytes,
    fields: Fields,
    index: SerialIndex,
}

impl std::fmt::Debug for Crl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crl")
            .field("issuer", &self.fields.issuer)
            .field("this_update", &self.fields.this_update)
            .field("entries", &self.index.len())
            .finish_non_exhaustive()
    }
}

/// Words for the webpki errors a CRL can fail parsing with.
fn explain(err: &webpki::Error) -> String {
    use webpki::Error as E;
    match err {
        E::UnsupportedCrlVersion => {
            "only version 2 CRLs are supported (RFC 5280 section 5.1.2.1)".into()
        }
        E::UnsupportedDeltaCrl => {
            "delta CRLs are not supported (deltaCRLIndicator, RFC 5280 section 5.2.4)".into()
        }
        E::UnsupportedIndirectCrl => {
            "indirect CRLs are not supported (indirectCRL or certificateIssuer, RFC 5280 \
             sections 5.2.5 and 5.3.3)"
                .into()
        }
        E::UnsupportedRevocationReasonsPartitioning => {
            "CRLs partitioned by revocation reason (onlySomeReasons) are not supported".into()
        }
        E::UnsupportedCrlIssuingDistributionPoint => {
            "the issuing distribution point has no full name; it is not supported".into()
        }
        E::UnsupportedCriticalExtension => {
            "the CRL has a critical extension that certpolicy does not process (RFC 5280 \
             section 5.2 forbids using it)"
                .into()
        }
        E::InvalidCrlNumber => "the CRL number is not an integer of at most 20 octets".into(),
        E::InvalidSerialNumber => "a revoked certificate has an invalid serial number".into(),
        E::UnsupportedRevocationReason => "a revoked certificate has an unknown reason code".into(),
        E::SignatureAlgorithmMismatch => {
            "the signature algorithm inside and outside tbsCertList differ".into()
        }
        E::BadDerTime => "a time in the CRL is not a valid UTCTime or GeneralizedTime".into(),
        E::MalformedExtensions | E::ExtensionValueInvalid => "a CRL extension is malformed".into(),
        E::BadDer | E::TrailingData(_) => "the CRL is not valid DER".into(),
        other => format!("the CRL is invalid: {other}"),
    }
}

/// Why a CRL without a CRL number is refused (RFC 5280 section 5.2.3).
const NO_NUMBER: &str = "the CRL has no CRL number; RFC 5280 section 5.2.3 requires one, and \
                         without it a newer CRL cannot be told from an older one";

fn crl_error(reason: impl Into<String>) -> Error {
    Error::Crl(reason.into())
}

impl Crl {
    /// Parses and indexes a DER CertificateList; with `issuer` (a DER certificate) also
    /// verifies that it issued and signed the CRL ([`Crl::verify`]).
    pub fn from_der(
        der: impl AsRef<[u8]> + Send + Sync + 'static,
        issuer: Option<&[u8]>,
    ) -> Result<Crl, Error> {
        let der: CrlBytes = Box::new(der);
        let bytes = (*der).as_ref();
        if bytes.len() > MAX_CRL_BYTES {
            return Err(crl_error(format!(
                "the CRL is {} bytes; at most {MAX_CRL_BYTES} are accepted",
                bytes.len()
            )));
        }
        let fields = fields::read(bytes).map_err(crl_error)?;
        if fields.next_update.is_none() {
            return Err(crl_error(
                "the CRL has no nextUpdate; RFC 5280 section 5.1.2.5 requires one, and without \
                 it nobody can tell when the list goes stale",
            ));
        }
        // webpki checks the profile and parses the entries (see the module documentation).
        let crl = BorrowedCertRevocationList::from_der(bytes).map_err(|err| match err {
            // webpki requires the crlExtensions field and calls its absence malformed
            // extensions; without any extension, the missing CRL number is what is wrong.
            webpki::Error::MalformedExtensions if !fields.has_extensions => crl_error(NO_NUMBER),
            err => crl_error(explain(&err)),
        })?;
        if fields.number.is_none() {
            return Err(crl_error(NO_NUMBER));
        }
        let (index, verified) = if bytes.len() < PARALLEL_MIN_BYTES {
            let index = read_entries(bytes, &crl, false).map(|entries| entries.finish(bytes));
            let verified = issuer.map(|issuer| issuer::verify(bytes, &fields, issuer));
            (index, verified)
        } else {
            index_in_parallel(bytes, &crl, &fields, issuer)
        };
        let index = index.map_err(crl_error)?;
        if let Some(verified) = verified {
            verified.map_err(crl_error)?;
        }
        Ok(Crl { der, fields, index })
    }

    /// Parses the first `X509 CRL` block of a PEM document (RFC 7468 section 6), then as
    /// [`Crl::from_der`].
    pub fn from_pem(pem: &[u8], issuer: Option<&[u8]>) -> Result<Crl, Error> {
        if pem.len() > MAX_CRL_PEM_BYTES {
            return Err(crl_error(format!(
                "the PEM document is {} bytes; at most {MAX_CRL_PEM_BYTES} are accepted",
                pem.len()
            )));
        }
        let der = CertificateRevocationListDer::from_pem_slice(pem)
            .map_err(|err| crl_error(format!("no valid \"X509 CRL\" PEM block found: {err}")))?;
        Crl::from_der(der.as_ref().to_vec(), issuer)
    }

    /// Checks that `issuer` (DER) issued this CRL and that its key verifies the signature
    /// (RFC 5280 section 6.3.3 (f), (g)).
    pub fn verify(&self, issuer: &[u8]) -> Result<(), Error> {
        issuer::verify(self.der(), &self.fields, issuer).map_err(crl_error)
    }

    /// Checks that this CRL speaks for `cert` (DER): the same issuer name and, when the CRL
    /// has an issuingDistributionPoint, a scope that includes the certificate (RFC 5280
    /// section 6.3.3 (b)).
    pub fn check_scope(&self, cert: &[u8]) -> Result<(), Error> {
        issuer::check_scope(self.der(), &self.fields, cert).map_err(crl_error)
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        (*self.der).as_ref()
    }

    /// The issuer as an RFC 4514 string.
    pub fn issuer(&self) -> &str {
        &self.fields.issuer
    }

    /// thisUpdate, seconds since the Unix epoch.
    pub fn this_update(&self) -> i64 {
        self.fields.this_update
    }

    /// nextUpdate, seconds since the Unix epoch.
    pub fn next_update(&self) -> Option<i64> {
        self.fields.next_update
    }

    /// The CRL number: big-endian octets without leading zeros (empty for zero).
    pub fn number(&self) -> Option<&[u8]> {
        self.fields.number.as_deref()
    }

    /// The number of revoked certificates listed.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the CRL lists no certificate.
    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// Heap bytes of the serial index, beyond the DER.
    pub fn index_bytes(&self) -> usize {
        self.index.heap_bytes()
    }

    /// The entry for `serial` (two's complement big-endian octets, as in a certificate), in
    /// O(log n).
    pub fn lookup(&self, serial: &[u8]) -> Option<RevokedEntry> {
        let der = self.der();
        let found = self.index.find(der, serial)?;
        Some(RevokedEntry {
            serial: der
                .get(found.offset..found.offset + found.len)
                .unwrap_or_default()
                .to_vec(),
            revoked_at: found.revoked_at,
            reason: Reason::from_code(found.reason),
        })
    }

    /// True when `serial` is listed.
    pub fn contains(&self, serial: &[u8]) -> bool {
        self.index.find(self.der(), serial).is_some()
    }
}

/// Reads every revokedCertificates entry with webpki's parser into an unsorted index
/// (`two_parts`: split for sorting on two threads).
fn read_entries(
    der: &[u8],
    crl: &BorrowedCertRevocationList<'_>,
    two_parts: bool,
) -> Result<IndexBuilder, String> {
    let capacity = (der.len() / MIN_ENTRY_BYTES).min(MAX_CRL_ENTRIES);
    let mut entries = IndexBuilder::new(capacity, two_parts);
    for entry in crl {
        let entry = entry.map_err(|err| explain(&err))?;
        if entries.len() == MAX_CRL_ENTRIES {
            return Err(format!(
                "the CRL lists more than {MAX_CRL_ENTRIES} certificates"
            ));
        }
        let reason = match entry.reason_code {
            None => NO_REASON,
            Some(RevocationReason::RemoveFromCrl) => {
                return Err(
                    "an entry has reason removeFromCRL, which only delta CRLs may use \
                            (RFC 5280 section 5.3.1)"
                        .to_owned(),
                );
            }
            Some(reason) => reason as u8,
        };
        let revoked_at = i64::try_from(entry.revocation_date.as_secs()).unwrap_or(i64::MAX);
        let serial = entry.serial_number;
        let offset = (serial.as_ptr() as usize).wrapping_sub(der.as_ptr() as usize);
        entries.push(der, offset, serial.len(), revoked_at, reason)?;
    }
    Ok(entries)
}

/// The index, and the signature check when an issuer was given.
type Outcome = (Result<SerialIndex, String>, Option<Result<(), String>>);

/// Indexes a large CRL on two threads: this one reads the entries (webpki's parser is one
/// sequential pass, the longest part) while the other checks the signature; then each sorts
/// one part of the index.
fn index_in_parallel(
    der: &[u8],
    crl: &BorrowedCertRevocationList<'_>,
    fields: &Fields,
    issuer: Option<&[u8]>,
) -> Outcome {
    let (entries, verified) = std::thread::scope(|scope| {
        let verifier = issuer.map(|issuer| {
            std::thread::Builder::new()
                .spawn_scoped(scope, move || issuer::verify(der, fields, issuer))
                .map_err(|_| issuer)
        });
        let entries = read_entries(der, crl, true);
        let verified = verifier.map(|verifier| match verifier {
            Ok(verifier) => verifier.join().unwrap_or_else(|_| Err(panicked())),
            // No thread could be started: check here.
            Err(issuer) => issuer::verify(der, fields, issuer),
        });
        (entries, verified)
    });
    (
        entries.and_then(|entries| entries.finish_on_two_threads(der)),
        verified,
    )
}

fn panicked() -> String {
    "internal error: a CRL worker thread panicked".to_owned()
}

#[cfg(test)]
pub(crate) mod testdata {
    //! The fixed CRLs of `testdata/` (made by `testdata/make_crl_testdata.py`): valid from
    //! 2029-12-31 to 2030-01-07, entries revoked at 2029-06-01T12:00:00Z.

    pub const THIS_UPDATE: i64 = 1_893_369_600;
    pub const NEXT_UPDATE: i64 = 1_893_974_400;
    pub const REVOKED_AT: i64 = 1_875_009_600;

    pub fn file(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/crl/testdata")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::*;
    use super::*;

    fn parse(name: &str) -> Result<Crl, Error> {
        Crl::from_der(file(name), None)
    }

    fn message(result: Result<Crl, Error>) -> String {
        match result {
            Err(Error::Crl(message)) => message,
            Err(other) => panic!("not a CRL error: {other:?}"),
            Ok(crl) => panic!("accepted: {crl:?}"),
        }
    }

    #[test]
    fn reads_the_fields() {
        let crl = Crl::from_der(file("crl.der"), Some(&file("issuer.der"))).expect("valid");
        assert_eq!(crl.issuer(), "CN=certpolicy crl test CA,O=certpolicy tests");
        assert_eq!(crl.this_update(), THIS_UPDATE);
        assert_eq!(crl.next_update(), Some(NEXT_UPDATE));
        assert_eq!(crl.number(), Some(&[42u8][..]));
        assert_eq!(crl.len(), 6);
        assert!(!crl.is_empty());
        assert_eq!(crl.index_bytes(), 6 * 16);
        assert_eq!(crl.der(), file("crl.der").as_slice());
    }

    #[test]
    fn looks_up_serials_in_any_encoding() {
        let crl = parse("crl.der").expect("valid");
        let entry = crl.lookup(&[0x00, 0xc0, 0xff, 0xee]).expect("revoked");
        assert_eq!(entry.serial, vec![0x00, 0xc0, 0xff, 0xee]);
        assert_eq!(entry.revoked_at, REVOKED_AT);
        assert_eq!(entry.reason, Some(Reason::KeyCompromise));
        assert_eq!(entry.reason.map(Reason::name), Some("keyCompromise"));
        assert!(crl.contains(&[0x00, 0x00, 0xc0, 0xff, 0xee]));
        // 0x80 is listed as 00 80; 0x42 as the non-minimal 00 00 42.
        assert_eq!(
            crl.lookup(&[0x00, 0x80]).and_then(|e| e.reason),
            Some(Reason::CaCompromise)
        );
        assert_eq!(crl.lookup(&[0x42]).map(|e| e.serial), Some(vec![0x42]));
        // -0x1234 is listed without a reason.
        let negative = crl.lookup(&[0xed, 0xcc]).expect("negative serial listed");
        assert_eq!(negative.reason, None);
        assert!(!crl.contains(&[0x12, 0x34]));
        let mut long = vec![0x7f];
        long.extend([0xab; 19]);
        assert_eq!(
            crl.lookup(&long).and_then(|e| e.reason),
            Some(Reason::Unspecified)
        );
        // A non-critical unknown entry extension is ignored; the reason still counts.
        assert_eq!(
            crl.lookup(&[7]).and_then(|e| e.reason),
            Some(Reason::CertificateHold)
        );
        assert!(!crl.contains(&[0x00, 0xbe, 0xef]));
        assert!(!crl.contains(&[0x80])); // -128, not 128
        assert!(crl.lookup(&[]).is_none());
    }

    #[test]
    fn pem_gives_the_same_crl() {
        let crl = Crl::from_pem(&file("crl.pem"), Some(&file("issuer.der"))).expect("valid");
        assert_eq!(crl.der(), file("crl.der").as_slice());
        assert_eq!(crl.len(), 6);
        assert!(
            message(Crl::from_pem(
                b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
                None
            ))
            .contains("X509 CRL")
        );
        assert!(Crl::from_pem(b"garbage", None).is_err());
    }

    #[test]
    fn empty_crl() {
        let crl = parse("crl_empty.der").expect("valid");
        assert!(crl.is_empty());
        assert!(!crl.contains(&[1]));
        assert_eq!(crl.index_bytes(), 0);
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        let cases = [
            ("crl_no_number.der", "no CRL number"),
            ("crl_number_critical.der", "critical"),
            ("crl_delta.der", "delta CRLs are not supported"),
            ("crl_indirect.der", "indirect CRLs are not supported"),
            ("crl_unknown_critical.der", "critical extension"),
            ("crl_entry_critical.der", "critical extension"),
            ("crl_remove_from_crl.der", "removeFromCRL"),
            ("crl_no_next_update.der", "no nextUpdate"),
        ];
        for (name, expected) in cases {
            let text = message(parse(name));
            assert!(text.contains(expected), "{name}: {text}");
        }
    }

    #[test]
    fn rejects_garbage_and_truncation_without_panicking() {
        let der = file("crl.der");
        assert!(Crl::from_der(Vec::new(), None).is_err());
        assert!(Crl::from_der(b"\x30\x82\xff\xff".to_vec(), None).is_err());
        for cut in [1, 10, 100, der.len() / 2, der.len() - 1] {
            assert!(
                Crl::from_der(der[..cut].to_vec(), None).is_err(),
                "cut at {cut}"
            );
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(Crl::from_der(trailing, None).is_err());
        // Every single-byte corruption is an error or a CRL, never a panic; a corrupted
        // signed part never verifies.
        let issuer = file("issuer.der");
        for position in 0..der.len() {
            let mut corrupt = der.clone();
            corrupt[position] ^= 0x41;
            if let Ok(crl) = Crl::from_der(corrupt, None) {
                let _ = crl.lookup(&[0x00, 0xc0, 0xff, 0xee]);
                let _ = crl.verify(&issuer);
            }
        }
    }

    #[test]
    fn wrong_issuers_are_rejected() {
        let crl = parse("crl.der").expect("valid");
        let cases = [
            ("other_ca.der", "not by"),
            ("imposter.der", "authority key identifier"),
            ("no_crl_sign.der", "cRLSign"),
        ];
        for (name, expected) in cases {
            let text = crl.verify(&file(name)).expect_err(name).to_string();
            assert!(text.contains(expected), "{name}: {text}");
        }
        let text = message(Crl::from_der(
            file("crl_wrong_signer.der"),
            Some(&file("issuer.der")),
        ));
        assert!(text.contains("does not verify"), "{text}");
        let text = message(Crl::from_der(file("crl.der"), Some(b"garbage")));
        assert!(text.contains("not a DER X.509 certificate"), "{text}");
        // The imposter's own CRL verifies with the imposter, not with the issuer.
        let imposter = parse("crl_imposter.der").expect("valid");
        assert!(imposter.verify(&file("imposter.der")).is_ok());
        assert!(imposter.verify(&file("issuer.der")).is_err());
    }

    #[test]
    fn insecure_signature_algorithms_are_rejected() {
        let text = parse("crl_sha1.der")
            .expect("parses")
            .verify(&file("issuer.der"))
            .expect_err("SHA-1")
            .to_string();
        assert!(text.contains("unsupported or insecure"), "{text}");
    }

    #[test]
    fn scope() {
        let crl = parse("crl.der").expect("valid");
        assert!(crl.check_scope(&file("revoked_leaf.der")).is_ok());
        assert!(crl.check_scope(&file("good_leaf.der")).is_ok());
        let text = crl
            .check_scope(&file("other_ca.der"))
            .expect_err("other issuer")
            .to_string();
        assert!(text.contains("does not cover"), "{text}");
        let user_only = parse("crl_user_only.der").expect("valid");
        assert!(user_only.check_scope(&file("revoked_leaf.der")).is_ok());
        // good_leaf points at another distribution point than the CRL's partition.
        let text = user_only
            .check_scope(&file("good_leaf.der"))
            .expect_err("other partition")
            .to_string();
        assert!(text.contains("partition"), "{text}");
        assert!(crl.check_scope(b"garbage").is_err());
    }

    #[test]
    fn a_crl_without_any_extension_has_no_crl_number() {
        use crate::testdata::build::{self, Key};
        let key = Key::new();
        let bare = build::crl("bare CA", &key, &[], &[(&[0x01], "290601120000Z")]);
        let text = message(Crl::from_der(bare, None));
        assert!(text.contains("no CRL number"), "{text}");
        assert!(!text.contains("malformed"), "{text}");
        // With the number it parses; a malformed extensions field is still called so.
        let numbered = build::crl("bare CA", &key, &[build::crl_number(1)], &[]);
        assert!(Crl::from_der(numbered, None).is_ok());
        // An empty crlExtensions field ([0] { SEQUENCE {} }; RFC 5280 section 5.1.2.7 wants
        // "one or more") is malformed, not missing.
        let empty = build::crl("bare CA", &key, &[Vec::new()], &[]);
        let text = message(Crl::from_der(empty, None));
        assert!(!text.contains("no CRL number"), "{text}");
    }

    #[test]
    fn a_crl_of_a_version_1_ca_verifies() {
        use crate::testdata::build::{self, Key};
        // A v1 CA (no extensions, so no keyUsage: RFC 5280 section 6.3.3 (f) requires cRLSign
        // only of an issuer whose certificate has the extension).
        let key = Key::new();
        let mut ca = build::Cert::new("v1 CA", "v1 CA");
        ca.v3 = false;
        let ca = ca.sign(&key, &key);
        let mut store = crate::TrustStore::new();
        store.add_der(&ca).expect("a v1 CA is a trust anchor");
        let crl = build::crl(
            "v1 CA",
            &key,
            &[build::crl_number(7)],
            &[(&[0x05], "290601120000Z")],
        );
        let parsed = Crl::from_der(crl.clone(), Some(&ca)).expect("verified with the v1 CA");
        assert!(parsed.contains(&[0x05]));
        assert!(parsed.verify(&ca).is_ok());
        // Another key of that name still fails.
        let other = Key::new();
        let mut impostor = build::Cert::new("v1 CA", "v1 CA");
        impostor.v3 = false;
        let impostor = impostor.sign(&other, &other);
        let text = parsed
            .verify(&impostor)
            .expect_err("another key")
            .to_string();
        assert!(text.contains("does not verify"), "{text}");
    }
}
