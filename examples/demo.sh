#!/usr/bin/env bash
# `make demo`: start the local emulator (with some injected 429s, 503s and dropped connections),
# show the preflight stopping a swapped-column copy of examples/sample.csv, run thumbsweep on
# the real file against it, then show the summary and the ledger, and write the HTML report.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
out=.demo
rm -rf "$out"
mkdir -p "$out"

# Demo credentials, known to the emulator only. Real ones belong in the environment or .env.
export THUMBSWEEP_ACCESS_KEY=demo-access-key
export THUMBSWEEP_SECRET_KEY=demo-secret-key

# The emulator holds real state: the sample's persons with their ids, plus one more thumbnail
# each (so no request empties a person), which lets the preflight check manifests against it.
"$bin/python" - examples/sample.csv "$out/state.jsonl" <<'PY'
import csv, json, sys
persons = {}
with open(sys.argv[1], newline="", encoding="utf-8") as rows:
    for row in csv.DictReader(rows):
        ids = [int(i) for i in row["thumbnail_ids"].replace(";", " ").split() if i.isdigit()]
        if row["person_id"].isdigit() and ids:
            persons.setdefault((row["workspace"], int(row["person_id"])), []).extend(ids)
with open(sys.argv[2], "w", encoding="utf-8") as state:
    for (workspace, person_id), ids in persons.items():
        kept = person_id * 1000 + 999  # a thumbnail nobody asks to remove: the primary
        line = {"workspace": workspace, "person_id": person_id,
                "thumbnail_ids": [kept, *dict.fromkeys(ids)], "primary": kept}
        state.write(json.dumps(line, ensure_ascii=False) + "\n")
PY

"$bin/thumbsweep" emulate --port 0 --latency-ms 25 --state "$out/state.jsonl" \
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

# The preflight: the same file with the person and thumbnail values swapped (the header kept)
# is caught by a dry
# run (it only looks persons up) before anything could be deleted: exit 3.
awk -F, -v OFS=, 'NR > 1 { t = $2; $2 = $3; $3 = t } { print }' examples/sample.csv >"$out/swapped.csv"
echo "demo: thumbsweep run $out/swapped.csv --dry-run   (person and thumbnail columns swapped)"
caught=0
"$bin/thumbsweep" run "$out/swapped.csv" --dry-run --base-url "$url" \
    --ledger "$out/swapped-ledger.jsonl" --backoff-initial 0.05 || caught=$?
if [ "$caught" -ne 3 ]; then
    echo "demo: expected the preflight to stop the swapped file with exit 3, got $caught" >&2
    exit 1
fi
echo "demo: the preflight stopped the swapped file (exit 3); nothing was deleted"
echo
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

# The run's HTML report: one self-contained page, to open in a browser or attach to a ticket.
echo
echo "demo: thumbsweep report $out/ledger.jsonl --format html --output $out/report.html"
"$bin/thumbsweep" report "$out/ledger.jsonl" --format html --output "$out/report.html"
echo "demo: the HTML report of this run: file://$(realpath "$out/report.html")"
exit "$status"
