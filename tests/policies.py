"""Policies several test modules share."""

from __future__ import annotations

import certpolicy as cp

# An override that lets the self-signed "intranet box" on localhost through unchecked.
INTRANET_BOX_OFF = cp.Policy(
    "Intranet box",
    "override",
    hosts=["localhost"],
    check_chain=False,
    check_hostname=False,
    check_revocation=False,
)
