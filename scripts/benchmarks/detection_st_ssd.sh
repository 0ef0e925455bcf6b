#!/bin/sh
# The ST SSD MobileNetV2-FPNLite (COCO 80, int8, raw outputs) on the 128 COCO
# images of the shared data: mAP@0.5 through eval --task detection, to be
# compared with TFLite's 0.2878 (VOC all-point) / 0.2894 (COCO 101-point) in
# shared/apps/reference/coco/REFERENCE.md; prints images/s too.
# usage: scripts/benchmarks/detection_st_ssd.sh [SHARED_DIR] [extra eval flags]
set -eu
cd "$(dirname "$0")/../.."
S=${1:-${MNCONV_SHARED:-../shared}}
[ $# -gt 0 ] && shift
go build -o /tmp/mnconv-bench ./cmd/mnconv
/tmp/mnconv-bench eval "$S/apps/models/st_ssd_mobilenet_v2_fpnlite_100_256_coco80_int8.tflite" \
  --task detection --images "$S/datasets/coco-val128/images" \
  --annotations "$S/datasets/coco-val128/detection_labels.csv" \
  --labels "$S/datasets/coco-val128/coco80_names.txt" \
  --box-coding corners --det-outputs 0,1,2 "$@"
