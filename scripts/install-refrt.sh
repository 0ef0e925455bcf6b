#!/usr/bin/env bash
# install-refrt.sh installs the reference runtimes that mnconv's interop tests
# compare against: ONNX Runtime (onnxruntime-node) and TFLite compiled to
# WebAssembly (@tensorflow/tfjs-tflite), both from the npm registry.
#
# usage: scripts/install-refrt.sh [DIR]
#   DIR defaults to $MNCONV_REFRT, else .cache/refrt in the repository
#   (gitignored). Package refrt looks in the same places.
#
# It is idempotent: when DIR already holds the pinned versions it exits at
# once without touching the network.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-${MNCONV_REFRT:-$repo/.cache/refrt}}

# Pinned versions: the reference outputs in ../shared/reference were made with
# exactly these, so another version could move the numbers we compare to.
declare -A want=(
	[onnxruntime-node]=1.30.0
	[@tensorflow/tfjs-tflite]=0.0.1-alpha.10
	[@tensorflow/tfjs-core]=4.9.0
	[@tensorflow/tfjs-backend-cpu]=4.9.0
)

installed_version() {
	# Prints the version recorded in DIR/node_modules/PKG/package.json, or nothing.
	local pj="$dir/node_modules/$1/package.json"
	[ -f "$pj" ] || return 0
	node -e 'try { process.stdout.write(require(process.argv[1]).version || "") } catch (e) {}' "$pj"
}

command -v node >/dev/null || { echo "install-refrt: node is not on PATH" >&2; exit 1; }
command -v npm >/dev/null || { echo "install-refrt: npm is not on PATH" >&2; exit 1; }

up_to_date=1
for pkg in "${!want[@]}"; do
	if [ "$(installed_version "$pkg")" != "${want[$pkg]}" ]; then
		up_to_date=0
	fi
done
# The TFLite WASM binaries are what the shim loads; a package without them is
# a broken install.
[ -d "$dir/node_modules/@tensorflow/tfjs-tflite/wasm" ] || up_to_date=0
if [ "$up_to_date" = 1 ]; then
	echo "install-refrt: up to date in $dir"
	exit 0
fi

mkdir -p "$dir"
deps=""
for pkg in "${!want[@]}"; do
	deps="$deps${deps:+,}\"$pkg\": \"${want[$pkg]}\""
done
cat >"$dir/package.json" <<JSON
{
  "name": "mnconv-refrt",
  "private": true,
  "description": "reference runtimes for mnconv's interop tests (scripts/install-refrt.sh)",
  "dependencies": { $deps }
}
JSON

# onnxruntime-node's install script would try to download GPU binaries; the
# CPU binaries ship in the package, so skip it (it fails without internet).
cd "$dir"
ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --no-save --loglevel=error

for pkg in "${!want[@]}"; do
	got=$(installed_version "$pkg")
	if [ "$got" != "${want[$pkg]}" ]; then
		echo "install-refrt: $pkg is $got after install, want ${want[$pkg]}" >&2
		exit 1
	fi
done
echo "install-refrt: installed in $dir"
