#!/usr/bin/env bash
# AVX-512 float GEMM tiles (issue 18): BenchmarkFloatGemmTiles on every
# MobileNetV2 pointwise shape (m pixels x k in x n out, and the 1x1 classifier),
# the 6-row tiles alone ("6x32": sgemm6x32z, sgemm6x16z, tails by sgemv16)
# against the 12-row tiles ("12x32": sgemm12x32z, sgemm12x24z, sgemm12x16z,
# tails by sgemv64z), weights warm and cold, timed interleaved call by call.
# Prints, per shape, the median over COUNT runs (default 6) of each run's
# median call. Needs an AVX-512 CPU (else the benchmark skips).
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-6}
go test -run '^$' -bench '^BenchmarkFloatGemmTiles$' -count "$COUNT" -benchtime 10x ./runtime |
  awk '
    /^BenchmarkFloatGemmTiles\// {
      name = $1; sub(/^BenchmarkFloatGemmTiles\//, "", name); sub(/-[0-9]+$/, "", name)
      if (!(name in seen)) { seen[name] = 1; order[++n] = name }
      for (i = 5; i < NF; i += 2) { v[name, $(i + 1), ++cnt[name, $(i + 1)]] = $i }
    }
    function med(name, unit,   k, a, j, t, c) {
      c = cnt[name, unit]
      for (k = 1; k <= c; k++) a[k] = v[name, unit, k]
      for (k = 2; k <= c; k++) { t = a[k]; for (j = k - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
    }
    END {
      printf "%-22s %10s %10s %7s %8s\n", "shape", "6x32 us", "12x32 us", "speedup", "12x32 GF"
      for (k = 1; k <= n; k++) {
        o = med(order[k], "6x32-us"); w = med(order[k], "12x32-us")
        printf "%-22s %10.1f %10.1f %6.2fx %8.0f\n", order[k], o, w, o / w, med(order[k], "12x32-GF")
      }
    }'
# Figures (2 busy cores shared with 4 other builds: load 8-14; medians of 6):
#   warm: 1.03-1.10x on the pointwise shapes, 1.38-1.42x with 24 outputs
#   (sgemm12x24z), 1.16x for 112x112 32->16; up to 223 GF/s.
#   cold: 1.05-1.25x on 14x14 and 7x7 (next-pair prefetch, tails while the
#   panels are hot), 1.36x with 24 outputs, 1.40x for the classifier (sgemv64z).
