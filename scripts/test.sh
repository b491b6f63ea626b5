#!/usr/bin/env bash
# Installs what is missing, then runs every check and test: formatting, lints, native unit tests
# (core, app, server on real SQLite files), and the browser tests in Debian's Chromium against the
# real reference server serving the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PWD/e2e/node_modules/.bin:$PATH"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "lints (native and wasm32)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p fairslot --target wasm32-unknown-unknown -- -D warnings

step "native tests: core, app logic, reference server"
cargo test --workspace

step "release build of the app"
scripts/build-app.sh

step "reference server for the browser tests"
cargo build -p fairslot-server

step "browser tests (Playwright, Debian Chromium)"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd e2e && FAIRSLOT_E2E_PORT="$port" npx playwright test)
