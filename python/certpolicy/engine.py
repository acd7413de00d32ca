"""The engine: selects the policy for a connection and runs the checks it enables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from certpolicy._stats import CheckCounters
from certpolicy._util import core
from certpolicy.checks import (
    TrustStore,
    cert_info,
    chain_cache_info,
    resolve_trust_sources,
    verify_chain,
    verify_hostname,
)
from certpolicy.errors import (
    CertificateCheckError,
    CertificateRevokedError,
    CertPolicyError,
    ChainError,
    ConfigError,
    HostnameMismatchError,
    PolicyError,
    RevocationUnavailableError,
)
from certpolicy.intermediates import (
    Completion,
    IntermediateFetcher,
    intermediate_cache_directory,
)
from certpolicy.policy import (
    BUILTIN_INTERNET,
    DEFAULTS_MODES,
    AgentConfig,
    ComposedPolicies,
    Policy,
    PolicySet,
    Selection,
    SyncResult,
    compose_policies,
    default_policies,
    defaults_origin,
    load_saved_policies,
    saved_policies_path,
    selection_reason,
    sync_failed,
    sync_policies,
)
from certpolicy.report import CheckResult, Report
from certpolicy.revocation import (
    MethodAnswer,
    PathAnswer,
    Retry,
    RevocationChecker,
    RevocationConfig,
    default_methods,
)
from certpolicy.tls import PolicySSLContext, checked_https_get, parse_endpoint

__all__ = ["TRUST_FILE_BESIDE_CONFIG_XML", "Engine", "revocation_config_from", "trust_store_file"]

logger = logging.getLogger("certpolicy")

# The trust store file of an agent configured by config.xml: beside it, loaded when present
# (``certpolicy trust import`` writes it).
TRUST_FILE_BESIDE_CONFIG_XML: Final = "certpolicy-trust.pem"
MAX_ANCHOR_SUBJECTS: Final = 4096
# Policy selections remembered at most (emptied when full), and the longest host name
# remembered (a valid DNS name has at most 253 characters).
MAX_SELECTIONS: Final = 4096
MAX_MEMO_HOST: Final = 255


class Engine:
    """Checks connections by the policy that applies to them.

    Every argument is optional: ``PolicySet.defaults()``, ``TrustStore.default()``,
    ``RevocationConfig()``. The trust store and policies are loaded once, never per check.

    ``fetch_intermediates`` (default True): a chain that fails for want of an issuer is
    completed from the caIssuers ``http://`` URL of the certificate where it stops (AIA
    chasing); what is fetched is only a candidate intermediate, never a trust anchor. A
    policy's own ``fetch_intermediates`` overrides it. Fetches use the revocation settings'
    ``timeout`` (each fetch) and ``deadline`` (the whole chase), and cache what they get in
    memory and under ``cache_dir/intermediates``. See docs/trust.md.

    ``allow_loopback_intermediates`` (default False; for tests and development only):
    caIssuers URLs may lead to loopback addresses. Link-local, unspecified, multicast and
    reserved addresses stay refused whatever it says.
    """

    def __init__(
        self,
        policies: PolicySet | None = None,
        trust: TrustStore | None = None,
        revocation: RevocationConfig | None = None,
        *,
        config: AgentConfig | None = None,
        origins: Mapping[str, str] | None = None,
        fetch_intermediates: bool = True,
        allow_loopback_intermediates: bool = False,
    ) -> None:
        self._policies = policies if policies is not None else PolicySet.defaults()
        # Where each policy came from, by name (config.xml, the instance table, defaults...).
        self._origins: Mapping[str, str] = dict(origins or {})
        # Why saved policies beside config.xml were ignored, when they were.
        self.saved_policies_problem: str | None = None
        # Policies of a certpolicy.toml [[policy]] list that extend the config.xml ones, kept
        # so every sync extends its result the same way (and their origin).
        self._extra_policies: tuple[tuple[Policy, ...], str] = ((), "")
        self._sync_lock = threading.Lock()
        self._sync_stop: threading.Event | None = None
        self._sync_thread: threading.Thread | None = None
        self._trust = trust if trust is not None else TrustStore.default()
        self._revocation = revocation if revocation is not None else RevocationConfig()
        self._config = config
        if not isinstance(self._policies, PolicySet):
            raise ConfigError("policies must be a certpolicy.PolicySet")
        if not isinstance(self._trust, TrustStore):
            raise ConfigError("trust must be a certpolicy.TrustStore")
        if not isinstance(self._revocation, RevocationConfig):
            raise ConfigError("revocation must be a certpolicy.RevocationConfig")
        if not isinstance(fetch_intermediates, bool):
            raise ConfigError("fetch_intermediates must be True or False")
        if not isinstance(allow_loopback_intermediates, bool):
            raise ConfigError("allow_loopback_intermediates must be True or False")
        self._fetch_intermediates = fetch_intermediates
        self._intermediates = IntermediateFetcher(
            intermediate_cache_directory(self._revocation.cache_dir),
            timeout=self._revocation.timeout,
            deadline=self._revocation.deadline,
            allow_loopback=allow_loopback_intermediates,
        )
        self._anchor_subjects: dict[bytes, str] = {}
        # The policies the remembered selections were made by, and the selections.
        self._selections: tuple[PolicySet | None, dict[Any, Selection]] = (None, {})
        self._stats = CheckCounters()
        self._revocation_checker = RevocationChecker(
            self._revocation, default_methods(self._revocation)
        )
        # The decision in one call into Rust for connections whose every check passes from
        # what is known (see check()); it counts them into the same counters.
        checker = self._revocation_checker
        self._decider = core.Decider(
            self._trust._core, self._stats.native, checker.change_counters(), checker.crl_usage()
        )
        self._build_passed = self._passed_report

    def close(self) -> None:
        """Stops background work (CRL refresh threads, periodic instance sync). The engine
        still checks afterwards, fetching on demand. ``with Engine(...) as engine:`` closes
        it at the end."""
        self.stop_sync()
        self._revocation_checker.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        """Counters since the engine started (a snapshot; thread-safe)::

            {"checks": n, "passed": n, "rejected": n, "audited": n,
             "policies": {name: {"checks": n, "passed": n, "rejected": n, "audited": n}},
             "codes": {"chain.expired": n, ...},
             "chain_cache": {"hits": n, "misses": n, "entries": n, "capacity": n},
             "revocation": {"fetches": {...}, "cache": {...}, "reused_verdicts": n},
             "intermediates": {"fetches": n, "failures": n, "cache_hits": n}}

        ``rejected`` counts checks that failed under an enforce-mode policy, ``audited``
        those an audit-mode policy let through; ``codes`` counts findings by reason code
        (failed checks, and revocation allowed while unavailable). ``chain_cache`` is the
        process-wide verified-chain cache (shared by every engine). ``revocation`` counts
        CRL/OCSP fetches (count, failures, bytes, seconds, latency buckets) and cache hits
        and misses per method, and ``reused_verdicts`` the checks whose path's remembered
        revocation verdict was reused (decided in Rust: those reach no method's cache);
        ``intermediates`` the fetches of missing intermediates
        (caIssuers URLs) and the URLs answered from their cache. docs/monitoring.md describes
        every field."""
        chain_cache = chain_cache_info()
        return {
            **self._stats.snapshot(),
            "chain_cache": {
                "hits": chain_cache.hits,
                "misses": chain_cache.misses,
                "entries": chain_cache.entries,
                "capacity": chain_cache.capacity,
            },
            "revocation": {
                **self._revocation_checker.stats(),
                "reused_verdicts": self._decider.reused_verdicts,
            },
            "intermediates": self._intermediates.stats(),
        }

    def register_metrics(self, registry: Any = None) -> Any:
        """Exposes :meth:`stats` to Prometheus: registers a collector with ``registry``
        (default: ``prometheus_client.REGISTRY``) and returns it. Needs the extra
        ``pip install certpolicy[prometheus]``; metric names: docs/monitoring.md."""
        # Imported here: the module is only needed by engines that export metrics.
        from certpolicy.metrics import register

        return register(self.stats, registry)

    @property
    def policies(self) -> PolicySet:
        """The policies in force (replaced atomically by :meth:`sync_policies`)."""
        return self._policies

    @property
    def trust(self) -> TrustStore:
        return self._trust

    @property
    def revocation(self) -> RevocationConfig:
        return self._revocation

    @property
    def fetch_intermediates(self) -> bool:
        """Whether missing intermediates are fetched (for policies that do not say)."""
        return self._fetch_intermediates

    @property
    def config(self) -> AgentConfig | None:
        """The config.xml the engine was made from, if any."""
        return self._config

    @property
    def policy_origins(self) -> Mapping[str, str]:
        """Where each policy in force came from, by policy name (empty for policies given
        directly to the constructor)."""
        return self._origins

    def _replace_policies(
        self, policies: PolicySet, origins: Mapping[str, str] | None = None
    ) -> None:
        # One attribute store: a concurrent check sees the old set or the new one.
        self._policies = policies
        self._origins = dict(origins or {})

    @classmethod
    def from_config(
        cls,
        path: str | os.PathLike[str],
        *,
        defaults: str | None = None,
        sync_interval: float | None = None,
        fetch_intermediates: bool | None = None,
    ) -> Engine:
        """An engine from an agent ``config.xml`` or a ``certpolicy.toml`` (formats:
        docs/policies.md).

        With a config.xml the policies are its bootstrap instance policy and the shipped
        defaults, with the policies of the last good instance sync saved beside it
        (``certpolicy-policies.json``) applied on top when present; a saved file that cannot
        be used is reported (``saved_policies_problem``, a WARNING) and ignored. ``defaults``
        ("fresh_install" or "upgrade") overrides the config's ``certpolicy.defaults``.
        ``sync_interval`` (seconds) starts a background re-sync (see :meth:`start_sync`).
        ``fetch_intermediates`` overrides the config's (a certpolicy.toml's top-level
        ``fetch_intermediates``; default true)."""
        target = Path(path)
        if defaults is not None:
            defaults = _defaults_mode(defaults, "Engine.from_config")
        if target.suffix.lower() == ".xml":
            engine = _engine_from_config_xml(cls, target, defaults)
        elif target.suffix.lower() == ".toml":
            engine = _engine_from_toml(cls, target, defaults)
        else:
            raise ConfigError(f"{target}: expected a config.xml or a .toml file")
        if fetch_intermediates is not None:
            if not isinstance(fetch_intermediates, bool):
                raise ConfigError("fetch_intermediates must be True or False")
            engine._fetch_intermediates = fetch_intermediates
        if sync_interval is not None:
            engine.start_sync(sync_interval)
        return engine

    def start_sync(self, interval: float, *, timeout: float = 10.0) -> None:
        """Re-syncs the policies from the instance every ``interval`` seconds in a daemon
        thread until :meth:`stop_sync` or :meth:`close`. A failed sync keeps the last good
        policies and is logged; the next one is tried on schedule."""
        if not interval > 0:
            raise ConfigError(f"sync interval must be > 0, not {interval}")
        if self._config is None:
            raise ConfigError("periodic sync needs an engine made from a config.xml")
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(interval):
                try:
                    self.sync_policies(timeout=timeout)
                except Exception:  # never let the thread die: the next round may work
                    logger.exception("periodic policy sync failed")

        thread = threading.Thread(target=run, name="certpolicy-policy-sync", daemon=True)
        with self._sync_lock:
            previous = self._take_sync()
            self._sync_stop, self._sync_thread = stop, thread
            thread.start()
        _stop(previous)

    def stop_sync(self) -> None:
        """Stops the periodic sync, if any (waits for a sync in progress to end)."""
        with self._sync_lock:
            running = self._take_sync()
        _stop(running)

    def _take_sync(self) -> tuple[threading.Event | None, threading.Thread | None]:
        running = (self._sync_stop, self._sync_thread)
        self._sync_stop = self._sync_thread = None
        return running

    def sync_policies(self, *, timeout: float = 10.0, dry_run: bool = False) -> SyncResult:
        """Fetches the instance's policy table over a connection checked by the policy in
        force for the instance and, when it is usable, replaces the policies atomically,
        saves them beside config.xml and, with ``mid.ssl.use.instance.security.policy=true``,
        writes the instance policy's checks into config.xml (see docs/policies.md for the
        rules). On any failure the last good policies stay and the result says why.
        ``dry_run=True`` changes nothing and returns what would be in force. ``timeout``
        bounds each network wait."""
        config = self._config
        if config is None:
            reason = "the engine was not made from a config.xml (Engine.from_config)"
            return sync_failed(self._policies, reason)

        def https_get(url: str, headers: Mapping[str, str], seconds: float) -> tuple[int, bytes]:
            # Checked before any request byte. The peer address cannot weaken the policy:
            # whoever answers for the instance's name (DNS) must not pick its checks. The
            # request carries the instance credentials: an audit-mode policy is enforced.
            context = self.ssl_context(trust_peer_ip=False, allow_audit=False)
            return checked_https_get(context, url, headers=headers, timeout=seconds)

        extra, origin = self._extra_policies

        def extend(composed: ComposedPolicies) -> ComposedPolicies:
            return composed.with_extra(extra, origin) if extra else composed

        return sync_policies(
            config,
            self._policies,
            https_get,
            timeout=timeout,
            install=self._replace_policies,
            dry_run=dry_run,
            extend=extend,
        )

    def check(
        self,
        chain: Sequence[bytes],
        host: str,
        *,
        ip: str | None = None,
        port: int | None = 443,
        at: dt.datetime | None = None,
        offline: bool = False,
        trust_peer_ip: bool = False,
    ) -> Report:
        """Runs the checks of the policy selected for (host, ip, port) on a presented chain
        (DER, leaf first) and reports each: passed, failed or skipped by the policy.

        ``ip`` is the address connected to. It counts only when it does not select a weaker
        policy than ``host`` alone, since it may be a proxy's (the report's reason says when
        it was set aside), unless ``trust_peer_ip=True`` says the connection is direct: the
        same rule as ``ssl_context()``, the integrations and the CLI (see
        :meth:`PolicySet.select_connection`). ``port=None`` means the port is unknown:
        port-specific host patterns do not match and the report's port is 0.
        ``offline=True`` fetches nothing: a revocation check the policy enables is reported
        as skipped, saying so.

        A connection whose every enabled check passes from what is already known (the chain
        verified before, the revocation answer of its path still current) is decided in one
        call into Rust, and its report is built when first read."""
        if at is None and not offline:
            passed = self._decided_in_rust(chain, host, ip, port, trust_peer_ip)
            if passed is not None:
                return passed
        return self._decide(
            chain, host, ip=ip, port=port, at=at, offline=offline, trust_peer_ip=trust_peer_ip
        )

    def _decided_in_rust(
        self, chain: Any, host: Any, ip: Any, port: Any, trust_peer_ip: bool
    ) -> Report | None:
        """The report of a connection whose every enabled check passes from what is known,
        decided in one call into Rust (built when first read); None when the full path must
        decide. With DEBUG logging on the full path always decides: it logs each step."""
        if logger.isEnabledFor(logging.DEBUG):
            return None
        decision = self._decider.decide(
            self._policies._matcher, chain, host, ip, port, trust_peer_ip
        )
        if decision is None:
            return None
        return Report._passed(self._build_passed, decision, host, ip, port)

    def _decide(
        self,
        chain: Sequence[bytes],
        host: str,
        *,
        ip: str | None,
        port: int | None,
        at: dt.datetime | None,
        offline: bool = False,
        trust_peer_ip: bool,
        allow_audit: bool = True,
    ) -> Report:
        """The checks, the report, its log lines and counters (see :meth:`check`). With
        ``allow_audit=False`` an audit-mode policy's failures are enforced too."""
        presented = _presented(chain)
        try:
            selection = self._select(host, ip, port, trust_peer_ip)
        except PolicyError as exc:
            # A server name no policy can be selected for (e.g. "127.1", "2130706433":
            # numeric spellings a resolver accepts): every check applies, and the hostname
            # check fails with a certificate error, never a bare PolicyError.
            selection = Selection(BUILTIN_INTERNET, f"{exc}; every check applies")
        policy, reason = selection.policy, selection.reason
        port = 0 if port is None else port
        if selection.ip_set_aside is not None:
            logger.info(
                "peer address %s set aside for %s:%s: %s",
                ip,
                host,
                port,
                reason,
                extra={"host": host, "port": port, "ip": ip, "policy": policy.name},
            )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "calculating security policy for %s:%s (ip %s): %r, %s",
                host,
                port,
                ip,
                policy.name,
                reason,
                extra={
                    "host": host,
                    "port": port,
                    "ip": ip,
                    "policy": policy.name,
                    "reason": reason,
                },
            )
        results: list[CheckResult] = []
        verified: list[bytes] | None = None
        completion: Completion | None = None

        # The hostname first (reported second): when it fails and the failure will be
        # enforced, no missing intermediate is fetched for a connection refused anyway (a
        # caIssuers URL is named by a certificate nothing has vouched for yet).
        hostname_result: CheckResult
        if not policy.check_hostname:
            hostname_result = _skipped("hostname", policy)
        elif not presented:
            missing = HostnameMismatchError("no certificate to check", host)
            hostname_result = _failed("hostname", missing, "hostname.mismatch")
        else:
            try:
                verify_hostname(presented[0], host, allow_common_name=policy.allow_common_name)
                hostname_result = _hostname_passed(host)
            except HostnameMismatchError as exc:
                hostname_result = _failed("hostname", exc, "hostname.mismatch")
        rejected_anyway = hostname_result.status == "failed" and (
            policy.mode == "enforce" or not allow_audit
        )

        if not policy.check_chain:
            results.append(_skipped("chain", policy))
        elif not presented:
            empty = ChainError("the server presented no certificate", "empty")
            results.append(_failed("chain", empty, empty.code))
        else:
            try:
                verified = verify_chain(presented, self._trust, at=at)
            except ChainError as exc:
                outcome = self._complete_chain(
                    presented, exc, policy, at, offline or rejected_anyway
                )
                if isinstance(outcome, ChainError):
                    results.append(_failed("chain", outcome, outcome.code))
                else:
                    completion, verified = outcome, list(outcome.path)
            if verified is not None:
                results.append(self._chain_passed(verified, completion))

        results.append(hostname_result)

        revocation: PathAnswer | None = None
        if not policy.check_revocation:
            results.append(_skipped("revocation", policy))
        elif offline:
            results.append(
                CheckResult(
                    "revocation",
                    "skipped",
                    "not checked: offline (no CRL/OCSP fetch)",
                    code="skipped.offline",
                )
            )
        elif verified is not None and len(verified) == 1:
            results.append(_REVOCATION_NOT_APPLICABLE)
        elif policy.check_chain and verified is None:
            results.append(
                CheckResult(
                    "revocation",
                    "skipped",
                    "not checked: the chain did not verify",
                    code="skipped.chain_failed",
                )
            )
        elif verified is None:
            # With the chain check off nothing vouches for the issuer certificates or the
            # URLs in them: fetching what an unverified chain names would let a server pick
            # the CRL/OCSP source (and poison the caches). No definitive answer is possible.
            revocation = PathAnswer(
                "unavailable",
                (
                    MethodAnswer(
                        "revocation",
                        "unavailable",
                        "",
                        "revocation needs a verified path, and this policy does not check the "
                        "chain",
                    ),
                ),
                _subject_or_none(presented[0]) if presented else None,
            )
            results.append(self._revocation_result(revocation, host, port))
        else:
            # Read before asking: a cache that changes meanwhile makes the verdict not reused.
            generation = self._decider.revocation_generation
            revocation = self._revocation_checker.check_path(verified, at=at)
            results.append(self._revocation_result(revocation, host, port))
            until = revocation.reusable_until()
            if at is None and completion is None and generation is not None and until is not None:
                # The next check of this presented chain is decided in Rust until then.
                crl_urls = [a.source for a in revocation.answers if a.method == "crl"]
                self._decider.remember_revocation(
                    presented, revocation, until, generation, crl_urls
                )

        failed = results_failed(results)
        report = Report(
            host=host,
            port=port,
            ip=ip,
            policy=policy,
            reason=reason,
            results=tuple(results),
            chain=presented,
            verified_path=None if verified is None else tuple(verified),
            revocation=revocation,
            enforced=not failed or policy.mode != "audit" or not allow_audit,
            fetched_intermediates=()
            if completion is None
            else tuple((item.url, item.subject) for item in completion.fetched),
        )
        self._stats.record(report)
        if not failed:
            return report
        enforced = report.enforced
        for failure in report.failures:
            logger.warning(
                "certificate check failed for %s:%s (policy %r): %s: %s"
                if enforced
                else "certificate check would reject %s:%s (policy %r, audit mode): %s: %s",
                host,
                port,
                policy.name,
                failure.name,
                failure.detail,
                extra={
                    "host": host,
                    "port": port,
                    "ip": ip,
                    "policy": policy.name,
                    "mode": policy.mode,
                    "enforced": enforced,
                    "check": failure.name,
                    "code": failure.code,
                    "reason": failure.detail,
                },
            )
        return report

    def _select(
        self, host: str, ip: str | None, port: int | None, trust_peer_ip: bool
    ) -> Selection:
        """``PolicySet.select_connection`` of the policies in force, remembered for the
        connections seen before (a selection depends on nothing else; bounded, and emptied when
        the policies are replaced). Errors are not remembered."""
        policies = self._policies
        owner, memo = self._selections
        if owner is not policies:
            memo = {}
            self._selections = (policies, memo)
        plain = type(host) is str and len(host) <= MAX_MEMO_HOST and (ip is None or type(ip) is str)
        if not plain:
            return policies.select_connection(host, ip, port, trust_peer_ip=trust_peer_ip)
        key = (host, ip, port, trust_peer_ip)
        selection = memo.get(key)
        if selection is None:
            selection = policies.select_connection(host, ip, port, trust_peer_ip=trust_peer_ip)
            if len(memo) >= MAX_SELECTIONS:
                memo.clear()
            memo[key] = selection
        return selection

    def _complete_chain(
        self,
        presented: tuple[bytes, ...],
        error: ChainError,
        policy: Policy,
        at: dt.datetime | None,
        offline: bool,
    ) -> Completion | ChainError:
        """A chain that failed for want of an issuer, completed from caIssuers URLs when the
        policy (or the engine) fetches intermediates; else the error to report.
        ``offline``: nothing is fetched (also when the connection is refused anyway)."""
        fetch = policy.fetch_intermediates
        if offline or not (self._fetch_intermediates if fetch is None else fetch):
            return error
        return self._intermediates.complete(
            presented, error, lambda chain: verify_chain(chain, self._trust, at=at)
        )

    def _chain_passed(
        self, verified: Sequence[bytes], completion: Completion | None
    ) -> CheckResult:
        anchor = self._anchor_subject(verified[-1])
        if len(verified) == 1:
            detail = f"the server certificate is itself a trust anchor ({anchor})"
        else:
            detail = f"verified to trust anchor {anchor}"
        if completion is not None:
            detail += f" ({completion.describe()})"
        return _result("chain", "passed", detail)

    def _passed_report(self, decision: Any, host: str, ip: Any, port: int | None) -> Report:
        """The report of a connection decided in Rust (every enabled check passed): the one
        the full path would have made."""
        policy: Policy = decision.policy
        code, source = decision.reason
        verified = decision.verified_path
        if verified is None:
            chain_result = _skipped("chain", policy)
        else:
            chain_result = self._chain_passed(verified, None)
        hostname_result = (
            _hostname_passed(host) if policy.check_hostname else _skipped("hostname", policy)
        )
        state = decision.revocation_state
        revocation: PathAnswer | None = None
        if state == "good":
            revocation = decision.revocation
            revocation_result = self._revocation_result(revocation, host, port or 0)
        elif state == "not_applicable":
            revocation_result = _REVOCATION_NOT_APPLICABLE
        else:
            revocation_result = _skipped("revocation", policy)
        return Report(
            host=host,
            port=0 if port is None else port,
            ip=ip,
            policy=policy,
            reason=selection_reason(code, host, ip, source),
            results=(chain_result, hostname_result, revocation_result),
            chain=decision.chain,
            verified_path=verified,
            revocation=revocation,
        )

    def _anchor_subject(self, anchor: bytes) -> str:
        # Anchors are few and parsing one costs more than the rest of a warm check.
        subject = self._anchor_subjects.get(anchor)
        if subject is None:
            subject = cert_info(anchor)["subject"]
            if len(self._anchor_subjects) >= MAX_ANCHOR_SUBJECTS:
                self._anchor_subjects.clear()
            self._anchor_subjects[anchor] = subject
        return subject

    def _revocation_result(self, answer: PathAnswer, host: str, port: int) -> CheckResult:
        detail = answer.detail()
        if answer.status == "good":
            return _result("revocation", "passed", detail)
        if answer.status == "revoked":
            return _failed("revocation", CertificateRevokedError(detail), "revocation.revoked")
        if self._revocation.on_unavailable == "allow":
            logger.warning(
                "revocation unavailable for %s:%s, allowed by on_unavailable='allow': %s",
                host,
                port,
                detail,
                extra={
                    "host": host,
                    "port": port,
                    "check": "revocation",
                    "code": "revocation.unavailable",
                    "reason": detail,
                },
            )
            # Skipped, never passed: nothing said the certificate is good.
            return CheckResult(
                "revocation",
                "skipped",
                f"{detail}; allowed (on_unavailable)",
                code="revocation.unavailable",
            )
        return _failed("revocation", RevocationUnavailableError(detail), "revocation.unavailable")

    def enforce(
        self,
        chain: Sequence[bytes],
        host: str,
        *,
        ip: str | None = None,
        port: int | None = 443,
        at: dt.datetime | None = None,
        trust_peer_ip: bool = False,
        allow_audit: bool = True,
    ) -> Report:
        """Like :meth:`check`, but raises the failure (a :class:`CertificateCheckError`)
        when the policy enforces it. Under an audit-mode policy a failure is logged ("would
        reject") and counted, and the report is returned with ``enforced`` False, unless
        ``allow_audit=False``: then it is enforced like any other (for connections that
        carry credentials, such as the instance sync)."""
        if at is None:
            passed = self._decided_in_rust(chain, host, ip, port, trust_peer_ip)
            if passed is not None:
                return passed
        report = self._decide(
            chain,
            host,
            ip=ip,
            port=port,
            at=at,
            trust_peer_ip=trust_peer_ip,
            allow_audit=allow_audit,
        )
        if report.enforced:
            report.raise_for_status()
        return report

    def ssl_context(
        self, *, trust_peer_ip: bool = False, allow_audit: bool = True
    ) -> PolicySSLContext:
        """A client :class:`ssl.SSLContext` that enforces this engine on every connection:
        after the handshake, before the caller gets the connection, the presented chain, the
        server name and the peer address go through :meth:`enforce`; a failure closes the
        connection and raises the :class:`CertificateCheckError`. Use it with any client
        (urllib, urllib3, requests, httpx, asyncio, aiohttp); see
        :class:`certpolicy.PolicySSLContext`. Each call makes a new context (clients
        configure contexts, e.g. ALPN); all of them share this engine's policies, trust store
        and revocation caches.

        The peer address counts for policy selection (IP ranges) only when it does not
        select a weaker policy than the server name alone: through a proxy the peer is the
        proxy. Pass ``trust_peer_ip=True`` when connections are direct (no proxy) to let an
        intranet range lower the checks of a DNS-named server.

        ``allow_audit=False`` enforces audit-mode policies too: use it for connections that
        send credentials, which must never go to a server that failed a check."""
        return PolicySSLContext(self, trust_peer_ip=trust_peer_ip, allow_audit=allow_audit)

    def check_endpoint(
        self,
        url_or_host: str,
        port: int = 443,
        *,
        timeout: float = 10.0,
        trust_peer_ip: bool = False,
        connect_to: str | None = None,
        server_name: str | None = None,
    ) -> Report:
        """Connects to an endpoint (``https://host[:port]/...``, ``host[:port]`` or an IP
        literal; ``port`` is the default), does the TLS handshake, checks it and closes.
        Returns the report, passed or failed (nothing is sent over the connection).
        Network failures raise :class:`OSError` (``TimeoutError`` after ``timeout``).
        The policy is selected as for every other connection (``trust_peer_ip``: see
        :meth:`check`), so the answer is the one ``ssl_context()`` gives.

        ``connect_to`` is the address (or name) to connect to instead of the host, as curl's
        ``--resolve``; ``server_name`` the name sent as SNI and checked instead of the host
        (as ``--servername``)."""
        host, port = parse_endpoint(url_or_host, port)
        name = server_name or host
        context = self.ssl_context(trust_peer_ip=trust_peer_ip)
        with socket.create_connection((connect_to or host, port), timeout=timeout) as raw:
            try:
                with context.wrap_socket(raw, server_hostname=name) as tls:
                    report = tls.report
            except CertificateCheckError as exc:
                if not isinstance(exc.report, Report):
                    raise
                return exc.report
        if report is None:  # pragma: no cover - the handshake sets it or raises
            raise CertificateCheckError(f"{host}:{port}: the connection was not checked")
        return report


