//! The extensions of a certificate (RFC 5280 section 4.2): each at most once, with the
//! criticality and syntax RFC 5280 section 4.2.1 requires, and the rules of the CA/Browser Forum
//! Baseline Requirements section 7.1.2 for the extensions of CA and server certificates. The
//! subjectAltName, which carries names, is checked in [`super::names`].
//!
//! webpki already processes basic constraints, name constraints and the extended key usage
//! during path building, and rejects unknown critical extensions of presented certificates;
//! these rules add what it leaves out.

use std::borrow::Cow;

use x509_parser::error::X509Error;
use x509_parser::extensions::{
    AuthorityInfoAccess, AuthorityKeyIdentifier, ExtendedKeyUsage, GeneralName, KeyIdentifier,
    KeyUsage, NameConstraints, X509Extension,
};
use x509_parser::oid_registry::{
    OID_PKIX_AUTHORITY_INFO_ACCESS, OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
    OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_CERTIFICATE_POLICIES,
    OID_X509_EXT_CRL_DISTRIBUTION_POINTS, OID_X509_EXT_EXTENDED_KEY_USAGE,
    OID_X509_EXT_INHIBIT_ANY_POLICY, OID_X509_EXT_KEY_USAGE, OID_X509_EXT_NAME_CONSTRAINTS,
    OID_X509_EXT_POLICY_CONSTRAINTS, OID_X509_EXT_POLICY_MAPPINGS, OID_X509_EXT_SUBJECT_ALT_NAME,
    OID_X509_EXT_SUBJECT_KEY_IDENTIFIER, Oid,
};
use x509_parser::prelude::FromDer;

use super::names::is_dns_name;
use super::{Role, Rule};

/// The extensions the rules read, found in one pass over the certificate's extensions.
#[derive(Default)]
pub(super) struct Extensions<'c, 'a> {
    pub(super) authority_key_id: Option<&'c X509Extension<'a>>,
    pub(super) subject_key_id: Option<&'c X509Extension<'a>>,
    pub(super) key_usage: Option<&'c X509Extension<'a>>,
    pub(super) subject_alt_name: Option<&'c X509Extension<'a>>,
    pub(super) basic_constraints: Option<&'c X509Extension<'a>>,
    pub(super) name_constraints: Option<&'c X509Extension<'a>>,
    pub(super) policy_constraints: Option<&'c X509Extension<'a>>,
    pub(super) ext_key_usage: Option<&'c X509Extension<'a>>,
    pub(super) authority_info_access: Option<&'c X509Extension<'a>>,
    /// The first critical extension that neither webpki nor these rules process.
    pub(super) unknown_critical: Option<&'c X509Extension<'a>>,
}

