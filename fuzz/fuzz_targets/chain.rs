//! Chain verification (RFC 5280 section 6) of a presented chain against a small fixed store
//! (the test root of `rust/core/testdata`, optionally its intermediate as a second anchor).
//!
//! Input: one flags byte, then the presented certificates (leaf first) joined by the
//! separator. Flags: bits 0-1 the validation time, bits 2-4 the depth limit (7: the default),
//! bit 5 the intermediate as an extra anchor, bit 6 an empty store.
//!
//! Invariants: the cached path (cold and warm) gives the same answer as `verify_chain`, kind
//! and message included; a verified path's signatures verify (`signature_floor`).
#![no_main]

use certpolicy_core::chain::{ChainCache, path_der, signature_floor, verify_chain_cached};
use certpolicy_core::{TrustStore, VerifyOptions, verify_chain};
use certpolicy_fuzz::{flags, pki, split, time};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, rest) = flags(data);
    let chain = split(rest);
    let mut store = TrustStore::new();
    if flags & 0x40 == 0 {
        store
            .add_der(pki::ROOT)
            .expect("the test root is an anchor");
        if flags & 0x20 != 0 {
            store
                .add_der(pki::INTERMEDIATE)
                .expect("the test intermediate is an anchor");
        }
    }
    let depth = (flags >> 2) & 7;
    let options = VerifyOptions {
        at_unix_seconds: time(flags),
        max_intermediates: (depth < 7).then_some(usize::from(depth)),
    };

    let plain = verify_chain(&chain, &store, options);
    let cache = ChainCache::new(4);
    for round in ["cold", "warm"] {
        let cached = verify_chain_cached(&chain, &store, options, &cache)
            .and_then(|path| path_der(&path, &chain, &store));
        assert_eq!(cached, plain, "{round} cache disagrees with verify_chain");
    }
    if let Ok(path) = &plain {
        let certs: Vec<&[u8]> = path.iter().map(|cert| cert.as_ref()).collect();
        if let Err(err) = signature_floor(&certs) {
            panic!("a verified path whose signatures do not verify: {err}");
        }
    } else {
        // The floor reads untrusted bytes too: any answer, no panic.
        let _ = signature_floor(&chain);
    }
});
