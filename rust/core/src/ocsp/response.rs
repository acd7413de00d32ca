//! OCSP response verification (RFC 6960 sections 4.2 and 3.2): every rule a client must
//! check before it acts on an answer, each failure named in the error.

use der::asn1::{AnyRef, BitStringRef};
use der::oid::db::rfc6960::{ID_PKIX_OCSP_BASIC, ID_PKIX_OCSP_NONCE};
use der::{Decode, Encode, Sequence, Tag, Tagged};
use rustls_pki_types::CertificateDer;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;
use x509_cert::spki::AlgorithmIdentifierRef;
use x509_ocsp::{
    CertStatus as Asn1Status, OcspGeneralizedTime, OcspResponse, OcspResponseStatus, ResponderId,
    ResponseData, SingleResponse,
};

use super::certid::{CertPair, CertParts, sha1};
use super::request::nonce_extension;
use super::signer::{SignatureFailure, algorithm_name, authorize_delegate, verify_signature};
use super::{CertStatus, OcspStatus, Signer, ocsp_error};
use crate::error::Error;
use crate::limits::{
    MAX_OCSP_RESPONSE_BYTES, MAX_OCSP_RESPONSE_CERTS, MAX_OCSP_SINGLE_RESPONSES,
    OCSP_CLOCK_SKEW_SECONDS,
};
use crate::timefmt::rfc3339;

/// How a response is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions<'a> {
    /// The check time, seconds since the Unix epoch.
    pub at_unix_seconds: u64,
    /// The nonce sent in the request; the response must echo it (RFC 6960 section 4.4.1).
    pub nonce: Option<&'a [u8]>,
    /// For responses without nextUpdate: how old thisUpdate may be, in seconds (plus the
    /// clock skew allowance). `None`: no limit (RFC 6960 section 4.2.2.1 leaves it to local
    /// policy; without a limit an old response could be replayed forever).
    pub max_age_seconds: Option<u64>,
}

impl CheckOptions<'_> {
    /// Options for a check at `at_unix_seconds`, without nonce or maximum age.
    pub fn at(at_unix_seconds: u64) -> Self {
        Self {
            at_unix_seconds,
            nonce: None,
            max_age_seconds: None,
        }
    }
}

/// BasicOCSPResponse (RFC 6960 section 4.2.1) as the bytes that were signed: the typed view
/// (`x509_ocsp::BasicOcspResponse`) would re-encode them.
#[derive(Sequence)]
struct RawBasicResponse<'a> {
    tbs_response_data: AnyRef<'a>,
    signature_algorithm: AnyRef<'a>,
    signature: BitStringRef<'a>,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    certs: Option<Vec<AnyRef<'a>>>,
}

/// An `Error::Ocsp` naming the rule that failed.
fn reject(rule: &str, detail: impl std::fmt::Display) -> Error {
    ocsp_error(format!("OCSP response rejected: {rule}: {detail}"))
}

fn seconds(time: &OcspGeneralizedTime) -> i64 {
    i64::try_from(time.0.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

fn status_name(status: OcspResponseStatus) -> &'static str {
    match status {
        OcspResponseStatus::Successful => "successful",
        OcspResponseStatus::MalformedRequest => "malformedRequest",
        OcspResponseStatus::InternalError => "internalError",
        OcspResponseStatus::TryLater => "tryLater",
        OcspResponseStatus::SigRequired => "sigRequired",
        OcspResponseStatus::Unauthorized => "unauthorized",
    }
}

/// RFC 5280 section 5.3.1 names.
fn reason_name(reason: CrlReason) -> &'static str {
    match reason {
        CrlReason::Unspecified => "unspecified",
        CrlReason::KeyCompromise => "keyCompromise",
        CrlReason::CaCompromise => "cACompromise",
        CrlReason::AffiliationChanged => "affiliationChanged",
        CrlReason::Superseded => "superseded",
        CrlReason::CessationOfOperation => "cessationOfOperation",
        CrlReason::CertificateHold => "certificateHold",
        CrlReason::RemoveFromCRL => "removeFromCRL",
        CrlReason::PrivilegeWithdrawn => "privilegeWithdrawn",
        CrlReason::AaCompromise => "aACompromise",
    }
}

