#!/usr/bin/env bash
# Accuracy-aware fallback (issue 17): each of the four ImageNet models
# dequantized, then quantized with --eval eval/ --max-drop 0.3 (per-channel
# minmax, the default scheme). Prints the fallback lines and the wall time of
# each run. Needs ../shared. MNCONV=path picks a prebuilt binary; ARGS adds
# quantize flags (e.g. ARGS=--per-tensor).
set -euo pipefail
cd "$(dirname "$0")/../.."
S=../shared
MNCONV=${MNCONV:-}
if [ -z "$MNCONV" ]; then
  MNCONV=$(mktemp -d)/mnconv
  go build -o "$MNCONV" ./cmd/mnconv
fi
T=$(mktemp -d)
for m in coral_mobilenet_v1_0.25_128_quant coral_mobilenet_v1_0.75_192_quant \
  coral_mobilenet_v2_1.0_224_quant coral_tf2_mobilenet_v2_1.0_224_ptq; do
  echo "== $m ${ARGS:-}"
  "$MNCONV" convert --dequantize "$S/models/tflite/$m.tflite" "$T/$m.f.tflite" >/dev/null
  start=$(date +%s)
  rc=0
  "$MNCONV" quantize "$T/$m.f.tflite" "$T/$m.q.tflite" --no-progress ${ARGS:-} \
    --calib "$S/images/imagenet/calib" --eval "$S/images/imagenet/eval" --max-drop 0.3 |
    grep -E '^fallback' || rc=$?
  echo "wall $(( $(date +%s) - start ))s"
done
