"""The policies of the last good instance sync, saved beside config.xml
(``certpolicy-policies.json``), so a restart or the CLI starts from them even when the
instance is down.

The file holds the policies the instance table gave (not the composed set: config.xml's
bootstrap values and the shipped defaults are applied again at load, so an edited config.xml
still counts), when they were fetched and from where. It is written atomically; a file that
is unreadable, corrupt or from another format is reported and ignored, never fatal."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from certpolicy._util import atomic_write_bytes
from certpolicy.errors import PolicyError
from certpolicy.policy._policy import Policy

__all__ = ["SAVED_POLICIES_FILE", "SavedPolicies", "load_saved_policies", "saved_policies_path"]

SAVED_POLICIES_FILE: Final = "certpolicy-policies.json"
_FORMAT: Final = 1
# A saved file is a few KiB; anything much larger is not ours.
_MAX_BYTES: Final = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SavedPolicies:
    """Policies fetched from the instance table: ``synced_at`` (aware UTC) from ``source``
    (the table URL), and the reasons of the rows that were ``rejected``."""

    policies: tuple[Policy, ...]
    synced_at: dt.datetime
    source: str
    rejected: tuple[str, ...] = ()

    def describe(self) -> str:
        """``instance table (synced 2026-12-03T21:00:00Z from https://...)``"""
        when = self.synced_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return f"instance table (synced {when} from {self.source})"

    def to_json(self) -> bytes:
        document = {
            "format": _FORMAT,
            "synced_at": self.synced_at.astimezone(dt.UTC).isoformat(),
            "source": self.source,
            "rejected": list(self.rejected),
            "policies": [policy.to_dict() for policy in self.policies],
        }
        return (json.dumps(document, indent=2) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> SavedPolicies:
        """Parses a saved file; :class:`PolicyError` says what is wrong with it."""
        try:
            document: Any = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise PolicyError(f"not JSON: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise PolicyError(f"not a certpolicy saved-policies file of format {_FORMAT}")
        try:
            synced_at = dt.datetime.fromisoformat(str(document["synced_at"]))
            source = document["source"]
            rows = document["policies"]
            rejected = document.get("rejected", [])
        except (KeyError, ValueError) as exc:
            raise PolicyError(f"missing or bad field: {exc}") from None
        if synced_at.tzinfo is None:
            raise PolicyError("synced_at has no time zone")
        if not isinstance(source, str) or not isinstance(rows, list):
            raise PolicyError("source must be a string and policies a list")
        if not isinstance(rejected, list) or not all(isinstance(r, str) for r in rejected):
            raise PolicyError("rejected must be a list of strings")
        policies = []
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise PolicyError(f"policy {index} is not an object")
            try:
                policies.append(Policy.from_dict(row))
            except (PolicyError, TypeError) as exc:
                raise PolicyError(f"policy {index}: {exc}") from None
        return cls(tuple(policies), synced_at, source, tuple(rejected))

    def save(self, path: Path) -> None:
        """Writes atomically (temp file, fsync, rename)."""
        atomic_write_bytes(path, self.to_json(), mode=0o600)


def saved_policies_path(config_xml: str | os.PathLike[str]) -> Path:
    """Where the saved policies of the agent configured by ``config_xml`` live."""
    return Path(config_xml).parent / SAVED_POLICIES_FILE


def load_saved_policies(
    config_xml: str | os.PathLike[str],
) -> tuple[SavedPolicies | None, str | None]:
    """``(saved, problem)``: the saved policies beside ``config_xml`` or None when there are
    none; ``problem`` says why a file that is there was ignored."""
    path = saved_policies_path(config_xml)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"{path}: cannot be read ({exc})"
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except OSError as exc:
        return None, f"{path}: cannot be read ({exc})"
    if len(data) > _MAX_BYTES:
        return None, f"{path}: larger than {_MAX_BYTES} bytes"
    try:
        return SavedPolicies.from_json(data), None
    except PolicyError as exc:
        return None, f"{path}: {exc}"
