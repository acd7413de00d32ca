//! Certificate profile checks that rustls-webpki leaves out, applied to every candidate path
//! it builds (RFC 5280 section 4.2 and the CA/Browser Forum Baseline Requirements section 7.1).
//! A candidate that fails here is rejected and path building goes on with the next one.
//!
//! webpki already checks signatures, validity of the leaf and intermediates, basic
//! constraints, path length, name constraints, the serverAuth extended key usage and unknown
//! critical extensions of presented certificates. This module adds the profile rules on top:
//! extension criticality and presence (RFC 5280 section 4.2.1), serial numbers (section
//! 4.1.2.2), key types and sizes (BR section 6.1.5), the subscriber certificate rules of the
//! Baseline Requirements (section 7.1.2.7: extended key usage, subjectAltName, common name)
//! and the trust anchor's own profile and validity.
//!
//! Each certificate is parsed once per call, without deep-parsing its extensions: only the
//! few extensions a rule reads are decoded. Facts about a trust anchor that do not depend on
//! the validation time are computed once, when the anchor is added ([`AnchorProfile`]).
//!
//! The rules are grouped by concern:
//!
//! - this module: the entry point [`check_path`], the rules run on each certificate of a
//!   candidate path ([`check_certificate`]) and the serial number rule (RFC 5280 section
//!   4.1.2.2);
//! - [`anchor`]: the trust anchor's facts, read once, and its validity at the validation time
//!   (RFC 5280 sections 4.1.2.5 and 6.1.1 (d));
//! - [`keys`]: subject public key types and sizes (RFC 5280 section 4.1.2.7, RFC 3279 section
//!   2.3.1, RFC 5480 section 2.1.1, BR section 6.1.5);
//! - [`extensions`]: presence, uniqueness, criticality and syntax of the extensions (RFC 5280
//!   sections 4.2 and 4.2.1, BR section 7.1.2);
//! - [`names`]: the subjectAltName, DNS name syntax and the server certificate's subject common
//!   name (RFC 5280 section 4.2.1.6, RFC 1034 section 3.5, RFC 6125 section 6.4.4, BR sections
//!   3.2.2.6 and 7.1.4.3).
//!
//! A rejection carries a [`ChainErrorKind`]: [`ChainErrorKind::Expired`] and
//! [`ChainErrorKind::NotYetValid`] for the anchor's validity, [`ChainErrorKind::Malformed`] for
//! a certificate that cannot be read, and [`ChainErrorKind::Constraints`] for every profile
//! rule. It also carries OpenSSL's [`VerifyCode`] where OpenSSL has one for the rule: the
//! anchor's validity (9, 10), a server certificate's extended key usage (26, RFC 5280 section
//! 4.2.1.12), a CA certificate whose basic constraints or key usage do not allow certificate
//! signing (79, `X509_V_ERR_INVALID_CA`, RFC 5280 sections 4.2.1.3 and 4.2.1.9), an anchor's
//! unknown critical extension (34, RFC 5280 section 4.2); every other rule is
//! [`VerifyCode::Unspecified`] (1).

mod anchor;
mod extensions;
mod keys;
mod names;

use std::borrow::Cow;

use x509_parser::certificate::{X509Certificate, X509CertificateParser};
use x509_parser::extensions::BasicConstraints;
use x509_parser::nom::Parser as _;
use x509_parser::x509::{X509Name, X509Version};

pub(crate) use anchor::AnchorProfile;
use extensions::{
    Extensions, check_authority_info_access, check_authority_key_id, check_basic_constraints,
    check_key_usage, check_leaf_ext_key_usage, check_leaf_server_auth, check_name_constraints,
    check_policy_constraints, check_subject_key_id, decode,
};
use keys::check_public_key;
use names::{check_leaf_common_name, check_leaf_san_names, check_subject_alt_name};

use crate::error::{ChainErrorKind, VerifyCode};

/// The outcome of one rule: `Err` holds what is wrong, phrased to follow the certificate's
/// name ("has no ...; RFC 5280 section ... requires ...").
type Rule = Result<(), Cow<'static, str>>;

/// A broken rule of [`check_certificate`]: what is wrong, phrased as for [`Rule`], and
/// OpenSSL's code for it. A [`Rule`]'s error converts to one with
/// [`VerifyCode::Unspecified`]; [`Problem::coded`] gives a closer code.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    code: VerifyCode,
    text: Cow<'static, str>,
}

impl Problem {
    /// Makes a rule's error a problem with `code`, for `map_err`.
    fn coded(code: VerifyCode) -> impl Fn(Cow<'static, str>) -> Problem + Copy {
        move |text| Problem { code, text }
    }
}

