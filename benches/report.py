"""Turns a pytest-benchmark JSON file into a Markdown table: per group, each implementation's
median and how many times faster certpolicy is than it (ratios, so machines compare).

Usage: python benches/report.py bench.json [> report.md]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any


def _fmt(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.2f} ms"


def table(data: dict[str, Any]) -> str:
    groups: dict[str, dict[str, float]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        impl = bench.get("extra_info", {}).get("impl", bench["name"])
        groups[bench["group"] or bench["name"]][impl] = bench["stats"]["median"]
    lines = [
        "| operation | implementation | median | certpolicy speed-up |",
        "|---|---|---:|---:|",
    ]
    for group in sorted(groups):
        medians = groups[group]
        ours = medians.get("certpolicy")
        for impl, median in sorted(medians.items(), key=lambda item: item[1]):
            ratio = "—" if impl == "certpolicy" or ours is None else f"{median / ours:.1f}×"
            lines.append(f"| {group} | {impl} | {_fmt(median)} | {ratio} |")
    machine = data.get("machine_info", {})
    lines.append("")
    lines.append(
        f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
        f"Python {machine.get('python_version', '?')}; medians from pytest-benchmark."
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    print(table(json.loads(Path(argv[1]).read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
