//! Certification path building and validation for TLS server certificates (RFC 5280 section
//! 6.1), delegated to rustls-webpki: it tries every candidate path (RFC 4158), checks
//! signatures, validity, basic constraints, path length, name constraints (RFC 5280 section
//! 4.2.1.10) and the serverAuth extended key usage (RFC 5280 section 4.2.1.12).
//!
//! [`verify_chain_cached`] adds the verified-chain cache and signature memo ([`ChainCache`]);
//! [`signature_floor`] measures what the signatures of a path alone cost.
//!
//! Every failure is an [`Error::Chain`] whose [`ChainErrorKind`] says what went wrong: webpki's
//! errors are sorted by `kind_of`, the profile rules (`profile`) give their own kind, and the
//! input budgets give [`ChainErrorKind::Empty`] or [`ChainErrorKind::Malformed`]. It also
//! carries OpenSSL's [`VerifyCode`] for the precise reason, computed on the failure path only:
//! webpki's error by `verify_code_of`, refined for "no issuer" by `untrusted_code`, which tells
//! a self-signed server certificate (18) and a presented self-signed root (19) from a missing
//! issuer (20), as OpenSSL does; the profile rules give their own code.

mod cache;
mod floor;

use std::cell::RefCell;
use std::time::Duration;

use rustls_pki_types::{
    CertificateDer, Der, SignatureVerificationAlgorithm, TrustAnchor, UnixTime,
};
use webpki::{EndEntityCert, KeyUsage, VerifiedPath};

use crate::der;
use crate::error::{ChainErrorKind, Error, VerifyCode};
use crate::limits::{MAX_CERT_BYTES, MAX_PATH_INTERMEDIATES, MAX_PRESENTED_CERTS};
use crate::profile;
use crate::sigalgs::SUPPORTED_SIGNATURE_ALGORITHMS;
use crate::trust::TrustStore;

pub use cache::{
    CacheStats, ChainCache, ChainCacheStats, ChainKey, ChainPath, DEFAULT_CHAIN_ENTRIES,
    MAX_CACHED_CHAIN_BYTES, MAX_CHAIN_ENTRIES, SHARDS, SIGNATURES_PER_CHAIN,
};
pub use floor::signature_floor;

/// How a chain is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Validation time, seconds since the Unix epoch (RFC 5280 section 6.1.1 (b)).
    pub at_unix_seconds: u64,
    /// The most intermediates allowed between the leaf and the anchor; `None` for the
    /// built-in limit.
    pub max_intermediates: Option<usize>,
}

impl VerifyOptions {
    /// Options for validation at `at_unix_seconds` with the default depth limit.
    pub fn at(at_unix_seconds: u64) -> Self {
        Self {
            at_unix_seconds,
            max_intermediates: None,
        }
    }

    /// The depth limit in force: the requested one, never above the built-in limit.
    fn effective_max_intermediates(&self) -> usize {
        self.max_intermediates
            .unwrap_or(MAX_PATH_INTERMEDIATES)
            .min(MAX_PATH_INTERMEDIATES)
    }
}

/// The webpki error that stands for "rejected by [`profile::check_path`]". webpki never
/// returns it during path building without revocation options, so it cannot be confused.
const PROFILE_REJECTION: webpki::Error = webpki::Error::UnsupportedCrlVersion;

/// Checks the size budgets of a presented chain before any parsing: an empty chain is
/// [`ChainErrorKind::Empty`], one over the budgets of [`crate::limits`] is
/// [`ChainErrorKind::Malformed`].
fn check_presented(chain: &[&[u8]]) -> Result<(), Error> {
    if chain.is_empty() {
        return Err(Error::chain_with_code(
            ChainErrorKind::Empty,
            VerifyCode::Unspecified,
            "the chain is empty: no server certificate was presented",
        ));
    }
    if chain.len() > MAX_PRESENTED_CERTS {
        return Err(Error::chain_with_code(
            ChainErrorKind::Malformed,
            VerifyCode::Unspecified,
            format!(
                "the chain has {} certificates; at most {MAX_PRESENTED_CERTS} are accepted",
                chain.len()
            ),
        ));
    }
    if let Some((index, cert)) = chain
        .iter()
        .enumerate()
        .find(|(_, cert)| cert.len() > MAX_CERT_BYTES)
    {
        return Err(Error::chain_with_code(
            ChainErrorKind::Malformed,
            VerifyCode::Unspecified,
            format!(
                "certificate #{index} of the chain is {} bytes; at most {MAX_CERT_BYTES} are \
                 accepted",
                cert.len()
            ),
        ));
    }
    Ok(())
}

/// An invariant of path building broke (a verified certificate not found again). Never
/// expected; reported as [`ChainErrorKind::Untrusted`], as the chain was not verified, with
/// [`VerifyCode::Unspecified`].
fn internal_error(what: &str) -> Error {
    Error::chain_with_code(
        ChainErrorKind::Untrusted,
        VerifyCode::Unspecified,
        format!("internal error: verified {what}"),
    )
}

/// The subject of a DER certificate as an RFC 4514 string, for messages.
pub(crate) fn subject_of(der: &[u8]) -> String {
    use x509_parser::prelude::{FromDer, X509Certificate};
    match X509Certificate::from_der(der) {
        Ok((_, cert)) => crate::dn::rfc4514(cert.subject()),
        Err(_) => "<unparseable certificate>".to_owned(),
    }
}

fn format_time(unix: UnixTime) -> String {
    crate::timefmt::rfc3339(i64::try_from(unix.as_secs()).unwrap_or(i64::MAX))
}

/// The kind of a webpki error (RFC 5280 section 6.1 names the checks). webpki's parse errors,
/// found when it reads a certificate, are [`ChainErrorKind::Malformed`]; the revocation errors
/// never occur (no revocation options are given), and they and any error added by a later
/// webpki are [`ChainErrorKind::Untrusted`].
fn kind_of(err: &webpki::Error) -> ChainErrorKind {
    use webpki::Error as E;
    match err {
        E::UnknownIssuer
        | E::CertDistrusted
        | E::MaximumSignatureChecksExceeded
        | E::MaximumPathBuildCallsExceeded => ChainErrorKind::Untrusted,
        E::CertExpired { .. } => ChainErrorKind::Expired,
        E::CertNotValidYet { .. } => ChainErrorKind::NotYetValid,
        E::InvalidSignatureForPublicKey
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => ChainErrorKind::BadSignature,
        E::NameConstraintViolation
        | E::MaximumNameConstraintComparisonsExceeded
        | E::UnsupportedNameType
        | E::RequiredEkuNotFoundContext(_)
        | E::CaUsedAsEndEntity
        | E::EndEntityUsedAsCa
        | E::PathLenConstraintViolated
        | E::MaximumPathDepthExceeded
        | E::CertNotValidForName(_) => ChainErrorKind::Constraints,
        E::BadDer
        | E::BadDerTime
        | E::TrailingData(_)
        | E::UnsupportedCertVersion
        | E::UnsupportedCriticalExtension
        | E::MalformedExtensions
        | E::ExtensionValueInvalid
        | E::EmptyEkuExtension
        | E::InvalidCertValidity
        | E::InvalidSerialNumber
        | E::MalformedDnsIdentifier
        | E::MalformedNameConstraint
        | E::InvalidNetworkMaskConstraint
        | E::SignatureAlgorithmMismatch => ChainErrorKind::Malformed,
        _ => ChainErrorKind::Untrusted,
    }
}

/// OpenSSL's verify code for a webpki error (RFC 5280 section 6.1 names the checks), as
/// OpenSSL 3 reports the same fault: validity 9 and 10 (section 4.1.2.5), signatures 7
/// (section 6.1.3 (a)(1)), a CA certificate as the server certificate or an extended key usage
/// without serverAuth 26 (section 4.2.1.12), a non-CA certificate as an issuer 79 (section
/// 4.2.1.9), path length 25 (section 4.2.1.9), name constraints 47 (section 4.2.1.10), an
/// unknown critical extension 34 (section 4.2), the depth limit 22. "No issuer"
/// ([`webpki::Error::UnknownIssuer`]) is 20 here; [`untrusted_code`] refines it with the
/// presented chain. Budgets, malformed input and anything else are 1, "unspecified".
fn verify_code_of(err: &webpki::Error) -> VerifyCode {
    use webpki::Error as E;
    match err {
        E::UnknownIssuer => VerifyCode::UnableToGetIssuerCertLocally,
        E::CertExpired { .. } => VerifyCode::CertHasExpired,
        E::CertNotValidYet { .. } => VerifyCode::CertNotYetValid,
        E::InvalidSignatureForPublicKey
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            VerifyCode::CertSignatureFailure
        }
        E::RequiredEkuNotFoundContext(_) | E::CaUsedAsEndEntity => VerifyCode::InvalidPurpose,
        E::EndEntityUsedAsCa => VerifyCode::InvalidCa,
        E::PathLenConstraintViolated => VerifyCode::PathLengthExceeded,
        E::NameConstraintViolation => VerifyCode::PermittedViolation,
        E::UnsupportedCriticalExtension => VerifyCode::UnhandledCriticalExtension,
        E::MaximumPathDepthExceeded => VerifyCode::CertChainTooLong,
        _ => VerifyCode::Unspecified,
    }
}

