//! Certificate revocation lists (RFC 5280 section 5): parsing, signature verification against
//! the issuer, and a compact serial index searched by binary search.