def results_failed(results: Sequence[CheckResult]) -> bool:
    return any(result.status == "failed" for result in results)


def _stop(running: tuple[threading.Event | None, threading.Thread | None]) -> None:
    """Stops a periodic sync thread (never joining from itself)."""
    stop, thread = running
    if stop is not None:
        stop.set()
    if thread is not None and thread is not threading.current_thread():
        thread.join()


def _subject_or_none(cert: bytes) -> str | None:
    try:
        return cert_info(cert)["subject"]
    except CertPolicyError:
        return None


def _skipped(name: Any, policy: Policy) -> CheckResult:
    return _result(name, "skipped", f'disabled by policy "{policy.name}"', "skipped.policy")


# Results that carry no error are immutable values the same for every connection that gets
# them (e.g. "valid for www.example.com"): made once and shared, within a bound (emptied
# when full).
MAX_SHARED_RESULTS: Final = 4096
_shared_results: dict[tuple[str, str, str, str | None], CheckResult] = {}


def _result(name: Any, status: Any, detail: str, code: str | None = None) -> CheckResult:
    key = (name, status, detail, code)
    result = _shared_results.get(key)
    if result is None:
        result = CheckResult(name, status, detail, code=code)
        if len(_shared_results) >= MAX_SHARED_RESULTS:
            _shared_results.clear()
        _shared_results[key] = result
    return result


