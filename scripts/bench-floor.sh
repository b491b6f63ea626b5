#!/usr/bin/env bash
# Measures the framework floor under the first screen's budget (BENCHMARKS.md): the smallest app
# on the same stack (e2e/bench/floor), built with the app's profile, flags, wasm-bindgen and
# wasm-opt, and compressed as the first screen is. Needs the tools from scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/e2e/node_modules/.bin:$PATH"
root="$PWD"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# The app's target directory, so what the app already built with the same features is reused.
# The app's .cargo/config.toml applies (same flags); its linker cuts only the app's own module.
version="$(wasm-opt --version)"
case "$version" in
  *"version 132"*) ;;
  *) echo "wasm-opt 132 expected first on PATH (scripts/setup.sh), found: $version" >&2; exit 1 ;;
esac
(cd e2e/bench/floor && CARGO_TARGET_DIR="$root/target" cargo build --locked --release --target wasm32-unknown-unknown)
wasm-bindgen --target web --out-dir "$out" target/wasm32-unknown-unknown/release/floor.wasm
# `--emit-relocs` leaves relocation sections that wasm-split-cli removes from the app's module;
# drop them here too, so both are compared as shipped.
node --input-type=module -e '
import { readFileSync, writeFileSync } from "node:fs";
const [file] = process.argv.slice(1);
const bytes = readFileSync(file);
const kept = [bytes.subarray(0, 8)];
let at = 8;
const leb = () => { let value = 0, shift = 0, byte; do { byte = bytes[at++]; value |= (byte & 127) << shift; shift += 7; } while (byte & 128); return value >>> 0; };
while (at < bytes.length) {
  const start = at, id = bytes[at++], size = leb(), body = at;
  let keep = true;
  if (id === 0) { const len = leb(); const name = bytes.subarray(at, at + len).toString(); keep = !name.startsWith("reloc.") && name !== "linking"; }
  at = body + size;
  if (keep) kept.push(bytes.subarray(start, at));
}
writeFileSync(file, Buffer.concat(kept));
' "$out/floor_bg.wasm"
wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/floor_bg.wasm" -o "$out/floor_bg.wasm"

printf '| floor | raw | gzip -9 | brotli -q 11 |\n|---|---:|---:|---:|\n'
total=0
for f in "$out/floor_bg.wasm" "$out/floor.js"; do
  br=$(brotli -q 11 -c "$f" | wc -c)
  total=$((total + br))
  printf '| %s | %d | %d | %d |\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(gzip -9 -c "$f" | wc -c)" "$br"
done
printf '| **wasm + glue** (glue not minified) | | | **%d** |\n' "$total"
