//! The body a caIssuers URL serves (RFC 5280 section 4.2.2.1): the certificate(s) of the CA
//! that issued a certificate, used to complete a chain whose server left out an intermediate.
//!
//! RFC 5280 allows two forms, and servers use a third:
//!
//! - one DER certificate (`.cer`, `application/pkix-cert`, RFC 2585 section 4.1);
//! - a "certs-only" CMS message (`.p7c`, `application/pkcs7-mime`): a ContentInfo of type
//!   signedData (RFC 5652 sections 3 and 5.1) whose `certificates` field holds the
//!   certificates. Such messages are BER or DER: definite and indefinite lengths are both
//!   read here (X.690 section 8.1.3), within [`MAX_BER_DEPTH`] levels of nesting. The
//!   message's signerInfos are not checked (a certs-only message has none, and nothing read
//!   here is trusted anyway: a fetched certificate is only a candidate for path building);
//! - PEM (RFC 7468) of either: `CERTIFICATE` blocks, `PKCS7` or `CMS` blocks.
//!
//! Everything is bounded: the body ([`MAX_AIA_BODY_BYTES`]), the certificates kept
//! ([`MAX_AIA_CERTS`], each at most [`MAX_CERT_BYTES`]) and the nesting. Each certificate
//! returned is one well-formed DER element with the three parts of a signed certificate
//! (RFC 5280 section 4.1); its fields are left to the callers (`cert_info`, path building).
//! Anything else is an [`Error::MalformedInput`] saying what was found.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::Error;
use crate::limits::{MAX_AIA_BODY_BYTES, MAX_AIA_CERTS, MAX_BER_DEPTH, MAX_CERT_BYTES};
use crate::trust::parse_pem_certificates;

/// The form a caIssuers body had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// One DER certificate.
    Certificate,
    /// A PKCS#7 / CMS SignedData message (BER or DER).
    Pkcs7,
    /// PEM: certificate blocks and/or PKCS#7 / CMS blocks.
    Pem,
}

impl BodyFormat {
    /// The stable name: `"certificate"`, `"pkcs7"` or `"pem"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BodyFormat::Certificate => "certificate",
            BodyFormat::Pkcs7 => "pkcs7",
            BodyFormat::Pem => "pem",
        }
    }
}

/// What a caIssuers body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaIssuers {
    /// How it was encoded.
    pub format: BodyFormat,
    /// The certificates (DER), in the order of the body; never empty.
    pub certificates: Vec<Vec<u8>>,
}

/// The content type id-signedData (1.2.840.113549.1.7.2, RFC 5652 section 5.1), the content
/// octets of its OBJECT IDENTIFIER.
const ID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];

const INTEGER: u8 = 0x02;
const OBJECT_IDENTIFIER: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// `[0]`, constructed: ContentInfo's explicit content and SignedData's certificates.
const CONTEXT_0: u8 = 0xa0;
/// `[1]`, constructed: SignedData's crls.
const CONTEXT_1: u8 = 0xa1;

/// PEM labels of a CMS message (RFC 7468 sections 8 and 9).
const PEM_MESSAGE_LABELS: [&[u8]; 2] = [b"PKCS7", b"CMS"];

fn bad(what: impl std::fmt::Display) -> Error {
    Error::MalformedInput(format!("caIssuers body: {what}"))
}

