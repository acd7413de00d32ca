"""Bench fixtures: the test PKI of tests/pki.py, and a ~150-root store for both sides."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
