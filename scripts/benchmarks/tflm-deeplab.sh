#!/bin/bash
# TFLite Micro's reference kernels against mnconv on the float DeepLab
# quantized to int8 (issue 14): quantize it as TestDeepLabInt8MatchesTFLM
# does, run it in tflm_run on the 8 pre-made COCO inputs with --dump, compare
# every node output value for value (runtime TestTFLMDump: reference and
# fast kernels), then write cmd/mnconv/testdata/tflm_deeplab257_int8.txt
# (model sha256 + TFLM's output sha256 per image) for the CI test.
#
#   scripts/benchmarks/tflm-deeplab.sh [TFLM_RUN]     (default /work/oracle/tflm_run)
#
# TFLM_RUN comes from ../shared/tools/tflm-oracle/build.sh. Needs ../shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
ORACLE=${1:-/work/oracle/tflm_run}
SHARED=$(cd ../shared && pwd)
PIXELS=$SHARED/apps/inputs/coco_seg100_first8_stretch257_u8_nhwc.bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/mnconv" ./cmd/mnconv
# The same arguments as tflmDeepLabQuantizeArgs in cmd/mnconv/tflm_deeplab_test.go.
"$tmp/mnconv" quantize "$SHARED/apps/models/deeplabv3_257_mv_gpu_float.tflite" "$tmp/dl.tflite" \
  --calib "$SHARED/images/imagenet/calib" --calib-count 4 --preprocess keras --io int8 --no-progress --report-images 0
"$ORACLE" "$tmp/dl.tflite" "$PIXELS" --mode raw --dump "$tmp/dump" > "$tmp/tflm.jsonl"
MNCONV_TFLM_MODEL=$tmp/dl.tflite MNCONV_TFLM_PIXELS=$PIXELS MNCONV_TFLM_DUMP=$tmp/dump \
  go test -count=1 -run TestTFLMDump -v ./runtime | grep -E "kernels:|differ|^(ok|FAIL|---)"
name=$("$tmp/mnconv" inspect "$tmp/dl.tflite" | awk '$1 == "outputs:" {print $2}')
k=$(awk -F'\t' -v n="$name" '$2 == n {print $1}' "$tmp/dump/tensors.tsv")
rec=cmd/mnconv/testdata/tflm_deeplab257_int8.txt
{
  echo "# TFLite Micro $(cat /work/oracle-build/src/TFLM_COMMIT 2>/dev/null || echo '(commit unknown)') reference kernels, tflm_run --mode raw,"
  echo "# on apps/inputs/coco_seg100_first8_stretch257_u8_nhwc.bin; written by scripts/benchmarks/tflm-deeplab.sh"
  echo "model $(sha256sum "$tmp/dl.tflite" | cut -d' ' -f1)"
  for d in "$tmp"/dump/img*; do
    echo "$(basename "$d") $(sha256sum "$d/t$k.bin" | cut -d' ' -f1)"
  done
} > "$rec"
cat "$rec"
go test -count=1 -run TestDeepLabInt8MatchesTFLM -v ./cmd/mnconv | grep -E "^(ok|FAIL|---)|image"