/// Verifies `response` (DER OCSPResponse) for `cert` issued by `issuer` (both DER) and returns
/// the certificate's status. Checks, in order (RFC 6960): size; responseStatus successful;
/// responseType id-pkix-ocsp-basic; the signature by the issuer or an authorized delegated
/// responder; a SingleResponse with the certificate's CertID (SHA-1 or SHA-256); no
/// unrecognized critical extension; thisUpdate not in the future and nextUpdate not passed
/// (both with [`OCSP_CLOCK_SKEW_SECONDS`] of allowance); the maximum age when there is no
/// nextUpdate; the nonce echoed when one was sent.
pub fn check_response(
    response: &[u8],
    cert: &[u8],
    issuer: &[u8],
    options: &CheckOptions<'_>,
) -> Result<OcspStatus, Error> {
    let (cert, issuer) = (CertificateDer::from(cert), CertificateDer::from(issuer));
    let issuer_parts = CertParts::parse(&issuer, "issuer")?;
    let pair = CertPair::new(&CertParts::parse(&cert, "checked")?, &issuer_parts)?;
    if response.len() > MAX_OCSP_RESPONSE_BYTES {
        return Err(reject(
            "size",
            format!(
                "the response is {} bytes; at most {MAX_OCSP_RESPONSE_BYTES} are accepted",
                response.len()
            ),
        ));
    }
    let envelope = OcspResponse::from_der(response)
        .map_err(|err| reject("format", format!("not a DER OCSPResponse: {err}")))?;
    if envelope.response_status != OcspResponseStatus::Successful {
        return Err(reject(
            "responseStatus",
            format!(
                "the responder answered {} ({}), not successful",
                status_name(envelope.response_status),
                envelope.response_status as u32
            ),
        ));
    }
    let bytes = envelope
        .response_bytes
        .as_ref()
        .ok_or_else(|| reject("format", "a successful response without responseBytes"))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(reject(
            "responseType",
            format!("{} is not id-pkix-ocsp-basic", bytes.response_type),
        ));
    }
    let basic = RawBasicResponse::from_der(bytes.response.as_bytes())
        .map_err(|err| reject("format", format!("not a DER BasicOCSPResponse: {err}")))?;
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|err| reject("format", err))?;
    let data = ResponseData::from_der(&tbs)
        .map_err(|err| reject("format", format!("not a DER ResponseData: {err}")))?;

    let signer = check_signature(
        &basic,
        &tbs,
        &data.responder_id,
        &pair,
        (&issuer, &issuer_parts),
        options,
    )?;
    let single = find_single_response(&data, &pair)?;
    check_extensions(&data, single)?;
    let this_update = seconds(&single.this_update);
    let next_update = single.next_update.as_ref().map(seconds);
    check_freshness(this_update, next_update, options)?;
    if let Some(nonce) = options.nonce {
        check_nonce(&data, nonce)?;
    }

    let (status, revoked_at, reason) = match &single.cert_status {
        Asn1Status::Good(_) => (CertStatus::Good, None, None),
        Asn1Status::Unknown(_) => (CertStatus::Unknown, None, None),
        Asn1Status::Revoked(info) => (
            CertStatus::Revoked,
            Some(seconds(&info.revocation_time)),
            info.revocation_reason.map(reason_name),
        ),
    };
    Ok(OcspStatus {
        status,
        this_update,
        next_update,
        produced_at: seconds(&data.produced_at),
        revoked_at,
        reason,
        signer,
    })
}

/// Whether the ResponderID (RFC 6960 section 4.2.1) names a certificate with the subject
/// `subject_der` and the SHA-1 key hash `key_sha1`.
fn names(id: &ResponderId, subject_der: &[u8], key_sha1: &[u8]) -> bool {
    match id {
        ResponderId::ByName(name) => name.to_der().is_ok_and(|der| der == subject_der),
        ResponderId::ByKey(hash) => hash.as_bytes() == key_sha1,
    }
}