impl From<Cow<'static, str>> for Problem {
    fn from(text: Cow<'static, str>) -> Self {
        Problem {
            code: VerifyCode::Unspecified,
            text,
        }
    }
}

impl From<&'static str> for Problem {
    fn from(text: &'static str) -> Self {
        Cow::Borrowed(text).into()
    }
}

impl From<String> for Problem {
    fn from(text: String) -> Self {
        Cow::<'static, str>::Owned(text).into()
    }
}

/// Why a candidate path is rejected: the kind of failure and OpenSSL's code for it, reported
/// with the chain error, and the full explanation, which names the certificate and the rule it
/// breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    /// What kind of failure this is.
    pub(crate) kind: ChainErrorKind,
    /// OpenSSL's number for the reason.
    pub(crate) code: VerifyCode,
    /// The explanation, a sentence fragment that starts with the certificate's name.
    pub(crate) reason: String,
}

impl Rejection {
    fn new(kind: ChainErrorKind, code: VerifyCode, reason: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            reason: reason.into(),
        }
    }
}

/// Where a certificate sits in the candidate path; decides which rules apply to it and how
/// messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The server (end-entity) certificate.
    Leaf,
    /// A CA certificate between the leaf and the trust anchor.
    Intermediate,
    /// The trust anchor's certificate.
    Anchor,
}

/// How a message names the certificate that breaks a rule.
fn who(role: Role, subject: &X509Name<'_>) -> String {
    let kind = match role {
        Role::Leaf => return "the server certificate".to_owned(),
        Role::Intermediate => "the intermediate",
        Role::Anchor => "the trust anchor",
    };
    if subject.iter().next().is_none() {
        format!("{kind} with an empty subject")
    } else {
        format!("{kind} \"{}\"", crate::dn::rfc4514(subject))
    }
}

/// Parses a certificate without deep-parsing its extensions: the rules decode the few they
/// need, so a call costs one pass over the DER.
fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    X509CertificateParser::new()
        .with_deep_parse_extensions(false)
        .parse(der)
        .map(|(_, cert)| cert)
        .map_err(|err| err.to_string())
}

/// Checks one candidate path. `path` is the leaf then the intermediates, leaf-to-anchor order;
/// `anchor_der` is the DER of the trust anchor's certificate and `anchor` what the trust store
/// computed from it; `at_unix_seconds` the validation time. Returns the [`Rejection`] when the
/// path must be rejected, naming the certificate and the rule it breaks.
pub(crate) fn check_path(
    path: &[&[u8]],
    anchor_der: &[u8],
    anchor: &AnchorProfile,
    at_unix_seconds: u64,
) -> Result<(), Rejection> {
    let pinned_leaf = matches!(path, [leaf] if *leaf == anchor_der);
    anchor.check(anchor_der, !pinned_leaf, at_unix_seconds)?;
    for (index, der) in path.iter().enumerate() {
        let role = if index == 0 {
            Role::Leaf
        } else {
            Role::Intermediate
        };
        let cert = parse(der).map_err(|err| {
            let name = if index == 0 {
                "the server certificate".to_owned()
            } else {
                format!("intermediate #{index}")
            };
            Rejection::new(
                ChainErrorKind::Malformed,
                VerifyCode::Unspecified,
                format!("{name} cannot be read as an X.509 certificate: {err}"),
            )
        })?;
        check_certificate(&cert, role).map_err(|problem| {
            Rejection::new(
                ChainErrorKind::Constraints,
                problem.code,
                format!("{} {}", who(role, cert.subject()), problem.text),
            )
        })?;
    }
    Ok(())
}

/// The rules for a server certificate that is itself a trust anchor, byte for byte (an
/// imported self-signed certificate; RFC 5280 section 6.1.1 (d) makes the anchor the start of
/// the path, so the path is that certificate alone). Its validity window and profile as an
/// anchor are checked (`anchor`), then the server-certificate rules that do not depend on
/// having an issuer: key type and size, serial number, the extended key usage (serverAuth,
/// as webpki would require), and the names. A CA:TRUE certificate is accepted in that role,
/// as `openssl req -x509` makes them.
pub(crate) fn check_pinned_leaf(
    der: &[u8],
    anchor: &AnchorProfile,
    at_unix_seconds: u64,
) -> Result<(), Rejection> {
    anchor.check(der, false, at_unix_seconds)?;
    let cert = parse(der).map_err(|err| {
        Rejection::new(
            ChainErrorKind::Malformed,
            VerifyCode::Unspecified,
            format!("the server certificate cannot be read as an X.509 certificate: {err}"),
        )
    })?;
    let rules = || -> Result<(), Problem> {
        check_public_key(cert.public_key())?;
        check_serial(cert.raw_serial())?;
        let exts = Extensions::collect(cert.extensions())?;
        let purpose = Problem::coded(VerifyCode::InvalidPurpose);
        check_leaf_ext_key_usage(exts.ext_key_usage).map_err(purpose)?;
        check_leaf_server_auth(exts.ext_key_usage).map_err(purpose)?;
        let subject_empty = cert.subject().iter().next().is_none();
        if let Some(san) = check_subject_alt_name(exts.subject_alt_name, subject_empty, Role::Leaf)?
        {
            check_leaf_san_names(&san)?;
            check_leaf_common_name(cert.subject(), &san)?;
        }
        Ok(())
    };
    rules().map_err(|problem| {
        Rejection::new(
            ChainErrorKind::Constraints,
            problem.code,
            format!("the server certificate (a trust anchor) {}", problem.text),
        )
    })
}

