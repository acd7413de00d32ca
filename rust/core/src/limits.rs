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

/// The largest OCSP response accepted, in DER bytes (RFC 6960 section 4.2.1). Real responses
/// are 0.5–4 KiB, up to ~10 KiB with a responder certificate chain.
pub const MAX_OCSP_RESPONSE_BYTES: usize = 1024 * 1024;

/// The most certificates of a BasicOCSPResponse that are considered as the delegated
/// responder (RFC 6960 section 4.2.2.2); each candidate costs two signature checks.
pub const MAX_OCSP_RESPONSE_CERTS: usize = 8;

/// The most SingleResponses of one OCSP response searched for the certificate's CertID.
pub const MAX_OCSP_SINGLE_RESPONSES: usize = 1_000;

/// Clock skew allowed between us and an OCSP responder when checking thisUpdate and
/// nextUpdate (RFC 6960 section 4.2.2.1), in seconds.
pub const OCSP_CLOCK_SKEW_SECONDS: u64 = 300;

/// The longest OCSP nonce accepted (RFC 8954 section 2.1: 1 to 32 octets).
pub const MAX_OCSP_NONCE_BYTES: usize = 32;

/// The largest CRL accepted, in DER bytes. The biggest public CRLs are tens of MiB (about 35
/// bytes an entry); the CRL index keeps 28-bit offsets, so this must stay at most 256 MiB.
pub const MAX_CRL_BYTES: usize = 256 * 1024 * 1024;

/// The largest PEM CRL document accepted: base64 grows the DER by 4/3, line breaks by 1/64.
pub const MAX_CRL_PEM_BYTES: usize = MAX_CRL_BYTES / 3 * 4 + MAX_CRL_BYTES / 32;

/// The most revoked-certificate entries one CRL may list (the index costs 16 bytes each).
pub const MAX_CRL_ENTRIES: usize = 16 * 1024 * 1024;

/// The longest serial number accepted in a CRL entry, in INTEGER content octets. RFC 5280
/// section 4.1.2.2 caps conforming serials at 20; some non-conforming CAs go slightly over.
pub const MAX_CRL_SERIAL_BYTES: usize = 64;

/// The largest body of a caIssuers URL accepted (RFC 5280 section 4.2.2.1), in bytes: one
/// certificate or a PKCS#7 "certs-only" message of a few (a cross-certificate bundle of a
/// bridge CA reaches a few hundred KiB).
pub const MAX_AIA_BODY_BYTES: usize = 1024 * 1024;

/// The most certificates one caIssuers body may hold.
pub const MAX_AIA_CERTS: usize = 64;

/// How deep the BER of a caIssuers PKCS#7 message may nest (X.690 section 8.1.3: indefinite
/// lengths are read by walking the nested elements, so the walk is bounded).
pub const MAX_BER_DEPTH: usize = 32;
