"""What a check found: a :class:`Report` with one :class:`CheckResult` per check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from certpolicy.errors import (
    CertificateCheckError,
    CertificateRevokedError,
    ChainError,
    HostnameMismatchError,
    RevocationUnavailableError,
)

if TYPE_CHECKING:
    # Report holds these; it never needs their modules at run time (report sits beside
    # policy and revocation in the layers, independent of both).
    from certpolicy.policy import Policy
    from certpolicy.revocation import PathAnswer

__all__ = ["CHECK_CODES", "CheckResult", "Report"]

CheckName = Literal["chain", "hostname", "revocation"]
Status = Literal["passed", "failed", "skipped"]

# The stable reason codes of CheckResult.code (DESIGN.md "Contract additions"); None when a
# check passed. Monitoring scripts match on these, never on the English detail.
CHECK_CODES: Final = (
    "chain.untrusted",
    "chain.expired",
    "chain.not_yet_valid",
    "chain.bad_signature",
    "chain.constraints",
    "chain.malformed",
    "chain.empty",
    "hostname.mismatch",
    "revocation.revoked",
    "revocation.unavailable",
    "revocation.not_applicable",
    "skipped.policy",
    "skipped.offline",
    # An addition to the DESIGN table: revocation is not asked about a chain that did not
    # verify (the chain's own code says why).
    "skipped.chain_failed",
)

_ERRORS: Final[dict[str, type[CertificateCheckError]]] = {
    "chain": ChainError,
    "hostname": HostnameMismatchError,
    "revocation": RevocationUnavailableError,
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: passed, failed, or skipped (the policy does not enable it, or it could
    not be asked). ``code`` is the stable machine-readable reason (one of
    :data:`CHECK_CODES`), None when the check passed."""

    name: CheckName
    status: Status
    detail: str
    error: CertificateCheckError | None = field(default=None, repr=False, compare=False)
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of checking one connection's certificate chain."""

    host: str
    port: int
    ip: str | None
    policy: Policy
    reason: str
    results: tuple[CheckResult, ...]
    chain: tuple[bytes, ...] = field(repr=False)
    verified_path: tuple[bytes, ...] | None = field(default=None, repr=False)
    # What each revocation method answered, when revocation was checked.
    revocation: PathAnswer | None = None
    # False when an audit-mode policy let a failure through (the connection went on); True
    # otherwise: a failure under an enforce-mode policy breaks the connection.
    enforced: bool = True
    # The intermediates the verified path got from caIssuers URLs (AIA chasing): (url,
    # subject) each, in path order; empty when the server presented all it needed.
    fetched_intermediates: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        """True when no enabled check failed."""
        return all(result.status != "failed" for result in self.results)

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of the failed checks, in check order."""
        return tuple(r.code for r in self.failures if r.code is not None)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if result.status == "failed")

    def result(self, name: CheckName) -> CheckResult:
        for item in self.results:
            if item.name == name:
                return item
        raise KeyError(name)

    def message(self) -> str:
        """One line naming the endpoint, the policy, each failed check and its reason
        ("would fail ... audit mode" when an audit-mode policy let the failures through)."""
        failed = "; ".join(f"{r.name}: {r.detail}" for r in self.failures)
        if not self.enforced:
            return (
                f"certificate check would fail for {self.host}:{self.port} "
                f'(policy "{self.policy.name}", audit mode: allowed): {failed}'
            )
        return (
            f"certificate check failed for {self.host}:{self.port} "
            f'(policy "{self.policy.name}"): {failed}'
        )

    def raise_for_status(self) -> None:
        """Raises the error of the first failed check (a :class:`CertificateCheckError`),
        with this report attached as ``.report``. It raises for audit-mode failures too:
        the status is failed; :meth:`certpolicy.Engine.enforce` is what lets them through."""
        failures = self.failures
        if not failures:
            return
        first = failures[0]
        error_type: type[CertificateCheckError] = _ERRORS[first.name]
        if isinstance(first.error, CertificateRevokedError):
            error_type = CertificateRevokedError
        if error_type is HostnameMismatchError and isinstance(first.error, HostnameMismatchError):
            raise HostnameMismatchError(
                self.message(), first.error.host, first.error.presented, report=self
            ) from first.error
        if error_type is ChainError and isinstance(first.error, ChainError):
            raise ChainError(
                self.message(), first.error.kind, first.error.verify_code, report=self
            ) from first.error
        raise error_type(self.message(), report=self) from first.error

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form (for the CLI and logs)."""
        return {
            "host": self.host,
            "port": self.port,
            "ip": self.ip,
            "ok": self.ok,
            "enforced": self.enforced,
            "policy": self.policy.name,
            "policy_kind": self.policy.kind,
            "mode": self.policy.mode,
            "reason": self.reason,
            "codes": list(self.codes),
            "checks": {
                r.name: {"status": r.status, "code": r.code, "detail": r.detail}
                for r in self.results
            },
            "revocation": None
            if self.revocation is None
            else [
                {
                    "method": a.method,
                    "status": a.status,
                    "source": a.source,
                    "certificate": a.certificate,
                    "depth": a.depth,
                    "detail": a.detail,
                }
                for a in self.revocation.answers
            ],
            "fetched_intermediates": [
                {"url": url, "subject": subject} for url, subject in self.fetched_intermediates
            ],
        }
