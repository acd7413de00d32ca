"""Instance sync (DESIGN.md "Instance sync"): the agent fetches its certificate check policies
from the central instance (table ``mid_cert_check_policy``) over a connection checked by the
policy in force for the instance.

The table's override, intranet and internet rows always apply; its instance rows only with
``mid.ssl.use.instance.security.policy=true``, which also writes their checks into config.xml's
bootstrap parameters (with the flag false config.xml is never written). How the result is put
together is :mod:`._compose`'s job. A good sync is saved beside config.xml (:mod:`._saved`).
Every bad row is named with its reason and the sync then applies nothing (a dropped row could
be a stricter override, or an intranet row whose absence brings back a weaker default): like
a sync that cannot reach the instance, it keeps the last good policies and says why.

The HTTPS request is not made here: the caller (the engine) passes an :data:`HttpsGet` whose
connection it has checked before any request byte is sent, so this layer never needs TLS."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certpolicy.errors import CertPolicyError, ConfigError, PolicyError
from certpolicy.policy._compose import ComposedPolicies, compose_policies
from certpolicy.policy._config_xml import AgentConfig
from certpolicy.policy._policy import Policy
from certpolicy.policy._records import policy_from_record
from certpolicy.policy._saved import SavedPolicies, saved_policies_path
from certpolicy.policy._set import PolicySet

__all__ = ["TABLE_PATH", "HttpsGet", "SyncResult", "sync_failed", "sync_policies"]

logger = logging.getLogger("certpolicy")

TABLE_PATH = "/api/now/table/mid_cert_check_policy?sysparm_query=active=true"

# (url, headers, timeout) -> (HTTP status, body); raises CertPolicyError when the connection
# is rejected, OSError / http.client.HTTPException when the instance cannot be reached.
HttpsGet = Callable[[str, Mapping[str, str], float], tuple[int, bytes]]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync did: ``ok``, why (``reason``), and the policies now in force (with
    ``dry_run=True``: the policies that would be). ``rejected`` gives the reason of every bad
    table row (any makes the sync fail); ``saved_to`` is the file the policies were saved
    in."""

    ok: bool
    reason: str
    policies: PolicySet
    rejected: tuple[str, ...] = ()
    saved_to: Path | None = None
    dry_run: bool = False
    origins: Mapping[str, str] | None = None


def sync_failed(current: PolicySet, reason: str) -> SyncResult:
    """A failed sync: logged at WARNING, the ``current`` policies stay."""
    logger.warning(
        "policy sync failed, keeping the last good policies: %s",
        reason,
        extra={"check": "sync", "reason": reason},
    )
    return SyncResult(False, reason, current)


def _rows_of(body: bytes) -> list[Any]:
    rows = json.loads(body)["result"]
    if not isinstance(rows, list):
        raise TypeError("result is not a list")
    return rows


def _table_policies(rows: list[Any]) -> tuple[list[Policy], list[str]]:
    """Each row as a policy, or the reason it was rejected."""
    accepted: list[Policy] = []
    rejected: list[str] = []
    for index, row in enumerate(rows):
        try:
            accepted.append(policy_from_record(row, index))
        except PolicyError as exc:
            rejected.append(str(exc))
    counts = Counter(policy.name for policy in accepted)
    duplicates = {name for name, count in counts.items() if count > 1}
    if duplicates:
        rejected += [f"policy name {name!r} is used by more than one row" for name in duplicates]
        accepted = [policy for policy in accepted if policy.name not in duplicates]
    return accepted, rejected


