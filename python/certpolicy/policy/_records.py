"""Instance table rows (``mid_cert_check_policy``) to policies.

The table API sends every value as a string: ``"true"``/``"false"``, ``"100"``, and comma
separated ``hosts`` / ``ip_ranges``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from certpolicy._util import parse_flag
from certpolicy.errors import PolicyError
from certpolicy.policy._policy import MODES, Policy

__all__ = ["TYPE_NAMES", "policy_from_record", "policy_kind"]

# Policy types as they appear in the table: the kind names themselves, and the labels
# administrators see and type in the instance's form (compared case-insensitively, with
# runs of spaces, dashes and underscores as one space).
TYPE_NAMES: Final[Mapping[str, str]] = {
    "override": "override",
    "overridden": "override",
    "overrides": "override",
    "override policy": "override",
    "instance": "instance",
    "servicenow endpoint": "instance",
    "servicenow instance": "instance",
    "service now endpoint": "instance",
    "instance endpoint": "instance",
    "intranet": "intranet",
    "intranet endpoint": "intranet",
    "intranet endpoints": "intranet",
    "internal": "intranet",
    "internet": "internet",
    "internet endpoint": "internet",
    "internet endpoints": "internet",
    "external": "internet",
}


def policy_kind(value: Any, where: str) -> str:
    """The policy kind a table ``type`` value names; :class:`PolicyError` when none does.
    A reference field as the table API sends it with display values (``{"value": ...,
    "display_value": ...}``) is read by its value, then its display value."""
    candidates = [value]
    if isinstance(value, Mapping):
        candidates = [value.get("value"), value.get("display_value")]
    for candidate in candidates:
        if isinstance(candidate, str):
            key = " ".join(candidate.replace("-", " ").replace("_", " ").lower().split())
            if key in TYPE_NAMES:
                return TYPE_NAMES[key]
    known = ", ".join(sorted({f'"{name}"' for name in TYPE_NAMES}))
    raise PolicyError(f"{where}: type {value!r} is not a policy type (known: {known})")


def _flag(row: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    # Missing, null or blank: the default (for checks, on), never "off" by accident.
    value = row.get(key)
    try:
        return parse_flag(value, default)
    except ValueError:
        raise PolicyError(f"{where}: {key} is {value!r}, not true or false") from None


def _optional_flag(row: Mapping[str, Any], key: str, where: str) -> bool | None:
    # Missing, null or blank: None (the engine's default decides).
    value = row.get(key)
    try:
        return None if value is None or str(value).strip() == "" else parse_flag(value, False)
    except ValueError:
        raise PolicyError(f"{where}: {key} is {value!r}, not true or false") from None


def _list(row: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = row.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        if not value.strip():
            return ()
        parts = [part.strip() for part in value.replace("\n", ",").split(",")]
        if not all(parts):
            raise PolicyError(f"{where}: {key} has an empty entry in {value!r}")
        return tuple(parts)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        if not all(v.strip() for v in value):
            raise PolicyError(f"{where}: {key} has an empty entry")
        return tuple(v.strip() for v in value)
    raise PolicyError(f"{where}: {key} must be a comma-separated string")


def _mode(row: Mapping[str, Any], where: str) -> str:
    # Missing, null or blank: enforce. Anything else must name a mode: a typo must not turn
    # enforcement off (or on) unseen.
    value = row.get("mode")
    if value is None or (isinstance(value, str) and not value.strip()):
        return "enforce"
    if isinstance(value, str) and value.strip().lower() in MODES:
        return value.strip().lower()
    raise PolicyError(f"{where}: mode is {value!r}, not " + " or ".join(MODES))


def policy_from_record(row: Mapping[str, Any], index: int = 0) -> Policy:
    """One row to a :class:`Policy`. Raises :class:`PolicyError` naming the row and field."""
    if not isinstance(row, Mapping):
        raise PolicyError(f"row {index}: not an object")
    name = row.get("name")
    where = f"row {index} ({name!r})" if name else f"row {index}"
    if not isinstance(name, str) or not name.strip():
        raise PolicyError(f"{where}: missing name")
    kind = policy_kind(row.get("type", row.get("kind")), where)
    order_text = row.get("order", "100")
    try:
        order = int(str(order_text).strip() or "100")
    except ValueError:
        raise PolicyError(f"{where}: order is {order_text!r}, not an integer") from None
    try:
        return Policy(
            name.strip(),
            kind,  # type: ignore[arg-type]
            check_chain=_flag(row, "check_cert_chain", True, where),
            check_hostname=_flag(row, "check_cert_hostname", True, where),
            check_revocation=_flag(row, "check_cert_revocation", True, where),
            hosts=_list(row, "hosts", where),
            ip_ranges=_list(row, "ip_ranges", where),
            active=_flag(row, "active", True, where),
            order=order,
            allow_common_name=_flag(row, "allow_common_name", False, where),
            mode=_mode(row, where),  # type: ignore[arg-type]
            fetch_intermediates=_optional_flag(row, "fetch_intermediates", where),
        )
    except PolicyError as exc:
        raise PolicyError(f"{where}: {exc}") from None
