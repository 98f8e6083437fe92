#!/usr/bin/env bash
# The tests, as CI runs them (README's second command):
#  1. every test (`swift test`), with oneDNN on this CPU's own instruction set;
#  2. the suites that run oneDNN once more under each narrower instruction set oneDNN dispatches to
#     on this CPU (DNNL_MAX_CPU_ISA: SSE41; AVX2 too on an AVX-512 machine), each in its own
#     process, so that a crash names the instruction set it happened under;
#  3. the library's DocC documentation, built with warnings as errors (scripts/docs.sh);
#  4. every test again under AddressSanitizer (a separate build in .build-asan).
# AKIN_TEST_SKIP_ASAN=1 skips step 4 (it adds a full build).
set -euo pipefail
cd "$(dirname "$0")/.."

flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { [[ $flags == *" $1 "* ]]; }
if has avx512f && has avx512bw && has avx512vl && has avx512dq; then native=AVX512_CORE
elif has avx2; then native=AVX2
else native=SSE41; fi

echo "== every test; oneDNN on this CPU's own instruction set ($native)"
swift test

under() {
  echo "== the oneDNN suites with DNNL_MAX_CPU_ISA=$1"
  DNNL_MAX_CPU_ISA=$1 swift test --skip-build --filter "$2"
}
# SSE4.1 has no blocked backward convolutions in oneDNN 2.6 (reference kernels, ~100× slower), so
# the training suites run only on the wider sets; the layer, kernel, embedding, export and fine-tuning
# (small imported graphs) suites run on all.
[[ $native == SSE41 ]] || under SSE41 'TensorsTests|NetworksTests|SimilarityTests.EmbeddingSourceTests|SimilarityTests.FineTuningTests|SimilarityTests.ONNXExportTests'
[[ $native != AVX512_CORE ]] || under AVX2 'TensorsTests|NetworksTests|SimilarityTests'

echo "== the library's documentation (DocC, warnings as errors)"
scripts/docs.sh

if [[ ${AKIN_TEST_SKIP_ASAN:-0} != 1 ]]; then
  echo "== every test under AddressSanitizer (and LeakSanitizer, less the toolchain's own leaks)"
  LSAN_OPTIONS=suppressions=$PWD/scripts/lsan-suppressions.txt swift test --sanitize=address --scratch-path .build-asan
fi
