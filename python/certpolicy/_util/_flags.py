"""Boolean flags written as text (config.xml parameters, instance table rows)."""

from __future__ import annotations

from typing import Final

__all__ = ["parse_flag"]

_TRUE: Final = frozenset({"true", "yes", "1", "on"})
_FALSE: Final = frozenset({"false", "no", "0", "off"})


def parse_flag(value: object, default: bool) -> bool:
    """``value`` as a boolean: a bool as it is; missing, null or blank text is ``default``
    (so a blank check flag never turns a check off by accident); true/yes/1/on and
    false/no/0/off in any case. Anything else raises ``ValueError`` (callers name the field)."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not true or false")
