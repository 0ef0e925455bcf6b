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
  rc=0 # 1: budget not met (the lines say so)
  "$MNCONV" quantize "$T/$m.f.tflite" "$T/$m.q.tflite" --no-progress ${ARGS:-} \
    --calib "$S/images/imagenet/calib" --eval "$S/images/imagenet/eval" --max-drop 0.3 |
    grep -E '^(fallback|calibrated)' || rc=$?
  echo "wall $(( $(date +%s) - start ))s"
done
# Figures (2 busy cores shared with other builds, so wall times are noise;
# before/after the eval image cache, per-channel minmax, 400 calib images):
#   v1 0.25/128  43.00 -> 42.75 (0 float), 593 KB;              wall 53 -> 35 s
#   v1 0.75/192  77.50 -> 77.25 (4 float), 7.8 MB vs 2.9 MB;    wall 271 -> 103 s
#   v2 1.0/224   88.25 -> 88.00 (4 float), 4.66 MB vs 4.02 MB;  wall 361 -> 127 s
#   tf2 v2 PTQ   90.25 -> 90.00 (3 float), 4.07 MB vs 4.05 MB;  wall 358 -> 135 s
