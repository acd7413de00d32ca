"""Engine.check_endpoint(connect_to=..., server_name=...): curl's --resolve and --servername
for the library, against a real TLS server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import certpolicy as cp
from test_tls_server import tls_server

from pki import make_pki

NO_REVOCATION = cp.PolicySet([cp.Policy("Internet", "internet", check_revocation=False)])


def test_connect_to_an_address_and_check_the_name(tmp_path: Path) -> None:
    web = make_pki(["svc.example.test"])
    trust = cp.TrustStore()
    trust.add_der(web.root.der)
    engine = cp.Engine(NO_REVOCATION, trust)
    with tls_server([web.leaf, web.intermediate], web.leaf.key_pem, tmp_path) as server:
        # A name no resolver knows: only connect_to gets us there.
        report = engine.check_endpoint(
            "svc.example.test", server.port, timeout=5, connect_to="127.0.0.1"
        )
        assert report.ok, report.message()
        assert report.host == "svc.example.test"
        # The name checked is the server_name, not the host.
        other = engine.check_endpoint(
            "svc.example.test",
            server.port,
            timeout=5,
            connect_to="127.0.0.1",
            server_name="other.example.test",
        )
        assert other.codes == ("hostname.mismatch",)
        assert other.host == "other.example.test"
        server.settle()  # the server's side of the handshakes has ended too
        assert len(server.connections) == 2
