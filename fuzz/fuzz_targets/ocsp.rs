//! OCSP (RFC 6960): response verification (`check_response`) and request building
//! (`ocsp_request`).
//!
//! Input: one flags byte, then parts joined by the separator: the response (DER), the checked
//! certificate and its issuer (empty parts or none: the test leaf and CA of
//! `rust/core/src/ocsp/testdata`; flags bit 4 picks its second leaf). Flags: bits 0-1 the check
//! time, bit 2 the test nonce, bit 3 a maximum age of one hour.
//!
//! Invariants: an accepted answer is fresh at the check time as section 4.2.2.1 says (with the
//! clock skew allowance) and carries a revocation time exactly when it says revoked.
#![no_main]

use certpolicy_core::limits::OCSP_CLOCK_SKEW_SECONDS;
use certpolicy_core::ocsp::{CertStatus, CheckOptions, check_response, ocsp_request};
use certpolicy_fuzz::{flags, ocsp, split, time};
use libfuzzer_sys::fuzz_target;

fn part<'a>(parts: &[&'a [u8]], index: usize, fixture: &'a [u8]) -> &'a [u8] {
    match parts.get(index) {
        Some(part) if !part.is_empty() => part,
        _ => fixture,
    }
}

fuzz_target!(|data: &[u8]| {
    let (flags, rest) = flags(data);
    let parts = split(rest);
    let leaf = if flags & 0x10 != 0 {
        ocsp::LEAF2
    } else {
        ocsp::LEAF
    };
    let (response, cert, issuer) = (parts[0], part(&parts, 1, leaf), part(&parts, 2, ocsp::CA));
    let options = CheckOptions {
        at_unix_seconds: time(flags),
        nonce: (flags & 4 != 0).then_some(ocsp::NONCE),
        max_age_seconds: (flags & 8 != 0).then_some(3_600),
    };
    if let Ok(answer) = check_response(response, cert, issuer, &options) {
        let at = i128::from(options.at_unix_seconds);
        let skew = i128::from(OCSP_CLOCK_SKEW_SECONDS);
        assert!(i128::from(answer.this_update) <= at + skew, "{answer:?}");
        if let Some(next) = answer.next_update {
            assert!(next >= answer.this_update, "{answer:?}");
            assert!(at <= i128::from(next) + skew, "{answer:?}");
        }
        assert_eq!(
            answer.revoked_at.is_some(),
            answer.status == CertStatus::Revoked,
            "{answer:?}"
        );
    }
    let _ = ocsp_request(cert, issuer, options.nonce);
});
