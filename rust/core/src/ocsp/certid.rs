//! The certificate an OCSP exchange is about, and its `CertID` (RFC 6960 section 4.1.1): the
//! hash of the issuer's name, the hash of the issuer's public key and the serial number.

use der::Decode;
use der::asn1::{Null, OctetString};
use der::oid::ObjectIdentifier;
use der::oid::db::rfc5912::{ID_SHA_1, ID_SHA_256};
use ring::digest;
use rustls_pki_types::CertificateDer;
use sha1::{Digest, Sha1};
use webpki::EndEntityCert;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoRef};
use x509_ocsp::CertId;

use super::ocsp_error;
use crate::error::Error;
use crate::limits::MAX_CERT_BYTES;

/// The hash algorithms a `CertID` may use here: SHA-1 (what responders expect, RFC 5019
/// section 2.1.1) and SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CertIdHash {
    Sha1,
    Sha256,
}

impl CertIdHash {
    fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        if *oid == ID_SHA_1 {
            Some(CertIdHash::Sha1)
        } else if *oid == ID_SHA_256 {
            Some(CertIdHash::Sha256)
        } else {
            None
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            CertIdHash::Sha1 => ID_SHA_1,
            CertIdHash::Sha256 => ID_SHA_256,
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            CertIdHash::Sha1 => sha1(data).to_vec(),
            CertIdHash::Sha256 => digest::digest(&digest::SHA256, data).as_ref().to_vec(),
        }
    }
}

/// SHA-1 of `data`. RustCrypto's `sha1` uses the CPU's SHA extensions where present (ring's
/// SHA-1 is portable code); the digest is the same.
pub(crate) fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

/// A DER TLV: `tag`, definite length, `content`.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let length = content.len();
    if let Ok(short) = u8::try_from(length)
        && short < 0x80
    {
        out.push(short);
    } else {
        let octets = length.to_be_bytes();
        let significant = &octets[octets.iter().take_while(|&&b| b == 0).count()..];
        out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0));
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// The DER of a Name whose content webpki hands out (without the SEQUENCE header).
fn name_der(content: &[u8]) -> Vec<u8> {
    tlv(0x30, content)
}

/// An RFC 4514 string of a DER Name, for messages.
pub(crate) fn name_text(der: &[u8]) -> String {
    Name::from_der(der).map_or_else(|_| "<unparseable name>".to_owned(), |name| name.to_string())
}

/// A certificate parsed by webpki (zero-copy), with the parts OCSP uses.
pub(crate) struct CertParts<'a> {
    cert: EndEntityCert<'a>,
}

impl<'a> CertParts<'a> {
    /// Parses `der`; `role` names the certificate in errors.
    pub(crate) fn parse(der: &'a CertificateDer<'a>, role: &str) -> Result<Self, Error> {
        if der.len() > MAX_CERT_BYTES {
            return Err(Error::MalformedInput(format!(
                "the {role} certificate is {} bytes; at most {MAX_CERT_BYTES} are accepted",
                der.len()
            )));
        }
        EndEntityCert::try_from(der)
            .map(|cert| Self { cert })
            .map_err(|err| {
                Error::MalformedInput(format!(
                    "the {role} certificate is not a usable DER X.509 v3 certificate: {err}"
                ))
            })
    }

    /// The parsed certificate, for signature checks.
    pub(crate) fn cert(&self) -> &EndEntityCert<'a> {
        &self.cert
    }

    /// The subject Name, DER.
    pub(crate) fn subject_der(&self) -> Vec<u8> {
        name_der(self.cert.subject())
    }

    /// The subject as an RFC 4514 string, for messages.
    pub(crate) fn subject_text(&self) -> String {
        name_text(&self.subject_der())
    }

    /// The subjectPublicKey BIT STRING value.
    pub(crate) fn public_key(&self) -> Result<Vec<u8>, Error> {
        let spki = self.cert.subject_public_key_info();
        SubjectPublicKeyInfoRef::from_der(spki.as_ref())
            .map(|info| info.subject_public_key.raw_bytes().to_vec())
            .map_err(|err| Error::MalformedInput(format!("subjectPublicKeyInfo: {err}")))
    }
}