def _hostname_passed(host: str) -> CheckResult:
    return _result("hostname", "passed", f"valid for {host}")


# RFC 5280 section 6.1: a trust anchor is trusted as it is; nothing can revoke it.
_REVOCATION_NOT_APPLICABLE: Final = CheckResult(
    "revocation",
    "skipped",
    "not applicable: the server certificate is itself a trust anchor "
    "(anchors are not checked for revocation, RFC 5280 section 6.1)",
    code="revocation.not_applicable",
)


def _presented(chain: Sequence[bytes]) -> tuple[bytes, ...]:
    """The presented chain as a tuple of bytes (bytes-like items copied)."""
    presented = tuple(chain)
    for cert in presented:
        if type(cert) is not bytes:
            return tuple(bytes(c) for c in presented)
    return presented


def _failed(name: Any, error: CertificateCheckError, code: str) -> CheckResult:
    return CheckResult(name, "failed", str(error), error, code)


def _defaults_mode(value: Any, where: str) -> str:
    if value not in DEFAULTS_MODES:
        raise ConfigError(f"{where}: defaults is {value!r}, not " + " or ".join(DEFAULTS_MODES))
    return str(value)


def _agent_policies(
    path: Path, defaults: str | None
) -> tuple[AgentConfig, ComposedPolicies, str | None]:
    """A config.xml's settings and the policies in force for it: bootstrap + defaults, with
    the saved policies of its last good sync when usable (else the reason they are not)."""
    config = AgentConfig.read(path)
    if defaults is not None:
        config = dataclasses.replace(config, defaults=_defaults_mode(defaults, str(path)))
    saved, problem = load_saved_policies(path)
    where = saved_policies_path(path)
    if saved is not None and saved.source != (config.url or "").rstrip("/"):
        problem = f"{where}: saved from {saved.source}, but config.xml names {config.url}"
        saved = None
    composed = compose_policies(config, saved)
    if saved is not None:
        try:
            PolicySet(composed.policies)  # e.g. a saved name that now clashes
        except CertPolicyError as exc:
            problem = f"{where}: the saved policies no longer fit config.xml: {exc}"
            composed = compose_policies(config, None)
    if problem is not None:
        logger.warning("saved policies ignored, using bootstrap + defaults: %s", problem)
    return config, composed, problem


