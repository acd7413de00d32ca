"""Turns a pytest-benchmark JSON file into a Markdown report, a PNG bar chart of the ratios, and
a regression gate against a checked-in baseline of ratios.

Usage:
    python benches/report.py BENCH_JSON [--baseline benches/baseline.json] [--png PATH]
                                        [--write-baseline]

Every benchmark names its group and, in ``extra_info["impl"]``, its implementation:
``certpolicy`` (or any name with ``extra_info["ours"]`` true, e.g. ``engine.check``), a peer
(anything else), or a cost floor (``extra_info["floor"]`` true). Per group the report gives
each median and one ratio per row that is not ours, always "higher is better" so the gate
can treat them alike:

- peer rows: peer median / certpolicy median, i.e. how many times faster certpolicy is;
- floor rows: floor median / certpolicy median (at most 1); shown as certpolicy's cost in
  multiples of the floor.

Ratios, not absolute times, are compared, so a slower machine does not fail the gate. The
baseline file holds the targets (glob patterns over group and implementation, from DESIGN.md)
and the ratios of a reference run. The gate fails (exit status 1) when a ratio whose baseline
value met its target has fallen by more than ``tolerance`` (25%) below that baseline value.
``--write-baseline`` stores this run's ratios as the new baseline (targets are kept).

A ratio whose certpolicy row records ``extra_info["machine_scaling"]`` (the thread benches: how
much a GIL-free control workload gained from a second thread at the time) below its target
was measured without two free cores: when the control stays below 90% of the target, the ratio
is reported as "machine busy" and not gated; nor, then, is any other ratio of that run.

A row may carry the medians of peers timed in the same rounds, interleaved with it
(``extra_info["peer_medians"]``: ``{implementation: median seconds}``, e.g. the handshake
benches); each becomes a peer row of its group.

The PNG (default: ``ratios.png`` beside BENCH_JSON) has one bar per ratio, on a log scale,
with the target marked.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OURS = "certpolicy"
# A control below this share of the target means the machine lacked the cores to reach it.
BUSY_CONTROL_SHARE = 0.9
DEFAULT_BASELINE = Path(__file__).resolve().with_name("baseline.json")


@dataclass(frozen=True)
class Row:
    group: str
    impl: str
    median: float
    floor: bool
    machine_scaling: float | None = None
    ours: bool = False


@dataclass(frozen=True)
class Ratio:
    group: str
    impl: str
    value: float  # higher is better (see the module docstring)
    floor: bool
    target: float | None
    machine_scaling: float | None = None

    @property
    def machine_busy(self) -> bool:
        """The machine itself could not reach the target (see the module docstring)."""
        return (
            self.target is not None
            and self.machine_scaling is not None
            and self.machine_scaling < BUSY_CONTROL_SHARE * self.target
        )

    @property
    def met(self) -> bool | None:
        if self.target is None or self.machine_busy:
            return None
        return self.value >= self.target

    def shown(self) -> str:
        if self.floor:
            return f"{1 / self.value:.2f}× the floor"
        if self.value < 1:
            return f"{1 / self.value:.2f}× slower"
        return f"{self.value:.2f}× faster" if self.value < 10 else f"{self.value:.0f}× faster"

    def shown_target(self) -> str:
        if self.target is None:
            return ""
        if self.machine_busy:
            return f"≥ {self.target:g}× (machine busy: control {self.machine_scaling:.2f}×)"
        if self.floor:
            return f"≤ {1 / self.target:.2f}× the floor"
        return f"≥ {self.target:g}×"


def _fmt(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.2f} ms"


def rows(data: dict[str, Any]) -> list[Row]:
    out = []
    for bench in data["benchmarks"]:
        extra = bench.get("extra_info", {})
        impl = str(extra.get("impl", bench["name"]))
        group = bench.get("group") or bench["name"]
        out.append(
            Row(
                group=group,
                impl=impl,
                median=float(bench["stats"]["median"]),
                floor=bool(extra.get("floor", False)),
                machine_scaling=extra.get("machine_scaling"),
                ours=impl == OURS or bool(extra.get("ours", False)),
            )
        )
        # Peers timed in the same rounds as this row, interleaved with it (the handshakes).
        for peer, median in extra.get("peer_medians", {}).items():
            out.append(Row(group=group, impl=str(peer), median=float(median), floor=False))
    return out


def target_for(group: str, impl: str, targets: list[dict[str, Any]]) -> float | None:
    for entry in targets:
        if fnmatch.fnmatchcase(group, entry["group"]) and fnmatch.fnmatchcase(
            impl, entry.get("impl", "*")
        ):
            return float(entry["min_ratio"])
    return None


def ratios(all_rows: list[Row], targets: list[dict[str, Any]]) -> list[Ratio]:
    ours = {row.group: row for row in all_rows if row.ours}
    out = []
    for row in all_rows:
        mine = ours.get(row.group)
        if row.ours or mine is None or mine.median <= 0:
            continue
        out.append(
            Ratio(
                row.group,
                row.impl,
                row.median / mine.median,
                row.floor,
                target_for(row.group, row.impl, targets),
                mine.machine_scaling,
            )
        )
    return out


def gate(current: list[Ratio], baseline: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(failures, notes): ratios that met their target in the baseline and fell more than the
    tolerance below it; baseline ratios this run does not have."""
    tolerance = float(baseline.get("tolerance", 0.25))
    targets = baseline.get("targets", [])
    found = {(ratio.group, ratio.impl): ratio for ratio in current}
    # When the GIL-free control shows the machine itself was busy during this run, no ratio
    # of the run is evidence of a regression: they become notes (the run is still reported).
    busy = next((r.machine_scaling for r in current if r.machine_busy), None)
    failures, notes = [], []
    for group, impls in sorted(baseline.get("ratios", {}).items()):
        for impl, base in sorted(impls.items()):
            target = target_for(group, impl, targets)
            now = found.get((group, impl))
            if now is None:
                notes.append(f"{group} / {impl}: in the baseline, not in this run")
            elif now.machine_busy:
                notes.append(
                    f"{group} / {impl}: not gated, the machine was busy (a GIL-free control "
                    f"gained only {now.machine_scaling:.2f}x from a second thread)"
                )
            elif target is not None and base >= target and now.value < base * (1 - tolerance):
                line = (
                    f"{group} / {impl}: ratio {now.value:.3g} is more than "
                    f"{tolerance:.0%} below the baseline {base:.3g} (target {target:g})"
                )
                if busy is None:
                    failures.append(line)
                else:
                    notes.append(f"{line}; not gated: the machine was busy (control {busy:.2f}x)")
            elif target is not None and base >= target and now.value < target:
                notes.append(
                    f"{group} / {impl}: ratio {now.value:.3g} misses its target {target:g} "
                    f"(baseline {base:.3g}; within the tolerance)"
                )
    return failures, notes


