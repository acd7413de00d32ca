"""What a check found: a :class:`Report` with one :class:`CheckResult` per check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Final, Literal

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
class _ReportFields:
    """What a :class:`Report` holds (its fields, compared, hashed and shown as they are)."""

    host: str
    port: int
    ip: str | None
    policy: Policy
    reason: str
    results: tuple[CheckResult, ...]
    chain: tuple[bytes, ...] = field(repr=False)
    verified_path: tuple[bytes, ...] | None = field(default=None, repr=False)
    revocation: PathAnswer | None = None
    enforced: bool = True
    fetched_intermediates: tuple[tuple[str, str], ...] = ()


# A report not built yet: (build, decision, host, ip, port), build(decision, host, ip, port)
# returning the built report.
_Pending = tuple[Callable[..., "Report"], Any, str, Any, Any]


class Report:
    """The outcome of checking one connection's certificate chain.

    A report of a connection whose every enabled check passed may be built only when it is
    first read (the engine decides such connections in one call into Rust and keeps what it
    needs to describe them); reading any field builds it, once. Reports are immutable,
    compare and hash by their fields, and pickle as built ones.
    """

    __slots__ = ("_state",)

    _state: _ReportFields | _Pending

    def __init__(
        self,
        host: str,
        port: int,
        ip: str | None,
        policy: Policy,
        reason: str,
        results: tuple[CheckResult, ...],
        chain: tuple[bytes, ...],
        verified_path: tuple[bytes, ...] | None = None,
        revocation: PathAnswer | None = None,
        enforced: bool = True,
        fetched_intermediates: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self._state = _ReportFields(
            host,
            port,
            ip,
            policy,
            reason,
            results,
            chain,
            verified_path,
            revocation,
            enforced,
            fetched_intermediates,
        )

    @classmethod
    def _passed(
        cls,
        build: Callable[..., Report],
        decision: Any,
        host: str,
        ip: Any,
        port: Any,
    ) -> Report:
        """A report of a connection no enabled check failed, built by
        ``build(decision, host, ip, port)`` when first read."""
        report = _new_report(cls)
        report._state = (build, decision, host, ip, port)
        return report

    def _fields(self) -> _ReportFields:
        state = self._state
        if type(state) is _ReportFields:
            return state
        build, decision, host, ip, port = state  # type: ignore[misc]
        built = build(decision, host, ip, port)._fields()
        # Two threads may build at once: both build the same values; either is kept.
        self._state = built
        return built

    # The fields (read-only).

    @property
    def host(self) -> str:
        """The server name checked."""
        return self._fields().host

    @property
    def port(self) -> int:
        """The port (0 when unknown)."""
        return self._fields().port

    @property
    def ip(self) -> str | None:
        """The peer address, when given."""
        return self._fields().ip

    @property
    def policy(self) -> Policy:
        """The policy that applied."""
        return self._fields().policy

    @property
    def reason(self) -> str:
        """Why that policy applied."""
        return self._fields().reason

    @property
    def results(self) -> tuple[CheckResult, ...]:
        """One CheckResult per check, in check order."""
        return self._fields().results

    @property
    def chain(self) -> tuple[bytes, ...]:
        """The presented chain (DER)."""
        return self._fields().chain

    @property
    def verified_path(self) -> tuple[bytes, ...] | None:
        """The verified path, leaf to anchor (DER), when the chain verified."""
        return self._fields().verified_path

    @property
    def revocation(self) -> PathAnswer | None:
        """What each revocation method answered, when revocation was checked."""
        return self._fields().revocation

    @property
    def fetched_intermediates(self) -> tuple[tuple[str, str], ...]:
        """The intermediates the verified path got from caIssuers URLs (AIA chasing):
        (url, subject) each, in path order; empty when the server presented all it needed."""
        return self._fields().fetched_intermediates

    @property
    def enforced(self) -> bool:
        """False when an audit-mode policy let a failure through (the connection went on);
        True otherwise: a failure under an enforce-mode policy breaks the connection."""
        state = self._state
        if type(state) is tuple:
            return True  # nothing failed
        return state.enforced  # type: ignore[union-attr]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Report):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "Report" + repr(self._fields()).removeprefix("_ReportFields")

    def __reduce__(self) -> tuple[Any, ...]:
        fields = self._fields()
        return (Report, tuple(getattr(fields, name) for name in _FIELD_NAMES))

    @property
    def ok(self) -> bool:
        """True when no enabled check failed."""
        if type(self._state) is tuple:
            return True  # decided without a failure, not built yet
        return all(result.status != "failed" for result in self.results)

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of the failed checks, in check order."""
        return tuple(r.code for r in self.failures if r.code is not None)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        if type(self._state) is tuple:
            return ()
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
        if type(self._state) is tuple:
            return  # decided without a failure
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


_FIELD_NAMES: Final = tuple(item.name for item in fields(_ReportFields))
_new_report = object.__new__