def _engine_from_config_xml(cls: type[Engine], path: Path, defaults: str | None) -> Engine:
    config, composed, problem = _agent_policies(path, defaults)
    trust = TrustStore.from_sources(config.trust_sources)
    own = path.parent / TRUST_FILE_BESIDE_CONFIG_XML
    if own.is_file():
        trust.add_file(own)
    engine = cls(PolicySet(composed.policies), trust, config=config, origins=composed.origins)
    engine.saved_policies_problem = problem
    return engine


def revocation_config_from(config: str | os.PathLike[str]) -> RevocationConfig:
    """The revocation settings a configuration gives an engine, read without making one (so
    nothing is fetched, swept or written, e.g. for ``certpolicy cache show``): a
    certpolicy.toml's ``[revocation]`` table (``cache_dir`` relative to the file), or the
    defaults for a config.xml (which sets none). Raises :class:`ConfigError`."""
    target = Path(config)
    suffix = target.suffix.lower()
    if suffix == ".xml":
        AgentConfig.read(target)  # as Engine.from_config, refuse an unreadable config
        return RevocationConfig()
    if suffix == ".toml":
        return _toml_revocation(target, _read_toml(target))
    raise ConfigError(f"{target}: expected a config.xml or a .toml file")


def _read_toml(path: Path) -> dict[str, Any]:
    """A certpolicy.toml's top-level table, its keys checked."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    known = {"policy", "trust", "revocation", "config_xml", "defaults", "fetch_intermediates"}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    return data


def _toml_revocation(path: Path, data: dict[str, Any]) -> RevocationConfig:
    """The RevocationConfig of a certpolicy.toml's ``[revocation]`` table."""
    revocation_table = data.get("revocation", {})
    if not isinstance(revocation_table, dict):
        raise ConfigError(f"{path}: [revocation] must be a table")
    revocation_table = dict(revocation_table)
    try:
        if "retry" in revocation_table:
            if not isinstance(revocation_table["retry"], dict):
                raise ConfigError("retry must be a table")
            revocation_table["retry"] = Retry(**revocation_table["retry"])
        if "cache_dir" in revocation_table:
            if not isinstance(revocation_table["cache_dir"], str):
                raise ConfigError("cache_dir must be a path")
            revocation_table["cache_dir"] = path.parent / revocation_table["cache_dir"]
        return RevocationConfig(**revocation_table)
    except (TypeError, ConfigError) as exc:
        raise ConfigError(f"{path}: [revocation]: {exc}") from exc


