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

use std::borrow::Cow;
use std::net::IpAddr;

use x509_parser::certificate::{X509Certificate, X509CertificateParser};
use x509_parser::error::X509Error;
use x509_parser::extensions::{
    AuthorityInfoAccess, AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, GeneralName,
    KeyIdentifier, KeyUsage, NameConstraints, SubjectAlternativeName, X509Extension,
};
use x509_parser::nom::Parser as _;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_DSA, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_PKIX_AUTHORITY_INFO_ACCESS, OID_SIG_ED25519,
    OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER, OID_X509_EXT_BASIC_CONSTRAINTS,
    OID_X509_EXT_CERTIFICATE_POLICIES, OID_X509_EXT_CRL_DISTRIBUTION_POINTS,
    OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_INHIBIT_ANY_POLICY, OID_X509_EXT_KEY_USAGE,
    OID_X509_EXT_NAME_CONSTRAINTS, OID_X509_EXT_POLICY_CONSTRAINTS, OID_X509_EXT_POLICY_MAPPINGS,
    OID_X509_EXT_SUBJECT_ALT_NAME, OID_X509_EXT_SUBJECT_KEY_IDENTIFIER, Oid,
};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name, X509Version};

/// The outcome of one rule: `Err` holds what is wrong, phrased to follow the certificate's
/// name ("has no ...; RFC 5280 section ... requires ...").
type Rule = Result<(), Cow<'static, str>>;

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

/// What the trust store keeps about each anchor for [`check_path`], computed once when the
/// anchor is added: its validity window (RFC 5280 section 4.1.2.5) and the first profile rule
/// it breaks, if any.
#[derive(Debug, Clone)]
pub(crate) struct AnchorProfile {
    /// notBefore, seconds since the Unix epoch.
    not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    not_after: i64,
    /// The full rejection message when the anchor breaks a rule; `None` when it conforms.
    violation: Option<Box<str>>,
}

impl AnchorProfile {
    /// Reads the profile facts of a trust anchor's certificate. Never fails: an anchor that
    /// cannot be read records that as its violation.
    pub(crate) fn of(der: &[u8]) -> Self {
        let cert = match parse(der) {
            Ok(cert) => cert,
            Err(err) => {
                return Self {
                    not_before: i64::MIN,
                    not_after: i64::MAX,
                    violation: Some(
                        format!("the trust anchor cannot be read as an X.509 certificate: {err}")
                            .into(),
                    ),
                };
            }
        };
        let validity = cert.validity();
        Self {
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            violation: check_certificate(&cert, Role::Anchor)
                .err()
                .map(|problem| format!("{} {problem}", who(Role::Anchor, cert.subject())).into()),
        }
    }

    /// RFC 5280 section 6.1.1 (d) and 4.1.2.5: the anchor's own rules and its validity at
    /// `at` (as OpenSSL, BoringSSL and the Web PKI clients check it).
    ///
    /// `issues_path` is false when the anchor is the server certificate itself (a directly
    /// trusted, pinned certificate): it then acts as no CA, so the CA rules of its profile do
    /// not apply; the server certificate rules do.
    fn check(
        &self,
        anchor_der: &[u8],
        issues_path: bool,
        at_unix_seconds: u64,
    ) -> Result<(), String> {
        if let (Some(violation), true) = (&self.violation, issues_path) {
            return Err(violation.to_string());
        }
        let at = i64::try_from(at_unix_seconds).unwrap_or(i64::MAX);
        if at < self.not_before || at > self.not_after {
            let subject = match parse(anchor_der) {
                Ok(cert) => crate::dn::rfc4514(cert.subject()),
                Err(_) => "<unreadable certificate>".to_owned(),
            };
            let (what, when) = if at < self.not_before {
                ("is not valid before", self.not_before)
            } else {
                ("expired at", self.not_after)
            };
            return Err(format!(
                "the trust anchor \"{subject}\" {what} {} (checked at {}); RFC 5280 section \
                 4.1.2.5: a certificate is only valid within its validity period",
                crate::timefmt::rfc3339(when),
                crate::timefmt::rfc3339(at)
            ));
        }
        Ok(())
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
/// computed from it; `at_unix_seconds` the validation time. Returns the reason when the path
/// must be rejected, naming the certificate and the rule it breaks.
pub(crate) fn check_path(
    path: &[&[u8]],
    anchor_der: &[u8],
    anchor: &AnchorProfile,
    at_unix_seconds: u64,
) -> Result<(), String> {
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
            format!("{name} cannot be read as an X.509 certificate: {err}")
        })?;
        check_certificate(&cert, role)
            .map_err(|problem| format!("{} {problem}", who(role, cert.subject())))?;
    }
    Ok(())
}

