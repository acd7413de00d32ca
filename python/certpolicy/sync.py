"""Instance sync: the agent fetches its certificate check policies from the central instance
(table ``mid_cert_check_policy``) over a connection checked by the bootstrap policy."""

from __future__ import annotations

import base64
import http.client
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from certpolicy.errors import CertPolicyError, ConfigError, PolicyError
from certpolicy.policy import PolicySet

if TYPE_CHECKING:
    from certpolicy.engine import Engine

__all__ = ["TABLE_PATH", "SyncResult", "sync_policies"]

logger = logging.getLogger("certpolicy")

TABLE_PATH = "/api/now/table/mid_cert_check_policy?sysparm_query=active=true"


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync did: ``ok``, why (``reason``), and the policies now in force."""

    ok: bool
    reason: str
    policies: PolicySet


def _fail(engine: Engine, reason: str) -> SyncResult:
    logger.warning(
        "policy sync failed, keeping the last good policies: %s",
        reason,
        extra={"check": "sync", "reason": reason},
    )
    return SyncResult(False, reason, engine.policies)


def sync_policies(engine: Engine, *, timeout: float = 10.0) -> SyncResult:
    from certpolicy.tls import checked_https_get

    config = engine.config
    if config is None:
        return _fail(engine, "the engine was not made from a config.xml (Engine.from_config)")
    if not config.use_instance_policy:
        reason = (
            "mid.ssl.use.instance.security.policy is false: the bootstrap policy stays in force"
        )
        logger.info(reason)
        return SyncResult(False, reason, engine.policies)
    if not config.url:
        return _fail(engine, "config.xml has no url parameter")
    url = config.url.rstrip("/") + TABLE_PATH
    headers = {"Accept": "application/json", "User-Agent": "certpolicy"}
    if config.username is not None:
        token = f"{config.username}:{config.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode("ascii")
    try:
        status, body = checked_https_get(engine, url, headers=headers, timeout=timeout)
    except CertPolicyError as exc:
        return _fail(engine, f"the instance connection was rejected: {exc}")
    except (OSError, http.client.HTTPException) as exc:
        return _fail(engine, f"cannot reach the instance: {exc}")
    if status != 200:
        return _fail(engine, f"the instance answered HTTP {status}")
    try:
        rows = json.loads(body)["result"]
        if not isinstance(rows, list):
            raise TypeError("result is not a list")
        fetched = PolicySet.from_records(rows)
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return _fail(engine, f"malformed policy table response: {exc}")
    except PolicyError as exc:
        return _fail(engine, f"invalid policy in the table: {exc}")
    policies = fetched.policies
    if not any(p.kind == "instance" and p.active for p in policies):
        # Without an instance policy the next sync could not reach the instance.
        policies = (*policies, config.bootstrap_policy())
    try:
        new_set = PolicySet(policies)
    except PolicyError as exc:
        return _fail(engine, f"invalid policy set from the table: {exc}")
    engine._replace_policies(new_set)
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
