#!/usr/bin/env bash
# `make demo`: start the local emulator (with some injected 429s, 503s and dropped connections),
# run thumbsweep on examples/sample.csv against it, then show the summary and the ledger.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
out=.demo
rm -rf "$out"
mkdir -p "$out"

# Demo credentials, known to the emulator only. Real ones belong in the environment or .env.
export THUMBSWEEP_ACCESS_KEY=demo-access-key
export THUMBSWEEP_SECRET_KEY=demo-secret-key

"$bin/thumbsweep" emulate --port 0 --latency-ms 25 \
    --fault-429-rate 0.05 --fault-5xx-rate 0.05 --drop-rate 0.03 --seed 7 \
    >"$out/emulator.log" 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true' EXIT

for _ in $(seq 100); do
    grep -q "listening on" "$out/emulator.log" && break
    sleep 0.1
done
url=$(awk '/listening on/ {print $NF; exit}' "$out/emulator.log")
if [ -z "$url" ]; then
    echo "demo: the emulator did not start:" >&2
    cat "$out/emulator.log" >&2
    exit 1
fi
echo "demo: emulator at $url"
echo "demo: thumbsweep run examples/sample.csv --base-url $url --ledger $out/ledger.jsonl"
echo

status=0
"$bin/thumbsweep" run examples/sample.csv --base-url "$url" --ledger "$out/ledger.jsonl" \
    --concurrency 8 --backoff-initial 0.05 || status=$?

echo
echo "demo: exit code $status; the first ledger records ($out/ledger.jsonl):"
head -n 3 "$out/ledger.jsonl"
counted=$("$bin/python" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "$url/_emulator/stats")
echo "demo: what the emulator counted: $counted"
exit "$status"