/// The extensions the rules read, found in one pass over the certificate's extensions.
#[derive(Default)]
struct Extensions<'c, 'a> {
    authority_key_id: Option<&'c X509Extension<'a>>,
    subject_key_id: Option<&'c X509Extension<'a>>,
    key_usage: Option<&'c X509Extension<'a>>,
    subject_alt_name: Option<&'c X509Extension<'a>>,
    basic_constraints: Option<&'c X509Extension<'a>>,
    name_constraints: Option<&'c X509Extension<'a>>,
    policy_constraints: Option<&'c X509Extension<'a>>,
    ext_key_usage: Option<&'c X509Extension<'a>>,
    authority_info_access: Option<&'c X509Extension<'a>>,
    /// The first critical extension that neither webpki nor these rules process.
    unknown_critical: Option<&'c X509Extension<'a>>,
}

impl<'c, 'a> Extensions<'c, 'a> {
    /// RFC 5280 section 4.2: "A certificate MUST NOT include more than one instance of a
    /// particular extension."
    fn collect(extensions: &'c [X509Extension<'a>]) -> Result<Self, Cow<'static, str>> {
        let mut found = Self::default();
        for ext in extensions {
            let oid = &ext.oid;
            let slot = if *oid == OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER {
                &mut found.authority_key_id
            } else if *oid == OID_X509_EXT_SUBJECT_KEY_IDENTIFIER {
                &mut found.subject_key_id
            } else if *oid == OID_X509_EXT_KEY_USAGE {
                &mut found.key_usage
            } else if *oid == OID_X509_EXT_SUBJECT_ALT_NAME {
                &mut found.subject_alt_name
            } else if *oid == OID_X509_EXT_BASIC_CONSTRAINTS {
                &mut found.basic_constraints
            } else if *oid == OID_X509_EXT_NAME_CONSTRAINTS {
                &mut found.name_constraints
            } else if *oid == OID_X509_EXT_POLICY_CONSTRAINTS {
                &mut found.policy_constraints
            } else if *oid == OID_X509_EXT_EXTENDED_KEY_USAGE {
                &mut found.ext_key_usage
            } else if *oid == OID_PKIX_AUTHORITY_INFO_ACCESS {
                &mut found.authority_info_access
            } else {
                if ext.critical && found.unknown_critical.is_none() && !is_known_extension(oid) {
                    found.unknown_critical = Some(ext);
                }
                continue;
            };
            if slot.replace(ext).is_some() {
                return Err(format!(
                    "has more than one {} extension; RFC 5280 section 4.2 allows each \
                     extension at most once",
                    oid.to_id_string()
                )
                .into());
            }
        }
        Ok(found)
    }
}

/// Extensions a relying party processes or may safely ignore when critical: the policy
/// extensions (RFC 5280 sections 4.2.1.4, 4.2.1.5, 4.2.1.14) and CRL distribution points
/// (section 4.2.1.13), which the revocation checks read.
fn is_known_extension(oid: &Oid<'_>) -> bool {
    *oid == OID_X509_EXT_CERTIFICATE_POLICIES
        || *oid == OID_X509_EXT_POLICY_MAPPINGS
        || *oid == OID_X509_EXT_INHIBIT_ANY_POLICY
        || *oid == OID_X509_EXT_CRL_DISTRIBUTION_POINTS
}

/// Decodes an extension's value, which must be exactly one `T`.
fn decode<'a, T: FromDer<'a, X509Error>>(
    ext: &X509Extension<'a>,
    name: &str,
    section: &str,
) -> Result<T, Cow<'static, str>> {
    match T::from_der(ext.value) {
        Ok(([], value)) => Ok(value),
        _ => Err(format!(
            "has a malformed {name} extension (RFC 5280 section {section} defines its syntax)"
        )
        .into()),
    }
}

