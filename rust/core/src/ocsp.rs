//! OCSP (RFC 6960): request building and complete response verification.
