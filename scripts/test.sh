#!/usr/bin/env bash
# The project's test command (README.md; .ci/run calls exactly this).
# Installs the reference runtimes the interop tests compare against (ONNX
# Runtime and TFLite from the npm registry, cached in .cache/refrt), then vets
# and tests every package. Tests that need ../shared skip with a message when
# it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v npm >/dev/null 2>&1 && [ -x scripts/install-refrt.sh ]; then
  scripts/install-refrt.sh
fi
# go.mod and go.sum must be what `go mod tidy` makes of the imports: no
# direct dependency marked indirect, none unused, no sum missing. This needs
# the module cache or the Go module proxy (the CI machine has the proxy).
if ! tidy=$(go mod tidy -diff 2>&1); then
  if grep -q '^diff current/' <<<"$tidy"; then
    echo "go.mod/go.sum are not tidy: run 'go mod tidy' and commit the result. go mod tidy -diff says:"
  else
    echo "go mod tidy -diff could not check go.mod (it needs the module cache or GOPROXY):"
  fi
  echo "$tidy"
  exit 1
fi
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go test -count=1 -timeout 25m ./... 2>&1 | tee /tmp/mnconv-test.log
