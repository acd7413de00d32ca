//! The fixed test PKI of `testdata/` (made by `testdata/make_testdata.py`): an EC P-256 root,
//! an intermediate (pathLen 0) and leaves, all valid from 2025-01-01 to 2045-01-01.

/// 2030-01-01T00:00:00Z, inside the validity of every test certificate.
pub const NOW: u64 = 1_893_456_000;
/// 2050-01-01T00:00:00Z, after every test certificate expired.
pub const LATER: u64 = 2_524_608_000;

pub fn root() -> Vec<u8> {
    include_bytes!("../testdata/root.der").to_vec()
}

pub fn intermediate() -> Vec<u8> {
    include_bytes!("../testdata/intermediate.der").to_vec()
}

/// SANs: leaf.example.com, *.wild.example.com, xn--bcher-kva.example, 127.0.0.1, ::1.
pub fn leaf() -> Vec<u8> {
    include_bytes!("../testdata/leaf.der").to_vec()
}

/// No SAN; subject CN cn-only.example.com.
pub fn cn_only() -> Vec<u8> {
    include_bytes!("../testdata/cn_only.der").to_vec()
}
