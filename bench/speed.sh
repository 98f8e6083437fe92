#!/usr/bin/env bash
# Akin against PyTorch on the seed network, same batch, thread count and data, in one run.
#   bench/speed.sh            (AKIN_BENCH_THREADS=2, AKIN_BENCH_ROUNDS=2, AKIN_BENCH_STEPS=25)
#   DNNL_MAX_CPU_ISA=AVX2 bench/speed.sh   both sides limited to AVX2 (the AVX2 table on an AVX-512 machine):
#                                          Akin's and PyTorch's oneDNN read it, PyTorch's own kernels ATEN_CPU_CAPABILITY
# The raw results stay in bench/results/speed-<time>-<instruction set>.jsonl, the machine's CPU flags first.
# Installs PyTorch 2.15 from PyPI into a cached virtual environment the first time
# (AKIN_BENCH_VENV, default ~/.cache/akin-bench/venv; about 5 GB with its CUDA libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AKIN_BENCH_VENV:-$HOME/.cache/akin-bench/venv}
threads=${AKIN_BENCH_THREADS:-2}
rounds=${AKIN_BENCH_ROUNDS:-2}
steps=${AKIN_BENCH_STEPS:-25}

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch==2.15.0 numpy
fi
swift build -c release --product akin-bench >&2
gcc -O3 -mavx2 -mfma -pthread bench/fma_peak.c -o .build/fma_peak

isa=${DNNL_MAX_CPU_ISA:-native}
if [[ $isa != native ]]; then export ATEN_CPU_CAPABILITY=$(echo "$isa" | tr 'A-Z' 'a-z' | sed 's/_core//'); fi
mkdir -p bench/results
results=bench/results/speed-$(date +%Y%m%d-%H%M%S)-$(echo "$isa" | tr 'A-Z' 'a-z').jsonl
python3 - "$isa" >> "$results" <<'PY'
import json, sys
cpu = open("/proc/cpuinfo").read().split("\n\n")[0]
fields = {k.strip(): v for k, v in (line.split(":", 1) for line in cpu.splitlines() if ":" in line)}
flags = fields["flags"].split()
print(json.dumps({"kind": "machine", "cpu": fields["model name"].strip(), "dnnl_max_cpu_isa": sys.argv[1],
                  "simd_flags": sorted(f for f in flags if f.startswith(("avx", "fma", "sse4")))}))
PY
peak=$(.build/fma_peak "$threads")
echo "{\"kind\": \"peak\", \"gflops\": $peak}" >> "$results"
for round in $(seq "$rounds"); do
  for channels in 3 1; do
    for mode in train embed; do
      echo "round $round: $mode, $channels channel(s)" >&2
      echo "{\"kind\": \"akin\", \"mode\": \"$mode\", \"channels\": $channels, \"result\": $(.build/release/akin-bench "$mode" --channels "$channels" --threads "$threads" --steps "$steps")}" >> "$results"
      for layout in channels_last contiguous; do
        echo "{\"kind\": \"pytorch-$layout\", \"mode\": \"$mode\", \"channels\": $channels, \"result\": $("$venv/bin/python" bench/pytorch_seed.py "$mode" --channels "$channels" --layout "$layout" --threads "$threads" --steps "$steps")}" >> "$results"
      done
    done
  done
done
python3 bench/summarize_speed.py "$results" "$threads"
echo "raw results: $results" >&2
