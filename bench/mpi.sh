#!/usr/bin/env bash
# Data-parallel training on this machine: one process with 2 threads against two MPI processes with
# one thread each (mpirun -np 2 … --distributed), and one MPI process with 2 threads (what MPI itself
# costs), on Fashion-MNIST's 10,000 test images (Debian's dataset-fashion-mnist).
#   bench/mpi.sh              (AKIN_BENCH_STEPS=30, AKIN_BENCH_ROUNDS=2)
# Each run prints --profile's stage table; the communication stage is the embeddings' gather and the
# gradients' sum, waits for the slower process included. Raw results: bench/results/mpi-<time>.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${AKIN_BENCH_STEPS:-30}
rounds=${AKIN_BENCH_ROUNDS:-2}
akin=.build/release/akin
data=${AKIN_BENCH_DIR:-runs/bench-mpi}
source=/usr/share/datasets/fashion-mnist
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

swift build -c release --product akin >&2
mkdir -p "$data" bench/results
if [ ! -d "$data/fashion-mnist" ]; then
  "$akin" import-idx --images "$source/t10k-images-idx3-ubyte.gz" --labels "$source/t10k-labels-idx1-ubyte.gz" \
    --class-names "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot" --out "$data/fashion-mnist"
fi
results=bench/results/mpi-$(date +%Y%m%d-%H%M%S).jsonl
python3 - >> "$results" <<'PY'
import json, os
cpu = open("/proc/cpuinfo").read().split("\n\n")[0]
fields = {k.strip(): v for k, v in (line.split(":", 1) for line in cpu.splitlines() if ":" in line)}
print(json.dumps({"kind": "machine", "cpu": fields["model name"].strip(), "cores": os.cpu_count(),
                  "simd_flags": sorted(f for f in fields["flags"].split() if f.startswith(("avx", "fma")))}))
PY

# recipe name, then its flags: the default recipe (ResNet with batch norm, 10×16 batch-all) and the
# seed's network (no batch norm, 512 random triplets = 1536 images a step).
recipes=("default" "--recipe default" "seed" "--recipe seed")
for round in $(seq "$rounds"); do
  for ((r = 0; r < ${#recipes[@]}; r += 2)); do
    name=${recipes[r]}; flags=${recipes[r + 1]}
    for layout in "1x2 plain" "1x2 mpi" "2x1 mpi"; do
      set -- $layout
      processes=${1%x*}; threads=${1#*x}
      common=("$data/fashion-mnist" --out "$data/model.safetensors" --overwrite --steps "$steps" --threads "$threads"
              --checkpoint-every 100000 --profile $flags)
      echo "round $round: $name, $processes process(es) × $threads thread(s), $2" >&2
      if [ "$2" = plain ]; then
        "$akin" train "${common[@]}" 2> "$data/run.err"
      else
        # One process may use both cores only unbound; two are bound one to a core (Open MPI's default).
        bind=(); [ "$processes" = 1 ] && bind=(--bind-to none)
        mpirun -np "$processes" "${bind[@]}" "$akin" train "${common[@]}" --distributed 2> "$data/run.err"
      fi
      python3 - "$name" "$processes" "$threads" "$2" "$steps" "$data/run.err" >> "$results" <<'PY'
import json, re, sys
name, processes, threads, how, steps, path = sys.argv[1:]
text = open(path).read()
rate = float(re.search(r"trained \d+ steps in \S+: (\d+) images/s", text).group(1))
stages = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(batch|forward|communication|loss|backward|optimizer|checkpoint)\s+([\d.]+)", text, re.M)}
print(json.dumps({"kind": "run", "recipe": name, "processes": int(processes), "threads": int(threads), "launch": how,
                  "steps": int(steps), "images_per_second": rate, "ms_per_step": stages, "step_ms": sum(stages.values())}))
PY
      tail -1 "$results" >&2
      # The machine may be shared: the load after each run says how quiet it was.
      echo "{\"kind\": \"load\", \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$results"
    done
  done
done
echo "raw results: $results" >&2