/// All the rules for one certificate in `role`. Rules about extensions apply to trust anchors
/// only when they are X.509 v3 certificates: a v1 anchor is a bare trusted key with a name.
fn check_certificate(cert: &X509Certificate<'_>, role: Role) -> Rule {
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

    check_basic_constraints(exts.basic_constraints, is_ca, role)?;
    check_key_usage(exts.key_usage, is_ca)?;
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
            check_leaf_ext_key_usage(exts.ext_key_usage)?;
            if let Some(san) = &san {
                check_leaf_san_names(san)?;
                check_leaf_common_name(cert.subject(), san)?;
            }
        }
        Role::Intermediate => {}
        Role::Anchor => {
            if let Some(ext) = exts.unknown_critical {
                return Err(format!(
                    "has a critical extension {} that is not understood; RFC 5280 section \
                     4.2 requires rejecting a certificate with an unrecognised critical \
                     extension",
                    ext.oid.to_id_string()
                )
                .into());
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

/// BR section 6.1.5 (key sizes) and 7.1.3.1 (SubjectPublicKeyInfo): RSA keys of at least
/// 2048 bits whose modulus size is a multiple of 8, ECDSA keys on P-256, P-384 or P-521, and
/// Ed25519 keys (which the signature algorithms of this library accept). DSA and every other
/// key type are refused.
fn check_public_key(spki: &SubjectPublicKeyInfo<'_>) -> Rule {
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let bits = match spki.parsed() {
            Ok(PublicKey::RSA(key)) => modulus_bits(key.modulus),
            _ => None,
        };
        return match bits {
            None => Err("has a malformed RSA public key (RFC 3279 section 2.3.1)".into()),
            Some(bits) if bits < 2048 => Err(format!(
                "has a {bits}-bit RSA key; the CA/Browser Forum Baseline Requirements section \
                 6.1.5 require at least 2048 bits"
            )
            .into()),
            Some(bits) if bits % 8 != 0 => Err(format!(
                "has a {bits}-bit RSA key; the CA/Browser Forum Baseline Requirements section \
                 6.1.5 require a modulus size in bits divisible by 8"
            )
            .into()),
            Some(_) => Ok(()),
        };
    }
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|params| Oid::try_from(params).ok());
        return match curve {
            Some(curve)
                if curve == OID_EC_P256
                    || curve == OID_NIST_EC_P384
                    || curve == OID_NIST_EC_P521 =>
            {
                Ok(())
            }
            Some(curve) => Err(format!(
                "has an ECDSA key on curve {}; the CA/Browser Forum Baseline Requirements \
                 section 6.1.5 allow only P-256, P-384 and P-521",
                curve.to_id_string()
            )
            .into()),
            None => Err(
                "has an ECDSA key without a named curve; RFC 5480 section 2.1.1 \
                 requires one, and the CA/Browser Forum Baseline Requirements section \
                 6.1.5 allow only P-256, P-384 and P-521"
                    .into(),
            ),
        };
    }
    if *algorithm == OID_SIG_ED25519 {
        return Ok(());
    }
    if *algorithm == OID_KEY_TYPE_DSA {
        return Err(
            "has a DSA key; the CA/Browser Forum Baseline Requirements section 6.1.5 \
             allow only RSA and ECDSA keys"
                .into(),
        );
    }
    Err(format!(
        "has a public key of unsupported type {}; the CA/Browser Forum Baseline Requirements \
         section 6.1.5 allow only RSA and ECDSA keys",
        algorithm.to_id_string()
    )
    .into())
}

