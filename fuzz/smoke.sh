#!/usr/bin/env bash
# Fuzz smoke run: builds every cargo-fuzz target of this folder and runs each one for
# FUZZ_SECONDS seconds (default 30) from its committed seeds (seeds/<target>). Fails when a
# target crashes (a panic, a broken invariant), times out on one input or runs out of memory;
# the input that did it is left in artifacts/<target>/.
#
#   bash fuzz/smoke.sh                      # 30 s a target
#   FUZZ_SECONDS=10 bash fuzz/smoke.sh      # shorter
#   FUZZ_TARGETS="crl ocsp" bash fuzz/smoke.sh
#
# Uses the nightly toolchain when there is one (else the default toolchain, which suffices
# without a sanitizer); installs cargo-fuzz when `cargo fuzz` is missing. The build goes to $CARGO_TARGET_DIR/fuzz when CARGO_TARGET_DIR is
# set, else to fuzz/target. FUZZ_SANITIZER (default none: the code under test is safe Rust,
# and without a sanitizer the build and the runs are several times faster) may be set to
# address for a run with AddressSanitizer.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-30}"
sanitizer="${FUZZ_SANITIZER:-none}"
if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
  target_dir="$CARGO_TARGET_DIR/fuzz"
else
  target_dir="$PWD/target"
fi
started=$SECONDS

# Nightly, as cargo-fuzz expects. Without a sanitizer (the default) it needs nothing of
# nightly, so on a machine without a nightly toolchain the default one builds the same targets.
toolchain=(+nightly)
if ! cargo +nightly --version >/dev/null 2>&1; then
  if [[ "$sanitizer" != none ]]; then
    echo "FUZZ_SANITIZER=$sanitizer needs the nightly toolchain, which is missing" >&2
    exit 1
  fi
  toolchain=()
  echo "no nightly toolchain: building with $(cargo --version)"
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: installing it"
  cargo install cargo-fuzz --locked
fi
cargo fuzz --version

# One build for every target (they share the dependencies): about 2 minutes cold on a
# 2-core machine (cargo-fuzz's default of one codegen unit builds faster there than 16).
build=(--sanitizer "$sanitizer" --target-dir "$target_dir")
cargo "${toolchain[@]}" fuzz build "${build[@]}"
echo "built in $((SECONDS - started)) s"

targets="${FUZZ_TARGETS:-$(cargo "${toolchain[@]}" fuzz list)}"
failed=()
for target in $targets; do
  mkdir -p "corpus/$target" "artifacts/$target"
  log="artifacts/$target/smoke.log"
  echo "--- $target: ${seconds} s"
  # The first folder collects the new inputs (ignored by git); seeds/ is only read.
  if cargo "${toolchain[@]}" fuzz run "${build[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::new_units_added|^Done' "$log" || true
  else
    echo "FAILED: $target (log: fuzz/$log)"
    grep -E -A12 'panicked|ERROR: libFuzzer|SUMMARY' "$log" | head -40 || tail -20 "$log"
    failed+=("$target")
  fi
done

echo "fuzz smoke run: $((SECONDS - started)) s in all"
if ((${#failed[@]})); then
  echo "fuzz smoke run failed: ${failed[*]} (reproduce in fuzz/: cargo +nightly fuzz run -s $sanitizer <target> artifacts/<target>/crash-...)"
  exit 1
fi
echo "fuzz smoke run passed: $(wc -w <<<"$targets") targets"
