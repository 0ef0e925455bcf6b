#!/usr/bin/env bash
# Entropy ranges on the four ImageNet models (issue 17): each dequantized,
# quantized with --method entropy (100 calibration images, guard off) by
# every binary in BINS (default: this tree's), then top-1 on eval/ against
# the float model. For the figure before the bounded-activation fix
# (66c8ea9), build a tree with that commit reverted and pass both:
#   BINS="/tmp/before/mnconv /tmp/after/mnconv" scripts/benchmarks/entropy.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
S=../shared
T=$(mktemp -d)
BINS=${BINS:-}
if [ -z "$BINS" ]; then
  BINS=$T/mnconv
  go build -o "$BINS" ./cmd/mnconv
fi
set -- $BINS
top1() { "$1" eval "$2" --images "$S/images/imagenet/eval" 2>/dev/null | grep -m1 -i 'top-1'; }
for m in coral_mobilenet_v1_0.25_128_quant coral_mobilenet_v1_0.75_192_quant \
  coral_mobilenet_v2_1.0_224_quant coral_tf2_mobilenet_v2_1.0_224_ptq; do
  "$1" convert --dequantize "$S/models/tflite/$m.tflite" "$T/$m.f.tflite" >/dev/null 2>&1
  echo "== $m float: $(top1 "$1" "$T/$m.f.tflite")"
  i=0
  for b in "$@"; do
    i=$((i + 1))
    "$b" quantize "$T/$m.f.tflite" "$T/$m.e$i.tflite" --method entropy --calib "$S/images/imagenet/calib" \
      --calib-count 100 --report-images 0 --no-progress >/dev/null 2>&1
    echo "   entropy ($b): $(top1 "$1" "$T/$m.e$i.tflite")"
  done
done
# Figures (top-1 on eval/, 400 images; float / entropy before 66c8ea9 /
# entropy after): v1 0.25/128 43.00 / 32.00 / 42.75; v1 0.75/192 77.50 /
# 6.00 / 76.75; v2 1.0/224 88.25 / 55.00 / 87.75; tf2 v2 PTQ 90.25 / 35.00 /
# 90.00.