def markdown(data: dict[str, Any], all_rows: list[Row], all_ratios: list[Ratio]) -> str:
    by_group: dict[str, list[Row]] = defaultdict(list)
    for row in all_rows:
        by_group[row.group].append(row)
    found = {(ratio.group, ratio.impl): ratio for ratio in all_ratios}
    lines = [
        "| operation | implementation | median | certpolicy vs it | target | met |",
        "|---|---|---:|---:|---:|:---:|",
    ]
    for group in sorted(by_group):
        for row in sorted(by_group[group], key=lambda row: (not row.ours, row.median)):
            ratio = found.get((group, row.impl))
            shown = "—" if ratio is None else ratio.shown()
            target = "" if ratio is None else ratio.shown_target()
            met = {None: "", True: "yes", False: "**no**"}[None if ratio is None else ratio.met]
            lines.append(
                f"| {group} | {row.impl} | {_fmt(row.median)} | {shown} | {target} | {met} |"
            )
    machine = data.get("machine_info", {})
    load = [machine.get("loadavg_at_start"), machine.get("loadavg_at_end")]
    load_text = " → ".join("/".join(f"{value:.2f}" for value in loads) for loads in load if loads)
    lines += [
        "",
        f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
        f"{machine.get('nproc', machine.get('cpu', {}).get('count', '?'))} CPUs, "
        f"Python {machine.get('python_version', '?')}; "
        f"load average (1/5/15 min) at start → end: {load_text or '?'}; "
        f"{data.get('datetime', '?')}. Medians from pytest-benchmark.",
    ]
    return "\n".join(lines)


def chart(all_ratios: list[Ratio], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = sorted(all_ratios, key=lambda ratio: (ratio.group, ratio.impl))
    if not shown:
        return
    labels = [f"{ratio.group} vs {ratio.impl}" for ratio in shown]
    colours = [{None: "#8c8c8c", True: "#2e8b57", False: "#d2691e"}[ratio.met] for ratio in shown]
    figure, axes = plt.subplots(figsize=(10, 0.32 * len(shown) + 1.6))
    positions = list(range(len(shown)))
    axes.barh(positions, [ratio.value for ratio in shown], color=colours)
    for position, ratio in zip(positions, shown, strict=True):
        if ratio.target is not None:
            axes.plot([ratio.target] * 2, [position - 0.4, position + 0.4], color="black", lw=2)
        axes.annotate(f" {ratio.value:.3g}×", (ratio.value, position), va="center", fontsize=7)
    axes.set_yticks(positions, labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.axvline(1.0, color="grey", lw=0.8)
    axes.set_xlabel(
        "peer time / certpolicy time (floor rows: floor time / certpolicy time), log scale\n"
        "black tick: target; green: met, orange: not met, grey: no target"
    )
    axes.set_title("certpolicy vs peers, same run (higher is better)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_baseline(path: Path, baseline: dict[str, Any], current: list[Ratio]) -> None:
    measured: dict[str, dict[str, float]] = defaultdict(dict)
    for ratio in current:
        measured[ratio.group][ratio.impl] = round(ratio.value, 4)
    updated = {**baseline, "ratios": {group: measured[group] for group in sorted(measured)}}
    path.write_text(json.dumps(updated, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench_json", type=Path)
    parser.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE)
    parser.add_argument("--png", type=Path, default=None)
    parser.add_argument("--write-baseline", action="store_true")
    args = parser.parse_args(argv[1:])

    data = json.loads(args.bench_json.read_text(encoding="utf-8"))
    baseline = (
        json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline.exists() else {}
    )
    all_rows = rows(data)
    all_ratios = ratios(all_rows, baseline.get("targets", []))
    print(markdown(data, all_rows, all_ratios))
    chart(all_ratios, args.png or args.bench_json.with_name("ratios.png"))

    if args.write_baseline:
        write_baseline(args.baseline, baseline, all_ratios)
        print(f"\nBaseline written to {args.baseline}.")
        return 0
    failures, notes = gate(all_ratios, baseline)
    print(f"\nRegression gate against {args.baseline.name}: ", end="")
    print("FAILED" if failures else "passed", end="")
    print(f" (tolerance {float(baseline.get('tolerance', 0.25)):.0%}).")
    for line in failures:
        print(f"- REGRESSION: {line}")
    for line in notes:
        print(f"- note: {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
