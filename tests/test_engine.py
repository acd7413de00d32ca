"""Engine.check / enforce: the selected policy decides which checks run; reports say why."""

from __future__ import annotations

import datetime as dt
import logging
import ssl
from pathlib import Path

import pytest

import certpolicy as cp

from pki import END, Pki, make_pki, make_root


@pytest.fixture(scope="module")
def web() -> Pki:
    return make_pki(["api.example.com", "10.0.0.5"])


def engine_with(web: Pki, *policies: cp.Policy, allow: bool = False) -> cp.Engine:
    trust = cp.TrustStore()
    trust.add_der(web.root.der)
    revocation = cp.RevocationConfig(on_unavailable="allow" if allow else "fail")
    return cp.Engine(cp.PolicySet(policies), trust, revocation)


NO_REVOCATION = cp.Policy("Web", "internet", check_revocation=False)


def test_all_checks_pass(web: Pki) -> None:
    report = engine_with(web, NO_REVOCATION).check(web.chain, "api.example.com", ip="93.184.216.34")
    assert report.ok
    assert report.policy.name == "Web"
    assert report.reason == "no other policy matches"
    assert [(r.name, r.status) for r in report.results] == [
        ("chain", "passed"),
        ("hostname", "passed"),
        ("revocation", "skipped"),
    ]
    assert "verified to trust anchor CN=certpolicy test root" in report.result("chain").detail
    assert report.verified_path == (web.leaf.der, web.intermediate.der, web.root.der)
    report.raise_for_status()


def test_hostname_failure_report_and_error(web: Pki, caplog: pytest.LogCaptureFixture) -> None:
    engine = engine_with(web, NO_REVOCATION)
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        report = engine.check(web.chain, "www.example.org", ip="1.2.3.4", port=8443)
    assert not report.ok
    assert report.result("hostname").status == "failed"
    assert report.result("chain").status == "passed"
    with pytest.raises(cp.HostnameMismatchError) as info:
        report.raise_for_status()
    err = info.value
    assert isinstance(err, ssl.SSLCertVerificationError)
    assert err.report is report
    assert err.presented == ["api.example.com", "10.0.0.5"]
    assert str(err).startswith(
        'certificate check failed for www.example.org:8443 (policy "Web"): hostname: '
    )
    assert "api.example.com, 10.0.0.5" in str(err)
    record = caplog.records[-1]
    assert record.levelno == logging.WARNING
    assert (record.host, record.port, record.ip, record.policy, record.check) == (  # type: ignore[attr-defined]
        "www.example.org",
        8443,
        "1.2.3.4",
        "Web",
        "hostname",
    )


def test_chain_failure(web: Pki) -> None:
    engine = engine_with(web, NO_REVOCATION)
    with pytest.raises(cp.ChainError, match=r'policy "Web"\): chain: .*expired'):
        engine.enforce(web.chain, "api.example.com", at=END + dt.timedelta(days=2))
    stranger = make_pki(["api.example.com"])
    with pytest.raises(cp.ChainError, match="not trusted"):
        engine.enforce(stranger.chain, "api.example.com")
    with pytest.raises(cp.ChainError, match="no certificate"):
        engine.enforce([], "api.example.com")


def test_policy_disables_checks(web: Pki) -> None:
    self_signed = make_root("intranet box")
    leaf = self_signed.issue_leaf(["box.corp.example"])
    engine = engine_with(
        web,
        cp.Policy(
            "Trust the box",
            "override",
            hosts=["box.corp.example"],
            check_chain=False,
            check_hostname=False,
            check_revocation=False,
        ),
        NO_REVOCATION,
    )
    report = engine.enforce([leaf.der], "box.corp.example")
    assert [r.status for r in report.results] == ["skipped"] * 3
    assert report.result("chain").detail == 'disabled by policy "Trust the box"'
    with pytest.raises(cp.ChainError):
        engine.enforce([leaf.der], "other.corp.example")


def test_ip_selects_the_intranet_policy(web: Pki) -> None:
    engine = engine_with(
        web,
        cp.Policy(
            "Intranet",
            "intranet",
            ip_ranges=["10.0.0.0/8"],
            check_hostname=False,
            check_revocation=False,
        ),
        NO_REVOCATION,
    )
    report = engine.enforce(web.chain, "anything.internal", ip="10.0.0.5", trust_peer_ip=True)
    assert report.policy.name == "Intranet"
    assert report.result("hostname").status == "skipped"
    # Without trust_peer_ip the address may be a proxy's: it cannot lower the checks.
    guarded = engine.check(web.chain, "anything.internal", ip="10.0.0.5")
    assert guarded.policy.name != "Intranet"
    assert "was set aside" in guarded.reason


def test_revocation_fails_closed_until_implemented(web: Pki) -> None:
    engine = engine_with(web, cp.Policy("Web", "internet"))
    report = engine.check(web.chain, "api.example.com")
    assert report.result("revocation").status == "failed"
    with pytest.raises(cp.RevocationUnavailableError, match="no definitive revocation status"):
        report.raise_for_status()


