#!/usr/bin/env bash
# Builds the app into dist/ in release (size profile, wasm-opt -Oz) and writes brotli and gzip
# siblings of every text and wasm file, which the server sends to browsers that accept them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/e2e/node_modules/.bin:$PATH"

# Dependencies first, so Trunk can run offline and never try to download a tool.
cargo fetch --locked
trunk build --release --offline

find dist -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.json' \) |
  while read -r f; do
    brotli -q 11 -f -k "$f"
    gzip -9 -f -k "$f"
  done
echo "[build] app built into dist/"
