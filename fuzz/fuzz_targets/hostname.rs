//! Server identity checks (RFC 6125 section 6): `verify_hostname` with a fuzzed host and
//! certificate, and the reference identity normalisation it shares with the policy matcher.
//!
//! Input: one flags byte, the host, the separator, the certificate (DER). An empty
//! certificate part means a fixture: the test leaf (flags bit 1 clear) or the CN-only
//! certificate (set). Flags bit 0: allow_common_name.
//!
//! Invariants: a normalised DNS reference identity has no trailing dot and no empty label, and
//! normalises to itself; the check gives the same answer for the host as written and for its
//! normalised form; a policy listing the normalised name (exactly, or as a wildcard over its
//! parent) is selected for the host as written (the matcher and the hostname check agree on
//! what the host is).
#![no_main]

use certpolicy_core::policy::{Kind, Matcher, PolicyChecks, PolicySpec, Reason};
use certpolicy_core::{ReferenceId, verify_hostname};
use certpolicy_fuzz::{SEP, flags, pki};
use libfuzzer_sys::fuzz_target;

fn spec(name: &str, host: String) -> PolicySpec {
    PolicySpec {
        name: name.to_owned(),
        kind: Kind::Override,
        hosts: vec![host],
        ip_ranges: Vec::new(),
        active: true,
        order: 0,
        checks: PolicyChecks::ALL,
    }
}

fuzz_target!(|data: &[u8]| {
    let (flags, rest) = flags(data);
    let (host, cert) = match rest.windows(SEP.len()).position(|w| w == SEP) {
        Some(at) => (&rest[..at], &rest[at + SEP.len()..]),
        None => (rest, &[][..]),
    };
    let host = String::from_utf8_lossy(host);
    let cert = match (cert.is_empty(), flags & 2 != 0) {
        (false, _) => cert,
        (true, false) => pki::LEAF,
        (true, true) => pki::CN_ONLY,
    };
    let allow_cn = flags & 1 != 0;
    let verdict = verify_hostname(cert, &host, allow_cn);

    let Ok(ReferenceId::Dns(name)) = ReferenceId::parse(&host) else {
        return;
    };
    assert!(!name.ends_with('.'), "{host:?} normalised to {name:?}");
    assert!(
        name.split('.').all(|label| !label.is_empty()),
        "{host:?} normalised to {name:?}"
    );
    assert_eq!(
        ReferenceId::parse(&name).ok(),
        Some(ReferenceId::Dns(name.clone())),
        "{host:?}: normalisation is not idempotent"
    );
    assert_eq!(
        verify_hostname(cert, &name, allow_cn).is_ok(),
        verdict.is_ok(),
        "{host:?} and its normal form {name:?} get different answers"
    );

    let mut specs = vec![spec("exact", name.clone())];
    if let Some((_, parent)) = name.split_once('.')
        && parent.contains('.')
    {
        specs.push(spec("wildcard", format!("*.{parent}")));
    }
    let matcher = Matcher::compile(&specs)
        .unwrap_or_else(|err| panic!("{host:?}: its normal form {name:?} is no pattern: {err}"));
    let selection = matcher.select(&host, None, None).expect("a valid host");
    assert_eq!(selection.index, Some(0), "{host:?}: {selection:?}");
    assert!(matches!(selection.reason, Reason::ExactHost(_)));
    if specs.len() == 2 {
        let wildcard = Matcher::compile(&specs[1..]).expect("compiled above");
        let selection = wildcard.select(&host, None, None).expect("a valid host");
        assert_eq!(selection.index, Some(0), "{host:?}: {selection:?}");
        assert!(matches!(selection.reason, Reason::WildcardHost(_)));
    }
});
