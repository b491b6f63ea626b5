#!/usr/bin/env bash
# Installs every tool Fairslot builds and tests with, skipping each one already present at the
# pinned version. Safe to run again; the first run on a fresh machine takes about 25 minutes
# (Trunk and wasm-bindgen-cli compile from crates.io), later runs take seconds.
#
# Only package registries are used (crates.io, npm, Debian). No prebuilt binary is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.22.1
WASM_SPLIT_VERSION=0.2.4
# The wasm-bindgen CLI must equal the crate version locked in Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

export PATH="$HOME/.cargo/bin:$PWD/e2e/node_modules/.bin:$PATH"

# 1. The wasm target of the active toolchain.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# 2. Trunk. 0.22.1 needs a newer rustc than stable 1.95; the nightly toolchain builds it.
if ! (have trunk && trunk --version | grep -q " $TRUNK_VERSION"); then
  toolchain=""
  if rustup toolchain list | grep -q '^nightly'; then toolchain="+nightly"; fi
  say "installing trunk $TRUNK_VERSION (cargo $toolchain install; ~18 min on 2 cores)"
  cargo $toolchain install trunk --version "$TRUNK_VERSION" --locked
fi

# 3. wasm-bindgen CLI of the locked version. Without --locked: one of its locked dependencies is
#    not served by the registry here, and a neighbouring patch release works.
if ! (have wasm-bindgen && wasm-bindgen --version | grep -q " $WASM_BINDGEN_VERSION"); then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (~7 min)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# 4. wasm-split-cli, which cuts the app's wasm into parts loaded on demand (scripts/wasm-ld).
if ! (have wasm-split-cli && cargo install --list | grep -qx "wasm_split_cli_support v$WASM_SPLIT_VERSION:"); then
  say "installing wasm-split-cli $WASM_SPLIT_VERSION (~1 min)"
  cargo install wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --features build-binary --locked
fi

# 5. Debian packages: Chromium and its driver for the browser tests, brotli for size figures.
missing=()
for pkg in chromium chromium-driver brotli; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi

# 6. npm packages: Playwright (driving Debian's Chromium, never its own download), axe-core,
#    and binaryen 132 for wasm-opt.
if [ ! -f e2e/node_modules/.package-lock.json ] || [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then
  say "installing npm packages for the build and the browser tests"
  (cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

say "tools ready: $(trunk --version), $(wasm-bindgen --version), wasm-opt $(wasm-opt --version | awk '{print $3}'), $(chromium --version 2>/dev/null | head -1)"
