#!/usr/bin/env bash
# Load figures of the reference server on loopback: schedule reads and booking creation per second
# with latency percentiles, measured with wrk (Debian package). The server runs in release with the
# benchmark department (--demo-large) on a fresh database; client and server share the 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --release -p fairslot-server

data=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# A surge comes from many patients' addresses; wrk is one. The per-address limits are raised so
# that what is measured is the server (the limiter's check still runs on every request).
target/release/fairslot-server --listen "127.0.0.1:$port" --data-dir "$data" --demo-large --quiet \
  --ip-requests-per-minute 1000000 --max-connections-per-ip 100000 --ip-direct-bookings-per-hour 0 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fs "$base/api/v1/health" >/dev/null && break; sleep 0.1; done

duration=${DURATION:-15s}
echo "## Schedule reads: GET /api/v1/schedules?department=h1-cardio&days=7 (wrk -t2 -c32 -d$duration)"
wrk -t2 -c32 -d"$duration" --latency "$base/api/v1/schedules?department=h1-cardio&days=7" | grep -E "Requests/sec|50%|90%|99%|requests in"

echo
echo "## Schedule reads, large department: 60 doctors x 14 days x 40 slots (wrk -t2 -c8 -d$duration)"
wrk -t2 -c8 -d"$duration" --latency -H 'Accept-Encoding: gzip' "$base/api/v1/schedules?department=h1-large&days=14" | grep -E "Requests/sec|50%|90%|99%|requests in"

echo
echo "## Booking creation: POST /api/v1/bookings, new Idempotency-Key each (wrk -t2 -c32 -d$duration)"
slots_lua="$data/slots.lua"
curl -fs "$base/api/v1/schedules?department=h1-large&days=14" | python3 -c '
import json, sys
s = json.load(sys.stdin)
ids = [x["id"] for se in s["sessions"] if se["status"] == "open" for x in se["slots"] if x["remaining"] > 0]
print("return {" + ",".join(json.dumps(i) for i in ids) + "}")
' > "$slots_lua"
FAIRSLOT_SLOTS_LUA="$slots_lua" wrk -t2 -c32 -d"$duration" --latency -s e2e/bench/booking.lua "$base" | grep -E "Requests/sec|50%|90%|99%|requests in|status"