/// A certificate and its issuer, reduced to what OCSP needs from them.
#[derive(Debug, Clone)]
pub(crate) struct CertPair {
    /// The certificate's issuer field, DER (hashed into issuerNameHash; equal to the
    /// issuer's subject).
    issuer_name_der: Vec<u8>,
    /// The issuer's subjectPublicKey BIT STRING value (hashed into issuerKeyHash).
    issuer_key: Vec<u8>,
    /// The certificate's serial number.
    serial: SerialNumber,
    /// SHA-1 of `issuer_name_der`: the issuerNameHash of a SHA-1 CertID.
    issuer_name_sha1: [u8; 20],
    /// SHA-1 of `issuer_key`: the issuerKeyHash of a SHA-1 CertID, and a byKey ResponderID
    /// naming the issuer (RFC 6960 section 4.2.1).
    issuer_key_sha1: [u8; 20],
}

impl CertPair {
    /// Takes what OCSP needs from `cert` and its `issuer`, and checks that `issuer` is named
    /// as the certificate's issuer.
    pub(crate) fn new(cert: &CertParts<'_>, issuer: &CertParts<'_>) -> Result<Self, Error> {
        if cert.cert.issuer() != issuer.cert.subject() {
            return Err(ocsp_error(format!(
                "the issuer certificate \"{}\" is not the issuer of the certificate \"{}\" \
                 (its issuer is \"{}\")",
                issuer.subject_text(),
                cert.subject_text(),
                name_text(&name_der(cert.cert.issuer()))
            )));
        }
        let serial = SerialNumber::from_der(&tlv(0x02, cert.cert.serial()))
            .map_err(|err| Error::MalformedInput(format!("the serial number: {err}")))?;
        let issuer_name_der = name_der(cert.cert.issuer());
        let issuer_key = issuer.public_key()?;
        Ok(Self {
            issuer_name_sha1: sha1(&issuer_name_der),
            issuer_key_sha1: sha1(&issuer_key),
            issuer_name_der,
            issuer_key,
            serial,
        })
    }

    /// Parses `cert` and `issuer` (DER) and pairs them.
    pub(crate) fn parse(cert: &[u8], issuer: &[u8]) -> Result<Self, Error> {
        let (cert, issuer) = (CertificateDer::from(cert), CertificateDer::from(issuer));
        Self::new(
            &CertParts::parse(&cert, "checked")?,
            &CertParts::parse(&issuer, "issuer")?,
        )
    }

    /// The issuer's name, DER: what a byName ResponderID naming the issuer carries.
    pub(crate) fn issuer_name_der(&self) -> &[u8] {
        &self.issuer_name_der
    }

    /// The issuerNameHash and issuerKeyHash of a `CertID` under `hash`.
    fn hashes(&self, hash: CertIdHash) -> (Vec<u8>, Vec<u8>) {
        match hash {
            CertIdHash::Sha1 => (
                self.issuer_name_sha1.to_vec(),
                self.issuer_key_sha1.to_vec(),
            ),
            CertIdHash::Sha256 => (
                hash.digest(&self.issuer_name_der),
                hash.digest(&self.issuer_key),
            ),
        }
    }