def _engine_from_toml(cls: type[Engine], path: Path, defaults: str | None) -> Engine:
    data = _read_toml(path)
    base = path.parent
    if defaults is None and "defaults" in data:
        defaults = _defaults_mode(data["defaults"], str(path))
    config, problem = None, None
    entries = data.get("policy", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ConfigError(f"{path}: policy must be a list of [[policy]] tables")
    if not isinstance(data.get("config_xml", ""), str):
        raise ConfigError(f"{path}: config_xml must be a file name")
    toml_policies = [Policy.from_dict(entry) for entry in entries]
    if "config_xml" in data:
        # The config.xml's policies, extended by the [[policy]] entries (a name clash is an
        # error, never a silent replacement).
        config, composed, problem = _agent_policies(base / str(data["config_xml"]), defaults)
        extra = (tuple(toml_policies), f"{path.name} [[policy]]")
        composed = composed.with_extra(*extra)
    elif "policy" in data:
        composed = ComposedPolicies(
            tuple(toml_policies), {p.name: f"{path.name} [[policy]]" for p in toml_policies}
        )
    else:
        fresh = defaults != "upgrade"
        shipped = default_policies(fresh_install=fresh)
        composed = ComposedPolicies(shipped, {p.name: defaults_origin(fresh) for p in shipped})
    policies = PolicySet(composed.policies)
    trust_table = data.get("trust", {})
    if not isinstance(trust_table, dict):
        raise ConfigError(f"{path}: [trust] must be a table")
    unknown_trust = set(trust_table) - {"defaults", "files", "sources", "store"}
    if unknown_trust:
        raise ConfigError(f"{path}: [trust]: unknown key(s) {', '.join(sorted(unknown_trust))}")
    use_defaults = trust_table.get("defaults", True)
    if not isinstance(use_defaults, bool):
        # Strict: "false" (a string) must not keep every public root.
        raise ConfigError(f"{path}: [trust] defaults must be true or false, not {use_defaults!r}")
    files = trust_table.get("files", [])
    if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
        raise ConfigError(f"{path}: [trust] files must be a list of file names")
    given_defaults = use_defaults if "defaults" in trust_table else None
    sources = resolve_trust_sources(trust_table.get("sources"), given_defaults, f"{path}: [trust]")
    trust = TrustStore.from_sources(sources)
    for name in files:
        trust.add_file(base / str(name))
    store = _toml_trust_store(path, trust_table)
    if store is not None and store.is_file():
        trust.add_file(store)
    revocation = _toml_revocation(path, data)
    fetch_intermediates = data.get("fetch_intermediates", True)
    if not isinstance(fetch_intermediates, bool):
        raise ConfigError(f"{path}: fetch_intermediates must be true or false")
    engine = cls(
        policies,
        trust,
        revocation,
        config=config,
        origins=composed.origins,
        fetch_intermediates=fetch_intermediates,
    )
    engine.saved_policies_problem = problem
    if config is not None:
        engine._extra_policies = extra
    return engine


def _toml_trust_store(path: Path, trust_table: dict[str, Any]) -> Path | None:
    store = trust_table.get("store")
    if store is None:
        return None
    if not isinstance(store, str) or not store.strip():
        raise ConfigError(f"{path}: [trust] store must be a file name")
    return path.parent / store


def trust_store_file(config: str | os.PathLike[str]) -> Path:
    """The trust store file a configuration points to, which ``certpolicy trust import``
    adds certificates to: ``[trust] store`` of a certpolicy.toml (relative to it), or
    ``certpolicy-trust.pem`` beside a config.xml. Raises :class:`ConfigError`."""
    target = Path(config)
    suffix = target.suffix.lower()
    if suffix == ".xml":
        AgentConfig.read(target)  # refuse to attach a store to an unreadable config
        return target.parent / TRUST_FILE_BESIDE_CONFIG_XML
    if suffix == ".toml":
        try:
            data = tomllib.loads(target.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {target}: {exc}") from exc
        table = data.get("trust", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{target}: [trust] must be a table")
        store = _toml_trust_store(target, table)
        if store is None:
            raise ConfigError(f'{target}: no trust store file: add store = "trust.pem" to [trust]')
        return store
    raise ConfigError(f"{target}: expected a config.xml or a .toml file")
