//! The trust anchor's own profile and validity (RFC 5280 section 6.1.1 (d), "trust anchor
//! information", and section 4.1.2.5), read once when the anchor is added to the trust store,
//! then checked against each candidate path at its validation time.

use super::{Rejection, Role, check_certificate, parse, who};
use crate::error::{ChainErrorKind, VerifyCode};

/// What the trust store keeps about each anchor for [`super::check_path`], computed once when the
/// anchor is added: its validity window (RFC 5280 section 4.1.2.5) and the first profile rule
/// it breaks, if any.
#[derive(Debug, Clone)]
pub(crate) struct AnchorProfile {
    /// notBefore, seconds since the Unix epoch.
    not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    not_after: i64,
    /// The kind, OpenSSL's code and the full rejection message when the anchor breaks a rule
    /// or cannot be read; `None` when it conforms.
    violation: Option<(ChainErrorKind, VerifyCode, Box<str>)>,
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
                    violation: Some((
                        ChainErrorKind::Malformed,
                        VerifyCode::Unspecified,
                        format!("the trust anchor cannot be read as an X.509 certificate: {err}")
                            .into(),
                    )),
                };
            }
        };
        let validity = cert.validity();
        Self {
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            violation: check_certificate(&cert, Role::Anchor).err().map(|problem| {
                (
                    ChainErrorKind::Constraints,
                    problem.code,
                    format!("{} {}", who(Role::Anchor, cert.subject()), problem.text).into(),
                )
            }),
        }
    }

    /// RFC 5280 section 6.1.1 (d) and 4.1.2.5: the anchor's own rules and its validity at
    /// `at` (as OpenSSL, BoringSSL and the Web PKI clients check it).
    ///
    /// `issues_path` is false when the anchor is the server certificate itself (a directly
    /// trusted, pinned certificate): it then acts as no CA, so the CA rules of its profile do
    /// not apply; the server certificate rules do.
    pub(super) fn check(
        &self,
        anchor_der: &[u8],
        issues_path: bool,
        at_unix_seconds: u64,
    ) -> Result<(), Rejection> {
        if let (Some((kind, code, violation)), true) = (&self.violation, issues_path) {
            return Err(Rejection::new(*kind, *code, violation.to_string()));
        }
        let at = i64::try_from(at_unix_seconds).unwrap_or(i64::MAX);
        if at < self.not_before || at > self.not_after {
            let subject = match parse(anchor_der) {
                Ok(cert) => crate::dn::rfc4514(cert.subject()),
                Err(_) => "<unreadable certificate>".to_owned(),
            };
            let (kind, code, what, when) = if at < self.not_before {
                (
                    ChainErrorKind::NotYetValid,
                    VerifyCode::CertNotYetValid,
                    "is not valid before",
                    self.not_before,
                )
            } else {
                (
                    ChainErrorKind::Expired,
                    VerifyCode::CertHasExpired,
                    "expired at",
                    self.not_after,
                )
            };
            return Err(Rejection::new(
                kind,
                code,
                format!(
                    "the trust anchor \"{subject}\" {what} {} (checked at {}); RFC 5280 \
                     section 4.1.2.5: a certificate is only valid within its validity period",
                    crate::timefmt::rfc3339(when),
                    crate::timefmt::rfc3339(at)
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn facts_are_read_once() {
        let root = AnchorProfile::of(&testdata::root());
        assert!(root.violation.is_none());
        assert_eq!(
            (root.not_before, root.not_after),
            (1_735_689_600, 2_366_841_600)
        );
        let garbage = AnchorProfile::of(b"garbage");
        assert!(
            matches!(&garbage.violation, Some((ChainErrorKind::Malformed, VerifyCode::Unspecified, message))
                if message.starts_with("the trust anchor cannot be read")),
            "{garbage:?}"
        );
        // A pinned server certificate acts as no CA: an unreadable one still fails on its
        // validity window only.
        assert!(garbage.check(b"garbage", false, testdata::NOW).is_ok());
        let err = garbage
            .check(b"garbage", true, testdata::NOW)
            .expect_err("unreadable");
        assert_eq!(err.kind, ChainErrorKind::Malformed);
    }

    #[test]
    fn anchor_validity_is_checked() {
        let root = testdata::root();
        let anchor = AnchorProfile::of(&root);
        assert_eq!(anchor.check(&root, true, testdata::NOW), Ok(()));
        let err = anchor
            .check(&root, true, testdata::LATER)
            .expect_err("expired anchor");
        assert_eq!(err.kind, ChainErrorKind::Expired);
        assert_eq!(err.code, VerifyCode::CertHasExpired);
        assert!(
            err.reason
                .contains("the trust anchor \"CN=certpolicy test root"),
            "{err:?}"
        );
        assert!(err.reason.contains("expired at"), "{err:?}");
        assert!(err.reason.contains("4.1.2.5"), "{err:?}");
        let err = anchor.check(&root, true, 0).expect_err("not yet valid");
        assert_eq!(err.kind, ChainErrorKind::NotYetValid);
        assert_eq!(err.code, VerifyCode::CertNotYetValid);
        assert!(err.reason.contains("is not valid before"), "{err:?}");
        // Through the entry point, as path building sees it.
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let err = crate::profile::check_path(&[&leaf, &int], &root, &anchor, testdata::LATER)
            .expect_err("expired anchor");
        assert_eq!(err.kind, ChainErrorKind::Expired);
    }
}