fn signature_error(failure: SignatureFailure, signer: &str, algorithm: &AnyRef<'_>) -> Error {
    match failure {
        SignatureFailure::Invalid => reject(
            "signature",
            format!("the BasicOCSPResponse signature does not verify with the key of {signer}"),
        ),
        SignatureFailure::UnsupportedAlgorithm => {
            let name = algorithm
                .decode_as::<AlgorithmIdentifierRef<'_>>()
                .map_or_else(|_| "?".to_owned(), |alg| algorithm_name(&alg.oid));
            reject(
                "signature",
                format!("the signature algorithm {name} is not supported for the key of {signer}"),
            )
        }
    }
}

/// Finds who signed the response and verifies the signature (RFC 6960 section 4.2.2.2): the
/// issuer when the ResponderID names it, else a certificate of the response that the
/// ResponderID names and that the issuer authorized.
fn check_signature(
    basic: &RawBasicResponse<'_>,
    tbs: &[u8],
    responder_id: &ResponderId,
    pair: &CertPair,
    (issuer_der, issuer): (&CertificateDer<'_>, &CertParts<'_>),
    options: &CheckOptions<'_>,
) -> Result<Signer, Error> {
    if basic.signature_algorithm.tag() != Tag::Sequence {
        return Err(reject("format", "signatureAlgorithm is not a SEQUENCE"));
    }
    let algorithm = basic.signature_algorithm.value();
    let signature = basic
        .signature
        .as_bytes()
        .ok_or_else(|| reject("format", "the signature BIT STRING has unused bits"))?;
    if names(responder_id, pair.issuer_name_der(), pair.issuer_key_sha1()) {
        return verify_signature(issuer.cert(), algorithm, tbs, signature)
            .map(|()| Signer::Issuer)
            .map_err(|failure| signature_error(failure, "the issuer", &basic.signature_algorithm));
    }
    let certs = basic.certs.as_deref().unwrap_or_default();
    if certs.len() > MAX_OCSP_RESPONSE_CERTS {
        return Err(reject(
            "responder",
            format!(
                "the response carries {} certificates; at most {MAX_OCSP_RESPONSE_CERTS} are \
                 accepted",
                certs.len()
            ),
        ));
    }
    let mut refusal = None;
    for raw in certs {
        let Ok(der) = raw.to_der() else { continue };
        let responder_der = CertificateDer::from(der.as_slice());
        let Ok(responder) = CertParts::parse(&responder_der, "responder") else {
            continue;
        };
        let Ok(key) = responder.public_key() else {
            continue;
        };
        let key_sha1 = sha1(&key);
        if !names(responder_id, &responder.subject_der(), &key_sha1) {
            continue;
        }
        let subject = responder.subject_text();
        let who = format!("the delegated responder \"{subject}\"");
        if let Err(why) = authorize_delegate(responder.cert(), issuer_der, options.at_unix_seconds)
        {
            refusal = Some(reject(
                "responder",
                format!("{who} is not authorized by the certificate's issuer: {why}"),
            ));
            continue;
        }
        match verify_signature(responder.cert(), algorithm, tbs, signature) {
            Ok(()) => return Ok(Signer::Delegated(subject)),
            Err(failure) => {
                refusal = Some(signature_error(failure, &who, &basic.signature_algorithm));
            }
        }
    }
    Err(refusal.unwrap_or_else(|| {
        reject(
            "responder",
            "the responderID names neither the certificate's issuer nor a certificate \
             included in the response",
        )
    }))
}

fn find_single_response<'d>(
    data: &'d ResponseData,
    pair: &CertPair,
) -> Result<&'d SingleResponse, Error> {
    if data.responses.len() > MAX_OCSP_SINGLE_RESPONSES {
        return Err(reject(
            "format",
            format!(
                "the response has {} SingleResponses; at most {MAX_OCSP_SINGLE_RESPONSES} are \
                 accepted",
                data.responses.len()
            ),
        ));
    }
    data.responses
        .iter()
        .find(|single| pair.matches(&single.cert_id))
        .ok_or_else(|| {
            reject(
                "certID",
                format!(
                    "no SingleResponse matches the certificate (serial {}, issuer \"{}\")",
                    pair.serial_hex(),
                    pair.issuer_text()
                ),
            )
        })
}