    /// The `CertID` of the certificate under `hash`.
    pub(crate) fn cert_id(&self, hash: CertIdHash) -> Result<CertId, Error> {
        let octets = |bytes: Vec<u8>| {
            OctetString::new(bytes).map_err(|err| ocsp_error(format!("CertID: {err}")))
        };
        let (name_hash, key_hash) = self.hashes(hash);
        Ok(CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: hash.oid(),
                parameters: Some(Null.into()),
            },
            issuer_name_hash: octets(name_hash)?,
            issuer_key_hash: octets(key_hash)?,
            serial_number: self.serial.clone(),
        })
    }

    /// SHA-1 of the issuer's public key: a byKey ResponderID naming the issuer (RFC 6960
    /// section 4.2.1).
    pub(crate) fn issuer_key_sha1(&self) -> &[u8; 20] {
        &self.issuer_key_sha1
    }

    /// Whether `id` identifies this certificate. Only SHA-1 and SHA-256 CertIDs can match;
    /// hash parameters, absent or NULL, are not compared.
    pub(crate) fn matches(&self, id: &CertId) -> bool {
        if id.serial_number != self.serial {
            return false;
        }
        let Some(hash) = CertIdHash::from_oid(&id.hash_algorithm.oid) else {
            return false;
        };
        match hash {
            CertIdHash::Sha1 => {
                id.issuer_key_hash.as_bytes() == self.issuer_key_sha1
                    && id.issuer_name_hash.as_bytes() == self.issuer_name_sha1
            }
            CertIdHash::Sha256 => {
                id.issuer_key_hash.as_bytes() == hash.digest(&self.issuer_key).as_slice()
                    && id.issuer_name_hash.as_bytes()
                        == hash.digest(&self.issuer_name_der).as_slice()
            }
        }
    }

    /// The issuer's name, for messages.
    pub(crate) fn issuer_text(&self) -> String {
        name_text(&self.issuer_name_der)
    }

    /// The serial number in hex, for messages.
    pub(crate) fn serial_hex(&self) -> String {
        let hex: String = self
            .serial
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("0x{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn cert_id_hashes_the_issuer_name_and_key() {
        let (leaf, int) = (testdata::leaf(), testdata::intermediate());
        let pair = CertPair::parse(&leaf, &int).expect("leaf is issued by the intermediate");
        let id = pair.cert_id(CertIdHash::Sha1).expect("cert id");
        assert_eq!(id.issuer_name_hash.as_bytes().len(), 20);
        assert_eq!(id.issuer_key_hash.as_bytes().len(), 20);
        assert_eq!(id.serial_number.as_bytes(), [0x00, 0xc0, 0xff, 0xee]);
        assert_eq!(pair.serial_hex(), "0x00c0ffee");
        assert_eq!(
            pair.issuer_text(),
            "CN=certpolicy test intermediate,O=certpolicy test"
        );
        assert!(pair.matches(&id));
        let id256 = pair.cert_id(CertIdHash::Sha256).expect("cert id");
        assert_eq!(id256.issuer_key_hash.as_bytes().len(), 32);
        assert!(pair.matches(&id256));
        assert_eq!(pair.issuer_key_sha1(), id.issuer_key_hash.as_bytes());
    }

    #[test]
    fn other_serials_hashes_and_algorithms_do_not_match() {
        let pair = CertPair::parse(&testdata::leaf(), &testdata::intermediate()).expect("pair");
        let good = pair.cert_id(CertIdHash::Sha1).expect("cert id");
        let mut other_serial = good.clone();
        other_serial.serial_number = SerialNumber::new(&[0x01]).expect("serial");
        assert!(!pair.matches(&other_serial));
        let mut other_key = good.clone();
        other_key.issuer_key_hash = OctetString::new(vec![0; 20]).expect("octets");
        assert!(!pair.matches(&other_key));
        let mut other_name = good.clone();
        other_name.issuer_name_hash = OctetString::new(vec![0; 20]).expect("octets");
        assert!(!pair.matches(&other_name));
        let mut md5 = good;
        md5.hash_algorithm.oid = der::oid::db::rfc5912::ID_MD_5;
        assert!(!pair.matches(&md5));
    }

    #[test]
    fn rejects_a_wrong_issuer_and_garbage() {
        let err = CertPair::parse(&testdata::leaf(), &testdata::root()).expect_err("wrong issuer");
        assert!(matches!(err, Error::Ocsp(_)), "{err:?}");
        assert!(err.to_string().contains("is not the issuer"), "{err}");
        let err = CertPair::parse(b"junk", &testdata::root()).expect_err("garbage");
        assert!(matches!(err, Error::MalformedInput(_)), "{err:?}");
        let big = vec![0u8; MAX_CERT_BYTES + 1];
        assert!(CertPair::parse(&testdata::leaf(), &big).is_err());
    }

    #[test]
    fn sha1_is_ring_sha1() {
        for len in [0, 1, 55, 56, 63, 64, 65, 270, 1000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let ring = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &data);
            assert_eq!(sha1(&data).as_slice(), ring.as_ref(), "{len} bytes");
        }
    }

    #[test]
    fn tlv_lengths() {
        assert_eq!(tlv(0x02, &[1]), [0x02, 0x01, 0x01]);
        let long = tlv(0x30, &[0u8; 200]);
        assert_eq!(&long[..3], &[0x30, 0x81, 200]);
        let longer = tlv(0x30, &[0u8; 300]);
        assert_eq!(&longer[..4], &[0x30, 0x82, 0x01, 0x2c]);
    }
}
