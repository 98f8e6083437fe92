#!/usr/bin/env bash
# Akin's vector search against faiss (IndexFlatIP) and hnswlib, same data, same threads, one run:
#   bench/search.sh [--data fmnist|synthetic|gaussian] [--n 60000] [--queries 10000] [--threads 1] [--systems all|akin-hnsw,hnswlib,…] [--tile 1]
# fmnist: PCA-64 of the Fashion-MNIST pixels (60,000 train images the base, the 10,000 test images the
# queries; Debian's dataset-fashion-mnist). synthetic: N unit vectors around 20,000 random centres (a gallery
# of many identities), seed 0. gaussian: N Gaussian 64-d vectors, seed 0, no structure (the worst case).
# Synthetic sets sweep efSearch on to 512; past 100,000 items exact search one query at a time is timed
# on the first 1000 queries.
# Reports recall@10 against exact search, build time, queries/s (a batch of all queries) and bytes per
# vector, and the ratios Akin / reference. Installs faiss-cpu and hnswlib from PyPI into the cached
# virtual environment (AKIN_BENCH_VENV, default ~/.cache/akin-bench/venv). Results: one JSON line per
# measurement appended to bench/results/search-<time>.jsonl, and a table on standard output. Each setting is
# timed three times (once past 100,000 items) on both sides and the fastest kept; --tile N times it on the
# queries repeated N times, for timings long enough to rise above a shared machine's noise.
set -euo pipefail
cd "$(dirname "$0")/.."

data=fmnist n=60000 queries=10000 threads=1 systems=all tile=1
while [ $# -gt 0 ]; do
  case $1 in
    --data) data=${2:?--data needs fmnist, synthetic or gaussian}; shift 2 ;;
    --n) n=${2:?--n needs a number}; shift 2 ;;
    --queries) queries=${2:?--queries needs a number}; shift 2 ;;
    --threads) threads=${2:?--threads needs a number}; shift 2 ;;
    --systems) systems=${2:?--systems needs a list}; shift 2 ;;
    --tile) tile=${2:?--tile needs a number}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

venv=${AKIN_BENCH_VENV:-$HOME/.cache/akin-bench/venv}
python=$venv/bin/python
[ -x "$python" ] || python3 -m venv "$venv"
"$python" -c "import faiss, hnswlib" 2>/dev/null || "$python" -m pip install faiss-cpu hnswlib
# The usual flags: another one (like -j 1) makes SwiftPM rebuild every module.
nice -n 10 swift build -c release --product akin
stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p bench/results
exec "$python" bench/search_bench.py --akin .build/release/akin --data "$data" --n "$n" --queries "$queries" \
  --threads "$threads" --systems "$systems" --tile "$tile" --work "runs/search/$stamp" --results "bench/results/search-$stamp.jsonl"