/// Whether a certificate is self-issued: the same name as subject and issuer (RFC 5280
/// section 6.1), compared byte for byte as webpki compares names. `false` when unreadable.
fn self_issued(der: &[u8]) -> bool {
    matches!((der::subject(der), der::issuer(der)), (Some(subject), Some(issuer)) if subject == issuer)
}

/// OpenSSL's code for "no path to a trust anchor" (RFC 5280 section 6.1), from where path
/// building ends in the presented chain: following each certificate to a presented issuer of
/// its issuer's name, leaf first, a walk that stops at a self-issued certificate that is not
/// a trust anchor ends in the server certificate itself (18,
/// `X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT`) or in a presented root (19,
/// `X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN`); any other end is a missing issuer (20,
/// `X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY`). Names only, no signatures: it runs on the
/// failure path, at most one step per presented certificate.
fn untrusted_code(chain: &[&[u8]], store: &TrustStore) -> VerifyCode {
    let mut visited = vec![false; chain.len()];
    let mut current = 0;
    loop {
        let (Some(cert), Some(seen)) = (chain.get(current), visited.get_mut(current)) else {
            return VerifyCode::UnableToGetIssuerCertLocally;
        };
        *seen = true;
        let (Some(subject), Some(issuer)) = (der::subject(cert), der::issuer(cert)) else {
            return VerifyCode::UnableToGetIssuerCertLocally;
        };
        if subject == issuer {
            return match (current, store.anchor_index_of(cert)) {
                (_, Some(_)) => VerifyCode::UnableToGetIssuerCertLocally,
                (0, None) => VerifyCode::DepthZeroSelfSignedCert,
                (_, None) => VerifyCode::SelfSignedCertInChain,
            };
        }
        let next = chain.iter().enumerate().position(|(index, candidate)| {
            !visited.get(index).copied().unwrap_or(true) && der::subject(candidate) == Some(issuer)
        });
        match next {
            Some(index) => current = index,
            None => return VerifyCode::UnableToGetIssuerCertLocally,
        }
    }
}

/// OpenSSL's code for a webpki error on `chain`: [`verify_code_of`], with "no issuer" refined
/// by [`untrusted_code`]. A self-signed server certificate that says CA:TRUE (as `openssl req
/// -x509` makes them) fails webpki as a CA used as an end entity; OpenSSL reports it as
/// self-signed (18), which is also what a user can act on: importing it makes it trusted (see
/// `anchor_as_leaf`).
fn chain_code_of(err: &webpki::Error, chain: &[&[u8]], store: &TrustStore) -> VerifyCode {
    match err {
        webpki::Error::UnknownIssuer => untrusted_code(chain, store),
        webpki::Error::CaUsedAsEndEntity if chain.first().is_some_and(|leaf| self_issued(leaf)) => {
            untrusted_code(chain, store)
        }
        _ => verify_code_of(err),
    }
}

/// Explains a webpki error in words a user can act on. Every variant gets a sentence: webpki's
/// own `Display` is the variant's name ("UnsupportedCriticalExtension"), which is never shown.
fn explain(err: &webpki::Error) -> String {
    use webpki::Error as E;
    match err {
        E::UnknownIssuer => {
            "no path to a trusted root: the issuer is not in the trust store and no \
             presented intermediate leads to one"
                .to_owned()
        }
        E::CertExpired { time, not_after } => format!(
            "a certificate in the path expired at {} (checked at {})",
            format_time(*not_after),
            format_time(*time)
        ),
        E::CertNotValidYet { time, not_before } => format!(
            "a certificate in the path is not valid before {} (checked at {})",
            format_time(*not_before),
            format_time(*time)
        ),
        E::InvalidSignatureForPublicKey => {
            "a signature in the path does not verify with its issuer's key".to_owned()
        }
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate in the path uses an unsupported or insecure signature algorithm"
                .to_owned()
        }
        E::NameConstraintViolation => {
            "a name in the certificate violates the name constraints of an issuing CA".to_owned()
        }
        E::RequiredEkuNotFoundContext(_) => {
            "a certificate in the path is not valid for TLS server authentication \
             (extended key usage)"
                .to_owned()
        }
        E::CaUsedAsEndEntity => "a CA certificate was presented as the server certificate".into(),
        E::EndEntityUsedAsCa => "a non-CA certificate was used to issue another one".into(),
        E::PathLenConstraintViolated => "a CA's path length constraint is exceeded".into(),
        E::MaximumPathDepthExceeded => {
            "the path needs more intermediates than the allowed maximum depth".into()
        }
        E::MaximumSignatureChecksExceeded | E::MaximumPathBuildCallsExceeded => {
            "path building gave up: the work budget was exhausted (too many candidate paths)".into()
        }
        E::MaximumNameConstraintComparisonsExceeded => {
            "name constraint checking gave up: the work budget was exhausted".into()
        }
        E::CertDistrusted => "a certificate in the path is explicitly distrusted".into(),
        E::UnsupportedCertVersion => "the certificate is not an X.509 v3 certificate".into(),
        E::BadDer | E::BadDerTime | E::TrailingData(_) => {
            "a certificate in the path is not valid DER".into()
        }
        E::UnsupportedCriticalExtension => {
            "a certificate in the path has a critical extension that is not understood (RFC \
             5280 section 4.2 requires rejecting such a certificate)"
                .into()
        }
        E::MalformedExtensions => {
            "a certificate in the path has a malformed extensions field (RFC 5280 section 4.1.2.9)"
                .into()
        }
        E::ExtensionValueInvalid => {
            "a certificate in the path has an extension whose value is malformed (RFC 5280 \
             section 4.2)"
                .into()
        }
        E::EmptyEkuExtension => {
            "a certificate in the path has an extended key usage extension that lists no \
             purpose (RFC 5280 section 4.2.1.12 requires at least one)"
                .into()
        }
        E::InvalidCertValidity => {
            "a certificate in the path has a validity period that ends before it begins (RFC \
             5280 section 4.1.2.5)"
                .into()
        }
        E::InvalidSerialNumber => {
            "a certificate in the path has a malformed serial number (RFC 5280 section 4.1.2.2)"
                .into()
        }
        E::SignatureAlgorithmMismatch => {
            "a certificate in the path names one signature algorithm in its signed part and \
             another outside it (RFC 5280 section 4.1.1.2 requires the same)"
                .into()
        }
        E::MalformedDnsIdentifier => {
            "a certificate in the path has a malformed DNS name (RFC 5280 section 4.2.1.6)".into()
        }
        E::MalformedNameConstraint => {
            "an issuing CA has a malformed name constraint (RFC 5280 section 4.2.1.10)".into()
        }
        E::InvalidNetworkMaskConstraint => {
            "an issuing CA's name constraints hold an IP address range whose mask is not a \
             prefix (RFC 5280 section 4.2.1.10)"
                .into()
        }
        E::UnsupportedNameType => {
            "an issuing CA's name constraints use a name type that cannot be checked against \
             the certificate (RFC 5280 section 4.2.1.10 requires rejecting it)"
                .into()
        }
        E::CertNotValidForName(_) => {
            "the certificate is not valid for the requested name (RFC 6125 section 6)".into()
        }
        // Revocation is not checked during path building (no revocation options are given):
        // these cannot occur here, but get words all the same.
        E::CertRevoked => "a certificate in the path is revoked (RFC 5280 section 6.3)".into(),
        E::UnknownRevocationStatus => {
            "the revocation status of a certificate in the path is unknown".into()
        }
        E::CrlExpired { .. }
        | E::InvalidCrlNumber
        | E::InvalidCrlSignatureForPublicKey
        | E::IssuerNotCrlSigner
        | E::UnsupportedCrlIssuingDistributionPoint
        | E::UnsupportedCrlVersion
        | E::UnsupportedDeltaCrl
        | E::UnsupportedIndirectCrl
        | E::UnsupportedRevocationReason
        | E::UnsupportedRevocationReasonsPartitioning
        | E::UnsupportedCrlSignatureAlgorithmContext(_)
        | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate revocation list for the path cannot be used (RFC 5280 section 5)".into()
        }
        // Deprecated variants webpki no longer returns, and any a later webpki adds
        // (`webpki::Error` is non-exhaustive).
        _ => "a certificate in the path is not acceptable to the path validation (RFC 5280 \
              section 6.1)"
            .into(),
    }
}

