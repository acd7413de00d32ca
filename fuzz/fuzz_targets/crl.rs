//! CRLs (RFC 5280 section 5): parsing, signature verification, the serial index and lookups.
//!
//! Input: one flags byte, then parts joined by the separator: the CRL (DER, or PEM with flags
//! bit 0), the issuer certificate (an empty part or none: the test issuer; flags bit 1: none,
//! parse without verifying), then serial numbers to look up (big-endian two's complement).
//!
//! Invariants: the index agrees with a linear scan of the entries as rustls-webpki parses
//! them (every entry is found, with its date and reason; every looked-up serial is found
//! exactly when some entry has that number); a CRL parsed with its issuer verifies with it
//! again.
#![no_main]

use certpolicy_core::crl::Crl;
use certpolicy_fuzz::{crl, flags, minimal_integer, split};
use libfuzzer_sys::fuzz_target;
use webpki::BorrowedCertRevocationList;

/// One entry: normalised serial, revocation date, reason code.
type Entry = (Vec<u8>, i64, Option<u8>);

/// Every entry as webpki parses it, in list order.
fn linear_entries(der: &[u8]) -> Option<Vec<Entry>> {
    let list = BorrowedCertRevocationList::from_der(der).ok()?;
    let mut entries = Vec::new();
    for entry in &list {
        let entry = entry.ok()?;
        entries.push((
            minimal_integer(entry.serial_number).to_vec(),
            i64::try_from(entry.revocation_date.as_secs()).ok()?,
            entry.reason_code.map(|reason| reason as u8),
        ));
    }
    Some(entries)
}

/// The RFC 5280 section 5.3.1 name of a CRLReason code, as `Reason::name` gives it.
fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => "?",
    }
}

fuzz_target!(|data: &[u8]| {
    let (flags, rest) = flags(data);
    let parts = split(rest);
    let crl_bytes = parts[0];
    let issuer = match parts.get(1) {
        _ if flags & 2 != 0 => None,
        Some(issuer) if !issuer.is_empty() => Some(*issuer),
        _ => Some(crl::ISSUER),
    };
    let serials = parts.get(2..).unwrap_or_default();

    let parsed = if flags & 1 != 0 {
        Crl::from_pem(crl_bytes, issuer)
    } else {
        Crl::from_der(crl_bytes.to_vec(), issuer)
    };
    let Ok(list) = parsed else {
        return;
    };
    if let Some(issuer) = issuer {
        assert!(list.verify(issuer).is_ok(), "verified once, not twice");
    }
    let _ = list.verify(crl::ISSUER);
    for cert in [crl::REVOKED_LEAF, crl::GOOD_LEAF, crl::ISSUER, crl_bytes] {
        let _ = list.check_scope(cert);
    }
    let _ = (
        list.issuer(),
        list.this_update(),
        list.next_update(),
        list.number(),
    );

    let entries = linear_entries(list.der()).expect("a parsed CRL's entries parse again");
    assert_eq!(list.len(), entries.len());
    assert_eq!(list.is_empty(), entries.is_empty());
    for (serial, ..) in &entries {
        let found = list.lookup(serial).expect("a listed serial is found");
        assert_eq!(minimal_integer(&found.serial), serial.as_slice());
        // Equal serials may be listed more than once; the index returns one of them.
        let reason = found.reason.map(|reason| reason.name());
        assert!(
            entries.iter().any(|(s, date, code)| s == serial
                && *date == found.revoked_at
                && code.map(reason_name) == reason),
            "{serial:02x?}: {found:?} is no entry of that serial"
        );
    }
    for serial in serials {
        let wanted = minimal_integer(serial);
        let listed = !wanted.is_empty() && entries.iter().any(|(s, ..)| s.as_slice() == wanted);
        assert_eq!(list.contains(serial), listed, "{serial:02x?}");
        assert_eq!(list.lookup(serial).is_some(), listed, "{serial:02x?}");
    }
});
