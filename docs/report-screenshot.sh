#!/usr/bin/env bash
# Draws the README's picture of the HTML report (docs/report.png) from a report page, with
# headless Chromium (Debian: `apt-get install chromium`):
#
#   bash docs/report-screenshot.sh .demo/report.html [OUT.png] [WIDTH] [HEIGHT]
#
# The page is laid out WIDTH px wide (1200 by default); without HEIGHT the picture is as tall as
# the whole page, measured first on a copy of the page with a one-line probe script added (the
# report itself has no script).
set -euo pipefail
page=${1:?usage: docs/report-screenshot.sh REPORT.html [OUT.png] [WIDTH] [HEIGHT]}
out=${2:-docs/report.png}
width=${3:-1200}
height=${4:-}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "report-screenshot: no Chromium found (Debian: apt-get install chromium)" >&2
    exit 1
fi
if [ ! -f "$page" ]; then
    echo "report-screenshot: no such report page: $page" >&2
    exit 1
fi
page=$(realpath "$page")
out=$(realpath -m "$out")
headless=("$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

if [ -z "$height" ]; then
    probe='<script>document.body.dataset.height = document.documentElement.scrollHeight</script>'
    sed "s#</body>#$probe</body>#" "$page" >"$scratch/probe.html"
    height=$("${headless[@]}" --window-size="$width,1000" --dump-dom "file://$scratch/probe.html" \
        2>/dev/null | grep -o 'data-height="[0-9]*"' | grep -o '[0-9][0-9]*' || true)
    if [ -z "$height" ]; then
        echo "report-screenshot: could not measure the page's height; give HEIGHT" >&2
        exit 1
    fi
fi
"${headless[@]}" --window-size="$width,$height" --screenshot="$out" "file://$page" 2>/dev/null
echo "report-screenshot: $out (${width}x${height})"