/// All the rules for one certificate in `role`. Rules about extensions apply to trust anchors
/// only when they are X.509 v3 certificates: a v1 anchor is a bare trusted key with a name.
///
/// The OpenSSL codes: a CA certificate (an intermediate or the anchor) whose basic
/// constraints or key usage break their rules is no valid CA for OpenSSL either
/// ([`VerifyCode::InvalidCa`]), a server certificate's extended key usage rules are its
/// purpose ([`VerifyCode::InvalidPurpose`]), an anchor's unknown critical extension is
/// [`VerifyCode::UnhandledCriticalExtension`]; the rest is [`VerifyCode::Unspecified`].
fn check_certificate(cert: &X509Certificate<'_>, role: Role) -> Result<(), Problem> {
    check_public_key(cert.public_key())?;
    if role != Role::Anchor {
        check_serial(cert.raw_serial())?;
    }
    if role == Role::Anchor && cert.version() != X509Version::V3 {
        return Ok(());
    }
    let exts = Extensions::collect(cert.extensions())?;
    let self_issued = cert.subject().as_raw() == cert.issuer().as_raw();
    let basic_constraints = exts
        .basic_constraints
        .map(|ext| decode::<BasicConstraints>(ext, "basic constraints", "4.2.1.9"))
        .transpose()?;
    let is_ca = basic_constraints.as_ref().is_some_and(|bc| bc.ca);

    let ca_rule = Problem::coded(if role == Role::Leaf {
        VerifyCode::Unspecified
    } else {
        VerifyCode::InvalidCa
    });
    check_basic_constraints(exts.basic_constraints, is_ca, role).map_err(ca_rule)?;
    check_key_usage(exts.key_usage, is_ca).map_err(ca_rule)?;
    check_subject_key_id(exts.subject_key_id, is_ca, role)?;
    check_authority_key_id(&exts, self_issued, role)?;
    check_name_constraints(exts.name_constraints, is_ca)?;
    check_policy_constraints(exts.policy_constraints)?;
    check_authority_info_access(exts.authority_info_access)?;
    let subject_empty = cert.subject().iter().next().is_none();
    if is_ca && subject_empty {
        return Err(
            "is a CA certificate with an empty subject; RFC 5280 section 4.1.2.6 \
             requires a non-empty distinguished name in every CA certificate"
                .into(),
        );
    }
    let san = check_subject_alt_name(exts.subject_alt_name, subject_empty, role)?;
    match role {
        Role::Leaf => {
            check_leaf_ext_key_usage(exts.ext_key_usage)
                .map_err(Problem::coded(VerifyCode::InvalidPurpose))?;
            if let Some(san) = &san {
                check_leaf_san_names(san)?;
                check_leaf_common_name(cert.subject(), san)?;
            }
        }
        Role::Intermediate => {}
        Role::Anchor => {
            if let Some(ext) = exts.unknown_critical {
                return Err(Problem {
                    code: VerifyCode::UnhandledCriticalExtension,
                    text: format!(
                        "has a critical extension {} that is not understood; RFC 5280 section \
                         4.2 requires rejecting a certificate with an unrecognised critical \
                         extension",
                        ext.oid.to_id_string()
                    )
                    .into(),
                });
            }
            if self_issued && exts.ext_key_usage.is_some() {
                return Err(
                    "is a root CA certificate with an extended key usage extension; \
                     the CA/Browser Forum Baseline Requirements section 7.1.2.1.2 \
                     forbid it in root CA certificates"
                        .into(),
                );
            }
        }
    }
    Ok(())
}