/// The most signatures [`signed_by_another_key`] checks: it runs on the failure path only,
/// and must not make a rejected chain cost more than webpki's own budget allows.
const DIAGNOSIS_SIGNATURES: usize = 16;

/// Does `issuer`'s public key verify the signature of `cert` (RFC 5280 section 6.1.3 (a)(1)),
/// with one of the accepted algorithms? `false` for anything unreadable.
fn signed_by(cert: &[u8], issuer: &[u8]) -> bool {
    let (Some(signed), Some(issuer)) = (der::signed(cert), der::signed(issuer)) else {
        return false;
    };
    let Some(key) = der::public_key(&issuer) else {
        return false;
    };
    SUPPORTED_SIGNATURE_ALGORITHMS
        .iter()
        .filter(|algorithm| {
            algorithm.signature_alg_id().as_ref() == signed.algorithm
                && algorithm.public_key_alg_id().as_ref() == key.algorithm
        })
        .any(|algorithm| {
            algorithm
                .verify_signature(key.key, signed.tbs, signed.signature)
                .is_ok()
        })
}

/// Whether `cert` names, in its authority key identifier, another key than the subject key
/// identifier of `issuer` (RFC 5280 sections 4.2.1.1 and 4.2.1.2): then a signature that does
/// not verify was made by another key of the same name, not altered. `false` when either
/// identifier is absent or unreadable: nothing says the keys differ.
fn names_another_key(cert: &[u8], issuer: &[u8]) -> bool {
    use x509_parser::extensions::ParsedExtension;
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (Ok((_, cert)), Ok((_, issuer))) = (
        X509Certificate::from_der(cert),
        X509Certificate::from_der(issuer),
    ) else {
        return false;
    };
    let authority_key_id = cert.extensions().iter().find_map(|ext| {
        match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => aki.key_identifier.as_ref(),
            _ => None,
        }
        .map(|id| id.0)
    });
    let subject_key_id = issuer
        .extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(ski) => Some(ski.0),
            _ => None,
        });
    matches!((authority_key_id, subject_key_id), (Some(a), Some(s)) if a != s)
}

/// Explains a signature failure whose cause is a CA of the right name with the wrong key: a
/// re-keyed or impostor CA presented in place of (or trusted instead of) the one that signed.
/// Follows the presented chain from the leaf through the issuers whose signatures verify;
/// at the first certificate that no certificate of its issuer's name (presented or trusted)
/// signed, and whose authority key identifier names another key than that issuer's, says
/// so. `None` for any other failure, which keeps webpki's own explanation (a signature that
/// was altered, where the key identifiers agree, stays [`ChainErrorKind::BadSignature`]).
fn signed_by_another_key(
    err: &webpki::Error,
    chain: &[&[u8]],
    store: &TrustStore,
) -> Option<String> {
    if !matches!(
        err,
        webpki::Error::InvalidSignatureForPublicKey
            | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
    ) {
        return None;
    }
    let mut budget = DIAGNOSIS_SIGNATURES;
    let mut current = 0;
    let mut visited = vec![false; chain.len()];
    for _ in 0..=MAX_PATH_INTERMEDIATES {
        let cert = *chain.get(current)?;
        *visited.get_mut(current)? = true;
        let issuer_name = der::issuer(cert)?;
        let presented = chain.iter().enumerate().filter(|&(index, candidate)| {
            index != current && der::subject(candidate) == Some(issuer_name)
        });
        let trusted = store
            .anchors_with_subject(issuer_name)
            .iter()
            .filter_map(|&index| store.anchor_der(index))
            .map(|der| (None, der.as_ref()));
        let candidates: Vec<(Option<usize>, &[u8])> = presented
            .map(|(index, der)| (Some(index), *der))
            .chain(trusted)
            .collect();
        let mut next = None;
        for &(index, candidate) in &candidates {
            if budget == 0 {
                return None;
            }
            budget -= 1;
            if signed_by(cert, candidate) {
                next = Some(index);
                break;
            }
        }
        match next {
            // Signed by a trust anchor: the failure lies elsewhere.
            Some(None) => return None,
            Some(Some(index)) if !visited.get(index).copied().unwrap_or(true) => current = index,
            Some(Some(_)) => return None,
            None => {
                let &(index, issuer) = candidates.first()?;
                if !names_another_key(cert, issuer) {
                    return None;
                }
                let role = if index.is_some() {
                    "presented"
                } else {
                    "trusted"
                };
                return Some(format!(
                    "no path to a trusted root: the {role} issuer \"{}\" has the right name \
                     but did not sign the certificate \"{}\" (a different key: the signature \
                     does not verify with the issuer's key, and the certificate's authority \
                     key identifier names another key, RFC 5280 section 4.2.1.1); the CA \
                     certificate with the key that signed it is missing",
                    subject_of(issuer),
                    subject_of(cert)
                ));
            }
        }
    }
    None
}

/// Verifies `chain` (DER, leaf first, then untrusted intermediates in any order) for TLS
/// server authentication against `store`, and returns the verified path, leaf to anchor.
/// Nothing is cached: see [`verify_chain_cached`].
pub fn verify_chain(
    chain: &[&[u8]],
    store: &TrustStore,
    options: VerifyOptions,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let path = verify_path(chain, store, options, None)?;
    path_der(&path, chain, store)
}

/// The certificates of a verified path, leaf to anchor.
pub fn path_der(
    path: &ChainPath,
    chain: &[&[u8]],
    store: &TrustStore,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let internal = || internal_error("path out of range");
    let mut verified = Vec::with_capacity(path.presented.len() + 1);
    for &index in &path.presented {
        let der = chain.get(index).ok_or_else(internal)?;
        verified.push(CertificateDer::from(der.to_vec()));
    }
    verified.push(store.anchor_der(path.anchor).ok_or_else(internal)?.clone());
    Ok(verified)
}

/// What [`lookup_verified`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The chain verified before, against this store and depth limit, and its path is valid at
    /// the validation time.
    Hit(ChainPath),
    /// Not in the cache; verify with [`verify_and_remember`], passing the key along (`None`
    /// when the cache is disabled).
    Miss(Option<ChainKey>),
}

/// Verifies `chain` like [`verify_chain`], through `cache`: a chain that verified before
/// (byte-identical, same store generation and depth limit, its path valid at the validation
/// time) returns its path without path building or signature checks; otherwise it is verified
/// in full (reusing remembered signatures) and a success is remembered.
pub fn verify_chain_cached(
    chain: &[&[u8]],
    store: &TrustStore,
    options: VerifyOptions,
    cache: &ChainCache,
) -> Result<ChainPath, Error> {
    match lookup_verified(chain, store, options, cache)? {
        Lookup::Hit(path) => Ok(path),
        Lookup::Miss(key) => verify_and_remember(chain, store, options, cache, key),
    }
}

/// The cheap first half of [`verify_chain_cached`]: input budgets, then the cache lookup
/// (well under a microsecond, so callers may run it without releasing their locks).
pub fn lookup_verified(
    chain: &[&[u8]],
    store: &TrustStore,
    options: VerifyOptions,
    cache: &ChainCache,
) -> Result<Lookup, Error> {
    check_presented(chain)?;
    if !cache.is_enabled() {
        return Ok(Lookup::Miss(None));
    }
    let key = cache.key(chain, store, options.effective_max_intermediates());
    Ok(match cache.lookup(&key, chain, options.at_unix_seconds) {
        Some(path) => Lookup::Hit(path),
        None => Lookup::Miss(Some(key)),
    })
}

/// The verified path of `chain` when the cache holds it (a hit, counted as one), `None`
/// otherwise (no miss is counted: the caller falls back to [`verify_chain_cached`] or
/// [`lookup_verified`], which count it). Never verifies anything.
pub fn cached_path(
    chain: &[&[u8]],
    store: &TrustStore,
    options: VerifyOptions,
    cache: &ChainCache,
) -> Option<ChainPath> {
    if check_presented(chain).is_err() || !cache.is_enabled() {
        return None;
    }
    let key = cache.key(chain, store, options.effective_max_intermediates());
    cache.lookup_hit_only(&key, chain, options.at_unix_seconds)
}

