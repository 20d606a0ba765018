#!/bin/sh
# Render the analysis and drop-sweep reports of a model and screenshot them with headless Chromium
# (Debian: apt-get install -y chromium). Not part of `make test`.
#   sh bench/report_screenshot.sh MODEL.bin DATA.bin [OUTDIR] [TOOL]
set -e
model=${1:?usage: report_screenshot.sh MODEL.bin DATA.bin [OUTDIR] [TOOL]}; data=${2:?data shard}
out=${3:-build/report}; tool=${4:-build/inheritune}
mkdir -p "$out"
"$tool" analyze --model "$model" --data "$data" --html "$out/analysis.html" --svg "$out/analysis.svg" --json "$out/analysis.json"
"$tool" drop-sweep --model "$model" --data "$data" --by attn_importance --html "$out/sweep.html" --svg "$out/sweep.svg"
if command -v chromium >/dev/null; then
    for r in analysis sweep; do
        chromium --headless --no-sandbox --disable-gpu --screenshot="$out/$r.png" --window-size=1240,1600 "file://$(cd "$out" && pwd)/$r.html" 2>/dev/null
    done
    echo "screenshots: $out/analysis.png $out/sweep.png"
else
    echo "chromium not found: open $out/analysis.html and $out/sweep.html in a browser"
fi