/// Reads the body a caIssuers URL returned (see the module documentation).
pub fn parse_ca_issuers(body: &[u8]) -> Result<CaIssuers, Error> {
    if body.len() > MAX_AIA_BODY_BYTES {
        return Err(bad(format_args!(
            "{} bytes; at most {MAX_AIA_BODY_BYTES} are accepted",
            body.len()
        )));
    }
    match body.first() {
        None => Err(bad("empty")),
        Some(&SEQUENCE) => parse_binary(body),
        Some(_) if contains(body, b"-----BEGIN ") => parse_pem(body),
        Some(_) => Err(bad(
            "neither a DER certificate, a PKCS#7 certs-only message nor PEM",
        )),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// One DER certificate or one BER/DER ContentInfo.
fn parse_binary(body: &[u8]) -> Result<CaIssuers, Error> {
    let (outer, rest) = ber::read(body, 0)?;
    if !rest.is_empty() {
        return Err(bad(format_args!(
            "{} bytes of trailing data after the first element",
            rest.len()
        )));
    }
    let (first, _) = ber::read(outer.contents, 1)?;
    match first.tag {
        // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, ... }
        SEQUENCE => Ok(CaIssuers {
            format: BodyFormat::Certificate,
            certificates: vec![certificate(&outer)?.to_vec()],
        }),
        // ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY }
        OBJECT_IDENTIFIER => Ok(CaIssuers {
            format: BodyFormat::Pkcs7,
            certificates: signed_data_certificates(&outer)?,
        }),
        tag => Err(bad(format_args!(
            "a SEQUENCE starting with tag {tag:#04x}: neither a certificate nor a ContentInfo"
        ))),
    }
}

/// A certificate element: definite-length DER, within [`MAX_CERT_BYTES`], with the three
/// parts of a signed certificate.
fn certificate<'a>(element: &ber::Tlv<'a>) -> Result<&'a [u8], Error> {
    let der = element.encoded;
    if der.len() > MAX_CERT_BYTES {
        return Err(bad(format_args!(
            "a certificate of {} bytes; at most {MAX_CERT_BYTES} are accepted",
            der.len()
        )));
    }
    let strict = crate::der::element(der).is_some_and(|(_, after)| after.is_empty());
    if element.indefinite || !strict || crate::der::signed(der).is_none() {
        return Err(bad(
            "a certificate that is not a well-formed DER X.509 certificate",
        ));
    }
    Ok(der)
}

/// The certificates of a ContentInfo of type signedData (RFC 5652 section 5.1):
///
/// ```text
/// SignedData ::= SEQUENCE {
///   version CMSVersion,                          -- INTEGER
///   digestAlgorithms DigestAlgorithmIdentifiers, -- SET
///   encapContentInfo EncapsulatedContentInfo,    -- SEQUENCE
///   certificates [0] IMPLICIT CertificateSet OPTIONAL,
///   crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
///   signerInfos SignerInfos }                    -- SET
/// ```
///
/// Of the CertificateChoices only plain certificates are kept; attribute and other
/// certificates are skipped.
fn signed_data_certificates(content_info: &ber::Tlv<'_>) -> Result<Vec<Vec<u8>>, Error> {
    let (content_type, rest) = ber::read(content_info.contents, 1)?;
    if content_type.contents != ID_SIGNED_DATA {
        return Err(bad(
            "a PKCS#7 / CMS message that is not SignedData (RFC 5652 section 5)",
        ));
    }
    let (explicit, rest) = ber::read(rest, 1)?;
    if explicit.tag != CONTEXT_0 || !rest.is_empty() {
        return Err(bad("a ContentInfo without its [0] content"));
    }
    let (signed_data, rest) = ber::read(explicit.contents, 2)?;
    if signed_data.tag != SEQUENCE || !rest.is_empty() {
        return Err(bad("a SignedData that is not one SEQUENCE"));
    }
    let mut fields = signed_data.contents;
    for (tag, what) in [
        (INTEGER, "version"),
        (SET, "digestAlgorithms"),
        (SEQUENCE, "encapContentInfo"),
    ] {
        let (field, after) = ber::read(fields, 3)?;
        if field.tag != tag {
            return Err(bad(format_args!("a SignedData whose {what} is missing")));
        }
        fields = after;
    }
    let mut set = None;
    let mut crls_seen = false;
    let mut signer_infos_seen = false;
    while !fields.is_empty() {
        let (field, after) = ber::read(fields, 3)?;
        match field.tag {
            CONTEXT_0 if set.is_none() && !crls_seen && !signer_infos_seen => set = Some(field),
            CONTEXT_1 if !crls_seen && !signer_infos_seen => crls_seen = true,
            SET if !signer_infos_seen => signer_infos_seen = true,
            tag => {
                return Err(bad(format_args!(
                    "a SignedData with an unexpected field (tag {tag:#04x})"
                )));
            }
        }
        fields = after;
    }
    if !signer_infos_seen {
        return Err(bad("a SignedData without signerInfos"));
    }
    let Some(set) = set else {
        return Err(bad("a PKCS#7 / CMS message without certificates"));
    };
    let mut certificates = Vec::new();
    let mut rest = set.contents;
    while !rest.is_empty() {
        let (choice, after) = ber::read(rest, 4)?;
        rest = after;
        if choice.tag != SEQUENCE {
            continue; // an extended, attribute or other certificate (RFC 5652 section 10.2.2)
        }
        if certificates.len() == MAX_AIA_CERTS {
            return Err(bad(format_args!("more than {MAX_AIA_CERTS} certificates")));
        }
        certificates.push(certificate(&choice)?.to_vec());
    }
    if certificates.is_empty() {
        return Err(bad("a PKCS#7 / CMS message without certificates"));
    }
    Ok(certificates)
}