/// The expensive second half of [`verify_chain_cached`]: full validation with the signature
/// memo, and the verified path remembered under `key`.
pub fn verify_and_remember(
    chain: &[&[u8]],
    store: &TrustStore,
    options: VerifyOptions,
    cache: &ChainCache,
    key: Option<ChainKey>,
) -> Result<ChainPath, Error> {
    let path = verify_path(chain, store, options, Some(cache))?;
    // Only chains made of their path (the anchor may be presented too) are remembered: a
    // server could otherwise append ever different unrelated certificates to one good chain
    // and fill the cache with "new" chains.
    let anchor = store.anchor_der(path.anchor).map(|der| der.as_ref());
    let all_in_path = chain
        .iter()
        .enumerate()
        .all(|(index, presented)| path.presented.contains(&index) || anchor == Some(*presented));
    if let (true, Some(key), Some(window)) =
        (all_in_path, key, validity_window(&path, chain, store))
    {
        cache.insert(&key, chain, path.clone(), window);
    }
    Ok(path)
}

/// When every certificate of `path` is within its validity period: the latest notBefore to
/// the earliest notAfter (RFC 5280 section 6.1.3 (a)(2), and the anchor's own, see
/// [`profile`]). `None` when a validity cannot be read; such a path is not cached.
fn validity_window(path: &ChainPath, chain: &[&[u8]], store: &TrustStore) -> Option<(i64, i64)> {
    let mut window = store.anchor_validity(path.anchor)?;
    for &index in &path.presented {
        let (not_before, not_after) = der::validity(chain.get(index)?)?;
        window = (window.0.max(not_before), window.1.min(not_after));
    }
    Some(window)
}

/// Where a certificate of a verified path sits in the presented chain: webpki's path borrows
/// the presented bytes, so the address finds it; equal bytes are the fallback.
fn presented_index(chain: &[&[u8]], der: &[u8]) -> Option<usize> {
    chain
        .iter()
        .position(|cert| std::ptr::eq(cert.as_ptr(), der.as_ptr()) && cert.len() == der.len())
        .or_else(|| chain.iter().position(|cert| *cert == der))
}

/// The trust anchors offered to path building: those whose subject is the issuer of a
/// presented certificate (webpki compares exactly these bytes, so no anchor it could use is
/// left out), or every anchor when an issuer cannot be read. webpki scans the anchors it is
/// given one by one; this keeps that scan independent of the store's size.
enum Candidates<'s> {
    All(&'s [TrustAnchor<'static>]),
    Selected {
        anchors: Vec<TrustAnchor<'s>>,
        /// The store index of each of `anchors`.
        indexes: Vec<usize>,
    },
}

impl<'s> Candidates<'s> {
    fn for_chain(chain: &[&[u8]], store: &'s TrustStore) -> Self {
        let mut indexes = Vec::new();
        for cert in chain {
            match der::issuer(cert) {
                Some(issuer) => indexes.extend_from_slice(store.anchors_with_subject(issuer)),
                None => return Candidates::All(store.anchors()),
            }
        }
        indexes.sort_unstable(); // store order, as webpki would have tried them
        indexes.dedup();
        let anchors = indexes
            .iter()
            .filter_map(|&index| store.anchors().get(index))
            .map(|anchor| TrustAnchor {
                subject: Der::from(anchor.subject.as_ref()),
                subject_public_key_info: Der::from(anchor.subject_public_key_info.as_ref()),
                name_constraints: anchor
                    .name_constraints
                    .as_ref()
                    .map(|constraints| Der::from(constraints.as_ref())),
            })
            .collect();
        Candidates::Selected { anchors, indexes }
    }

    fn anchors(&self) -> &[TrustAnchor<'s>] {
        match self {
            Candidates::All(anchors) => anchors,
            Candidates::Selected { anchors, .. } => anchors,
        }
    }

    /// The store index of `anchor`, one of [`Candidates::anchors`] (found by address).
    fn store_index(&self, anchor: &TrustAnchor<'_>) -> Option<usize> {
        let position = self
            .anchors()
            .iter()
            .position(|candidate| std::ptr::eq(candidate, anchor))?;
        match self {
            Candidates::All(_) => Some(position),
            Candidates::Selected { indexes, .. } => indexes.get(position).copied(),
        }
    }
}

/// A server certificate that is itself a self-issued trust anchor (byte for byte an imported
/// certificate, typically self-signed, whether or not it says CA:TRUE): trusted as it is (RFC
/// 5280 section 6.1.1 (d): the anchor is the start of every path, so a path of the anchor alone
/// is complete), with its validity period and the server-certificate rules that need no issuer
/// still checked ([`profile::check_pinned_leaf`]). The path is the anchor alone, listed once.
fn anchor_as_leaf(
    leaf: &[u8],
    anchor: usize,
    store: &TrustStore,
    options: VerifyOptions,
) -> Result<ChainPath, Error> {
    let profile = store
        .anchor_at(anchor)
        .map(|stored| &stored.profile)
        .ok_or_else(|| internal_error("anchor"))?;
    profile::check_pinned_leaf(leaf, profile, options.at_unix_seconds).map_err(|rejection| {
        Error::chain_with_code(
            rejection.kind,
            rejection.code,
            format!(
                "certificate \"{}\" is not trusted: {}",
                subject_of(leaf),
                rejection.reason
            ),
        )
    })?;
    Ok(ChainPath {
        presented: Vec::new(),
        anchor,
    })
}

