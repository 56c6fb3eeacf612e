#!/usr/bin/env bash
# Runs every fuzz target for N seconds each (default 30) on the stable toolchain, starting
# from the committed seeds (fuzz/seeds/TARGET) and a local corpus (fuzz/corpus/TARGET, not
# committed, unpacked from fuzz/corpus-min/TARGET.tar.gz when empty); stops at the first
# finding. Longer runs: fuzz/run.sh 600
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cargo fuzz build
for target in $(cargo fuzz list); do
  mkdir -p "corpus/$target" "seeds/$target"
  # Start from the committed minimized corpus when the local one is empty (a fresh clone).
  if [ -z "$(ls -A "corpus/$target")" ] && [ -f "corpus-min/$target.tar.gz" ]; then
    tar xzf "corpus-min/$target.tar.gz" -C corpus
  fi
  log="$(mktemp)"
  echo "--- fuzz $target for ${seconds}s"
  if ! cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "FUZZ FINDING in $target (artifacts in fuzz/artifacts/$target)"
    exit 1
  fi
  grep -E "^Done [0-9]+ runs" "$log" || tail -n 3 "$log"
  rm -f "$log"
done
