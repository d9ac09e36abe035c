#!/usr/bin/env bash
# measure_cpu.sh: the CPU speed records of docs/RESULTS.md ("Backends and speed", "Attention formulation") for the
# machine it runs on, in one go. Run it on a QUIET machine: nothing else running (`uptime` load under 0.5); every
# part prints the load before it, and the numbers of a loaded machine are not records (vit bench's CPU time per
# step, also printed, grows far less with the load than the images/s fall: it compares runs of a loaded machine).
#
#   cmd/vit/scripts/measure_cpu.sh [PART ...]       (from the repository root; default: all parts, about 35 minutes)
#
# Parts, each printed under a "== PART" heading with its commands:
#   cpu        lscpu's model name, vit info (backend, CPU and vector extensions, attention formulation)
#   attention  whole-model inference with the fused and the decomposed attention side by side (BenchmarkInferModel:
#              micro28 batch 64, tiny32 batch 256), 3 counts, on go:ops_sequential and on xla:cpu        (~4 min)
#   ratio      the pure-Go backend's inference against its own training at the same batch (issue 25's done-when:
#              at least 2.5x), micro28 batch 64 and tiny32 batch 128, 3 alternating rounds of 8 s       (~4 min)
#   torch      compare_torch.py tiny32, 3 rounds of 8 s, both backends and both formulations on the Go backend
#              against torch eager and torch.compile: as each runs by default, then both with PyTorch's best malloc
#              (GLIBC_TUNABLES mmap_max=0, trim_threshold=1e12, hugetlb=1)                             (~12 min)
#   b16        B/16 inference at batch 16 against PyTorch, defaults and tuned                          (~6 min)
#   xlaflags   XLA CPU flags against XLA's defaults on tiny32 (train 128, infer 256), 3 alternating rounds (~8 min)
#   ceiling    the float32 1024^3 matrix-product ceiling of each backend, measured afresh (a clean VITNB_CACHE)
#
# Needs: bin/vit (make build), the XLA CPU plugin (.ci/install-xla-cpu), the Go toolchain settings of the Makefile
# for the benchmark, and a Python with torch 2.15 and timm 1.0.31 in $PYTHON (default: .venv/bin/python, else
# /work/venv-torch/bin/python; `python3 -m venv V && V/bin/pip install torch==2.15.0 timm==1.0.31`).
set -euo pipefail
cd "$(dirname "$0")/../../.."
export GOTOOLCHAIN=go1.27.4 GOEXPERIMENT=simd GOFLAGS=-mod=mod
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo /work/venv-torch/bin/python )}
VIT=bin/vit
TUNED=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1000000000000:glibc.malloc.hugetlb=1
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(cpu attention ratio torch b16 xlaflags ceiling)

say() { echo; echo "== $1   ($(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
run() { echo "\$ $*"; "$@"; }
bench() { # BACKEND MODE PRESET BATCH [ENV...]: one vit bench line, with the load before it.
  local be=$1 mode=$2 preset=$3 batch=$4; shift 4
  printf 'load %s  %-40s ' "$(cut -d' ' -f1 /proc/loadavg)" "$be $* $preset $mode $batch:"
  env GOMLX_BACKEND="$be" "$@" $VIT bench -preset "$preset" -mode "$mode" -batch "$batch" -time 8s -steps 3 -warmup 1 -matmul 0 2>/dev/null | head -1 |
    sed 's/.*: \([0-9.]* images\/s\).*(CPU time \([0-9.]*s\)).*/\1, CPU time \2\/step/'
}

for part in "${parts[@]}"; do
  case $part in
  cpu)
    say "cpu"
    lscpu | grep -E 'Model name|Vendor ID|^CPU\(s\)'
    run $VIT info
    ;;
  attention)
    for be in go:ops_sequential xla:cpu; do
      say "attention $be"
      run env GOMLX_BACKEND=$be go test -count 3 -run XXX -bench InferModel -benchtime 3s ./vitnb
    done
    ;;
  ratio)
    say "ratio: the Go backend's inference against its training at the same batch (default attention)"
    for round in 1 2 3; do
      for pb in "micro28 64" "tiny32 128"; do
        set -- $pb
        for mode in train infer; do bench go:ops_sequential $mode "$1" "$2"; done
      done
    done
    ;;
  torch)
    say "torch: tiny32, each as it runs by default"
    run "$PYTHON" cmd/vit/scripts/compare_torch.py --preset tiny32 --rounds 3 --time 8 \
      --backends go:ops_sequential,go:ops_sequential+fused,xla:cpu
    say "torch: tiny32, both with PyTorch's best malloc"
    run "$PYTHON" cmd/vit/scripts/compare_torch.py --preset tiny32 --rounds 3 --time 8 --glibc-tunables $TUNED \
      --backends go:ops_sequential,xla:cpu
    ;;
  b16)
    say "b16: B/16 inference at batch 16, defaults"
    run "$PYTHON" cmd/vit/scripts/compare_torch.py --preset B/16 --modes infer --infer-batch 16 --rounds 3 --time 8 \
      --backends xla:cpu
    say "b16: B/16 inference at batch 16, both with PyTorch's best malloc"
    run "$PYTHON" cmd/vit/scripts/compare_torch.py --preset B/16 --modes infer --infer-batch 16 --rounds 3 --time 8 \
      --backends xla:cpu --glibc-tunables $TUNED
    ;;
  xlaflags)
    say "xlaflags: XLA_FLAGS against XLA's defaults (empty), tiny32, 3 alternating rounds"
    flags=("" "--xla_cpu_max_isa=AVX2" "--xla_cpu_prefer_vector_width=512" "--xla_cpu_experimental_ynn_fusion_type="
      "--xla_cpu_experimental_xnn_fusion_type=LIBRARY_FUSION_TYPE_DOT"
      "--xla_cpu_experimental_onednn_fusion_type=LIBRARY_FUSION_TYPE_DOT" "--xla_cpu_use_onednn=true"
      "--xla_cpu_enable_concurrency_optimized_scheduler=true")
    for round in 1 2 3; do
      for f in "${flags[@]}"; do
        for mb in "train 128" "infer 256"; do
          set -- $mb
          bench xla:cpu "$1" tiny32 "$2" XLA_FLAGS="$f"
        done
      done
    done
    ;;
  ceiling)
    say "ceiling: 1024^3 float32 matrix product per backend (fresh cache)"
    tmp=$(mktemp -d)
    for be in go:ops_sequential xla:cpu; do
      VITNB_CACHE=$tmp GOMLX_BACKEND=$be $VIT bench -preset tiny32 -mode infer -batch 256 -time 8s -matmul 1024 2>/dev/null
    done
    rm -rf "$tmp"
    ;;
  *) echo "measure_cpu.sh: unknown part $part (want cpu attention ratio torch b16 xlaflags ceiling)" >&2; exit 2 ;;
  esac
done