/// RFC 5280 section 4.2: a critical extension that is not understood makes the structure
/// unusable. The nonce is the only one understood here.
fn check_extensions(data: &ResponseData, single: &SingleResponse) -> Result<(), Error> {
    let unknown_critical = |exts: Option<&Vec<Extension>>, known: &[der::oid::ObjectIdentifier]| {
        exts.into_iter()
            .flatten()
            .find(|ext| ext.critical && !known.contains(&ext.extn_id))
            .map(|ext| ext.extn_id)
    };
    if let Some(oid) = unknown_critical(data.response_extensions.as_ref(), &[ID_PKIX_OCSP_NONCE])
        .or_else(|| unknown_critical(single.single_extensions.as_ref(), &[]))
    {
        return Err(reject(
            "extensions",
            format!("unrecognized critical extension {}", algorithm_name(&oid)),
        ));
    }
    Ok(())
}

/// RFC 6960 section 4.2.2.1 (and 3.2 items 4 and 5).
fn check_freshness(
    this_update: i64,
    next_update: Option<i64>,
    options: &CheckOptions<'_>,
) -> Result<(), Error> {
    let at = i64::try_from(options.at_unix_seconds).unwrap_or(i64::MAX);
    let skew = i64::try_from(OCSP_CLOCK_SKEW_SECONDS).unwrap_or(0);
    if this_update > at.saturating_add(skew) {
        return Err(reject(
            "thisUpdate",
            format!(
                "thisUpdate {} is in the future (checked at {}, {skew} s of clock skew \
                 allowed)",
                rfc3339(this_update),
                rfc3339(at)
            ),
        ));
    }
    match next_update {
        Some(next) if next < this_update => Err(reject(
            "nextUpdate",
            format!(
                "nextUpdate {} is before thisUpdate {}",
                rfc3339(next),
                rfc3339(this_update)
            ),
        )),
        Some(next) if at > next.saturating_add(skew) => Err(reject(
            "nextUpdate",
            format!(
                "the response is stale: nextUpdate {} has passed (checked at {})",
                rfc3339(next),
                rfc3339(at)
            ),
        )),
        Some(_) => Ok(()),
        None => match options.max_age_seconds {
            Some(max_age)
                if at.saturating_sub(this_update)
                    > i64::try_from(max_age)
                        .unwrap_or(i64::MAX)
                        .saturating_add(skew) =>
            {
                Err(reject(
                    "max age",
                    format!(
                        "the response has no nextUpdate and thisUpdate {} is more than {max_age} \
                         s (+{skew} s clock skew) before {}",
                        rfc3339(this_update),
                        rfc3339(at)
                    ),
                ))
            }
            _ => Ok(()),
        },
    }
}

