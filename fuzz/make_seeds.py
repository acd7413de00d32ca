"""Writes the seed corpora of the fuzz targets (seeds/<target>/) from the test data of
certpolicy-core: rust/core/testdata, rust/core/src/crl/testdata, rust/core/src/ocsp/testdata,
rust/core/src/keystore/testdata.

Run from anywhere with python3 (standard library only): python3 fuzz/make_seeds.py.
Multi-part seeds are joined by SEP, the separator of fuzz/src/lib.rs; the first byte of such a
seed is the flags byte described at the top of each target. The seeds are committed; rerun
this after the test data changes.
"""

import pathlib
import shutil

FUZZ = pathlib.Path(__file__).resolve().parent
CORE = FUZZ.parent / "rust" / "core"
PKI = CORE / "testdata"
CRL = CORE / "src" / "crl" / "testdata"
OCSP = CORE / "src" / "ocsp" / "testdata"
KEYSTORE = CORE / "src" / "keystore" / "testdata"
SEP = "\u2702".encode()


def read(folder: pathlib.Path, name: str) -> bytes:
    return (folder / name).read_bytes()


def join(flags: int, *parts: bytes) -> bytes:
    return bytes([flags]) + SEP.join(parts)


def seeds() -> dict[str, dict[str, bytes]]:
    root, inter, leaf, cn_only = (
        read(PKI, f"{n}.der") for n in ("root", "intermediate", "leaf", "cn_only")
    )
    out: dict[str, dict[str, bytes]] = {}

    out["cert_info"] = {
        name.replace(".der", ""): read(folder, name)
        for folder, names in [
            (PKI, ["root.der", "intermediate.der", "leaf.der", "cn_only.der"]),
            (CRL, ["issuer.der", "no_crl_sign.der", "other_ca.der"]),
            (OCSP, ["ca.der", "leaf2.der"]),
        ]
        for name in names
    }

    out["chain"] = {
        "leaf_intermediate": join(0x1C, leaf, inter),
        "leaf_only": join(0x1C, leaf),
        "root_pinned": join(0x1C, root),
        "later": join(0x1D, leaf, inter),
        "depth0": join(0x00, leaf, inter),
        "intermediate_anchor": join(0x3C, leaf),
        "with_root": join(0x1C, leaf, inter, root),
        "cn_only": join(0x1C, cn_only, inter),
        "ca_as_leaf": join(0x1C, inter),
    }

    out["decision"] = {
        "passes": join(0x00, b"leaf.example.com", leaf, inter),
        "remembered_verdict": join(0x44, b"leaf.example.com", leaf, inter),
        "other_name": join(0x44, b"other.example.com", leaf, inter),
        "no_chain_check": join(0x05, b"x.wild.example.com", leaf),
        "anchor_leaf": join(0x46, b"root.example", root),
        "expired": join(0x14, b"leaf.example.com", leaf, inter),
        "cn_only": join(0x08, b"cn-only.example.com", cn_only, inter),
    }

    out["hostname"] = {
        "exact": join(0x00, b"leaf.example.com"),
        "trailing_dot": join(0x00, b"LEAF.example.com."),
        "wildcard": join(0x00, b"x.wild.example.com"),
        "idn": join(0x00, "bücher.example".encode()),
        "ideographic_dot": join(0x00, "api.example.com\u3002".encode()),
        "zero_width": join(0x00, "api.example.com.\u200b".encode()),
        "soft_hyphen": join(0x00, "api.example.com.\u00ad".encode()),
        "ipv4": join(0x00, b"127.0.0.1"),
        "ipv6_zone": join(0x00, b"[fe80::1%eth0]"),
        "cn_allowed": join(0x03, b"cn-only.example.com"),
        "cert_given": join(0x00, b"leaf.example.com", leaf),
        "cert_root": join(0x01, b"certpolicy test root", root),
    }

    issuer = read(CRL, "issuer.der")
    out["crl"] = {
        name.replace(".der", ""): join(0x00, read(CRL, name))
        for name in sorted(p.name for p in CRL.glob("crl*.der"))
    }
    out["crl"]["pem"] = join(0x01, read(CRL, "crl.pem"))
    out["crl"]["lookups"] = join(
        0x00,
        read(CRL, "crl.der"),
        issuer,
        bytes.fromhex("00c0ffee"),
        bytes.fromhex("0000c0ffee"),
        bytes.fromhex("0080"),
        bytes.fromhex("42"),
        bytes.fromhex("edcc"),
        bytes.fromhex("80"),
        b"",
    )
    out["crl"]["no_issuer"] = join(0x02, read(CRL, "crl_empty.der"))
    out["crl"]["other_issuer"] = join(0x00, read(CRL, "crl_imposter.der"), read(CRL, "imposter.der"))

    responses = sorted(p.name for p in OCSP.glob("*.der") if p.name not in
                       ("ca.der", "leaf.der", "leaf2.der"))
    out["ocsp"] = {name.replace(".der", ""): join(0x00, read(OCSP, name)) for name in responses}
    out["ocsp"]["nonce"] = join(0x04, read(OCSP, "good_nonce.der"))
    out["ocsp"]["max_age"] = join(0x08, read(OCSP, "good_no_next_update.der"))
    out["ocsp"]["leaf2"] = join(0x10, read(OCSP, "unknown_sha256.der"))
    out["ocsp"]["explicit_certs"] = join(
        0x00, read(OCSP, "good_by_issuer.der"), read(OCSP, "leaf.der"), read(OCSP, "ca.der")
    )

    out["policy"] = {
        "defaults": b"\n".join([
            b"policy Instance instance 100",
            b"host *.service-now.com",
            b"policy Intranet intranet 100",
            b"range 10.0.0.0/8",
            b"range 192.168.0.0/16",
            b"range ::1",
            b"range fc00::/7",
            b"policy Internet internet 100",
            b"policy Lab override 100",
            b"host lab.corp.example",
            b"host https://user@Svc.example.com:8443/path?q",
            b"range 10.9.0.0/16",
            b"select acme.service-now.com",
            b"select example.org 10.9.1.1",
            b"select lab.corp.example 8.8.8.8",
            b"select 10.0.0.1",
            b"select ::ffff:10.0.0.1",
            b"select [::1]",
            b"select svc.example.com - 8443",
            b"select svc.example.com - 443",
        ]),
        "overlaps": b"\n".join([
            b"policy big intranet 1",
            b"range 10.0.0.0/8",
            b"policy mid intranet 1",
            b"range 10.1.0.0/255.255.0.0",
            b"policy small intranet 1",
            b"range 10.1.1.0-10.1.1.255",
            b"policy all intranet 1 inactive",
            b"range 0.0.0.0/0",
            b"range ::/0",
            b"select h.example 10.1.1.1",
            b"select h.example 10.2.2.1",
            b"select h.example ffff::1",
        ]),
        "spellings": "\n".join([
            "policy api override 1",
            "host api.example.com",
            "policy wild override 2",
            "host *.example.com",
            "policy idn override 3",
            "host bücher.example.",
            "select api.example.com\u3002",
            "select api.example.com.\u200b",
            "select x.example.com.\u00ad",
            "select BÜCHER.example",
            "*.*.bad",
            "10.0.0.1/8",
        ]).encode(),
    }

    ca_pem = b"".join(
        b"-----BEGIN CERTIFICATE-----\n" + _b64_lines(der) + b"-----END CERTIFICATE-----\n"
        for der in (root, inter)
    )
    encrypted_key = (
        b"-----BEGIN RSA PRIVATE KEY-----\n"
        b"Proc-Type: 4,ENCRYPTED\n"
        b"DEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n"
        b"\n"
        b"c2VjcmV0IGtleSBtYXRlcmlhbCwgbm90IGEgcmVhbCBrZXk=\n"
        b"-----END RSA PRIVATE KEY-----\n"
    )
    out["pem"] = {
        "bundle": ca_pem,
        "with_text": b"# a comment\nSubject: test root\n" + ca_pem + b"trailing text\n",
        "encrypted_key": encrypted_key + ca_pem,
        "crl": read(CRL, "crl.pem"),
        "crlf": ca_pem.replace(b"\n", b"\r\n"),
    }

    # Keystores: flags byte 1 reads with the seeds' password ("changeit"), 0 without one.
    java = ["trust.jks", "trust.jceks", "identity.jks", "secret.jceks"]
    out["jks"] = {}
    for name in java:
        stem = name.replace(".", "_")
        out["jks"][stem] = bytes([1]) + read(KEYSTORE, name)
        out["jks"][stem + "_unchecked"] = bytes([0]) + read(KEYSTORE, name)
    out["pkcs12"] = {
        name.rsplit(".", 1)[0].replace("-", "_"): bytes([1]) + read(KEYSTORE, name)
        for name in sorted(p.name for p in KEYSTORE.iterdir() if p.suffix in (".p12", ".pkcs12"))
    }
    out["pkcs12"]["noenc_unchecked"] = bytes([0]) + read(
        KEYSTORE, "cryptography-truststore-noenc.p12"
    )
    out["pkcs12"]["noenc_empty_password"] = bytes([2]) + read(
        KEYSTORE, "cryptography-truststore-noenc.p12"
    )

    # caIssuers bodies: a DER certificate, a certs-only PKCS#7 message written by openssl
    # (DER, and the same with indefinite lengths, as BER), PEM of both, and a web page.
    p7c = read(PKI, "intermediate_root.p7c")
    out["aia"] = {
        "der": inter,
        "p7c": p7c,
        "p7c_ber": _indefinite(0x30, bytes.fromhex("06092a864886f70d010702") + _indefinite(
            0xA0, _indefinite(0x30, p7c[23:41] + _indefinite(0xA0, inter + root) + b"\x31\x00")
        )),
        "p7c_pem": b"-----BEGIN PKCS7-----\n" + _b64_lines(p7c) + b"-----END PKCS7-----\n",
        "pem_bundle": ca_pem,
        "html": b"<html><body>404 Not Found</body></html>\n",
    }
    return out


def _indefinite(tag: int, content: bytes) -> bytes:
    """A BER element of indefinite length (X.690 section 8.1.3.6)."""
    return bytes([tag, 0x80]) + content + b"\x00\x00"


def _b64_lines(der: bytes) -> bytes:
    import base64

    text = base64.b64encode(der)
    return b"".join(text[i : i + 64] + b"\n" for i in range(0, len(text), 64))


def main() -> None:
    target = FUZZ / "seeds"
    if target.exists():
        shutil.rmtree(target)
    total = 0
    for name, files in seeds().items():
        folder = target / name
        folder.mkdir(parents=True)
        for stem, data in files.items():
            (folder / stem).write_bytes(data)
            total += len(data)
    print(f"wrote {sum(len(f) for f in seeds().values())} seeds, {total} bytes, to {target}")


if __name__ == "__main__":
    main()