/// PEM: every `CERTIFICATE` block, and the certificates of every `PKCS7` / `CMS` block, in
/// the order of the text.
fn parse_pem(body: &[u8]) -> Result<CaIssuers, Error> {
    fn keep(found: Vec<Vec<u8>>, certificates: &mut Vec<Vec<u8>>) -> Result<(), Error> {
        if certificates.len() + found.len() > MAX_AIA_CERTS {
            return Err(bad(format_args!("more than {MAX_AIA_CERTS} certificates")));
        }
        certificates.extend(found);
        Ok(())
    }
    let mut certificates = Vec::new();
    for block in pem_blocks(body)? {
        match block {
            PemBlock::Certificates(text) => {
                let found = parse_pem_certificates(text)?;
                for der in &found {
                    let (element, _) = ber::read(der.as_ref(), 0)?;
                    certificate(&element)?;
                }
                keep(
                    found.into_iter().map(|der| der.to_vec()).collect(),
                    &mut certificates,
                )?;
            }
            PemBlock::Message(base64) => {
                let der = decode_base64_block(base64)?;
                let inner = parse_binary(&der)?;
                if inner.format != BodyFormat::Pkcs7 {
                    return Err(bad("a PKCS7 / CMS PEM block that holds no CMS message"));
                }
                keep(inner.certificates, &mut certificates)?;
            }
        }
    }
    if certificates.is_empty() {
        return Err(bad("PEM without a CERTIFICATE, PKCS7 or CMS block"));
    }
    Ok(CaIssuers {
        format: BodyFormat::Pem,
        certificates,
    })
}

/// A run of the PEM text to read.
enum PemBlock<'a> {
    /// Text with `CERTIFICATE` blocks (and nothing of a CMS message).
    Certificates(&'a [u8]),
    /// The base64 lines of a `PKCS7` or `CMS` block.
    Message(&'a [u8]),
}

/// Cuts PEM text at its `PKCS7` / `CMS` blocks: the text between them (read for
/// `CERTIFICATE` blocks) and each block's body, in order.
fn pem_blocks(text: &[u8]) -> Result<Vec<PemBlock<'_>>, Error> {
    let mut blocks = Vec::new();
    // Where the current run of certificate text starts; the open message block's body start
    // and label.
    let mut run_start = 0;
    let mut open: Option<(usize, &[u8])> = None;
    let mut offset = 0;
    for line in text.split(|&byte| byte == b'\n') {
        let start = offset;
        offset += line.len() + 1;
        let trimmed = line.trim_ascii_end();
        match open {
            None => {
                let label = PEM_MESSAGE_LABELS.into_iter().find(|label| {
                    trimmed
                        .strip_prefix(b"-----BEGIN ".as_slice())
                        .and_then(|rest| rest.strip_prefix(*label))
                        == Some(b"-----".as_slice())
                });
                if let Some(label) = label {
                    if run_start < start {
                        blocks.push(PemBlock::Certificates(&text[run_start..start]));
                    }
                    open = Some((offset.min(text.len()), label));
                }
            }
            Some((body_start, label)) => {
                let ends = trimmed
                    .strip_prefix(b"-----END ".as_slice())
                    .and_then(|rest| rest.strip_prefix(label))
                    == Some(b"-----".as_slice());
                if ends {
                    blocks.push(PemBlock::Message(&text[body_start..start]));
                    open = None;
                    run_start = offset.min(text.len());
                }
            }
        }
    }
    if let Some((_, label)) = open {
        return Err(bad(format_args!(
            "the PEM \"{}\" block has no END line",
            String::from_utf8_lossy(label)
        )));
    }
    if run_start < text.len() {
        blocks.push(PemBlock::Certificates(&text[run_start..]));
    }
    Ok(blocks)
}

