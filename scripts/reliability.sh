#!/usr/bin/env bash
# Runs the fault matrix (e2e/tests/faults.spec.ts) several times against fresh reference servers,
# with another fault seed in each run, and writes RELIABILITY.md from the results.
#
#   scripts/reliability.sh [runs]     # default 5
#
# Every passing run of a scenario has asserted, on the server, exactly one booking under the
# intent's key (or, for a refusal, none) and, on the screen, the end state the patient sees.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PWD/e2e/node_modules/.bin:$PATH"
scripts/build-app.sh
cargo build -p fairslot-server

seed=$(( $(date +%s) % 100000 ))
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
report=$(mktemp)
started=$(date -u +%Y-%m-%dT%H:%MZ)
(cd e2e && FAIRSLOT_E2E_PORT="$port" FAIRSLOT_FAULT_SEED="$seed" PLAYWRIGHT_JSON_OUTPUT_NAME="$report" \
  npx playwright test tests/faults.spec.ts --repeat-each="$runs" --retries=0 --reporter=json) || true
node e2e/bench/reliability-report.mjs "$report" "$runs" "$seed" "$started" > RELIABILITY.md
rm -f "$report"
cat RELIABILITY.md
