#!/usr/bin/env bash
# Installs what is missing, builds the app and the reference server, and serves both on one URL
# with demo data in ./data (created on first run, kept across runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PWD/e2e/node_modules/.bin:$PATH"

scripts/build-app.sh
cargo build --release -p fairslot-server

listen="${FAIRSLOT_LISTEN:-127.0.0.1:8080}"
echo
echo "Fairslot is starting: open http://$listen/ (Ctrl-C stops it)"
exec target/release/fairslot-server --listen "$listen" --data-dir "${FAIRSLOT_DATA_DIR:-data}" --static-dir dist