/// The bytes of a PEM block's base64 body (RFC 7468 section 3), decoded by the PEM reader of
/// rustls-pki-types under a label it knows (it checks nothing of what the bytes are). A block
/// with encapsulated headers (RFC 1421 `Proc-Type:`...) is not base64 and fails.
fn decode_base64_block(base64: &[u8]) -> Result<Vec<u8>, Error> {
    let mut pem = Vec::with_capacity(base64.len() + 64);
    pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
    pem.extend_from_slice(base64);
    pem.extend_from_slice(b"\n-----END CERTIFICATE-----\n");
    CertificateDer::from_pem_slice(&pem)
        .map(|der| der.to_vec())
        .map_err(|err| bad(format_args!("bad base64 in a PKCS7 / CMS PEM block: {err}")))
}

/// A minimal BER reader (X.690 section 8.1): low tag numbers, definite lengths of up to four
/// octets and indefinite lengths of constructed elements, nested at most [`MAX_BER_DEPTH`]
/// deep. Enough for the envelope of a CMS message; the certificates inside are DER.
mod ber {
    use super::{Error, MAX_BER_DEPTH, bad};

    /// One element.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Tlv<'a> {
        pub(super) tag: u8,
        /// Its contents (for an indefinite length, without the end-of-contents octets).
        pub(super) contents: &'a [u8],
        /// The whole element, header (and end-of-contents) included.
        pub(super) encoded: &'a [u8],
        /// Whether its length was indefinite.
        pub(super) indefinite: bool,
    }

    const CONSTRUCTED: u8 = 0x20;
    const END_OF_CONTENTS: [u8; 2] = [0, 0];

    /// Reads the element at the start of `input`, `depth` levels down, and returns it with
    /// the bytes after it.
    pub(super) fn read(input: &[u8], depth: usize) -> Result<(Tlv<'_>, &[u8]), Error> {
        if depth > MAX_BER_DEPTH {
            return Err(bad(format_args!(
                "nested deeper than {MAX_BER_DEPTH} levels"
            )));
        }
        let truncated = || bad("truncated");
        let (&tag, rest) = input.split_first().ok_or_else(truncated)?;
        if tag & 0x1f == 0x1f {
            return Err(bad("a high tag number (not used by certificates or CMS)"));
        }
        if tag == 0 {
            return Err(bad("an end-of-contents marker out of place"));
        }
        let (&first, rest) = rest.split_first().ok_or_else(truncated)?;
        if first == 0x80 {
            if tag & CONSTRUCTED == 0 {
                return Err(bad("an indefinite length on a primitive element"));
            }
            let mut cursor = rest;
            while !cursor.starts_with(&END_OF_CONTENTS) {
                cursor = read(cursor, depth + 1)?.1;
            }
            let contents_len = rest.len() - cursor.len();
            let after = &cursor[END_OF_CONTENTS.len()..];
            let element = Tlv {
                tag,
                contents: &rest[..contents_len],
                encoded: &input[..input.len() - after.len()],
                indefinite: true,
            };
            return Ok((element, after));
        }
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let octets = usize::from(first & 0x7f);
            if octets > 4 {
                return Err(bad("a length of more than four octets"));
            }
            let (bytes, rest) = rest.split_at_checked(octets).ok_or_else(truncated)?;
            let len = bytes
                .iter()
                .fold(0usize, |len, &byte| (len << 8) | usize::from(byte));
            (len, rest)
        };
        let (contents, after) = rest.split_at_checked(len).ok_or_else(truncated)?;
        let element = Tlv {
            tag,
            contents,
            encoded: &input[..input.len() - after.len()],
            indefinite: false,
        };
        Ok((element, after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{self, build};

    /// A certs-only SignedData (as `openssl crl2pkcs7 -nocrl` writes it) around `certs`.
    fn p7(certs: &[Vec<u8>]) -> Vec<u8> {
        let signed_data = build::seq(&[
            &build::int(&[1]),
            &build::tlv(SET, &[]),
            &build::seq(&[&build::tlv(
                OBJECT_IDENTIFIER,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01],
            )]),
            &build::tlv(CONTEXT_0, &certs.concat()),
            &build::tlv(SET, &[]),
        ]);
        build::seq(&[
            &build::tlv(OBJECT_IDENTIFIER, ID_SIGNED_DATA),
            &build::tlv(CONTEXT_0, &signed_data),
        ])
    }

    /// `tag`, indefinite length, `content`, end-of-contents.
    fn indefinite(tag: u8, content: &[u8]) -> Vec<u8> {
        [&[tag, 0x80][..], content, &[0, 0]].concat()
    }

    /// The same message as [`p7`] with every constructed envelope of indefinite length (as
    /// some CAs' tools write BER).
    fn p7_ber(certs: &[Vec<u8>]) -> Vec<u8> {
        let signed_data = indefinite(
            SEQUENCE,
            &[
                build::int(&[1]),
                indefinite(SET, &[]),
                indefinite(
                    SEQUENCE,
                    &build::tlv(
                        OBJECT_IDENTIFIER,
                        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01],
                    ),
                ),
                indefinite(CONTEXT_0, &certs.concat()),
                build::tlv(SET, &[]),
            ]
            .concat(),
        );
        indefinite(
            SEQUENCE,
            &[
                build::tlv(OBJECT_IDENTIFIER, ID_SIGNED_DATA),
                indefinite(CONTEXT_0, &signed_data),
            ]
            .concat(),
        )
    }

    fn pem(label: &str, der: &[u8]) -> Vec<u8> {
        let text = base64(der);
        let mut out = format!("-----BEGIN {label}-----\n");
        for line in text.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("ascii"));
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
        out.into_bytes()
    }

    fn base64(data: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let bytes = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn one_der_certificate() {
        let got = parse_ca_issuers(&testdata::intermediate()).expect("parses");
        assert_eq!(got.format, BodyFormat::Certificate);
        assert_eq!(got.certificates, vec![testdata::intermediate()]);
    }

    #[test]
    fn certs_only_der_and_ber() {
        let certs = vec![testdata::intermediate(), testdata::root()];
        for body in [p7(&certs), p7_ber(&certs)] {
            let got = parse_ca_issuers(&body).expect("parses");
            assert_eq!(got.format, BodyFormat::Pkcs7);
            assert_eq!(got.certificates, certs);
        }
    }

    #[test]
    fn written_by_openssl() {
        // `openssl crl2pkcs7 -nocrl -certfile intermediate.pem -certfile root.pem -outform DER`
        let body = include_bytes!("../testdata/intermediate_root.p7c");
        let got = parse_ca_issuers(body).expect("parses");
        assert_eq!(got.format, BodyFormat::Pkcs7);
        assert_eq!(
            got.certificates,
            vec![testdata::intermediate(), testdata::root()]
        );
    }

    #[test]
    fn pem_of_either() {
        let certs = vec![testdata::intermediate(), testdata::root()];
        let text = [pem("CERTIFICATE", &certs[0]), pem("CERTIFICATE", &certs[1])].concat();
        let got = parse_ca_issuers(&text).expect("parses");
        assert_eq!(
            (got.format, got.certificates),
            (BodyFormat::Pem, certs.clone())
        );
        for label in ["PKCS7", "CMS"] {
            let text = [b"junk before\r\n".to_vec(), pem(label, &p7(&certs))].concat();
            let got = parse_ca_issuers(&text).expect("parses");
            assert_eq!(
                (got.format, got.certificates),
                (BodyFormat::Pem, certs.clone())
            );
        }
        // Mixed, in text order.
        let text = [
            pem("PKCS7", &p7(&certs[1..])),
            pem("CERTIFICATE", &certs[0]),
        ]
        .concat();
        let got = parse_ca_issuers(&text).expect("parses");
        assert_eq!(got.certificates, vec![certs[1].clone(), certs[0].clone()]);
    }

    #[test]
    fn skips_other_certificate_choices() {
        let attribute_cert = build::tlv(0xa1, &[0x30, 0x00]);
        let body = p7(&[attribute_cert, testdata::intermediate()]);
        let got = parse_ca_issuers(&body).expect("parses");
        assert_eq!(got.certificates, vec![testdata::intermediate()]);
    }

    fn refused(body: &[u8], says: &str) {
        match parse_ca_issuers(body) {
            Err(Error::MalformedInput(message)) => {
                assert!(message.contains(says), "{message:?} should say {says:?}");
            }
            other => panic!("{other:?} for {says}"),
        }
    }

    #[test]
    fn refuses_what_is_no_such_body() {
        refused(b"", "empty");
        refused(b"<html>not found</html>", "neither");
        refused(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "without",
        );
        refused(b"-----BEGIN PKCS7-----\nAAAA\n", "no END line");
        refused(
            b"-----BEGIN PKCS7-----\n!!!!\n-----END PKCS7-----\n",
            "base64",
        );
        refused(&pem("PKCS7", &testdata::root()), "holds no CMS message");
        let mut padded = testdata::intermediate();
        padded.push(0);
        refused(&padded, "trailing");
        let truncated = testdata::intermediate();
        refused(&truncated[..truncated.len() - 1], "truncated");
        refused(
            &[0x30, 0x03, 0x02, 0x01, 0x01],
            "neither a certificate nor a ContentInfo",
        );
        refused(&p7(&[]), "without certificates");
        // Another content type (id-data).
        let mut other = p7(&[testdata::root()]);
        let at = other
            .windows(ID_SIGNED_DATA.len())
            .position(|w| w == ID_SIGNED_DATA);
        other[at.expect("oid") + ID_SIGNED_DATA.len() - 1] = 0x01;
        refused(&other, "not SignedData");
        refused(&vec![0x30; MAX_AIA_BODY_BYTES + 1], "at most");
        let many = vec![testdata::root(); MAX_AIA_CERTS + 1];
        refused(&p7(&many), "more than");
        // A certificate that is BER (indefinite length), not DER.
        let root = testdata::root();
        let (element, _) = crate::der::element(&root).expect("der");
        let ber_cert = indefinite(SEQUENCE, element.contents);
        refused(&p7(&[ber_cert]), "well-formed DER");
    }

    #[test]
    fn nesting_is_bounded() {
        let mut body = Vec::new();
        for _ in 0..=MAX_BER_DEPTH + 1 {
            body.extend_from_slice(&[SEQUENCE, 0x80]);
        }
        refused(&body, "nested deeper");
        // Within the bound but unterminated.
        refused(&[SEQUENCE, 0x80, SEQUENCE, 0x80], "truncated");
        refused(&[SEQUENCE, 0x80, 0x04, 0x80, 0, 0, 0, 0], "primitive");
        refused(&[SEQUENCE, 0x85, 1, 1, 1, 1, 1], "four octets");
    }
}