def sync_policies(
    config: AgentConfig,
    current: PolicySet,
    https_get: HttpsGet,
    *,
    timeout: float = 10.0,
    install: Callable[[PolicySet, Mapping[str, str]], None],
    dry_run: bool = False,
    extend: Callable[[ComposedPolicies], ComposedPolicies] | None = None,
) -> SyncResult:
    """Fetches the policy table with ``https_get`` and, when it gives a usable set: hands it
    to ``install``, saves the table's policies beside config.xml, and (only with
    ``mid.ssl.use.instance.security.policy=true``) writes the instance policy's checks into
    config.xml. ``dry_run`` does none of that and returns what would be in force. Any failure
    keeps ``current`` and says why."""
    if not config.url:
        return sync_failed(current, "config.xml has no url parameter")
    url = config.url.rstrip("/") + TABLE_PATH
    headers = {"Accept": "application/json", "User-Agent": "certpolicy"}
    if config.username is not None:
        token = f"{config.username}:{config.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
    try:
        status, body = https_get(url, headers, timeout)
    except CertPolicyError as exc:
        return sync_failed(current, f"the instance connection was rejected: {exc}")
    except (OSError, http.client.HTTPException) as exc:
        return sync_failed(current, f"cannot reach the instance: {exc}")
    if status != 200:
        return sync_failed(current, f"the instance answered HTTP {status}")
    try:
        rows = _rows_of(body)
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return sync_failed(current, f"malformed policy table response: {exc}")
    accepted, rejected = _table_policies(rows)
    if rejected:
        # Each bad row is named with its reason. None is dropped alone: a dropped row could
        # be a stricter override, or an intranet row whose absence brings back a weaker
        # default, so the last good policies stay until the table is fixed.
        reasons = "; ".join(rejected)
        failed = sync_failed(current, f"{len(rejected)} row(s) of the table rejected: {reasons}")
        return SyncResult(False, failed.reason, current, tuple(rejected))
    table = SavedPolicies(
        tuple(accepted), dt.datetime.now(dt.UTC), config.url.rstrip("/"), tuple(rejected)
    )
    try:
        composed = compose_policies(config, table)
        if extend is not None:  # e.g. certpolicy.toml [[policy]] entries (rule 4)
            composed = extend(composed)
        new_set = PolicySet(composed.policies)
    except CertPolicyError as exc:
        return sync_failed(current, f"invalid policy set from the table: {exc}")
    ignored = [] if config.use_instance_policy else [p for p in accepted if p.kind == "instance"]
    notes = [f"{len(new_set)} policies in force from {config.instance_host}"]
    if ignored:
        notes.append(
            f"{len(ignored)} instance row(s) not used: mid.ssl.use.instance.security.policy "
            "is false, so the bootstrap policy stays the instance policy"
        )
    if dry_run:
        reason = "dry run: " + "; ".join(notes)
        return SyncResult(True, reason, new_set, tuple(rejected), None, True, composed.origins)
    install(new_set, composed.origins)
    saved_to = _save(config, table, notes)
    _write_bootstrap(config, new_set, notes)
    reason = "; ".join(notes)
    logger.info("policy sync: %s", reason)
    return SyncResult(True, reason, new_set, tuple(rejected), saved_to, False, composed.origins)


def _save(config: AgentConfig, table: SavedPolicies, notes: list[str]) -> Path | None:
    if config.path is None:
        return None
    target = saved_policies_path(config.path)
    try:
        table.save(target)
    except OSError as exc:
        notes.append(f"the policies could not be saved to {target}: {exc}")
        logger.warning("policy sync: cannot save %s: %s", target, exc)
        return None
    return target


def _write_bootstrap(config: AgentConfig, policies: PolicySet, notes: list[str]) -> None:
    """With the instance flag on, the instance policy's checks go into config.xml."""
    if not config.use_instance_policy or config.path is None:
        return
    instance = policies.select(config.instance_host or "", None)
    if instance.kind != "instance":
        return
    try:
        config.write_checks(
            chain=instance.check_chain,
            hostname=instance.check_hostname,
            revocation=instance.check_revocation,
        )
    except (ConfigError, OSError) as exc:
        notes.append(f"config.xml could not be written: {exc}")
        logger.warning("policy sync: config.xml could not be written: %s", exc)
