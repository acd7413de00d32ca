"""Instance sync: the agent fetches its certificate check policies from the central instance
(table ``mid_cert_check_policy``) over a connection checked by the bootstrap policy.

The HTTPS request is not made here: the caller (the engine) passes a :data:`HttpsGet` whose
connection it has checked before any request byte is sent, so this layer never needs TLS."""

from __future__ import annotations

import base64
import http.client
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from certpolicy.errors import CertPolicyError, ConfigError, PolicyError
from certpolicy.policy._config_xml import AgentConfig
from certpolicy.policy._set import PolicySet

__all__ = ["TABLE_PATH", "HttpsGet", "SyncResult", "sync_failed", "sync_policies"]

# (url, headers, timeout) -> (HTTP status, body); raises CertPolicyError when the connection
# is rejected, OSError / http.client.HTTPException when the instance cannot be reached.
HttpsGet = Callable[[str, Mapping[str, str], float], tuple[int, bytes]]

logger = logging.getLogger("certpolicy")

TABLE_PATH = "/api/now/table/mid_cert_check_policy?sysparm_query=active=true"


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync did: ``ok``, why (``reason``), and the policies now in force."""

    ok: bool
    reason: str
    policies: PolicySet


def sync_failed(current: PolicySet, reason: str) -> SyncResult:
    """A failed sync: logged at WARNING, the ``current`` policies stay."""
    logger.warning(
        "policy sync failed, keeping the last good policies: %s",
        reason,
        extra={"check": "sync", "reason": reason},
    )
    return SyncResult(False, reason, current)


def sync_policies(
    config: AgentConfig,
    current: PolicySet,
    https_get: HttpsGet,
    *,
    timeout: float = 10.0,
    install: Callable[[PolicySet], None],
) -> SyncResult:
    """Fetches the policy table with ``https_get`` and, when it is valid, hands the new set
    to ``install`` (before config.xml is rewritten) and writes the instance policy's checks
    back into config.xml. Any failure keeps ``current`` and says why."""
    if not config.use_instance_policy:
        reason = (
            "mid.ssl.use.instance.security.policy is false: the bootstrap policy stays in force"
        )
        logger.info(reason)
        return SyncResult(False, reason, current)
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
        rows = json.loads(body)["result"]
        if not isinstance(rows, list):
            raise TypeError("result is not a list")
        fetched = PolicySet.from_records(rows)
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return sync_failed(current, f"malformed policy table response: {exc}")
    except PolicyError as exc:
        return sync_failed(current, f"invalid policy in the table: {exc}")
    policies = fetched.policies
    if not any(p.kind == "instance" and p.active for p in policies):
        # Without an instance policy the next sync could not reach the instance.
        policies = (*policies, config.bootstrap_policy())
    try:
        new_set = PolicySet(policies)
    except PolicyError as exc:
        return sync_failed(current, f"invalid policy set from the table: {exc}")
    install(new_set)
    instance = new_set.select(config.instance_host or "", None)
    if instance.kind == "instance" and config.path is not None:
        try:
            config.write_checks(
                chain=instance.check_chain,
                hostname=instance.check_hostname,
                revocation=instance.check_revocation,
            )
        except (ConfigError, OSError) as exc:
            reason = f"policies updated, but config.xml could not be written: {exc}"
            logger.warning(reason)
            return SyncResult(True, reason, new_set)
    reason = f"{len(new_set)} policies from {config.instance_host}"
    logger.info("policy sync: %s", reason)
    return SyncResult(True, reason, new_set)