/// RFC 6960 section 4.4.1: the response must carry the request's nonce, unchanged.
fn check_nonce(data: &ResponseData, nonce: &[u8]) -> Result<(), Error> {
    let expected = nonce_extension(nonce)?.extn_value;
    let echoed = data
        .response_extensions
        .iter()
        .flatten()
        .find(|ext| ext.extn_id == ID_PKIX_OCSP_NONCE);
    match echoed {
        None => Err(reject(
            "nonce",
            "the request carried a nonce but the response does not echo it",
        )),
        Some(ext) if ext.extn_value != expected => Err(reject(
            "nonce",
            "the response's nonce differs from the request's (a replayed or foreign response)",
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::NOW;

    /// The fixtures of `testdata/make_ocsp_testdata.py`.
    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/src/ocsp/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
    }

    const THIS_UPDATE: i64 = 1_893_369_600; // 2029-12-31T00:00:00Z
    const NEXT_UPDATE: i64 = 1_893_974_400; // 2030-01-07T00:00:00Z
    const DAY: u64 = 86_400;

    fn check_at(response: &str, options: &CheckOptions<'_>) -> Result<OcspStatus, Error> {
        check_response(
            &fixture(response),
            &fixture("leaf.der"),
            &fixture("ca.der"),
            options,
        )
    }

    fn check(response: &str) -> Result<OcspStatus, Error> {
        check_at(response, &CheckOptions::at(NOW))
    }

    fn rejection(response: &str, options: &CheckOptions<'_>) -> String {
        match check_at(response, options) {
            Err(Error::Ocsp(message)) => message,
            other => panic!("{response}: expected an OcspError, got {other:?}"),
        }
    }

    #[test]
    fn good_signed_by_the_issuer() {
        let status = check("good_by_issuer.der").expect("valid");
        assert_eq!(status.status, CertStatus::Good);
        assert_eq!(status.signer, Signer::Issuer);
        assert_eq!(status.this_update, THIS_UPDATE);
        assert_eq!(status.next_update, Some(NEXT_UPDATE));
        assert_eq!((status.revoked_at, status.reason), (None, None));
    }

    #[test]
    fn revoked_signed_by_a_delegated_responder() {
        let status = check("revoked_by_delegate.der").expect("valid");
        assert_eq!(status.status, CertStatus::Revoked);
        assert_eq!(status.revoked_at, Some(1_875_009_600)); // 2029-06-01T12:00:00Z
        assert_eq!(status.reason, Some("keyCompromise"));
        assert_eq!(
            status.signer,
            Signer::Delegated("CN=ocsp responder,O=certpolicy ocsp test".into())
        );
    }

    #[test]
    fn unknown_with_a_sha256_cert_id() {
        assert_eq!(
            check("unknown_sha256.der").expect("valid").status,
            CertStatus::Unknown
        );
    }

    #[test]
    fn unauthorized_delegates_are_rejected() {
        let at = CheckOptions::at(NOW);
        let message = rejection("by_delegate_without_eku.der", &at);
        assert!(message.contains("responder: "), "{message}");
        assert!(message.contains("id-kp-OCSPSigning"), "{message}");
        let message = rejection("by_foreign_delegate.der", &at);
        assert!(
            message.contains("not issued by the certificate's issuer"),
            "{message}"
        );
        let message = rejection("by_expired_delegate.der", &at);
        assert!(
            message.contains("expired at 2029-12-31T12:00:00Z"),
            "{message}"
        );
        let message = rejection("by_delegate_not_included.der", &at);
        assert!(message.contains("names neither"), "{message}");
    }

    #[test]
    fn freshness_is_checked_with_clock_skew() {
        let message = rejection("good_by_issuer.der", &CheckOptions::at(NOW + 7 * DAY));
        assert!(
            message.contains("nextUpdate: the response is stale"),
            "{message}"
        );
        let message = rejection("good_by_issuer.der", &CheckOptions::at(NOW - 2 * DAY));
        assert!(message.contains("thisUpdate: "), "{message}");
        assert!(message.contains("is in the future"), "{message}");
        // Within the skew allowance on both ends.
        let skew = OCSP_CLOCK_SKEW_SECONDS;
        let just_after = (NEXT_UPDATE as u64) + skew;
        assert!(check_at("good_by_issuer.der", &CheckOptions::at(just_after)).is_ok());
        let just_before = (THIS_UPDATE as u64) - skew;
        assert!(check_at("good_by_issuer.der", &CheckOptions::at(just_before)).is_ok());
    }

    #[test]
    fn max_age_applies_without_next_update() {
        let hour = CheckOptions {
            max_age_seconds: Some(3_600),
            ..CheckOptions::at(NOW)
        };
        let message = rejection("good_no_next_update.der", &hour);
        assert!(message.contains("max age: "), "{message}");
        let two_days = CheckOptions {
            max_age_seconds: Some(2 * DAY),
            ..CheckOptions::at(NOW)
        };
        let status = check_at("good_no_next_update.der", &two_days).expect("fresh enough");
        assert_eq!(status.next_update, None);
        // With a nextUpdate, the maximum age does not apply.
        assert!(check_at("good_by_issuer.der", &hour).is_ok());
    }

    #[test]
    fn the_nonce_must_be_echoed() {
        let sent = CheckOptions {
            nonce: Some(b"certpolicy-nonce"),
            ..CheckOptions::at(NOW)
        };
        assert!(check_at("good_nonce.der", &sent).is_ok());
        let other = CheckOptions {
            nonce: Some(b"another-nonce"),
            ..CheckOptions::at(NOW)
        };
        assert!(rejection("good_nonce.der", &other).contains("nonce: "));
        assert!(rejection("good_by_issuer.der", &sent).contains("does not echo"));
        // No nonce sent: an echoed one is not required and a present one is ignored.
        assert!(check("good_nonce.der").is_ok());
    }

    #[test]
    fn another_certificate_does_not_match_the_cert_id() {
        let result = check_response(
            &fixture("good_by_issuer.der"),
            &fixture("leaf2.der"),
            &fixture("ca.der"),
            &CheckOptions::at(NOW),
        );
        let message = result.expect_err("other serial").to_string();
        assert!(message.contains("certID: "), "{message}");
        assert!(message.contains("0x1002"), "{message}");
    }

    #[test]
    fn every_tampered_byte_is_rejected() {
        let good = fixture("good_by_issuer.der");
        let (leaf, ca) = (fixture("leaf.der"), fixture("ca.der"));
        for index in 0..good.len() {
            let mut tampered = good.clone();
            tampered[index] ^= 0x01;
            let result = check_response(&tampered, &leaf, &ca, &CheckOptions::at(NOW));
            // A flipped bit may still leave a valid answer only where the signature does not
            // reach: the signature algorithm's unused padding never does, so every flip fails.
            assert!(
                matches!(result, Err(Error::Ocsp(_))),
                "byte {index}: {result:?}"
            );
        }
    }

    #[test]
    fn garbage_and_other_statuses_are_rejected() {
        let (leaf, ca) = (fixture("leaf.der"), fixture("ca.der"));
        let at = CheckOptions::at(NOW);
        for garbage in [
            &b""[..],
            b"\x30",
            b"\x30\x03\x0a\x01\x00",
            b"not der at all",
        ] {
            let err = check_response(garbage, &leaf, &ca, &at).expect_err("garbage");
            assert!(matches!(err, Error::Ocsp(_)), "{err:?}");
        }
        let try_later = OcspResponse::try_later().to_der().expect("encodes");
        let message = check_response(&try_later, &leaf, &ca, &at)
            .expect_err("tryLater")
            .to_string();
        assert!(message.contains("responseStatus: "), "{message}");
        assert!(message.contains("tryLater (3)"), "{message}");
        let big = vec![0x30; MAX_OCSP_RESPONSE_BYTES + 1];
        let message = check_response(&big, &leaf, &ca, &at)
            .expect_err("too big")
            .to_string();
        assert!(message.contains("size: "), "{message}");
    }

    #[test]
    fn a_wrong_response_type_is_rejected() {
        let (leaf, ca) = (fixture("leaf.der"), fixture("ca.der"));
        let mut envelope = OcspResponse::from_der(&fixture("good_by_issuer.der")).expect("der");
        if let Some(bytes) = envelope.response_bytes.as_mut() {
            bytes.response_type = ID_PKIX_OCSP_NONCE;
        }
        let der = envelope.to_der().expect("encodes");
        let message = check_response(&der, &leaf, &ca, &CheckOptions::at(NOW))
            .expect_err("wrong type")
            .to_string();
        assert!(message.contains("responseType: "), "{message}");
    }

    #[test]
    fn the_wrong_issuer_is_an_error() {
        let leaf = fixture("leaf.der");
        let err = check_response(
            &fixture("good_by_issuer.der"),
            &leaf,
            &leaf,
            &CheckOptions::at(NOW),
        )
        .expect_err("leaf is not its own issuer");
        assert!(err.to_string().contains("is not the issuer"), "{err}");
    }
}
