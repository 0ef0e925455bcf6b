#!/bin/sh
# The ST SSD MobileNetV2-FPNLite (COCO 80, int8, raw outputs) on the 128 COCO
# images of the shared data, to compare with TFLite's mAP@0.5 0.2878 (VOC
# all-point) / 0.2894 (COCO 101-point) in shared/apps/reference/coco/REFERENCE.md.
#
#   detection_st_ssd.sh [eval flags]   mnconv eval --task detection (our
#                                      runtime): mAP, per-class AP, images/s
#   detection_st_ssd.sh tflite         TFLite's raw outputs (reference runtime,
#                                      several minutes) through our decoding
#                                      and scoring (eval's TestDetectionSTSSDTFLiteSweep)
#
# MNCONV_SHARED names the shared data (default ../shared).
set -eu
cd "$(dirname "$0")/../.."
S=${MNCONV_SHARED:-../shared}
if [ "${1:-}" = tflite ]; then
  exec env MNCONV_SWEEP=1 go test -count=1 -v -timeout 40m -run TestDetectionSTSSDTFLiteSweep ./eval
fi
go build -o /tmp/mnconv-bench ./cmd/mnconv
exec /tmp/mnconv-bench eval "$S/apps/models/st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8.tflite" \
  --task detection --images "$S/datasets/coco-val128/images" \
  --annotations "$S/datasets/coco-val128/detection_labels.csv" \
  --labels "$S/datasets/coco-val128/coco80_names.txt" \
  --box-coding corners --det-outputs 0,1,2 "$@"
