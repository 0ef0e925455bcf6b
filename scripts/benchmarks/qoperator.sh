#!/usr/bin/env bash
# Quantized ONNX in ONNX Runtime, both forms (--onnx-format qdq|qoperator):
# the six integer TFLite models converted to .onnx (against TFLite on the
# .tflite and our runtime), and the six float models quantized by mnconv
# (against our runtime on the QDQ file), 16 reference images each. The
# default test run covers one or two models; this runs them all and prints
# the agreement lines. Needs ../shared and the reference runtimes
# (scripts/install-refrt.sh). A few minutes on 2 busy cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
MNCONV_QOP_ALL=1 go test -count=1 -timeout 30m -v \
  -run 'TestQuantizedONNXInONNXRuntime|TestQOperatorQuantizedInONNXRuntime' ./e2e |
  grep -E 'in ONNX Runtime|read back|^(---|ok|FAIL)'
