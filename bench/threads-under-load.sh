#!/usr/bin/env bash
# threads-under-load.sh: does mnconv at 2 threads stay at least as fast as
# at 1 thread when another process keeps one core busy?
#
# For each model it runs `mnconv bench MODEL --threads 1,2` twice: on an
# idle machine (as idle as it is) and with `yes >/dev/null` pinned by
# taskset to core 0. Each MNCONV binary given (space-separated, default: a
# build of this checkout) is timed in turn, in rounds (A B A B ...), so a
# before/after comparison sees the same background load.
#
#   bench/threads-under-load.sh [MODEL...]
#   MNCONV="/tmp/mn-main /tmp/mn-new" ROUNDS=2 RUNS=30 bench/threads-under-load.sh
#
# Needs taskset (util-linux). Timings on a shared machine are noise unless
# repeated; compare medians of rounds.
set -euo pipefail
cd "$(dirname "$0")/.."

models=("$@")
if [ ${#models[@]} -eq 0 ]; then
	models=(../shared/models/tflite/coral_mobilenet_v2_1.0_224_quant.tflite
		../shared/models/tflite/coral_mobilenet_v1_0.25_128_quant.tflite)
fi
if [ -z "${MNCONV:-}" ]; then
	MNCONV=$(mktemp -d)/mnconv
	go build -o "$MNCONV" ./cmd/mnconv
fi
ROUNDS=${ROUNDS:-2}
RUNS=${RUNS:-30}

echo "== machine"
echo "cpus: $(nproc) online: $(cat /sys/devices/system/cpu/online 2>/dev/null || echo ?)"
grep -m1 'model name' /proc/cpuinfo || true
# the SIMD features the kernels may use
flags=$(grep -m1 -E '^(flags|Features)' /proc/cpuinfo | cut -d: -f2 || true)
echo "features:$(for f in sse4_1 sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx_vnni asimd asimddp sve; do
	case " $flags " in *" $f "*) printf ' %s' "$f" ;; esac
done)"
echo "load: $(cat /proc/loadavg)"

yes_pid=
stop_yes() {
	if [ -n "$yes_pid" ]; then
		kill "$yes_pid" 2>/dev/null || true
		wait "$yes_pid" 2>/dev/null || true
		yes_pid=
	fi
}
trap stop_yes EXIT

for round in $(seq "$ROUNDS"); do
	for load in idle yes; do
		if [ "$load" = yes ]; then
			taskset -c 0 yes >/dev/null &
			yes_pid=$!
			sleep 0.5
		fi
		for bin in $MNCONV; do
			for m in "${models[@]}"; do
				echo "== round $round, load $load, $(basename "$bin"), $(basename "$m")"
				# ours only: --tflite/--onnx pointing nowhere would fail, so
				# keep the reference runtimes where installed (they are
				# timed interleaved with ours and show the same load)
				"$bin" bench "$m" --threads 1,2 --runs "$RUNS"
			done
		done
		stop_yes
	done
done
