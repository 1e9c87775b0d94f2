#!/usr/bin/env bash
# The endpoint spec's curl example turned into a shell loop: one signed curl per thumbnail id.
#
# Usage: THUMBSWEEP_ACCESS_KEY=... THUMBSWEEP_SECRET_KEY=... bench/curl_loop.sh FILE BASE_URL
# FILE is a CSV with a header and the columns workspace,person_id,thumbnail_id in that order
# (workspaces are used as they are, not percent-encoded). Prints one line on stderr:
# requests, failures (anything but HTTP 200 with "code": "0") and `finished in X s`.
set -u -o pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 FILE BASE_URL" >&2
    exit 2
fi
file=$1
base_url=${2%/}
access_key=${THUMBSWEEP_ACCESS_KEY:?set THUMBSWEEP_ACCESS_KEY}
secret_key=${THUMBSWEEP_SECRET_KEY:?set THUMBSWEEP_SECRET_KEY}

success='"code"[[:space:]]*:[[:space:]]*"0"'  # the API's success code in the JSON body
started=$(date +%s%N)
requests=0
failures=0
while IFS=, read -r workspace person_id thumbnail_id _; do
    thumbnail_id=${thumbnail_id%$'\r'}
    [ "$workspace" = workspace ] && continue  # the header
    path="/api/v1/workspaces/${workspace}/persons/${person_id}/person-thumbnail"
    timestamp=$(( $(date +%s%N) / 1000000 ))
    signature=$(printf '%s\n%s\n%s' "DELETE ${path}" "$timestamp" "$access_key" \
        | openssl dgst -sha256 -hmac "$secret_key" -binary | base64)
    response=$(curl -s -X DELETE "${base_url}${path}" \
        -H "Content-Type: application/json" \
        -H "x-ncp-apigw-timestamp: ${timestamp}" \
        -H "x-ncp-iam-access-key: ${access_key}" \
        -H "x-ncp-apigw-signature-v2: ${signature}" \
        --data "{\"thumbnailIds\":[${thumbnail_id}]}" \
        -w '\n%{http_code}')
    requests=$((requests + 1))
    status=${response##*$'\n'}
    if [ "$status" != 200 ] || ! [[ "$response" =~ $success ]]; then
        failures=$((failures + 1))
    fi
done < "$file"
finished=$(date +%s%N)
elapsed_ms=$(( (finished - started) / 1000000 ))
printf 'curl loop: %d requests, %d failures, finished in %d.%03d s\n' \
    "$requests" "$failures" $((elapsed_ms / 1000)) $((elapsed_ms % 1000)) >&2
[ "$failures" -eq 0 ]
