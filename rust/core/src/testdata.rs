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

/// Certificates and CRLs made in a test, for cases the fixed files do not cover: a minimal DER
/// writer (X.690 section 10) for the structures of RFC 5280 sections 4.1 and 5.1, signed with
/// fresh ECDSA P-256 keys (ecdsa-with-SHA256, RFC 5758 section 3.2).
pub mod build {
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

    /// ecdsa-with-SHA256 (1.2.840.10045.4.3.2), an AlgorithmIdentifier without parameters.
    const ECDSA_SHA256: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ];

    /// A DER element: `tag`, definite length, `content`.
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let octets = len.to_be_bytes();
            let skip = octets.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (octets.len() - skip) as u8);
            out.extend_from_slice(&octets[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    /// A SEQUENCE of the already-encoded `parts`.
    pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    /// An INTEGER of the content octets `value`.
    pub fn int(value: &[u8]) -> Vec<u8> {
        tlv(0x02, value)
    }

    /// A Name of one organizationName and one commonName (RFC 5280 section 4.1.2.4).
    pub fn name(common_name: &str) -> Vec<u8> {
        let attribute = |oid: u8, value: &str| {
            tlv(
                0x31,
                &seq(&[&[0x06, 0x03, 0x55, 0x04, oid], &tlv(0x0c, value.as_bytes())]),
            )
        };
        seq(&[
            &attribute(0x0a, "certpolicy tests"),
            &attribute(0x03, common_name),
        ])
    }

    /// A UTCTime (`YYMMDDHHMMSSZ`) or, for 15 characters, a GeneralizedTime.
    pub fn time(text: &str) -> Vec<u8> {
        let tag = if text.len() == 15 { 0x18 } else { 0x17 };
        tlv(tag, text.as_bytes())
    }

    /// An ECDSA P-256 key pair.
    pub struct Key {
        pair: EcdsaKeyPair,
        rng: SystemRandom,
    }

    impl Key {
        pub fn new() -> Key {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                .expect("a P-256 key");
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                    .expect("the key just made");
            Key { pair, rng }
        }

        /// The subjectPublicKeyInfo (id-ecPublicKey, prime256v1).
        pub fn spki(&self) -> Vec<u8> {
            let algorithm = seq(&[
                &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01],
                &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
            ]);
            seq(&[&algorithm, &bit_string(self.pair.public_key().as_ref())])
        }

        /// A key identifier: SHA-1 of the subjectPublicKey (RFC 5280 section 4.2.1.2 (1)).
        pub fn id(&self) -> Vec<u8> {
            let digest = ring::digest::digest(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                self.pair.public_key().as_ref(),
            );
            digest.as_ref().to_vec()
        }

        /// `tbs` signed: the SEQUENCE of `tbs`, the algorithm and the signature BIT STRING.
        pub fn sign(&self, tbs: &[u8]) -> Vec<u8> {
            let signature = self.pair.sign(&self.rng, tbs).expect("signs");
            seq(&[tbs, ECDSA_SHA256, &bit_string(signature.as_ref())])
        }
    }

    fn bit_string(bits: &[u8]) -> Vec<u8> {
        tlv(0x03, &[&[0u8][..], bits].concat())
    }

    /// One extension (RFC 5280 section 4.1): `oid` is the content octets of the OID.
    pub fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
        let critical: &[u8] = if critical { &[0x01, 0x01, 0xff] } else { &[] };
        seq(&[&tlv(0x06, oid), critical, &tlv(0x04, value)])
    }

    /// basicConstraints (2.5.29.19), critical.
    pub fn basic_constraints(ca: bool) -> Vec<u8> {
        let value = if ca {
            seq(&[&[0x01, 0x01, 0xff]])
        } else {
            seq(&[])
        };
        extension(&[0x55, 0x1d, 0x13], true, &value)
    }

    /// keyUsage (2.5.29.15), critical: keyCertSign and cRLSign for a CA, digitalSignature
    /// otherwise (RFC 5280 section 4.2.1.3).
    pub fn key_usage(ca: bool) -> Vec<u8> {
        let bits: &[u8] = if ca {
            &[0x03, 0x02, 0x01, 0x06]
        } else {
            &[0x03, 0x02, 0x07, 0x80]
        };
        extension(&[0x55, 0x1d, 0x0f], true, bits)
    }

    /// subjectKeyIdentifier (2.5.29.14) and authorityKeyIdentifier (2.5.29.35).
    pub fn key_ids(subject: &Key, issuer: &Key) -> Vec<Vec<u8>> {
        vec![
            extension(&[0x55, 0x1d, 0x0e], false, &tlv(0x04, &subject.id())),
            extension(
                &[0x55, 0x1d, 0x23],
                false,
                &seq(&[&tlv(0x80, &issuer.id())]),
            ),
        ]
    }

    /// extKeyUsage (2.5.29.37) with id-kp-serverAuth, and subjectAltName (2.5.29.17) with
    /// these dNSNames.
    pub fn server_names(dns_names: &[&str]) -> Vec<Vec<u8>> {
        let server_auth = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
        let names: Vec<u8> = dns_names
            .iter()
            .flat_map(|name| tlv(0x82, name.as_bytes()))
            .collect();
        vec![
            extension(&[0x55, 0x1d, 0x25], false, &seq(&[&server_auth])),
            extension(&[0x55, 0x1d, 0x11], false, &tlv(0x30, &names)),
        ]
    }

    /// The fields of a certificate to make.
    pub struct Cert<'a> {
        /// v3 when there are extensions; `false` makes a v1 certificate (no version field).
        pub v3: bool,
        pub serial: &'a [u8],
        pub issuer: Vec<u8>,
        pub subject: Vec<u8>,
        pub not_before: &'a str,
        pub not_after: &'a str,
        pub extensions: Vec<Vec<u8>>,
    }

    impl<'a> Cert<'a> {
        /// A v3 certificate valid from 2025-01-01 to 2045-01-01 (like the fixed test PKI).
        pub fn new(subject: &str, issuer: &str) -> Cert<'a> {
            Cert {
                v3: true,
                serial: &[0x01, 0x23],
                issuer: name(issuer),
                subject: name(subject),
                not_before: "250101000000Z",
                not_after: "450101000000Z",
                extensions: Vec::new(),
            }
        }

        /// The DER certificate of `key`'s public key, signed by `issuer_key`.
        pub fn sign(&self, key: &Key, issuer_key: &Key) -> Vec<u8> {
            let version = if self.v3 {
                tlv(0xa0, &int(&[0x02]))
            } else {
                Vec::new()
            };
            let extensions = if self.extensions.is_empty() {
                Vec::new()
            } else {
                tlv(0xa3, &tlv(0x30, &self.extensions.concat()))
            };
            let validity = seq(&[&time(self.not_before), &time(self.not_after)]);
            let tbs = seq(&[
                &version,
                &int(self.serial),
                ECDSA_SHA256,
                &self.issuer,
                &validity,
                &self.subject,
                &key.spki(),
                &extensions,
            ]);
            issuer_key.sign(&tbs)
        }
    }

    /// A CA certificate (basic constraints, key usage, key identifiers) of `key` signed by
    /// `issuer_key`.
    pub fn ca(subject: &str, issuer: &str, key: &Key, issuer_key: &Key) -> Vec<u8> {
        let mut cert = Cert::new(subject, issuer);
        cert.extensions = vec![basic_constraints(true), key_usage(true)];
        cert.extensions.extend(key_ids(key, issuer_key));
        cert.sign(key, issuer_key)
    }

    /// A server certificate for `dns_names` of `key` signed by `issuer_key`.
    pub fn leaf(
        subject: &str,
        issuer: &str,
        dns_names: &[&str],
        key: &Key,
        issuer_key: &Key,
    ) -> Vec<u8> {
        let mut cert = Cert::new(subject, issuer);
        cert.serial = &[0x10, 0x01];
        cert.extensions = vec![basic_constraints(false), key_usage(false)];
        cert.extensions.extend(key_ids(key, issuer_key));
        cert.extensions.extend(server_names(dns_names));
        cert.sign(key, issuer_key)
    }

    /// A version 2 CRL (RFC 5280 section 5.1) of `issuer`, signed by `key`, valid from
    /// 2029-12-31 to 2030-01-07, with these CRL extensions and (serial, revocation date)
    /// entries.
    pub fn crl(
        issuer: &str,
        key: &Key,
        extensions: &[Vec<u8>],
        revoked: &[(&[u8], &str)],
    ) -> Vec<u8> {
        let entries: Vec<u8> = revoked
            .iter()
            .flat_map(|(serial, date)| seq(&[&int(serial), &time(date)]))
            .collect();
        let entries = if revoked.is_empty() {
            Vec::new()
        } else {
            tlv(0x30, &entries)
        };
        let extensions = if extensions.is_empty() {
            Vec::new()
        } else {
            tlv(0xa0, &tlv(0x30, &extensions.concat()))
        };
        let tbs = seq(&[
            &int(&[0x01]),
            ECDSA_SHA256,
            &name(issuer),
            &time("291231000000Z"),
            &time("300107000000Z"),
            &entries,
            &extensions,
        ]);
        key.sign(&tbs)
    }

    /// The cRLNumber extension (2.5.29.20, RFC 5280 section 5.2.3), non-critical.
    pub fn crl_number(number: u8) -> Vec<u8> {
        extension(&[0x55, 0x1d, 0x14], false, &int(&[number]))
    }
}
