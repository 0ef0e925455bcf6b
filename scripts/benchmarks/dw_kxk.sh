#!/usr/bin/env bash
# Generic KxK float depthwise (issue 18): BenchmarkDepthwiseKxK on
# MobileNetV3-Large's 5x5 depthwise shapes, one thread, dwPixel (the Go
# loops every family ran before) against the generic kernels (dwkRowZ and
# dwkPixZ on avx512, dwkRow on avx2). Prints, per shape and family, the
# median over COUNT runs (default 6) of microseconds per call.
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-6}
go test -run '^$' -bench '^BenchmarkDepthwiseKxK$' -count "$COUNT" -benchtime 50x ./runtime |
  awk '
    /^BenchmarkDepthwiseKxK\// {
      name = $1; sub(/^BenchmarkDepthwiseKxK\//, "", name); sub(/-[0-9]+$/, "", name)
      if (!(name in seen)) { seen[name] = 1; order[++n] = name }
      v[name, ++cnt[name]] = $3 / 1000
    }
    END {
      printf "%-40s %10s\n", "shape/family/kernel", "us"
      for (k = 1; k <= n; k++) {
        c = cnt[order[k]]
        for (i = 1; i <= c; i++) a[i] = v[order[k], i]
        for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        printf "%-40s %10.1f\n", order[k], c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
      }
    }'
# Figures (2 busy cores shared with 4 other builds; medians of 6, us; the
# go family and dwPixel on every family run the same Go loops):
#   block3 56x56x72 s2:   dwPixel 827-833, avx2 45.1, avx512 42.9
#   block4 28x28x120:     dwPixel 1275-1281, avx2 66.1, avx512 60.5
#   block12 14x14x672 s2: dwPixel 383-391, avx2 31.8, avx512 23.8
#   block13 7x7x960:      dwPixel 456-471, avx2 38.1, avx512 26.4
