#!/usr/bin/env bash
# Fuzz the importers: scripts/fuzz.sh [DURATION] [PARALLEL]
#
# Runs FuzzImport of importers/onnx and importers/tflite one after the other,
# each for DURATION (a Go duration, default 10m) with PARALLEL workers
# (default 1), and prints per target the executions, new interesting inputs
# and crashes. A crash is kept by Go under <package>/testdata/fuzz/FuzzImport/
# and replays in every later `go test` run of that package: fix the bug and
# commit the file as its regression test. Not part of scripts/test.sh: CI
# runs only the seeds and the kept entries. Minimizing a new interesting
# input is capped at 5s (Go's default, 60s, stalls the run on large seeds
# such as the shared person_detect model).
set -uo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10m}
parallel=${2:-1}
status=0
summary=""
for pkg in ./importers/onnx ./importers/tflite; do
  log=$(mktemp)
  before=$(ls "$pkg/testdata/fuzz/FuzzImport" 2>/dev/null | wc -l)
  echo "== $pkg: FuzzImport for $duration, $parallel worker(s)"
  start=$(date +%s)
  go test "$pkg" -run '^$' -fuzz '^FuzzImport$' -fuzztime "$duration" -fuzzminimizetime 5s -parallel "$parallel" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  after=$(ls "$pkg/testdata/fuzz/FuzzImport" 2>/dev/null | wc -l)
  # The last progress line reads "fuzz: elapsed: 10m0s, execs: N (R/sec), new interesting: K (total: T)".
  last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -1)
  execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
  interesting=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
  crashes=$(( after - before ))
  if [ "$rc" -ne 0 ]; then
    status=1
    [ "$crashes" -eq 0 ] && crashes="? (exit $rc, see above)"
  fi
  summary+=$(printf '%-20s %6ss  execs %-12s new interesting %-6s crashes %s' "$pkg" "$secs" "${execs:-?}" "${interesting:-?}" "$crashes")$'\n'
  rm -f "$log"
done
echo
echo "== summary"
printf '%s' "$summary"
exit $status
