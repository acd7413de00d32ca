#!/bin/sh
# Remakes the keystore test files of the unit tests (and the fuzz seeds) with the real tools:
# Java's keytool, openssl and Python's cryptography. Every store holds the fixed test root
# and intermediate of rust/core/testdata; the password is "changeit" unless the name says.
#   sh rust/core/src/keystore/testdata/make_testdata.sh   (from the repository root)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pki=$here/../../../testdata
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
openssl x509 -inform DER -in "$pki/root.der" -out root.pem
openssl x509 -inform DER -in "$pki/intermediate.der" -out intermediate.pem
# An identity: a key and its self-signed certificate (the leaf that must not become an anchor).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout id.key \
    -out id.pem -days 7300 -subj "/CN=keystore identity" 2>/dev/null
kt() { keytool "$@" -storepass changeit -noprompt >/dev/null 2>&1; }
for type in JKS PKCS12 JCEKS; do
    lower=$(echo $type | tr A-Z a-z)
    kt -importcert -storetype $type -keystore trust.$lower -alias root -file root.pem
    kt -importcert -storetype $type -keystore trust.$lower -alias intermediate -file intermediate.pem
done
# Key entries beside a trusted certificate.
for type in JKS PKCS12; do
    lower=$(echo $type | tr A-Z a-z)
    openssl pkcs12 -export -in id.pem -inkey id.key -name identity -passout pass:changeit \
        -out id-src.p12
    kt -importkeystore -srckeystore id-src.p12 -srcstoretype PKCS12 -srcstorepass changeit \
        -destkeystore identity.$lower -deststoretype $type -deststorepass changeit
    kt -importcert -storetype $type -keystore identity.$lower -alias root -file root.pem
done
# A PKCS#12 keystore holding only a private-key entry whose chain is a CA-issued leaf and that
# CA (keystore identity CA, made here): no trusted-certificate entry, so no anchor.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -out ca.pem -days 7300 -subj "/CN=keystore identity CA" \
    -addext basicConstraints=critical,CA:TRUE 2>/dev/null
kt -genkeypair -storetype PKCS12 -keystore keyonly.pkcs12 -alias agent -keyalg EC \
    -groupname secp256r1 -dname "CN=agent client" -validity 7300
kt -certreq -storetype PKCS12 -keystore keyonly.pkcs12 -alias agent -file agent.csr
openssl x509 -req -in agent.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 7300 \
    -out agent.pem 2>/dev/null
cat agent.pem ca.pem > reply.pem
kt -importcert -storetype PKCS12 -keystore keyonly.pkcs12 -alias agent -file reply.pem
# A password-less PKCS#12 trust store (no MAC, certificates not encrypted), as Java 18 and
# later ship their cacerts.
for alias in root intermediate; do
    kt -J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE -J-Dkeystore.pkcs12.macAlgorithm=NONE \
        -importcert -storetype PKCS12 -keystore trust-nomac.pkcs12 -alias $alias -file $alias.pem
done
kt -genseckey -storetype JCEKS -keystore secret.jceks -alias aes -keyalg AES -keysize 128
kt -importcert -storetype JCEKS -keystore secret.jceks -alias root -file root.pem
cat root.pem intermediate.pem > cas.pem
openssl pkcs12 -export -in id.pem -inkey id.key -certfile cas.pem -passout pass:changeit \
    -out openssl-default.p12
openssl pkcs12 -export -legacy -in id.pem -inkey id.key -certfile cas.pem \
    -passout pass:changeit -out openssl-legacy.p12
openssl pkcs12 -export -in id.pem -inkey id.key -certfile cas.pem -passout pass:changeit \
    -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -out openssl-3des.p12
openssl pkcs12 -export -nokeys -in cas.pem -passout pass:changeit -out openssl-nokeys.p12
# One iteration everywhere: a cheap seed for the fuzz target.
openssl pkcs12 -export -nokeys -in cas.pem -passout pass:changeit -noiter -nomaciter \
    -out openssl-iter1.p12
python3 - <<'PY'
from cryptography import x509
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, NoEncryption
from cryptography.hazmat.primitives.serialization.pkcs12 import (
    PKCS12Certificate, serialize_java_truststore, serialize_key_and_certificates)
from cryptography.hazmat.primitives.serialization import load_pem_private_key
root = x509.load_pem_x509_certificate(open("root.pem", "rb").read())
inter = x509.load_pem_x509_certificate(open("intermediate.pem", "rb").read())
ident = x509.load_pem_x509_certificate(open("id.pem", "rb").read())
key = load_pem_private_key(open("id.key", "rb").read(), None)
certs = [PKCS12Certificate(root, b"root"), PKCS12Certificate(inter, b"intermediate")]
open("cryptography-truststore.p12", "wb").write(
    serialize_java_truststore(certs, BestAvailableEncryption(b"changeit")))
open("cryptography-truststore-noenc.p12", "wb").write(
    serialize_java_truststore(certs, NoEncryption()))
open("cryptography-identity.p12", "wb").write(serialize_key_and_certificates(
    b"identity", key, ident, [root, inter], BestAvailableEncryption(b"changeit")))

# The unencrypted trust store with its MAC removed (what anyone who can write the file can do):
# PFX ::= SEQUENCE { version, authSafe, macData } re-encoded without macData.
def tlv(data, at):
    length, start = data[at + 1], at + 2
    if length & 0x80:
        count = length & 0x7F
        length, start = int.from_bytes(data[start:start + count], "big"), start + count
    return start, start + length

def der_length(n):
    if n < 0x80:
        return bytes([n])
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets

pfx = serialize_java_truststore(certs, NoEncryption())
start, end = tlv(pfx, 0)
_, version_end = tlv(pfx, start)
_, auth_safe_end = tlv(pfx, version_end)
assert auth_safe_end < end, "no MAC to remove"
body = pfx[start:auth_safe_end]
open("cryptography-truststore-nomac.p12", "wb").write(b"\x30" + der_length(len(body)) + body)
PY
for f in trust.jks trust.pkcs12 trust.jceks identity.jks identity.pkcs12 secret.jceks \
    openssl-default.p12 openssl-legacy.p12 openssl-3des.p12 openssl-nokeys.p12 openssl-iter1.p12 \
    cryptography-truststore.p12 cryptography-truststore-noenc.p12 cryptography-identity.p12 \
    cryptography-truststore-nomac.p12 keyonly.pkcs12 trust-nomac.pkcs12; do
    cp "$f" "$here/$f"
done
cp id.pem "$here/identity-cert.pem"
