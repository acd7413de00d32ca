//! Work budgets. Everything an attacker (a TLS server, a file) controls is bounded here, so
//! every call finishes in bounded time and memory whatever the input.

/// The largest single certificate accepted, in DER bytes. Real certificates are 1–8 KiB;
/// ones with thousands of SANs reach a few hundred KiB.
pub const MAX_CERT_BYTES: usize = 512 * 1024;

/// The most certificates a presented chain may hold (leaf plus untrusted intermediates).
/// TLS servers send 2–5; RFC 8446 puts no limit, so we do.
pub const MAX_PRESENTED_CERTS: usize = 64;

/// The largest PEM document `TrustStore::add_pem` reads (a full CA bundle is ~250 KiB).
pub const MAX_PEM_BYTES: usize = 64 * 1024 * 1024;

/// The most trust anchors one store holds.
pub const MAX_TRUST_ANCHORS: usize = 100_000;

/// The most intermediates between leaf and anchor that path building explores; rustls-webpki
/// enforces its own limit of 6 sub-CAs and signature/path-building budgets on top of this.
pub const MAX_PATH_INTERMEDIATES: usize = 6;

/// The longest reference hostname accepted (RFC 1035 section 2.3.4: 253 octets plus a dot).
pub const MAX_HOST_BYTES: usize = 254;