/// Path building and validation: the work behind every `verify_chain*` function.
fn verify_path(
    chain: &[&[u8]],
    store: &TrustStore,
    options: VerifyOptions,
    cache: Option<&ChainCache>,
) -> Result<ChainPath, Error> {
    check_presented(chain)?;
    if let Some(anchor) = store.anchor_index_of(chain[0]) {
        // Only a self-issued anchor is its own path: a trusted certificate that a CA issued
        // is verified up to that CA as usual, so its revocation can be checked.
        let self_issued = der::issuer(chain[0])
            .is_some_and(|issuer| store.anchors_with_subject(issuer).contains(&anchor));
        if self_issued {
            return anchor_as_leaf(chain[0], anchor, store, options);
        }
    }
    let leaf_der = CertificateDer::from(chain[0]);
    let leaf = EndEntityCert::try_from(&leaf_der).map_err(|err| {
        Error::chain_with_code(
            ChainErrorKind::Malformed,
            verify_code_of(&err),
            format!(
                "the server certificate is malformed or unsupported: {}",
                explain(&err)
            ),
        )
    })?;
    let intermediates: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|c| CertificateDer::from(*c))
        .collect();
    let max_intermediates = options.effective_max_intermediates();
    let candidates = Candidates::for_chain(chain, store);
    let memoized = cache.map(|cache| cache.memoizing(SUPPORTED_SIGNATURE_ALGORITHMS, chain[0]));
    let memoized_refs: Option<Vec<&dyn SignatureVerificationAlgorithm>> = memoized
        .as_ref()
        .map(|algorithms| algorithms.iter().map(|algorithm| algorithm as _).collect());
    let algorithms = memoized_refs
        .as_deref()
        .unwrap_or(SUPPORTED_SIGNATURE_ALGORITHMS);
    // Called for each candidate path webpki finds; returning an error here makes webpki go
    // on with the next candidate. Profile rejections carry their own kind and explanation.
    let profile_rejection = RefCell::new(None::<profile::Rejection>);
    let check_candidate = |path: &VerifiedPath<'_>| {
        let intermediates: Vec<CertificateDer<'_>> = path
            .intermediate_certificates()
            .map(|cert| cert.der())
            .collect();
        if intermediates.len() > max_intermediates {
            return Err(webpki::Error::MaximumPathDepthExceeded);
        }
        let anchor = candidates
            .store_index(path.anchor())
            .and_then(|index| store.anchor_at(index))
            .ok_or(webpki::Error::UnknownIssuer)?;
        let mut certs = Vec::with_capacity(1 + intermediates.len());
        certs.push(chain[0]);
        certs.extend(intermediates.iter().map(|cert| cert.as_ref()));
        profile::check_path(
            &certs,
            anchor.der.as_ref(),
            &anchor.profile,
            options.at_unix_seconds,
        )
        .map_err(|rejection| {
            profile_rejection.replace(Some(rejection));
            PROFILE_REJECTION
        })
    };
    let time = UnixTime::since_unix_epoch(Duration::from_secs(options.at_unix_seconds));
    let path = leaf
        .verify_for_usage(
            algorithms,
            candidates.anchors(),
            &intermediates,
            time,
            KeyUsage::server_auth(),
            None,
            Some(&check_candidate),
        )
        .map_err(|err| {
            let (kind, code, reason) = match profile_rejection.take() {
                Some(rejection) if err == PROFILE_REJECTION => {
                    (rejection.kind, rejection.code, rejection.reason)
                }
                _ => match signed_by_another_key(&err, chain, store) {
                    // No certificate of the issuer's name signed it: no issuer, as for OpenSSL
                    // (its authority key identifier rules the impostor out).
                    Some(reason) => (
                        ChainErrorKind::Untrusted,
                        untrusted_code(chain, store),
                        reason,
                    ),
                    None => (
                        kind_of(&err),
                        chain_code_of(&err, chain, store),
                        explain(&err),
                    ),
                },
            };
            Error::chain_with_code(
                kind,
                code,
                format!(
                    "certificate \"{}\" is not trusted: {reason}",
                    subject_of(chain[0])
                ),
            )
        })?;

    let internal = |what: &str| internal_error(&format!("{what} not found"));
    let mut presented = Vec::with_capacity(1 + path.intermediate_certificates().count());
    presented.push(0);
    for cert in path.intermediate_certificates() {
        let der = cert.der();
        presented.push(presented_index(chain, &der).ok_or_else(|| internal("intermediate"))?);
    }
    let anchor = candidates
        .store_index(path.anchor())
        .ok_or_else(|| internal("anchor"))?;
    Ok(ChainPath { presented, anchor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn store() -> TrustStore {
        let mut store = TrustStore::new();
        store.add_der(&testdata::root()).expect("root parses");
        store
    }

    #[test]
    fn a_leaf_that_is_an_anchor_is_its_own_path_listed_once() {
        let root = testdata::root();
        let path = verify_chain(&[&root], &store(), VerifyOptions::at(testdata::NOW))
            .expect("an imported certificate is trusted as it is");
        assert_eq!(path.len(), 1);
        assert_eq!(path[0].as_ref(), root.as_slice());
        // Extra certificates presented after it change nothing.
        let leaf = testdata::leaf();
        let path = verify_chain(&[&root, &leaf], &store(), VerifyOptions::at(testdata::NOW))
            .expect("still trusted");
        assert_eq!(path.len(), 1);
    }

    #[test]
    fn a_leaf_that_is_an_anchor_must_still_be_valid() {
        let root = testdata::root();
        let far_future = 4_102_444_800 * 2; // long after any test certificate expires
        let err =
            verify_chain(&[&root], &store(), VerifyOptions::at(far_future)).expect_err("expired");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::Expired));
        assert!(err.to_string().contains("expired at"), "{err}");
        let err = verify_chain(&[&root], &store(), VerifyOptions::at(0)).expect_err("too early");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::NotYetValid));
    }

    #[test]
    fn verifies_leaf_and_intermediate() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let path = verify_chain(&[&leaf, &int], &store(), VerifyOptions::at(testdata::NOW))
            .expect("valid chain");
        assert_eq!(path.len(), 3);
        assert_eq!(path[0].as_ref(), leaf.as_slice());
        assert_eq!(path[1].as_ref(), int.as_slice());
        assert_eq!(path[2].as_ref(), testdata::root().as_slice());
    }

    #[test]
    fn missing_intermediate_is_unknown_issuer() {
        let leaf = testdata::leaf();
        let err = verify_chain(&[&leaf], &store(), VerifyOptions::at(testdata::NOW))
            .expect_err("no intermediate");
        assert!(
            err.to_string().contains("no path to a trusted root"),
            "{err}"
        );
        assert!(err.to_string().contains("CN=leaf.example.com"), "{err}");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::Untrusted));
    }

    #[test]
    fn expired_is_reported_with_dates() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let err = verify_chain(&[&leaf, &int], &store(), VerifyOptions::at(testdata::LATER))
            .expect_err("expired");
        assert!(err.to_string().contains("expired"), "{err}");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::Expired));
        let err = verify_chain(&[&leaf, &int], &store(), VerifyOptions::at(0))
            .expect_err("not yet valid");
        assert!(err.to_string().contains("is not valid before"), "{err}");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::NotYetValid));
    }

    #[test]
    fn depth_limit_is_enforced() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let options = VerifyOptions {
            at_unix_seconds: testdata::NOW,
            max_intermediates: Some(0),
        };
        let err = verify_chain(&[&leaf, &int], &store(), options).expect_err("too deep");
        assert!(err.to_string().contains("depth"), "{err}");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::Constraints));
    }

    #[test]
    fn budgets_reject_oversized_input() {
        let kind = |chain: &[&[u8]]| {
            verify_chain(chain, &store(), VerifyOptions::at(0))
                .expect_err("rejected")
                .chain_kind()
        };
        assert_eq!(kind(&[]), Some(ChainErrorKind::Empty));
        let big = vec![0u8; MAX_CERT_BYTES + 1];
        assert_eq!(kind(&[&big]), Some(ChainErrorKind::Malformed));
        let leaf = testdata::leaf();
        let many = vec![leaf.as_slice(); MAX_PRESENTED_CERTS + 1];
        assert_eq!(kind(&many), Some(ChainErrorKind::Malformed));
        assert_eq!(kind(&[b"garbage"]), Some(ChainErrorKind::Malformed));
        let err = verify_chain(&[], &store(), VerifyOptions::at(0)).expect_err("empty");
        assert_eq!(
            err.to_string(),
            "the chain is empty: no server certificate was presented"
        );
    }

    #[test]
    fn failures_carry_their_kind() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let at = VerifyOptions::at(testdata::NOW);
        // A changed signature.
        let mut forged = leaf.clone();
        let last = forged.len() - 1;
        forged[last] ^= 0x01;
        let err = verify_chain(&[&forged, &int], &store(), at).expect_err("bad signature");
        assert_eq!(
            err.chain_kind(),
            Some(ChainErrorKind::BadSignature),
            "{err}"
        );
        assert!(err.to_string().contains("does not verify"), "{err}");
        // A CA certificate as the server certificate.
        let err = verify_chain(&[&int], &store(), at).expect_err("CA as leaf");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::Constraints), "{err}");
        // Nothing in the store.
        let err = verify_chain(&[&leaf, &int], &TrustStore::new(), at).expect_err("no anchors");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::Untrusted), "{err}");
        // The same kinds come out of the cache path.
        let cache = ChainCache::new(16);
        let err = verify_chain_cached(&[&forged, &int], &store(), at, &cache).expect_err("bad");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::BadSignature));
    }

    #[test]
    fn webpki_errors_map_to_kinds() {
        use webpki::Error as E;
        let time = UnixTime::since_unix_epoch(Duration::from_secs(1));
        for (err, kind) in [
            (E::UnknownIssuer, ChainErrorKind::Untrusted),
            (E::CertDistrusted, ChainErrorKind::Untrusted),
            (E::MaximumPathBuildCallsExceeded, ChainErrorKind::Untrusted),
            (
                E::CertExpired {
                    time,
                    not_after: time,
                },
                ChainErrorKind::Expired,
            ),
            (
                E::CertNotValidYet {
                    time,
                    not_before: time,
                },
                ChainErrorKind::NotYetValid,
            ),
            (
                E::InvalidSignatureForPublicKey,
                ChainErrorKind::BadSignature,
            ),
            (E::NameConstraintViolation, ChainErrorKind::Constraints),
            (E::CaUsedAsEndEntity, ChainErrorKind::Constraints),
            (E::EndEntityUsedAsCa, ChainErrorKind::Constraints),
            (E::PathLenConstraintViolated, ChainErrorKind::Constraints),
            (E::MaximumPathDepthExceeded, ChainErrorKind::Constraints),
            (E::BadDer, ChainErrorKind::Malformed),
            (E::UnsupportedCertVersion, ChainErrorKind::Malformed),
            (E::UnsupportedCriticalExtension, ChainErrorKind::Malformed),
            (PROFILE_REJECTION, ChainErrorKind::Untrusted),
        ] {
            assert_eq!(kind_of(&err), kind, "{err:?}");
        }
    }

    #[test]
    fn only_anchors_that_can_issue_are_offered() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let mut store = TrustStore::new();
        store
            .add_der(&testdata::leaf())
            .expect("a pinned leaf is an anchor too");
        store.add_der(&testdata::root()).expect("root");
        let candidates = Candidates::for_chain(&[&leaf, &int], &store);
        assert!(matches!(&candidates, Candidates::Selected { indexes, .. } if indexes == &[1]));
        // The pinned leaf is an anchor, but a CA issued it: it is verified up to that CA as
        // usual (so its revocation can be checked), not taken as its own path.
        let path =
            verify_chain(&[&leaf, &int], &store, VerifyOptions::at(testdata::NOW)).expect("valid");
        assert_eq!(path[2].as_ref(), testdata::root().as_slice());
        // An unreadable certificate offers every anchor (webpki then rejects it).
        let all = Candidates::for_chain(&[b"garbage"], &store);
        assert!(matches!(all, Candidates::All(anchors) if anchors.len() == 2));
    }

    #[test]
    fn cached_verification_hits_on_the_same_chain_only() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let (store, cache) = (store(), ChainCache::new(16));
        let options = VerifyOptions::at(testdata::NOW);
        let cold = verify_chain_cached(&[&leaf, &int], &store, options, &cache).expect("valid");
        assert_eq!(cold.presented, vec![0, 1]);
        assert_eq!(
            path_der(&cold, &[&leaf, &int], &store).expect("in range"),
            verify_chain(&[&leaf, &int], &store, options).expect("valid")
        );
        let stats = cache.stats();
        assert_eq!((stats.chains.hits, stats.chains.misses), (0, 1));
        assert_eq!(
            stats.signatures.entries, 1,
            "the intermediate's, not the leaf's"
        );
        let warm = verify_chain_cached(&[&leaf, &int], &store, options, &cache).expect("valid");
        assert_eq!(warm, cold);
        assert_eq!(cache.stats().chains.hits, 1);

        // Expired: a miss, and full validation explains it.
        let later = VerifyOptions::at(testdata::LATER);
        let err = verify_chain_cached(&[&leaf, &int], &store, later, &cache).expect_err("old");
        assert!(err.to_string().contains("expired"), "{err}");
        // Another depth limit: a miss that fails on its own terms.
        let shallow = VerifyOptions {
            max_intermediates: Some(0),
            ..options
        };
        assert!(verify_chain_cached(&[&leaf, &int], &store, shallow, &cache).is_err());
        // A changed byte: a miss, rejected.
        let mut changed = leaf.clone();
        let middle = changed.len() / 2;
        changed[middle] ^= 0x01;
        assert!(verify_chain_cached(&[&changed, &int], &store, options, &cache).is_err());
        let stats = cache.stats();
        assert_eq!((stats.chains.hits, stats.chains.misses), (1, 4));
        assert_eq!(stats.chains.entries, 1, "failures are never remembered");
    }

    #[test]
    fn the_window_covers_the_whole_path() {
        let (leaf, int, root) = (testdata::leaf(), testdata::intermediate(), testdata::root());
        let store = store();
        let path = ChainPath {
            presented: vec![0, 1],
            anchor: 0,
        };
        let window = validity_window(&path, &[&leaf, &int], &store).expect("readable");
        for der in [&leaf, &int, &root] {
            let (not_before, not_after) = der::validity(der).expect("readable");
            assert!(window.0 >= not_before && window.1 <= not_after);
        }
    }

    #[test]
    fn a_remembered_signature_is_reused_for_a_new_chain_only_when_identical() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let cn_only = testdata::cn_only();
        let (store, cache) = (store(), ChainCache::new(16));
        let options = VerifyOptions::at(testdata::NOW);
        verify_chain_cached(&[&leaf, &int], &store, options, &cache).expect("valid");
        // Another server certificate under the same intermediate: the intermediate's
        // signature is remembered, the new leaf's is checked (and fails or passes on its own).
        let _ = verify_chain_cached(&[&cn_only, &int], &store, options, &cache);
        let stats = cache.stats().signatures;
        assert_eq!(stats.hits, 1, "{stats:?}");
        let mut forged = cn_only.clone();
        let last = forged.len() - 1;
        forged[last] ^= 0x01;
        assert!(verify_chain_cached(&[&forged, &int], &store, options, &cache).is_err());
    }

    #[test]
    fn a_disabled_cache_still_verifies() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let (store, cache) = (store(), ChainCache::new(0));
        let options = VerifyOptions::at(testdata::NOW);
        for _ in 0..2 {
            verify_chain_cached(&[&leaf, &int], &store, options, &cache).expect("valid");
        }
        assert_eq!(cache.stats(), ChainCacheStats::default());
    }

    /// A test PKI made here: root, intermediate "Int", and an impostor "Int" with another key
    /// (also issued by the root); the leaf is issued by the real intermediate.
    struct Rekeyed {
        root: Vec<u8>,
        intermediate: Vec<u8>,
        impostor: Vec<u8>,
        leaf: Vec<u8>,
    }

    fn rekeyed() -> Rekeyed {
        use crate::testdata::build::{self, Key};
        let (root_key, int_key, other_key, leaf_key) =
            (Key::new(), Key::new(), Key::new(), Key::new());
        Rekeyed {
            root: build::ca("Root", "Root", &root_key, &root_key),
            intermediate: build::ca("Int", "Root", &int_key, &root_key),
            impostor: build::ca("Int", "Root", &other_key, &root_key),
            leaf: build::leaf(
                "leaf.example.com",
                "Int",
                &["leaf.example.com"],
                &leaf_key,
                &int_key,
            ),
        }
    }

    #[test]
    fn an_issuer_of_the_right_name_with_another_key_is_named() {
        let pki = rekeyed();
        let mut store = TrustStore::new();
        store.add_der(&pki.root).expect("root");
        let at = VerifyOptions::at(testdata::NOW);
        // The real chain verifies (the test PKI passes the profile).
        verify_chain(&[&pki.leaf, &pki.intermediate], &store, at).expect("the real chain");
        verify_chain(&[&pki.leaf, &pki.impostor, &pki.intermediate], &store, at)
            .expect("the real intermediate is found beside the impostor");
        let err = verify_chain(&[&pki.leaf, &pki.impostor], &store, at).expect_err("impostor");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::Untrusted), "{err}");
        let text = err.to_string();
        assert!(text.contains("no path to a trusted root"), "{text}");
        assert!(
            text.contains("the presented issuer \"CN=Int,O=certpolicy tests\" has the right name but did not sign the certificate \"CN=leaf.example.com"),
            "{text}"
        );
        assert!(text.contains("a different key"), "{text}");
        // The cached path says the same.
        let cached =
            verify_chain_cached(&[&pki.leaf, &pki.impostor], &store, at, &ChainCache::new(4))
                .expect_err("impostor");
        assert_eq!(cached, err);
        // A trusted root of the right name with another key.
        let mut other_root = TrustStore::new();
        let rekeyed_root = rekeyed().root;
        other_root
            .add_der(&rekeyed_root)
            .expect("another root named Root");
        let err = verify_chain(&[&pki.leaf, &pki.intermediate], &other_root, at)
            .expect_err("another root key");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::Untrusted), "{err}");
        assert!(
            err.to_string()
                .contains("the trusted issuer \"CN=Root,O=certpolicy tests\""),
            "{err}"
        );
    }

    #[test]
    fn an_altered_signature_is_still_a_bad_signature() {
        // The key identifiers agree: the signature was altered, not made by another key.
        let pki = rekeyed();
        let mut store = TrustStore::new();
        store.add_der(&pki.root).expect("root");
        let mut forged = pki.leaf.clone();
        let last = forged.len() - 1;
        forged[last] ^= 0x01;
        let err = verify_chain(
            &[&forged, &pki.intermediate],
            &store,
            VerifyOptions::at(testdata::NOW),
        )
        .expect_err("altered");
        assert_eq!(
            err.chain_kind(),
            Some(ChainErrorKind::BadSignature),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("does not verify with its issuer's key"),
            "{err}"
        );
    }

    #[test]
    fn every_webpki_error_is_explained_in_words() {
        use webpki::Error as E;
        let time = UnixTime::since_unix_epoch(Duration::from_secs(1));
        let errors = [
            E::BadDer,
            E::BadDerTime,
            E::CaUsedAsEndEntity,
            E::CertDistrusted,
            E::CertExpired {
                time,
                not_after: time,
            },
            E::CertNotValidYet {
                time,
                not_before: time,
            },
            E::CertRevoked,
            E::CrlExpired {
                time,
                next_update: time,
            },
            E::EmptyEkuExtension,
            E::EndEntityUsedAsCa,
            E::ExtensionValueInvalid,
            E::InvalidCertValidity,
            E::InvalidCrlNumber,
            E::InvalidNetworkMaskConstraint,
            E::InvalidSerialNumber,
            E::InvalidCrlSignatureForPublicKey,
            E::InvalidSignatureForPublicKey,
            E::IssuerNotCrlSigner,
            E::MalformedDnsIdentifier,
            E::MalformedExtensions,
            E::MalformedNameConstraint,
            E::MaximumNameConstraintComparisonsExceeded,
            E::MaximumPathBuildCallsExceeded,
            E::MaximumPathDepthExceeded,
            E::MaximumSignatureChecksExceeded,
            E::NameConstraintViolation,
            E::PathLenConstraintViolated,
            E::SignatureAlgorithmMismatch,
            E::UnknownIssuer,
            E::UnknownRevocationStatus,
            E::UnsupportedCertVersion,
            E::UnsupportedCriticalExtension,
            E::UnsupportedCrlIssuingDistributionPoint,
            E::UnsupportedCrlVersion,
            E::UnsupportedDeltaCrl,
            E::UnsupportedIndirectCrl,
            E::UnsupportedNameType,
            E::UnsupportedRevocationReason,
            E::UnsupportedRevocationReasonsPartitioning,
        ];
        for err in &errors {
            let text = explain(err);
            let name = format!("{err:?}");
            let variant = name.split([' ', '(', '{']).next().unwrap_or_default();
            assert!(!text.contains(variant), "{variant}: {text}");
            assert!(text.is_ascii(), "{text}");
            assert!(text.starts_with(char::is_lowercase), "{text}");
        }
        assert_eq!(
            explain(&E::UnsupportedCriticalExtension),
            "a certificate in the path has a critical extension that is not understood (RFC \
             5280 section 4.2 requires rejecting such a certificate)"
        );
        assert!(explain(&E::EmptyEkuExtension).contains("lists no purpose"));
        assert!(explain(&E::InvalidCertValidity).contains("ends before it begins"));
        // The existing sentences are unchanged.
        assert_eq!(
            explain(&E::UnknownIssuer),
            "no path to a trusted root: the issuer is not in the trust store and no presented \
             intermediate leads to one"
        );
        assert_eq!(
            explain(&E::UnsupportedCertVersion),
            "the certificate is not an X.509 v3 certificate"
        );
    }

    #[test]
    fn an_unknown_critical_extension_is_named_in_words() {
        use crate::testdata::build::{self, Key};
        let (key, ca_key) = (Key::new(), Key::new());
        let mut cert = build::Cert::new("leaf.example.com", "Int");
        cert.extensions = build::server_names(&["leaf.example.com"]);
        cert.extensions
            .push(build::extension(&[0x2a, 0x03, 0x04], true, &[0x05, 0x00]));
        let leaf = cert.sign(&key, &ca_key);
        let err = verify_chain(&[&leaf], &store(), VerifyOptions::at(testdata::NOW))
            .expect_err("unknown critical extension");
        assert_eq!(err.chain_kind(), Some(ChainErrorKind::Malformed), "{err}");
        assert!(
            err.to_string()
                .contains("critical extension that is not understood"),
            "{err}"
        );
        assert!(
            !err.to_string().contains("UnsupportedCriticalExtension"),
            "{err}"
        );
    }

    #[test]
    fn webpki_errors_map_to_openssl_codes() {
        use webpki::Error as E;
        let time = UnixTime::since_unix_epoch(Duration::from_secs(1));
        for (err, code) in [
            (E::UnknownIssuer, 20),
            (
                E::CertExpired {
                    time,
                    not_after: time,
                },
                10,
            ),
            (
                E::CertNotValidYet {
                    time,
                    not_before: time,
                },
                9,
            ),
            (E::InvalidSignatureForPublicKey, 7),
            (E::CaUsedAsEndEntity, 26),
            (E::EndEntityUsedAsCa, 79),
            (E::PathLenConstraintViolated, 25),
            (E::NameConstraintViolation, 47),
            (E::UnsupportedCriticalExtension, 34),
            (E::MaximumPathDepthExceeded, 22),
            (E::MaximumPathBuildCallsExceeded, 1),
            (E::MaximumSignatureChecksExceeded, 1),
            (E::MaximumNameConstraintComparisonsExceeded, 1),
            (E::CertDistrusted, 1),
            (E::BadDer, 1),
            (E::UnsupportedCertVersion, 1),
            (E::EmptyEkuExtension, 1),
            (PROFILE_REJECTION, 1),
        ] {
            assert_eq!(verify_code_of(&err).number(), code, "{err:?}");
        }
        let eku = E::RequiredEkuNotFoundContext(webpki::RequiredEkuNotFoundContext {
            required: KeyUsage::server_auth(),
            present: Vec::new(),
        });
        assert_eq!(verify_code_of(&eku), VerifyCode::InvalidPurpose);
    }

    /// The verify code of `chain` against `store` at [`testdata::NOW`], with its kind.
    fn code(chain: &[&[u8]], store: &TrustStore) -> (ChainErrorKind, i32) {
        let err =
            verify_chain(chain, store, VerifyOptions::at(testdata::NOW)).expect_err("rejected");
        let (Some(kind), Some(code)) = (err.chain_kind(), err.verify_code()) else {
            panic!("not a chain error: {err}");
        };
        // The cached path computes the same code.
        let cached = verify_chain_cached(
            chain,
            store,
            VerifyOptions::at(testdata::NOW),
            &ChainCache::new(4),
        )
        .expect_err("rejected");
        assert_eq!(cached.verify_code(), Some(code), "{cached}");
        (kind, code.number())
    }

    #[test]
    fn the_fixed_chains_carry_openssl_codes() {
        let (leaf, int, root) = (testdata::leaf(), testdata::intermediate(), testdata::root());
        let at = |when| {
            verify_chain(&[&leaf, &int], &store(), VerifyOptions::at(when))
                .expect_err("rejected")
                .verify_code()
        };
        assert_eq!(at(testdata::LATER), Some(VerifyCode::CertHasExpired));
        assert_eq!(at(0), Some(VerifyCode::CertNotYetValid));
        // No intermediate, or nothing trusted: no issuer (20).
        assert_eq!(code(&[&leaf], &store()), (ChainErrorKind::Untrusted, 20));
        assert_eq!(
            code(&[&leaf, &int], &TrustStore::new()),
            (ChainErrorKind::Untrusted, 20)
        );
        // The root presented by the server but not trusted: a self-signed certificate in the
        // chain (19), as OpenSSL says.
        assert_eq!(
            code(&[&leaf, &int, &root], &TrustStore::new()),
            (ChainErrorKind::Untrusted, 19)
        );
        // Presented in any order.
        assert_eq!(
            code(&[&leaf, &root, &int], &TrustStore::new()),
            (ChainErrorKind::Untrusted, 19)
        );
        // The root alone, untrusted: a self-signed server certificate (18); webpki's reason
        // is that it is a CA, so the kind stays a constraint.
        assert_eq!(
            code(&[&root], &TrustStore::new()),
            (ChainErrorKind::Constraints, 18)
        );
        // A CA certificate that is not self-issued as the server certificate: its purpose.
        assert_eq!(code(&[&int], &store()), (ChainErrorKind::Constraints, 26));
        // A changed signature.
        let mut forged = leaf.clone();
        let last = forged.len() - 1;
        forged[last] ^= 0x01;
        assert_eq!(
            code(&[&forged, &int], &store()),
            (ChainErrorKind::BadSignature, 7)
        );
        // The depth limit.
        let shallow = VerifyOptions {
            at_unix_seconds: testdata::NOW,
            max_intermediates: Some(0),
        };
        let err = verify_chain(&[&leaf, &int], &store(), shallow).expect_err("too deep");
        assert_eq!(err.verify_code(), Some(VerifyCode::CertChainTooLong));
        // The budgets of the presented input.
        for chain in [&[][..], &[b"garbage".as_slice()][..]] {
            let err = verify_chain(chain, &store(), VerifyOptions::at(0)).expect_err("bad");
            assert_eq!(err.verify_code(), Some(VerifyCode::Unspecified), "{err}");
        }
    }

    /// An extension of `oid` (content octets), critical or not, whose value is `value`.
    fn ext(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
        crate::testdata::build::extension(oid, critical, value)
    }

    /// A CA certificate like `build::ca`, with these extensions in place of its basic
    /// constraints and key usage.
    fn ca_with(
        subject: &str,
        issuer: &str,
        key: &crate::testdata::build::Key,
        issuer_key: &crate::testdata::build::Key,
        extensions: Vec<Vec<u8>>,
    ) -> Vec<u8> {
        use crate::testdata::build;
        let mut cert = build::Cert::new(subject, issuer);
        cert.extensions = extensions;
        cert.extensions.extend(build::key_ids(key, issuer_key));
        cert.sign(key, issuer_key)
    }

    #[test]
    fn constraint_failures_carry_openssl_codes() {
        use crate::testdata::build::{self, Key, seq, tlv};
        const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
        const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];
        const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
        const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
        let (root_key, int_key, sub_key, leaf_key) =
            (Key::new(), Key::new(), Key::new(), Key::new());
        let root = build::ca("Root", "Root", &root_key, &root_key);
        let mut store = TrustStore::new();
        store.add_der(&root).expect("root");

        // Path length (RFC 5280 section 4.2.1.9): Int allows no CA below it.
        let path_len_zero = ext(
            BASIC_CONSTRAINTS,
            true,
            &seq(&[&[0x01, 0x01, 0xff], &build::int(&[0x00])]),
        );
        let int = ca_with(
            "Int",
            "Root",
            &int_key,
            &root_key,
            vec![path_len_zero, build::key_usage(true)],
        );
        let sub = build::ca("Sub", "Int", &sub_key, &int_key);
        let leaf = build::leaf("a.example", "Sub", &["a.example"], &leaf_key, &sub_key);
        assert_eq!(
            code(&[&leaf, &sub, &int], &store),
            (ChainErrorKind::Constraints, 25)
        );

        // Name constraints (RFC 5280 section 4.2.1.10): Int permits allowed.example only.
        let permitted = seq(&[&tlv(0xa0, &seq(&[&tlv(0x82, b"allowed.example")]))]);
        let constrained = ca_with(
            "Int",
            "Root",
            &int_key,
            &root_key,
            vec![
                build::basic_constraints(true),
                build::key_usage(true),
                ext(NAME_CONSTRAINTS, true, &permitted),
            ],
        );
        let inside = build::leaf(
            "a.allowed.example",
            "Int",
            &["a.allowed.example"],
            &leaf_key,
            &int_key,
        );
        verify_chain(
            &[&inside, &constrained],
            &store,
            VerifyOptions::at(testdata::NOW),
        )
        .expect("a permitted name");
        let outside = build::leaf("a.example", "Int", &["a.example"], &leaf_key, &int_key);
        assert_eq!(
            code(&[&outside, &constrained], &store),
            (ChainErrorKind::Constraints, 47)
        );

        // Extended key usage without serverAuth (RFC 5280 section 4.2.1.12).
        let int = build::ca("Int", "Root", &int_key, &root_key);
        let client_auth = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
        let mut client = build::Cert::new("a.example", "Int");
        client.extensions = vec![build::basic_constraints(false), build::key_usage(false)];
        client
            .extensions
            .extend(build::key_ids(&leaf_key, &int_key));
        client
            .extensions
            .push(ext(EXT_KEY_USAGE, false, &seq(&[&client_auth])));
        client.extensions.push(ext(
            SUBJECT_ALT_NAME,
            false,
            &seq(&[&tlv(0x82, b"a.example")]),
        ));
        let client = client.sign(&leaf_key, &int_key);
        assert_eq!(
            code(&[&client, &int], &store),
            (ChainErrorKind::Constraints, 26)
        );

        // A server certificate used as an issuer (RFC 5280 section 4.2.1.9): invalid CA.
        let server = build::leaf("Server", "Int", &["server.example"], &sub_key, &int_key);
        let child = build::leaf("a.example", "Server", &["a.example"], &leaf_key, &sub_key);
        assert_eq!(
            code(&[&child, &server, &int], &store),
            (ChainErrorKind::Constraints, 79)
        );

        // An unknown critical extension in a presented certificate (RFC 5280 section 4.2).
        let mut odd = build::Cert::new("a.example", "Int");
        odd.extensions = vec![build::basic_constraints(false), build::key_usage(false)];
        odd.extensions.extend(build::key_ids(&leaf_key, &int_key));
        odd.extensions.extend(build::server_names(&["a.example"]));
        odd.extensions
            .push(ext(&[0x2a, 0x03, 0x04], true, &[0x05, 0x00]));
        let odd = odd.sign(&leaf_key, &int_key);
        assert_eq!(code(&[&odd, &int], &store), (ChainErrorKind::Malformed, 34));
    }

    #[test]
    fn self_signed_certificates_that_are_not_anchors() {
        use crate::testdata::build::{self, Key};
        let (key, other) = (Key::new(), Key::new());
        // CA:FALSE, self-signed, serverAuth: no issuer, at depth zero (18).
        let appliance = build::leaf("box.example", "box.example", &["box.example"], &key, &key);
        assert_eq!(
            code(&[&appliance], &store()),
            (ChainErrorKind::Untrusted, 18)
        );
        // With unrelated certificates after it: still 18.
        let int = testdata::intermediate();
        assert_eq!(
            code(&[&appliance, &int], &store()),
            (ChainErrorKind::Untrusted, 18)
        );
        // Trusted, it passes (the anchor is its own path).
        let mut trusting = TrustStore::new();
        trusting.add_der(&appliance).expect("the appliance");
        verify_chain(&[&appliance], &trusting, VerifyOptions::at(testdata::NOW)).expect("imported");
        // A root of another name trusted, a presented self-signed root of its own: 19.
        let pki = rekeyed();
        assert_eq!(
            code(&[&pki.leaf, &pki.intermediate, &pki.root], &store()),
            (ChainErrorKind::Untrusted, 19)
        );
        // An issuer of the right name but another key is no issuer (20): the impostor case.
        let mut impostor_root = TrustStore::new();
        impostor_root
            .add_der(&build::ca("Root", "Root", &other, &other))
            .expect("another root named Root");
        assert_eq!(
            code(&[&pki.leaf, &pki.intermediate], &impostor_root),
            (ChainErrorKind::Untrusted, 20)
        );
        // A loop of presented certificates ends the walk without a self-issued one.
        let (a_key, b_key) = (Key::new(), Key::new());
        let a = build::ca("A", "B", &a_key, &b_key);
        let b = build::ca("B", "A", &b_key, &a_key);
        let leaf = build::leaf("a.example", "A", &["a.example"], &key, &a_key);
        assert_eq!(
            untrusted_code(&[&leaf, &a, &b], &store()),
            VerifyCode::UnableToGetIssuerCertLocally
        );
        assert_eq!(
            untrusted_code(&[b"garbage"], &store()),
            VerifyCode::UnableToGetIssuerCertLocally
        );
    }

    #[test]
    fn profile_rejections_carry_openssl_codes() {
        use crate::testdata::build::{self, Key};
        let (root_key, int_key, leaf_key) = (Key::new(), Key::new(), Key::new());
        // A trust anchor whose key usage does not allow keyCertSign (RFC 5280 section
        // 4.2.1.3): an invalid CA, as OpenSSL 3 says (79).
        let digital_signature_only = build::key_usage(false);
        let root = ca_with(
            "Root",
            "Root",
            &root_key,
            &root_key,
            vec![build::basic_constraints(true), digital_signature_only],
        );
        let mut store = TrustStore::new();
        store.add_der(&root).expect("root");
        let int = build::ca("Int", "Root", &int_key, &root_key);
        let leaf = build::leaf("a.example", "Int", &["a.example"], &leaf_key, &int_key);
        assert_eq!(
            code(&[&leaf, &int], &store),
            (ChainErrorKind::Constraints, 79)
        );
        // A trust anchor with an unknown critical extension (RFC 5280 section 4.2): 34.
        let good_ca = vec![build::basic_constraints(true), build::key_usage(true)];
        let mut odd = good_ca.clone();
        odd.push(ext(&[0x2a, 0x03, 0x04], true, &[0x05, 0x00]));
        let root = ca_with("Root", "Root", &root_key, &root_key, odd);
        let mut store = TrustStore::new();
        store.add_der(&root).expect("root");
        assert_eq!(
            code(&[&leaf, &int], &store),
            (ChainErrorKind::Constraints, 34)
        );
        // A trust anchor that has expired: 10.
        let mut old = build::Cert::new("Root", "Root");
        old.not_after = "260101000000Z";
        old.extensions = good_ca;
        old.extensions.extend(build::key_ids(&root_key, &root_key));
        let mut store = TrustStore::new();
        store
            .add_der(&old.sign(&root_key, &root_key))
            .expect("root");
        assert_eq!(code(&[&leaf, &int], &store), (ChainErrorKind::Expired, 10));
        // A profile rule OpenSSL does not check: unspecified (1). Here a CA certificate
        // without a subject key identifier (RFC 5280 section 4.2.1.2).
        let root = build::ca("Root", "Root", &root_key, &root_key);
        let mut store = TrustStore::new();
        store.add_der(&root).expect("root");
        let mut bare = build::Cert::new("Int", "Root");
        bare.extensions = vec![build::basic_constraints(true), build::key_usage(true)];
        bare.extensions
            .push(build::key_ids(&int_key, &root_key).remove(1));
        let bare = bare.sign(&int_key, &root_key);
        let (kind, number) = code(&[&leaf, &bare], &store);
        assert_eq!((kind, number), (ChainErrorKind::Constraints, 1));
        // A trusted server certificate (its own path) without serverAuth: 26.
        let client_auth = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
        let mut pinned = build::Cert::new("box.example", "box.example");
        pinned.extensions = vec![build::basic_constraints(false), build::key_usage(false)];
        pinned.extensions.push(ext(
            &[0x55, 0x1d, 0x25],
            false,
            &build::seq(&[&client_auth]),
        ));
        let pinned = pinned.sign(&leaf_key, &leaf_key);
        let mut trusting = TrustStore::new();
        trusting.add_der(&pinned).expect("pinned");
        assert_eq!(
            code(&[&pinned], &trusting),
            (ChainErrorKind::Constraints, 26)
        );
    }
}
