#!/usr/bin/env bash
# Akin against PyTorch on the seed network, same batch, thread count and data, in one run.
#   bench/speed.sh            (AKIN_BENCH_THREADS=2, AKIN_BENCH_ROUNDS=2, AKIN_BENCH_STEPS=25)
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

results=$(mktemp)
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
rm -f "$results"
