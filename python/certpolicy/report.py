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

__all__ = ["CheckResult", "Report"]

CheckName = Literal["chain", "hostname", "revocation"]
Status = Literal["passed", "failed", "skipped"]

_ERRORS: Final[dict[str, type[CertificateCheckError]]] = {
    "chain": ChainError,
    "hostname": HostnameMismatchError,
    "revocation": RevocationUnavailableError,
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check: passed, failed, or skipped (the policy does not enable it)."""

    name: CheckName
    status: Status
    detail: str
    error: CertificateCheckError | None = field(default=None, repr=False, compare=False)


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

    @property
    def ok(self) -> bool:
        """True when no enabled check failed."""
        return all(result.status != "failed" for result in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if result.status == "failed")

    def result(self, name: CheckName) -> CheckResult:
        for item in self.results:
            if item.name == name:
                return item
        raise KeyError(name)

    def message(self) -> str:
        """One line naming the endpoint, the policy, each failed check and its reason."""
        failed = "; ".join(f"{r.name}: {r.detail}" for r in self.failures)
        return (
            f"certificate check failed for {self.host}:{self.port} "
            f'(policy "{self.policy.name}"): {failed}'
        )

    def raise_for_status(self) -> None:
        """Raises the error of the first failed check (a :class:`CertificateCheckError`),
        with this report attached as ``.report``."""
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
            "policy": self.policy.name,
            "policy_kind": self.policy.kind,
            "reason": self.reason,
            "checks": {r.name: {"status": r.status, "detail": r.detail} for r in self.results},
            "revocation": None
            if self.revocation is None
            else [
                {"method": a.method, "status": a.status, "source": a.source, "detail": a.detail}
                for a in self.revocation.answers
            ],
        }
