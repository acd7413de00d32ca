"""OCSP per certificate: build the request and verify the responder's answer (a real
``openssl ocsp`` response, signed by the issuing CA). certpolicy vs cryptography: request
building with OCSPRequestBuilder, then ``load_der_ocsp_response`` and the response signature
verified with the issuer's public key. The peer does less: no CertID match, no freshness or
responder authorization checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from certpolicy.revocation.ocsp import ocsp_check_response, ocsp_request

from ocsp_responder import Responder
from pki import make_root


@pytest.fixture(scope="module", params=["ec", "rsa"])
def setup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    kind = request.param
    ca = make_root("bench ocsp root", key_kind=kind).issue_ca("bench ocsp CA", key_kind=kind)
    leaf = ca.issue_leaf(["bench.example"], key_kind=kind)
    responder = Responder(Path(tmp_path_factory.mktemp("ocsp")), ca, ca)
    responder.add_good(leaf)
    response = responder.respond(ocsp_request(leaf.der, ca.der))
    assert ocsp_check_response(response, leaf.der, ca.der).status == "good"
    return {"kind": kind, "ca": ca, "leaf": leaf, "response": response}


def test_ocsp_certpolicy(benchmark: Any, setup: dict[str, Any]) -> None:
    benchmark.group = f"ocsp-request+verify-{setup['kind']}"
    benchmark.extra_info.update(impl="certpolicy")
    leaf, ca, response = setup["leaf"].der, setup["ca"].der, setup["response"]

    def run() -> str:
        ocsp_request(leaf, ca)
        return ocsp_check_response(response, leaf, ca).status

    assert benchmark(run) == "good"


def test_ocsp_cryptography(benchmark: Any, setup: dict[str, Any]) -> None:
    benchmark.group = f"ocsp-request+verify-{setup['kind']}"
    benchmark.extra_info.update(impl="cryptography", peer=True)
    leaf, ca, response = setup["leaf"].cert, setup["ca"].cert, setup["response"]
    key = ca.public_key()

    def run() -> ocsp.OCSPCertStatus:
        ocsp.OCSPRequestBuilder().add_certificate(leaf, ca, hashes.SHA1()).build().public_bytes(
            Encoding.DER
        )
        parsed = ocsp.load_der_ocsp_response(response)
        algorithm = parsed.signature_hash_algorithm
        assert algorithm is not None
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(parsed.signature, parsed.tbs_response_bytes, ec.ECDSA(algorithm))
        else:
            assert isinstance(key, rsa.RSAPublicKey)
            key.verify(parsed.signature, parsed.tbs_response_bytes, padding.PKCS1v15(), algorithm)
        return parsed.certificate_status

    assert benchmark(run) == ocsp.OCSPCertStatus.GOOD