impl<'c, 'a> Extensions<'c, 'a> {
    /// RFC 5280 section 4.2: "A certificate MUST NOT include more than one instance of a
    /// particular extension."
    pub(super) fn collect(extensions: &'c [X509Extension<'a>]) -> Result<Self, Cow<'static, str>> {
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
pub(super) fn decode<'a, T: FromDer<'a, X509Error>>(
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

/// RFC 5280 section 4.2.1.9: CAs "MUST include this extension in all CA certificates that
/// contain public keys used to validate digital signatures on certificates and MUST mark the
/// extension as critical in such certificates." webpki already requires cA in intermediates;
/// a v3 trust anchor must carry the extension too.
pub(super) fn check_basic_constraints(
    ext: Option<&X509Extension<'_>>,
    is_ca: bool,
    role: Role,
) -> Rule {
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
pub(super) fn check_key_usage(ext: Option<&X509Extension<'_>>, is_ca: bool) -> Rule {
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
pub(super) fn check_subject_key_id(
    ext: Option<&X509Extension<'_>>,
    is_ca: bool,
    role: Role,
) -> Rule {
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
pub(super) fn check_authority_key_id(
    exts: &Extensions<'_, '_>,
    self_issued: bool,
    role: Role,
) -> Rule {
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
pub(super) fn check_name_constraints(ext: Option<&X509Extension<'_>>, is_ca: bool) -> Rule {
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
pub(super) fn check_policy_constraints(ext: Option<&X509Extension<'_>>) -> Rule {
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
pub(super) fn check_authority_info_access(ext: Option<&X509Extension<'_>>) -> Rule {
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

/// BR section 7.1.2.7.10 and the extensions table of section 7.1.2.7.6: the extended key
/// usage extension of a server certificate MUST NOT be critical and MUST NOT contain
/// anyExtendedKeyUsage. (webpki checks that serverAuth is present when the extension is.)
///
/// The Baseline Requirements also make the extension mandatory, but RFC 5280 section
/// 4.2.1.12 does not, and certificates of private CAs often omit it: a missing extension
/// stays accepted, as by webpki, OpenSSL and Go.
pub(super) fn check_leaf_ext_key_usage(ext: Option<&X509Extension<'_>>) -> Rule {
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

/// RFC 5280 section 4.2.1.12: a certificate whose extended key usage does not list serverAuth
/// is not for TLS servers. webpki makes this check on every path it builds; a server
/// certificate that is itself a trust anchor never reaches webpki, so it is made here.
pub(super) fn check_leaf_server_auth(ext: Option<&X509Extension<'_>>) -> Rule {
    let Some(ext) = ext else {
        return Ok(());
    };
    let eku = decode::<ExtendedKeyUsage>(ext, "extended key usage", "4.2.1.12")?;
    if eku.server_auth {
        Ok(())
    } else {
        Err(
            "does not list serverAuth in its extended key usage; RFC 5280 section 4.2.1.12 \
             limits it to the purposes listed"
                .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use x509_parser::extensions::ParsedExtension;

    use super::*;
    use crate::testdata;

    /// An extension with a raw value, as a certificate without deep-parsed extensions has it.
    fn ext(oid: Oid<'static>, critical: bool, value: &'static [u8]) -> X509Extension<'static> {
        X509Extension::new(
            oid.clone(),
            critical,
            value,
            ParsedExtension::UnsupportedExtension { oid },
        )
    }

    #[test]
    fn the_test_leaf_has_each_extension_once() {
        let leaf = testdata::leaf();
        let cert = crate::profile::parse(&leaf).expect("parses");
        let found = Extensions::collect(cert.extensions()).expect("no duplicates");
        assert!(found.basic_constraints.is_some() && found.key_usage.is_some());
        assert!(found.subject_key_id.is_some() && found.authority_key_id.is_some());
        assert!(found.subject_alt_name.is_some() && found.ext_key_usage.is_some());
        assert!(found.unknown_critical.is_none());
    }

    #[test]
    fn duplicates_and_unknown_critical_extensions() {
        let twice = [
            ext(OID_X509_EXT_KEY_USAGE, true, b"\x03\x02\x07\x80"),
            ext(OID_X509_EXT_KEY_USAGE, true, b"\x03\x02\x07\x80"),
        ];
        let err = Extensions::collect(&twice).err().expect("a duplicate");
        assert!(err.contains("more than one 2.5.29.15 extension"), "{err}");
        let unknown = Oid::from(&[1, 2, 3, 4]).expect("a valid OID");
        let critical = [
            ext(OID_X509_EXT_CERTIFICATE_POLICIES, true, b"\x30\x00"),
            ext(unknown.clone(), true, b"\x05\x00"),
        ];
        let found = Extensions::collect(&critical).expect("no duplicates");
        assert_eq!(found.unknown_critical.map(|ext| &ext.oid), Some(&unknown));
    }

    #[test]
    fn criticality_rules() {
        let policy = ext(
            OID_X509_EXT_POLICY_CONSTRAINTS,
            false,
            b"\x30\x03\x80\x01\x00",
        );
        assert!(check_policy_constraints(Some(&policy)).is_err());
        let policy = ext(
            OID_X509_EXT_POLICY_CONSTRAINTS,
            true,
            b"\x30\x03\x80\x01\x00",
        );
        assert_eq!(check_policy_constraints(Some(&policy)), Ok(()));
        let ca = ext(
            OID_X509_EXT_BASIC_CONSTRAINTS,
            false,
            b"\x30\x03\x01\x01\xff",
        );
        assert!(check_basic_constraints(Some(&ca), true, Role::Intermediate).is_err());
        assert!(check_basic_constraints(None, false, Role::Anchor).is_err());
        assert_eq!(check_basic_constraints(None, false, Role::Leaf), Ok(()));
        let eku = ext(OID_X509_EXT_EXTENDED_KEY_USAGE, true, b"\x30\x00");
        let err = check_leaf_ext_key_usage(Some(&eku)).expect_err("critical");
        assert!(err.contains("7.1.2.7.6"), "{err}");
    }

    #[test]
    fn name_constraints_rules() {
        // permittedSubtrees: one dNSName with a leading period.
        let dotted = ext(
            OID_X509_EXT_NAME_CONSTRAINTS,
            true,
            b"\x30\x0d\xa0\x0b\x30\x09\x82\x07.ex.com",
        );
        assert!(check_name_constraints(Some(&dotted), false).is_err());
        let err = check_name_constraints(Some(&dotted), true).expect_err("leading period");
        assert!(err.contains("invalid DNS name \".ex.com\""), "{err}");
        let empty = ext(OID_X509_EXT_NAME_CONSTRAINTS, true, b"\x30\x00");
        let err = check_name_constraints(Some(&empty), true).expect_err("no subtrees");
        assert!(err.contains("neither permitted nor excluded"), "{err}");
        let garbage = ext(OID_X509_EXT_NAME_CONSTRAINTS, true, b"\x30");
        let err = check_name_constraints(Some(&garbage), true).expect_err("malformed");
        assert!(err.contains("malformed name constraints"), "{err}");
    }
}
