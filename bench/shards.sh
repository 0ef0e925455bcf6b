#!/usr/bin/env bash
# shards.sh: the Kubernetes Indexed Job pattern on one machine. Starts N
# mnconv eval processes side by side, each with JOB_COMPLETION_INDEX=i and
# MNCONV_SHARD_COUNT=N (what Kubernetes gives pod i of an Indexed Job),
# merges their partial results, and times that against one process
# evaluating everything; then checks that the merged report equals the
# single run's (JSON, timings aside) and prints per-image costs.
#
#   bench/shards.sh [MODEL [IMAGES]]
#   SHARDS=7 WORKERS=1 SINGLE_WORKERS=0 bench/shards.sh
#
# SHARDS: processes (default 4); WORKERS: --workers of each shard process
# (default 1); SINGLE_WORKERS: --workers of the single process (default 0,
# one per CPU). MNCONV: a binary (default: a build of this checkout).
# Timings on a shared machine are noise unless repeated.
set -euo pipefail
cd "$(dirname "$0")/.."

model=${1:-../shared/models/tflite/coral_mobilenet_v2_1.0_224_quant.tflite}
images=${2:-../shared/images/imagenet/eval}
SHARDS=${SHARDS:-4}
WORKERS=${WORKERS:-1}
SINGLE_WORKERS=${SINGLE_WORKERS:-0}
if [ -z "${MNCONV:-}" ]; then
	MNCONV=$(mktemp -d)/mnconv
	CGO_ENABLED=0 go build -o "$MNCONV" ./cmd/mnconv
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "model:  $model"
echo "images: $images ($(($(wc -l <"$images/labels.csv") - 1)) listed), $(nproc) CPUs"

t0=$(now)
"$MNCONV" eval "$model" --images "$images" --workers "$SINGLE_WORKERS" --no-progress --json >"$work/single.json"
t1=$(now)
single=$(secs "$t0" "$t1")
echo "one process (--workers $SINGLE_WORKERS):          ${single}s"

t0=$(now)
pids=()
for ((i = 0; i < SHARDS; i++)); do
	JOB_COMPLETION_INDEX=$i MNCONV_SHARD_COUNT=$SHARDS \
		"$MNCONV" eval "$model" --images "$images" --workers "$WORKERS" --no-progress \
		--partial-out "$work/parts/" >"$work/shard-$i.log" &
	pids+=($!)
done
status=0
for p in "${pids[@]}"; do
	wait "$p" || status=$?
done
if [ "$status" -ne 0 ]; then
	cat "$work"/shard-*.log >&2
	exit "$status"
fi
t1=$(now)
"$MNCONV" merge "$work/parts" --json >"$work/merged.json"
t2=$(now)
echo "$SHARDS processes (--workers $WORKERS each):    $(secs "$t0" "$t1")s, merge $(secs "$t1" "$t2")s"
cat "$work"/shard-*.log | sed 's/^/  /'

python3 - "$work/single.json" "$work/merged.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
timing = ["workers", "images_per_second", "wall_seconds", "decode_seconds", "inference_seconds"]
for k in timing:
    a.pop(k, None); b.pop(k, None)
print("merged report equals the single run's:", "yes" if a == b else "NO")
PY
python3 - "$work/single.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = r["n"]
print("per image (single run, summed over workers): decode %.1f ms, inference %.1f ms, top-1 %.2f%%" %
      (1000 * r["decode_seconds"] / n, 1000 * r["inference_seconds"] / n, r["top1"]))
PY
