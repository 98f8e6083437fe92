#!/usr/bin/env bash
# `akin serve` under load from wrk on loopback, beside the in-process figures, in one run:
#   bench/serve.sh [--duration 10] [--warmup 60] [--soak 60] [--images 2000] [--repeats 3]
# Vector search: the 60,000 × 64 Fashion-MNIST set (PCA-64 of the pixels, as bench/search.sh), HNSW
# with efSearch raised until recall@10 ≥ 0.99 on the 10,000 test queries; `akin search --one-by-one
# --stats` is the in-process rate; wrk then posts the same queries at concurrency 1, 16 and 64.
# Image search: a short default-recipe model on Fashion-MNIST's training images; `akin embed` of the
# first --images test PNGs is the in-process images/s; wrk posts those PNGs to /search/image at
# concurrency 32. Soak: --warmup seconds of vector searches at concurrency 16, then --soak seconds more,
# the server's RSS at the start and end of those. Every rate is the best of --repeats runs on both sides. Needs wrk (apt-get install wrk) and numpy (the bench virtual environment, bench/venv.sh).
# Results: one JSON line per measurement in bench/results/serve-<time>.jsonl, a table on standard output.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk > /dev/null || { echo "bench/serve.sh needs wrk: apt-get install wrk" >&2; exit 2; }
venv=${AKIN_BENCH_VENV:-$HOME/.cache/akin-bench/venv}
python=$venv/bin/python
[ -x "$python" ] || python3 -m venv "$venv"
"$python" -c "import numpy" 2>/dev/null || "$python" -m pip install numpy
nice -n 10 swift build -c release --product akin
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p bench/results
exec "$python" bench/serve_bench.py --akin .build/release/akin --work "runs/serve/$stamp" --results "bench/results/serve-$stamp.jsonl" "$@"
