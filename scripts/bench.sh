#!/usr/bin/env bash
# Measures what BENCHMARKS.md reports: bytes of the first screen (raw, gzip -9, brotli -q 11) and
# the time to the first hospital list in Chromium under mobile throttling. Needs a release build
# (scripts/build-app.sh) and the tools from scripts/setup.sh.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/e2e/node_modules/.bin:$PATH"

echo "## First screen bytes (dist/)"
printf '| file | raw | gzip -9 | brotli -q 11 |\n|---|---:|---:|---:|\n'
total_raw=0 total_gz=0 total_br=0
# The main module and what loads it: the page, the wasm-bindgen glue, the split loader (preloaded
# next to the glue), the stylesheet and the config. The parts (other pages, the outbox runtime, the
# FHIR adapter) and the service worker are fetched later, off the critical path: listed apart.
for f in dist/index.html dist/fairslot-*.js dist/__wasm_split-*.js dist/*_bg.wasm dist/*.css dist/config.json; do
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  br=$(brotli -q 11 -c "$f" | wc -c)
  total_raw=$((total_raw + raw)) total_gz=$((total_gz + gz)) total_br=$((total_br + br))
  printf '| %s | %d | %d | %d |\n' "$(basename "$f" | sed -E 's/-[0-9a-f]{12,20}//')" "$raw" "$gz" "$br"
done
printf '| **total** | **%d** | **%d** | **%d** |\n' "$total_raw" "$total_gz" "$total_br"
printf '| sw.js (after start) | %d | %d | %d |\n\n' "$(stat -c %s dist/sw.js)" "$(gzip -9 -c dist/sw.js | wc -c)" "$(brotli -q 11 -c dist/sw.js | wc -c)"

echo "## Parts (fetched when first needed; the service worker keeps them all after the first visit)"
printf '| part | raw | brotli -q 11 |\n|---|---:|---:|\n'
parts_raw=0 parts_br=0
for f in dist/split_*.wasm dist/chunk_*.wasm; do
  raw=$(stat -c %s "$f") br=$(brotli -q 11 -c "$f" | wc -c)
  parts_raw=$((parts_raw + raw)) parts_br=$((parts_br + br))
  case "$f" in dist/split_*) printf '| %s | %d | %d |\n' "$(basename "$f" | sed -E 's/-[0-9a-f]{12,20}//')" "$raw" "$br" ;; esac
done
chunks=(dist/chunk_*.wasm)
printf '| code shared by several parts (%d files) | | |\n' "${#chunks[@]}"
printf '| **all parts** | **%d** | **%d** |\n\n' "$parts_raw" "$parts_br"

cargo build --release -p fairslot-server
data=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/release/fairslot-server --listen "127.0.0.1:$port" --data-dir "$data" --static-dir dist --demo-large 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/api/v1/health" >/dev/null && break; sleep 0.1; done
node e2e/bench/load.mjs "http://127.0.0.1:$port"