/// RFC 5280 section 4.1.2.2: "The serial number MUST be a positive integer" and "Conforming
/// CAs MUST NOT use serialNumber values longer than 20 octets." `raw` is the INTEGER's
/// content octets.
fn check_serial(raw: &[u8]) -> Rule {
    if raw.len() > 20 {
        return Err(format!(
            "has a {}-octet serial number; RFC 5280 section 4.1.2.2 allows at most 20 octets",
            raw.len()
        )
        .into());
    }
    if raw.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(
            "has a negative serial number; RFC 5280 section 4.1.2.2 requires a \
             positive integer"
                .into(),
        );
    }
    if raw.iter().all(|&b| b == 0) {
        return Err(
            "has a serial number of zero; RFC 5280 section 4.1.2.2 requires a \
             positive integer"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn check_chain(path: &[&[u8]], at: u64) -> Result<(), Rejection> {
        let root = testdata::root();
        check_path(path, &root, &AnchorProfile::of(&root), at)
    }

    #[test]
    fn conforming_chain_passes() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        assert_eq!(check_chain(&[&leaf, &int], testdata::NOW), Ok(()));
        // No subjectAltName: the common name rules do not apply.
        let cn_only = testdata::cn_only();
        assert_eq!(check_chain(&[&cn_only, &int], testdata::NOW), Ok(()));
    }

    #[test]
    fn unreadable_input_is_rejected_without_panic() {
        let anchor = AnchorProfile::of(b"garbage");
        let leaf = testdata::leaf();
        let err = check_path(&[&leaf], b"garbage", &anchor, testdata::NOW).expect_err("junk");
        assert_eq!(err.kind, ChainErrorKind::Malformed, "{err:?}");
        assert_eq!(err.code, VerifyCode::Unspecified);
        let err = check_chain(&[b"\x30\x03\x02\x01\x01"], testdata::NOW).expect_err("junk");
        assert!(
            err.reason
                .starts_with("the server certificate cannot be read"),
            "{err:?}"
        );
        assert_eq!(err.kind, ChainErrorKind::Malformed);
        let err = check_chain(&[&leaf, b""], testdata::NOW).expect_err("junk");
        assert!(
            err.reason.starts_with("intermediate #1 cannot be read"),
            "{err:?}"
        );
        assert_eq!(err.kind, ChainErrorKind::Malformed);
        assert_eq!(check_chain(&[], testdata::NOW), Ok(()));
    }

    #[test]
    fn a_broken_rule_is_a_constraints_rejection() {
        let (mut leaf, int) = (testdata::leaf(), testdata::intermediate());
        // The leaf's serial 00 c0 ff ee made negative, 80 c0 ff ee (signatures are not
        // checked here).
        let at = leaf
            .windows(6)
            .position(|window| window == [0x02, 0x04, 0x00, 0xc0, 0xff, 0xee])
            .expect("the leaf's serial");
        leaf[at + 2] = 0x80;
        let err = check_chain(&[&leaf, &int], testdata::NOW).expect_err("negative serial");
        assert_eq!(err.kind, ChainErrorKind::Constraints);
        assert_eq!(
            err.code,
            VerifyCode::Unspecified,
            "OpenSSL has no code for it"
        );
        assert!(
            err.reason
                .starts_with("the server certificate has a negative serial number"),
            "{err:?}"
        );
    }

    #[test]
    fn problems_default_to_unspecified() {
        let plain: Problem = "has a rule broken".into();
        assert_eq!(plain.code, VerifyCode::Unspecified);
        let owned: Problem = format!("has {} rules broken", 2).into();
        assert_eq!(owned.text, "has 2 rules broken");
        let coded = Problem::coded(VerifyCode::InvalidCa)("is no CA".into());
        assert_eq!(
            coded,
            Problem {
                code: VerifyCode::InvalidCa,
                text: "is no CA".into()
            }
        );
    }

    #[test]
    fn serial_numbers() {
        assert!(check_serial(&[0x01]).is_ok());
        assert!(check_serial(&[0x00, 0xc0, 0xff, 0xee]).is_ok());
        assert!(check_serial(&[0x7f; 20]).is_ok());
        let too_long = check_serial(&[0x7f; 21]).expect_err("21 octets");
        assert!(too_long.contains("21-octet"), "{too_long}");
        assert!(check_serial(&[0x00]).expect_err("zero").contains("zero"));
        assert!(check_serial(&[]).is_err());
        assert!(
            check_serial(&[0x80, 0x01])
                .expect_err("negative")
                .contains("negative")
        );
    }

    #[test]
    fn messages_name_the_certificate() {
        let root = testdata::root();
        let cert = parse(&root).expect("root parses");
        assert_eq!(who(Role::Leaf, cert.subject()), "the server certificate");
        assert_eq!(
            who(Role::Intermediate, cert.subject()),
            "the intermediate \"CN=certpolicy test root,O=certpolicy test\""
        );
        assert_eq!(
            who(Role::Anchor, cert.subject()),
            "the trust anchor \"CN=certpolicy test root,O=certpolicy test\""
        );
    }
}
