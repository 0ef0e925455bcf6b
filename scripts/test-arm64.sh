#!/usr/bin/env bash
# ARM64 tests under qemu-user: scripts/test-arm64.sh [PACKAGE...]
#
# Cross-compiles the tests of each package for GOARCH=arm64 and runs them
# with qemu-aarch64-static (Debian's qemu-user-static; installed with
# apt-get when missing and we may, else the script says so and exits 0).
# Default packages: those whose tests need neither node/npm nor ONNX Runtime
# (the reference runtimes are amd64 programs). runtime runs on qemu's "max"
# CPU, and its fast-kernel tests again on a Cortex-A53 model (plain ARMv8.0:
# no dot product or other later extensions), which shows that the NEON
# kernels need nothing past ARMv8.0. Each package prints its tests' results and the wall time;
# qemu timings say nothing about ARM64 speed.
set -uo pipefail
cd "$(dirname "$0")/.."
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
  pkgs=(./runtime ./ir ./builder ./passes ./importers/onnx ./importers/tflite ./inspect ./internal/atomicfile)
fi
if ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "== installing qemu-user-static"
    apt-get install -y qemu-user-static >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y qemu-user-static >/dev/null 2>&1; }
  fi
  if ! command -v qemu-aarch64-static >/dev/null 2>&1; then
    echo "skipping: qemu-aarch64-static not found and qemu-user-static could not be installed (apt-get as root)"
    exit 0
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
summary=""
run() { # run PKG BIN CPU [PATTERN]: the test binary under qemu in the package's folder
  local pkg=$1 bin=$2 cpu=$3 pattern=${4:-.} log="$work/log" start secs rc
  echo "== $pkg (qemu -cpu $cpu, -test.run '$pattern')"
  start=$(date +%s)
  (cd "$pkg" && qemu-aarch64-static -cpu "$cpu" "$bin" -test.run "$pattern" -test.count=1 -test.v -test.timeout 60m) >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  grep -E '^(--- |    --- |ok|PASS|FAIL|panic:)|matches amd64|skipping' "$log" | grep -v -- '--- SKIP: .*/' || true
  if [ $rc -ne 0 ]; then
    tail -40 "$log"
    status=1
  fi
  local pass fail skip
  pass=$(grep -c '^--- PASS' "$log"); fail=$(grep -c '^--- FAIL' "$log"); skip=$(grep -c '^--- SKIP' "$log")
  summary+=$(printf '%-24s %-10s %-32s rc=%d  tests: %d pass, %d fail, %d skip  %ds (qemu)' "$pkg" "$cpu" "$pattern" "$rc" "$pass" "$fail" "$skip" "$secs")$'\n'
}
for pkg in "${pkgs[@]}"; do
  bin="$work/$(echo "$pkg" | tr '/.' '__').test"
  if ! GOARCH=arm64 go test -c -o "$bin" "$pkg"; then
    summary+="$pkg: arm64 build failed"$'\n'
    status=1
    continue
  fi
  [ -f "$bin" ] || { summary+="$pkg: no tests"$'\n'; continue; }
  run "$pkg" "$bin" max
  if [ "$pkg" = ./runtime ]; then
    run "$pkg" "$bin" cortex-a53 'Fast|Requant|OutputsMatchRecorded'
  fi
done
echo "== summary"
printf '%s' "$summary"
exit $status