def test_revocation_unavailable_allowed_logs_warning(
    web: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_with(web, cp.Policy("Web", "internet"), allow=True)
    with caplog.at_level(logging.WARNING, logger="certpolicy"):
        report = engine.enforce(web.chain, "api.example.com")
    assert report.ok
    assert "allowed" in report.result("revocation").detail
    assert any("revocation unavailable" in r.getMessage() for r in caplog.records)


def test_report_to_dict(web: Pki) -> None:
    report = engine_with(web, NO_REVOCATION).check(web.chain, "api.example.com")
    data = report.to_dict()
    assert data["ok"] is True
    assert data["policy"] == "Web"
    assert data["checks"]["revocation"]["status"] == "skipped"  # type: ignore[index]


def test_default_engine() -> None:
    engine = cp.Engine()
    assert len(engine.trust) > 100
    assert [p.name for p in engine.policies] == ["Instance", "Intranet", "Internet"]
    assert engine.revocation.on_unavailable == "fail"


def test_engine_from_toml(tmp_path: Path, web: Pki) -> None:
    (tmp_path / "roots.pem").write_bytes(web.root.pem)
    (tmp_path / "certpolicy.toml").write_text(
        """
[trust]
defaults = false
files = ["roots.pem"]

[revocation]
on_unavailable = "allow"
timeout = 3.0
retry = { attempts = 2, backoff = 0.1 }

[[policy]]
name = "Web"
kind = "internet"
check_revocation = false
"""
    )
    engine = cp.Engine.from_config(tmp_path / "certpolicy.toml")
    assert len(engine.trust) == 1
    assert engine.revocation.retry.attempts == 2
    assert engine.enforce(web.chain, "api.example.com").ok


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("colour = 1", "unknown key"),
        ("[revocation]\nmethod = 'carrier-pigeon'", "carrier-pigeon"),
        ("[revocation]\nfrobnicate = 1", "revocation"),
        ("[trust]\ndefaults = false\nfiles = ['missing.pem']", "cannot read trust file"),
    ],
)
def test_bad_engine_toml(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "certpolicy.toml"
    path.write_text(content)
    with pytest.raises(cp.CertPolicyError) as info:
        cp.Engine.from_config(path)
    assert needle in str(info.value)


def test_from_config_rejects_other_suffixes(tmp_path: Path) -> None:
    with pytest.raises(cp.ConfigError, match=r"config\.xml or a \.toml"):
        cp.Engine.from_config(tmp_path / "config.yaml")


def test_engine_is_a_context_manager_that_closes_its_methods(web: Pki) -> None:
    closed: list[str] = []

    class Method:
        name = "crl"

        def check(self, cert: bytes, issuer: bytes, *, at: object) -> object:
            raise AssertionError("not called")

        def close(self) -> None:
            closed.append(self.name)

    with engine_with(web, NO_REVOCATION) as engine:
        engine._revocation_checker.methods["crl"] = Method()  # type: ignore[assignment]
        assert engine.check(web.chain, "api.example.com").ok
    assert closed == ["crl"]


def test_revocation_without_a_verified_path_is_unavailable(web: Pki) -> None:
    """With the chain check off, nothing vouches for the issuer or the URLs it names: no
    fetch happens and revocation is unavailable (fail closed by default)."""
    engine = engine_with(web, cp.Policy("Web", "internet", check_chain=False))
    report = engine.check(web.chain, "api.example.com")
    assert report.result("revocation").status == "failed"
    assert "needs a verified path" in report.result("revocation").detail
    allowing = engine_with(web, cp.Policy("Web", "internet", check_chain=False), allow=True)
    assert allowing.check(web.chain, "api.example.com").ok
    garbage = engine.check([b"\x30\x03\x02\x01\x01"], "api.example.com")
    assert garbage.result("revocation").status == "failed"


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ('[trust]\ndefaults = "false"\n', "[trust] defaults must be true or false"),
        ('[trust]\nfiles = "root.pem"\n', "[trust] files must be a list"),
        ('[revocation]\ntimeout = "10"\n', "timeout must be a number"),
        ("[revocation]\nretry = { attempts = 2, backoff = true }\n", "backoff must be a number"),
        ("[revocation]\ncache_dir = 5\n", "cache_dir must be a path"),
        ('policy = "x"\n', "policy must be a list of [[policy]] tables"),
        ('[[policy]]\nname = "X"\nkind = "override"\ncheck_chain = "false"\n', "check_chain"),
    ],
)
def test_certpolicy_toml_types_are_strict(tmp_path: Path, toml: str, needle: str) -> None:
    """A string where a boolean or number belongs is an error, never a silent truthy value
    (``defaults = "false"`` kept every public root)."""
    path = tmp_path / "certpolicy.toml"
    path.write_text(toml)
    with pytest.raises(cp.CertPolicyError) as info:
        cp.Engine.from_config(path)
    assert needle in str(info.value)