/// The size in bits of a DER INTEGER's content octets read as an RSA modulus; `None` when it
/// is negative or zero.
fn modulus_bits(modulus: &[u8]) -> Option<usize> {
    if modulus.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let start = modulus.iter().position(|&b| b != 0)?;
    let significant = modulus.get(start..)?;
    let first = *significant.first()?;
    Some(significant.len() * 8 - first.leading_zeros() as usize)
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

/// RFC 5280 section 4.2.1.9: CAs "MUST include this extension in all CA certificates that
/// contain public keys used to validate digital signatures on certificates and MUST mark the
/// extension as critical in such certificates." webpki already requires cA in intermediates;
/// a v3 trust anchor must carry the extension too.
fn check_basic_constraints(ext: Option<&X509Extension<'_>>, is_ca: bool, role: Role) -> Rule {
    match ext {
        None if role == Role::Anchor => Err("has no basic constraints extension; RFC 5280 \
             section 4.2.1.9 requires it in every CA certificate"
            .into()),
        Some(ext) if is_ca && !ext.critical => Err("has a non-critical basic constraints \
             extension; RFC 5280 section 4.2.1.9 requires it to be critical in CA certificates"
            .into()),
        _ => Ok(()),
    }
}

/// RFC 5280 sections 4.2.1.3 and 4.2.1.9: keyCertSign requires the cA bit ("If the cA
/// boolean is not asserted, then the keyCertSign bit in the key usage extension MUST NOT be
/// asserted"), and a CA certificate whose key usage is restricted must allow keyCertSign, or
/// its key cannot sign the certificates it is trusted for.
fn check_key_usage(ext: Option<&X509Extension<'_>>, is_ca: bool) -> Rule {
    let Some(ext) = ext else {
        return Ok(());
    };
    let key_usage = decode::<KeyUsage>(ext, "key usage", "4.2.1.3")?;
    match (key_usage.key_cert_sign(), is_ca) {
        (true, false) => Err(
            "asserts keyCertSign in its key usage without being a CA; RFC \
             5280 section 4.2.1.9 forbids keyCertSign unless the cA bit is set"
                .into(),
        ),
        (false, true) => Err("is a CA certificate whose key usage does not allow \
             keyCertSign; RFC 5280 sections 4.2.1.3 and 4.2.1.9 tie the cA bit to the \
             keyCertSign bit"
            .into()),
        _ => Ok(()),
    }
}

/// RFC 5280 section 4.2.1.2: the subject key identifier "MUST appear in all conforming CA
/// certificates" and "Conforming CAs MUST mark this extension as non-critical."
///
/// A trust anchor without one is accepted: the identifier only helps to find an issuer, and
/// nothing is issued above an anchor. (Publicly trusted roots without it exist, such as
/// "TWCA Global Root CA".)
fn check_subject_key_id(ext: Option<&X509Extension<'_>>, is_ca: bool, role: Role) -> Rule {
    match ext {
        None if is_ca && role != Role::Anchor => Err("is a CA certificate without a subject \
             key identifier; RFC 5280 section 4.2.1.2 requires one in every CA certificate"
            .into()),
        Some(ext) if ext.critical => Err("has a critical subject key identifier extension; \
             RFC 5280 section 4.2.1.2 requires it to be non-critical"
            .into()),
        Some(ext) => decode::<KeyIdentifier>(ext, "subject key identifier", "4.2.1.2").map(|_| ()),
        None => Ok(()),
    }
}

/// RFC 5280 section 4.2.1.1: "The keyIdentifier field of the authorityKeyIdentifier
/// extension MUST be included in all certificates generated by conforming CAs", except
/// self-signed ones, and "Conforming CAs MUST mark this extension as non-critical." For a
/// root CA (a self-issued trust anchor), BR section 7.1.2.1.3: if present, keyIdentifier
/// MUST be present and equal the subjectKeyIdentifier, and authorityCertIssuer and
/// authorityCertSerialNumber MUST NOT be present.
///
/// A trust anchor that is not self-issued (a trusted cross-signed or intermediate CA) need
/// not name its issuer's key: path validation ends at the trusted key (RFC 5280 section
/// 6.1.1 (d)), so its issuer plays no part.
fn check_authority_key_id(exts: &Extensions<'_, '_>, self_issued: bool, role: Role) -> Rule {
    let Some(ext) = exts.authority_key_id else {
        if self_issued || role == Role::Anchor {
            return Ok(());
        }
        return Err(
            "has no authority key identifier; RFC 5280 section 4.2.1.1 requires one \
             in every certificate that is not self-signed"
                .into(),
        );
    };
    if ext.critical {
        return Err(
            "has a critical authority key identifier extension; RFC 5280 section \
             4.2.1.1 requires it to be non-critical"
                .into(),
        );
    }
    let aki = decode::<AuthorityKeyIdentifier>(ext, "authority key identifier", "4.2.1.1")?;
    if !self_issued {
        if aki.key_identifier.is_none() && role != Role::Anchor {
            return Err(
                "has an authority key identifier without a keyIdentifier; RFC 5280 \
                 section 4.2.1.1 requires the keyIdentifier field"
                    .into(),
            );
        }
        return Ok(());
    }
    if role != Role::Anchor {
        return Ok(());
    }
    const ROOT_AKI: &str = "the CA/Browser Forum Baseline Requirements section 7.1.2.1.3";
    if aki.authority_cert_issuer.is_some() || aki.authority_cert_serial.is_some() {
        return Err(format!(
            "is a root CA certificate whose authority key identifier has an \
             authorityCertIssuer or authorityCertSerialNumber field; {ROOT_AKI} forbid both"
        )
        .into());
    }
    let Some(key_id) = aki.key_identifier else {
        return Err(format!(
            "is a root CA certificate whose authority key identifier has no keyIdentifier; \
             {ROOT_AKI} require it"
        )
        .into());
    };
    let ski = exts
        .subject_key_id
        .map(|ext| decode::<KeyIdentifier>(ext, "subject key identifier", "4.2.1.2"))
        .transpose()?;
    if ski.is_some_and(|ski| ski.0 != key_id.0) {
        return Err(format!(
            "is a root CA certificate whose authority key identifier differs from its \
             subject key identifier; {ROOT_AKI} require them to be identical"
        )
        .into());
    }
    Ok(())
}

/// RFC 5280 section 4.2.1.10: the name constraints extension "MUST be used only in a CA
/// certificate", "either the permittedSubtrees field or the excludedSubtrees MUST be present"
/// (also BR section 7.1.2.5.2), and a dNSName constraint is a DNS name in preferred name
/// syntax (a leading period is only meaningful in URI and rfc822Name constraints).
///
/// RFC 5280 also requires the extension to be critical, but BR section 7.1.2.5.2 explicitly
/// allows a non-critical one for compatibility, and publicly-trusted technically constrained
/// CAs use that, so criticality is not enforced (webpki applies the constraints either way).
fn check_name_constraints(ext: Option<&X509Extension<'_>>, is_ca: bool) -> Rule {
    let Some(ext) = ext else {
        return Ok(());
    };
    if !is_ca {
        return Err(
            "has a name constraints extension without being a CA; RFC 5280 section \
             4.2.1.10 allows it only in CA certificates"
                .into(),
        );
    }
    let constraints = decode::<NameConstraints>(ext, "name constraints", "4.2.1.10")?;
    let permitted = constraints
        .permitted_subtrees
        .as_deref()
        .unwrap_or_default();
    let excluded = constraints.excluded_subtrees.as_deref().unwrap_or_default();
    if permitted.is_empty() && excluded.is_empty() {
        return Err(
            "has a name constraints extension with neither permitted nor excluded \
             subtrees; RFC 5280 section 4.2.1.10 requires at least one"
                .into(),
        );
    }
    for subtree in permitted.iter().chain(excluded) {
        if let GeneralName::DNSName(name) = subtree.base {
            if !name.is_empty() && !is_dns_name(name, false) {
                return Err(format!(
                    "has a name constraint on the invalid DNS name \"{}\"; RFC 5280 section \
                     4.2.1.10 requires dNSName constraints in preferred name syntax, \
                     without a leading period",
                    name.escape_debug()
                )
                .into());
            }
        }
    }
    Ok(())
}

/// RFC 5280 section 4.2.1.11: "Conforming CAs MUST mark this extension as critical."
fn check_policy_constraints(ext: Option<&X509Extension<'_>>) -> Rule {
    match ext {
        Some(ext) if !ext.critical => Err("has a non-critical policy constraints extension; \
             RFC 5280 section 4.2.1.11 requires it to be critical"
            .into()),
        _ => Ok(()),
    }
}

/// RFC 5280 section 4.2.2.1: AuthorityInfoAccessSyntax ::= SEQUENCE SIZE (1..MAX) OF
/// AccessDescription (BR section 7.1.2.7.7: it "MUST contain one or more
/// AccessDescriptions").
fn check_authority_info_access(ext: Option<&X509Extension<'_>>) -> Rule {
    let Some(ext) = ext else {
        return Ok(());
    };
    let aia = decode::<AuthorityInfoAccess>(ext, "authority information access", "4.2.2.1")?;
    if aia.accessdescs.is_empty() {
        return Err(
            "has an empty authority information access extension; RFC 5280 section \
             4.2.2.1 requires at least one access description"
                .into(),
        );
    }
    Ok(())
}

/// RFC 5280 section 4.2.1.6: "If the subject field contains an empty sequence, then the
/// issuing CA MUST include a subjectAltName extension that is marked as critical." For the
/// server certificate, BR section 7.1.2.7.12 adds that the extension MUST NOT be critical
/// when the subject is not empty. Returns the decoded names.
fn check_subject_alt_name<'a>(
    ext: Option<&X509Extension<'a>>,
    subject_empty: bool,
    role: Role,
) -> Result<Option<SubjectAlternativeName<'a>>, Cow<'static, str>> {
    let Some(ext) = ext else {
        if subject_empty && role == Role::Leaf {
            return Err(
                "has neither a subject nor a subjectAltName extension; RFC 5280 \
                 section 4.2.1.6 requires a critical subjectAltName when the subject \
                 is empty"
                    .into(),
            );
        }
        return Ok(None);
    };
    if subject_empty && !ext.critical {
        return Err(
            "has an empty subject and a non-critical subjectAltName extension; RFC \
             5280 section 4.2.1.6 requires it to be critical when the subject is empty"
                .into(),
        );
    }
    if !subject_empty && ext.critical && role == Role::Leaf {
        return Err(
            "has a critical subjectAltName extension and a non-empty subject; the \
             CA/Browser Forum Baseline Requirements section 7.1.2.7.12 require it to \
             be non-critical then"
                .into(),
        );
    }
    decode::<SubjectAlternativeName>(ext, "subjectAltName", "4.2.1.6").map(Some)
}

