#!/usr/bin/env bash
# The ST SSD (SSD MobileNetV2-FPNLite 256, COCO 80, int8; issue 15 part A):
# outputs against TFLite and ONNX Runtime on all 8 pre-made COCO inputs, then
# images/s of `mnconv run` on the 128 COCO val images (JPEG decode and the
# whole-image stretch included) and `mnconv bench` (one inference, ours and
# TFLite-WASM). Needs ../shared and the reference runtimes
# (scripts/install-refrt.sh). Figures on a loaded machine are noise.
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${MNCONV_SHARED:-../shared}
model=$shared/apps/models/st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8.tflite
MNCONV_STSSD_IMAGES=8 go test -count=1 -v -run TestSTSSD ./runtime | grep -E 'stssd_models_test|^(ok|FAIL|---)'
go build -o /tmp/mnconv-stssd ./cmd/mnconv
args=()
for f in "$shared"/datasets/coco-val128/images/*.jpg; do args+=(--image "$f"); done
start=$(date +%s.%N)
/tmp/mnconv-stssd run --resize full "$model" "${args[@]}" >/dev/null
end=$(date +%s.%N)
echo "mnconv run, ${#args[@]} flags / 2 = $(( ${#args[@]} / 2 )) images: $(echo "$end - $start" | bc) s, $(echo "scale=2; ${#args[@]} / 2 / ($end - $start)" | bc) images/s"
/tmp/mnconv-stssd bench "$model" "$@"
