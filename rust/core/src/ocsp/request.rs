//! OCSP requests (RFC 6960 section 4.1): one unsigned request for one certificate.

use der::Encode;
use der::asn1::OctetString;
use der::oid::db::rfc6960::ID_PKIX_OCSP_NONCE;
use x509_cert::ext::Extension;
use x509_ocsp::{OcspRequest, Request, TbsRequest, Version};

use super::certid::{CertIdHash, CertPair};
use super::ocsp_error;
use crate::error::Error;
use crate::limits::MAX_OCSP_NONCE_BYTES;

/// The nonce extension (RFC 6960 section 4.4.1) as RFC 8954 section 2.1 encodes it: the
/// extnValue holds a DER OCTET STRING of 1 to 32 octets. Responders echo it unchanged.
pub(crate) fn nonce_extension(nonce: &[u8]) -> Result<Extension, Error> {
    if nonce.is_empty() || nonce.len() > MAX_OCSP_NONCE_BYTES {
        return Err(ocsp_error(format!(
            "the nonce is {} bytes; RFC 8954 allows 1 to {MAX_OCSP_NONCE_BYTES}",
            nonce.len()
        )));
    }
    let value = OctetString::new(nonce)
        .and_then(|inner| inner.to_der())
        .and_then(OctetString::new)
        .map_err(|err| ocsp_error(format!("nonce: {err}")))?;
    Ok(Extension {
        extn_id: ID_PKIX_OCSP_NONCE,
        critical: false,
        extn_value: value,
    })
}

/// A DER `OCSPRequest` for `cert` (DER) issued by `issuer` (DER): a single request with a
/// SHA-1 `CertID`, unsigned, with a nonce extension when `nonce` is given.
pub fn ocsp_request(cert: &[u8], issuer: &[u8], nonce: Option<&[u8]>) -> Result<Vec<u8>, Error> {
    let pair = CertPair::parse(cert, issuer)?;
    let request_extensions = nonce
        .map(|nonce| nonce_extension(nonce).map(|ext| vec![ext]))
        .transpose()?;
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: pair.cert_id(CertIdHash::Sha1)?,
                single_request_extensions: None,
            }],
            request_extensions,
        },
        optional_signature: None,
    };
    request
        .to_der()
        .map_err(|err| ocsp_error(format!("cannot encode the OCSP request: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use der::Decode;

    fn decode(der: &[u8]) -> OcspRequest {
        OcspRequest::from_der(der).expect("our request decodes")
    }

    #[test]
    fn one_sha1_cert_id_without_nonce() {
        let der =
            ocsp_request(&testdata::leaf(), &testdata::intermediate(), None).expect("request");
        let request = decode(&der);
        assert_eq!(request.tbs_request.request_list.len(), 1);
        let id = &request.tbs_request.request_list[0].req_cert;
        assert_eq!(id.hash_algorithm.oid, der::oid::db::rfc5912::ID_SHA_1);
        assert_eq!(id.serial_number.as_bytes(), [0x00, 0xc0, 0xff, 0xee]);
        assert!(request.tbs_request.request_extensions.is_none());
        assert!(request.optional_signature.is_none());
        // Deterministic: the same inputs give the same bytes (the Python cache keys on them).
        let again =
            ocsp_request(&testdata::leaf(), &testdata::intermediate(), None).expect("request");
        assert_eq!(der, again);
    }

    #[test]
    fn nonce_is_carried_as_an_octet_string() {
        let nonce = [7u8; 16];
        let der = ocsp_request(&testdata::leaf(), &testdata::intermediate(), Some(&nonce))
            .expect("request");
        let request = decode(&der);
        assert_eq!(
            request.nonce().expect("nonce extension").0.as_bytes(),
            nonce
        );
        let ext = &request.tbs_request.request_extensions.expect("extensions")[0];
        assert!(!ext.critical);
    }

    #[test]
    fn rejects_bad_nonces_and_wrong_issuers() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        assert!(ocsp_request(&leaf, &int, Some(&[])).is_err());
        assert!(ocsp_request(&leaf, &int, Some(&[0u8; MAX_OCSP_NONCE_BYTES + 1])).is_err());
        assert!(ocsp_request(&leaf, &int, Some(&[0u8; MAX_OCSP_NONCE_BYTES])).is_ok());
        assert!(ocsp_request(&leaf, &testdata::root(), None).is_err());
        assert!(ocsp_request(b"", &int, None).is_err());
    }
}