/// BR section 7.1.2.7.10 and the extensions table of section 7.1.2.7.6: the extended key
/// usage extension of a server certificate MUST NOT be critical and MUST NOT contain
/// anyExtendedKeyUsage. (webpki checks that serverAuth is present when the extension is.)
///
/// The Baseline Requirements also make the extension mandatory, but RFC 5280 section
/// 4.2.1.12 does not, and certificates of private CAs often omit it: a missing extension
/// stays accepted, as by webpki, OpenSSL and Go.
fn check_leaf_ext_key_usage(ext: Option<&X509Extension<'_>>) -> Rule {
    let Some(ext) = ext else {
        return Ok(());
    };
    if ext.critical {
        return Err(
            "has a critical extended key usage extension; the CA/Browser Forum \
             Baseline Requirements section 7.1.2.7.6 require it to be non-critical"
                .into(),
        );
    }
    let eku = decode::<ExtendedKeyUsage>(ext, "extended key usage", "4.2.1.12")?;
    if eku.any {
        return Err(
            "lists anyExtendedKeyUsage in its extended key usage; the CA/Browser \
             Forum Baseline Requirements section 7.1.2.7.10 forbid it in server \
             certificates"
                .into(),
        );
    }
    Ok(())
}

/// RFC 5280 section 4.2.1.6: a dNSName "MUST be in the 'preferred name syntax', as specified
/// by Section 3.5 of [RFC1034] and as modified by Section 2.1 of [RFC1123]" (letters, digits
/// and hyphens; no underscore). BR sections 7.1.2.7.12 and 3.2.2.6: a wildcard is only a
/// whole left-most `*` label, and never directly in front of a public suffix. Section 3.2.2.6
/// says to consult the ICANN section of the Public Suffix List only, not its private section
/// (whose owners, such as `s3.amazonaws.com`, get wildcard certificates for their namespace).
fn check_leaf_san_names(san: &SubjectAlternativeName<'_>) -> Rule {
    for name in &san.general_names {
        match name {
            GeneralName::DNSName(dns) => {
                if !is_dns_name(dns, true) {
                    return Err(format!(
                        "has the subjectAltName \"{}\", which is not a valid DNS name; RFC \
                         5280 section 4.2.1.6 requires the preferred name syntax of RFC 1034 \
                         section 3.5 (letters, digits and hyphens)",
                        dns.escape_debug()
                    )
                    .into());
                }
                if let Some(base) = dns.strip_prefix("*.") {
                    if is_public_suffix(base) {
                        return Err(format!(
                            "has the wildcard subjectAltName \"{dns}\" on the public suffix \
                             \"{base}\"; the CA/Browser Forum Baseline Requirements section \
                             3.2.2.6 forbid wildcards directly under a public suffix"
                        )
                        .into());
                    }
                }
            }
            GeneralName::IPAddress(bytes) if bytes.len() != 4 && bytes.len() != 16 => {
                return Err(
                    "has an iPAddress subjectAltName that is neither 4 nor 16 octets; \
                     RFC 5280 section 4.2.1.6 defines only those"
                        .into(),
                );
            }
            GeneralName::Invalid(..) => {
                return Err(
                    "has a malformed subjectAltName entry (RFC 5280 section 4.2.1.6)".into(),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// Is `name` (a valid ASCII DNS name, lowercased here) exactly a public suffix of the ICANN
/// section of the Public Suffix List (BR section 3.2.2.6)?
fn is_public_suffix(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    psl::suffix(lower.as_bytes()).is_some_and(|suffix| {
        suffix.typ() == Some(psl::Type::Icann) && suffix.as_bytes().len() == lower.len()
    })
}

/// RFC 1034 section 3.5 as modified by RFC 1123 section 2.1: labels of 1 to 63 letters,
/// digits and hyphens, not starting or ending with a hyphen; at most 253 octets. With
/// `wildcard`, the left-most label may be exactly `*` (BR section 7.1.2.7.12).
fn is_dns_name(name: &str, wildcard: bool) -> bool {
    let name = if wildcard {
        name.strip_prefix("*.").unwrap_or(name)
    } else {
        name
    };
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// BR section 7.1.4.3: a subject common name of a server certificate "MUST be encoded as a
/// character-for-character copy of the dNSName entry value from the subjectAltName
/// extension", an IPv4 address in the dotted-decimal text of RFC 3986 section 3.2.2 and an
/// IPv6 address in the text of RFC 5952 section 4. A common name that names one of the
/// subjectAltName values in another spelling (other letter case, a U-label for an A-label,
/// hexadecimal or zero-padded IPv4, uppercase or uncompressed IPv6) is rejected: clients that
/// still read the common name could disagree about which host it names. So is a domain name
/// in Unicode form: "P-Labels MUST NOT be converted to their Unicode representation", and a
/// dNSName is always ASCII.
///
/// The section also requires the common name to be one of the subjectAltName values at all;
/// that part is not enforced, because certificates whose common name is an unrelated label
/// (private CAs, test PKIs) are common and the subjectAltName alone decides the identity
/// (RFC 6125 section 6.4.4).
fn check_leaf_common_name(subject: &X509Name<'_>, san: &SubjectAlternativeName<'_>) -> Rule {
    for attribute in subject.iter_common_name() {
        let Ok(cn) = attribute.as_str() else {
            continue;
        };
        let exact = san.general_names.iter().any(|name| match name {
            GeneralName::DNSName(dns) => *dns == cn,
            GeneralName::IPAddress(bytes) => ip_text(bytes).is_some_and(|text| text == cn),
            _ => false,
        });
        if exact {
            continue;
        }
        if is_unicode_domain_name(cn) {
            return Err(format!(
                "has the subject common name \"{}\", a domain name in Unicode form; the \
                 CA/Browser Forum Baseline Requirements section 7.1.4.3 require a \
                 character-for-character copy of a subjectAltName dNSName, whose \
                 internationalised labels are always in ASCII (xn--) form",
                cn.escape_debug()
            )
            .into());
        }
        if let Some(value) = san
            .general_names
            .iter()
            .find_map(|name| denoted_by(cn, name))
        {
            return Err(format!(
                "has the subject common name \"{}\", which names its subjectAltName \"{value}\" \
                 but is not a character-for-character copy of it; the CA/Browser Forum \
                 Baseline Requirements section 7.1.4.3 require an exact copy (RFC 5952 text \
                 for IPv6 addresses, dotted decimal for IPv4)",
                cn.escape_debug()
            )
            .into());
        }
    }
    Ok(())
}

/// Is `cn` a multi-label domain name written with Unicode (U-label) characters, one that
/// IDNA (UTS #46) turns into a valid ASCII DNS name?
fn is_unicode_domain_name(cn: &str) -> bool {
    !cn.is_ascii()
        && cn.contains('.')
        && !cn.chars().any(char::is_whitespace)
        && idna::domain_to_ascii(cn).is_ok_and(|ascii| is_dns_name(&ascii, true))
}

/// The text of a subjectAltName value when the common name `cn` denotes the same DNS name
/// (ignoring letter case, a trailing dot and IDNA encoding) or IP address (in any common
/// spelling).
fn denoted_by(cn: &str, name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::DNSName(dns) => {
            let bare = cn.strip_suffix('.').unwrap_or(cn);
            let same = bare.eq_ignore_ascii_case(dns)
                || (!bare.is_ascii()
                    && idna::domain_to_ascii(bare)
                        .is_ok_and(|ascii| ascii.eq_ignore_ascii_case(dns)));
            same.then(|| dns.escape_debug().to_string())
        }
        GeneralName::IPAddress(bytes) => {
            let address = ip_text(bytes)?;
            let parsed = match bytes.len() {
                4 => lenient_ipv4(cn).map(|octets| octets.as_slice() == *bytes),
                _ => cn
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::Ipv6Addr>()
                    .ok()
                    .map(|ip| ip.octets().as_slice() == *bytes),
            };
            parsed.unwrap_or(false).then_some(address)
        }
        _ => None,
    }
}

/// Reads an IPv4 address the lenient way of inet_aton(3): one to four dot-separated parts,
/// each decimal (leading zeros allowed) or `0x` hexadecimal, the last part filling the
/// remaining octets.
fn lenient_ipv4(text: &str) -> Option<[u8; 4]> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        let value = match part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            Some(hex) if !hex.is_empty() && hex.len() <= 8 => u32::from_str_radix(hex, 16).ok()?,
            Some(_) => return None,
            None if !part.is_empty()
                && part.len() <= 10
                && part.bytes().all(|b| b.is_ascii_digit()) =>
            {
                part.parse::<u32>().ok()?
            }
            None => return None,
        };
        values.push(value);
    }
    let (last, leading) = values.split_last()?;
    if leading.iter().any(|&v| v > 255) {
        return None;
    }
    let remaining_bits = 8 * (4 - leading.len() as u32);
    if remaining_bits < 32 && *last >= 1u32 << remaining_bits {
        return None;
    }
    let mut address: u32 = *last;
    for (index, &value) in leading.iter().enumerate() {
        address |= value << (24 - 8 * index as u32);
    }
    Some(address.to_be_bytes())
}

/// The canonical text of an iPAddress value: dotted decimal without leading zeros for IPv4
/// (RFC 3986 section 3.2.2), RFC 5952 section 4 for IPv6 (which Rust's formatting follows).
fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| IpAddr::from(b).to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn check_chain(path: &[&[u8]], at: u64) -> Result<(), String> {
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
        assert!(AnchorProfile::of(&testdata::root()).violation.is_none());
    }

    #[test]
    fn anchor_validity_is_checked() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let err = check_chain(&[&leaf, &int], testdata::LATER).expect_err("expired anchor");
        assert!(
            err.contains("the trust anchor \"CN=certpolicy test root"),
            "{err}"
        );
        assert!(err.contains("expired at"), "{err}");
        assert!(err.contains("4.1.2.5"), "{err}");
        let err = check_chain(&[&leaf, &int], 0).expect_err("not yet valid");
        assert!(err.contains("is not valid before"), "{err}");
    }

    #[test]
    fn unreadable_input_is_rejected_without_panic() {
        let anchor = AnchorProfile::of(b"garbage");
        assert!(anchor.violation.is_some());
        let leaf = testdata::leaf();
        assert!(check_path(&[&leaf], b"garbage", &anchor, testdata::NOW).is_err());
        let err = check_chain(&[b"\x30\x03\x02\x01\x01"], testdata::NOW).expect_err("junk");
        assert!(
            err.starts_with("the server certificate cannot be read"),
            "{err}"
        );
        let err = check_chain(&[&leaf, b""], testdata::NOW).expect_err("junk");
        assert!(err.starts_with("intermediate #1 cannot be read"), "{err}");
        assert_eq!(check_chain(&[], testdata::NOW), Ok(()));
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
    fn rsa_modulus_sizes() {
        let mut modulus = vec![0x00, 0x80];
        modulus.extend([0u8; 255]);
        assert_eq!(modulus_bits(&modulus), Some(2048));
        assert_eq!(modulus_bits(&modulus[1..]), None, "negative");
        let mut odd = vec![0x00, 0x0f];
        odd.extend([0xffu8; 256]);
        assert_eq!(modulus_bits(&odd), Some(2052));
        assert_eq!(modulus_bits(&[0x00, 0x00]), None);
        assert_eq!(modulus_bits(&[]), None);
    }

    #[test]
    fn dns_name_syntax() {
        for good in [
            "example.com",
            "a-b.example",
            "xn--bcher-kva.example",
            "1.example",
            "EXAMPLE.com",
        ] {
            assert!(is_dns_name(good, false), "{good}");
        }
        for bad in [
            "",
            ".example.com",
            "foo_bar.example.com",
            "a..b",
            "-a.example",
            "a-.example",
            "example.com.",
            "*.example.com",
            "a b.example",
            &"a".repeat(64),
        ] {
            assert!(!is_dns_name(bad, false), "{bad}");
        }
        assert!(is_dns_name("*.example.com", true));
        assert!(!is_dns_name("*", true));
        assert!(!is_dns_name("a*.example.com", true));
        assert!(!is_dns_name("*.*.example.com", true));
    }

    #[test]
    fn public_suffixes_of_the_icann_section() {
        for suffix in ["com", "co.uk", "CO.UK"] {
            assert!(is_public_suffix(suffix), "{suffix}");
        }
        // Registrable names, unknown TLDs and the private section are not.
        for name in [
            "example.com",
            "example.co.uk",
            "s3.amazonaws.com",
            "example.invalid",
        ] {
            assert!(!is_public_suffix(name), "{name}");
        }
    }

    #[test]
    fn lenient_ipv4_spellings() {
        assert_eq!(lenient_ipv4("0xC0A80101"), Some([192, 168, 1, 1]));
        assert_eq!(lenient_ipv4("192.168.001.001"), Some([192, 168, 1, 1]));
        assert_eq!(lenient_ipv4("192.168.1.1"), Some([192, 168, 1, 1]));
        assert_eq!(lenient_ipv4("10.1"), Some([10, 0, 0, 1]));
        assert_eq!(lenient_ipv4("1.2.0x0304"), Some([1, 2, 3, 4]));
        assert_eq!(lenient_ipv4("3232235777"), Some([192, 168, 1, 1]));
        for bad in [
            "",
            "1..2",
            "256.1.1.1",
            "1.2.3.256",
            "1.2.3.4.5",
            "0x",
            "a.b.c.d",
            "99999999999",
        ] {
            assert_eq!(lenient_ipv4(bad), None, "{bad}");
        }
    }

    #[test]
    fn common_name_spellings_of_san_values() {
        let ipv6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let v6 = GeneralName::IPAddress(&ipv6);
        assert_eq!(ip_text(&ipv6).as_deref(), Some("2001:db8::1"));
        assert!(denoted_by("2001:DB8::1", &v6).is_some());
        assert!(denoted_by("2001:0db8:0000:0000:0000:0000:0000:0001", &v6).is_some());
        assert!(denoted_by("2001:db8::2", &v6).is_none());
        let v4 = GeneralName::IPAddress(&[192, 168, 1, 1]);
        assert!(denoted_by("0xC0A80101", &v4).is_some());
        assert!(denoted_by("192.168.1.2", &v4).is_none());
        let dns = GeneralName::DNSName("example.com");
        assert!(denoted_by("Example.COM", &dns).is_some());
        assert!(denoted_by("example.com.", &dns).is_some());
        assert!(denoted_by("other.example.com", &dns).is_none());
        let idn = GeneralName::DNSName("xn--bcher-kva.example");
        assert!(denoted_by("bücher.example", &idn).is_some());
        assert!(is_unicode_domain_name("bücher.example"));
        assert!(!is_unicode_domain_name("bücher"));
        assert!(!is_unicode_domain_name("Bücher Server.example"));
        assert!(!is_unicode_domain_name("example.com"));
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
