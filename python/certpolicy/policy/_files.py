"""Policy files: TOML (read with :mod:`tomllib`) or JSON, chosen by the file suffix.

TOML::

    [[policy]]
    name = "Lab servers"
    kind = "override"
    hosts = ["lab.corp.example", "*.lab.corp.example:8443"]
    ip_ranges = ["10.20.0.0/16"]
    check_chain = false
    check_hostname = false
    check_revocation = false
    order = 10

JSON: ``{"policy": [{"name": ..., "kind": ..., ...}]}`` (a bare list is accepted too).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from certpolicy._util import atomic_write_bytes
from certpolicy.errors import ConfigError, PolicyError
from certpolicy.policy._policy import Policy

__all__ = ["dump_toml", "read_policy_file", "write_policy_file"]

MAX_POLICY_FILE_BYTES = 16 * 1024 * 1024


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return "toml"
    if suffix == ".json":
        return "json"
    raise ConfigError(f"{path}: policy files end in .toml or .json")


def read_policy_file(path: str | os.PathLike[str]) -> list[Policy]:
    """Reads and validates every policy of a file."""
    target = Path(path)
    kind = _format(target)
    try:
        if target.stat().st_size > MAX_POLICY_FILE_BYTES:
            raise ConfigError(f"{target}: larger than {MAX_POLICY_FILE_BYTES} bytes")
        raw = target.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read policy file {target}: {exc}") from exc
    try:
        data: Any = tomllib.loads(raw.decode("utf-8")) if kind == "toml" else json.loads(raw)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers JSON errors and integers too long to convert; RecursionError a
        # document nested too deep.
        raise ConfigError(f"{target}: not valid {kind.upper()}: {exc}") from exc
    if isinstance(data, dict):
        unknown = set(data) - {"policy"}
        if unknown:
            raise ConfigError(f"{target}: unknown top-level key(s) {', '.join(sorted(unknown))}")
        data = data.get("policy", [])
    if not isinstance(data, list):
        raise ConfigError(f"{target}: expected a list of policies under 'policy'")
    policies = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ConfigError(f"{target}: policy #{index} is not a table/object")
        try:
            policies.append(Policy.from_dict(entry))
        except (PolicyError, TypeError, ValueError, OverflowError) as exc:
            raise PolicyError(f"{target}: policy #{index}: {exc}") from None
    return policies


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # A JSON string literal is a valid TOML basic string (the same escapes, \u ones too).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def dump_toml(policies: Iterable[Policy]) -> str:
    """The TOML text of a policy list."""
    blocks = []
    for policy in policies:
        lines = ["[[policy]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in policy.to_dict().items()]
        blocks.append("\n".join(lines))
    return "# certpolicy policies\n\n" + "\n\n".join(blocks) + "\n"


def write_policy_file(path: str | os.PathLike[str], policies: Iterable[Policy]) -> None:
    """Writes policies as TOML or JSON (by suffix), atomically."""
    target = Path(path)
    items = list(policies)
    if _format(target) == "toml":
        text = dump_toml(items)
    else:
        text = json.dumps({"policy": [p.to_dict() for p in items]}, indent=2) + "\n"
    atomic_write_bytes(target, text.encode("utf-8"), mode=None)
