#!/usr/bin/env bash
# Faults, repeated: `akin train` killed with SIGKILL at 20 random moments and resumed each time;
# every resume must work, no checkpoint may be corrupt, and the final model must equal an
# uninterrupted run's, byte for byte. Then `gallery add --transaction` killed at random moments:
# every acknowledged item must be in the gallery, SQLite's integrity check clean, and a rerun with
# --skip-existing must finish the add without a duplicate.
#   bench/faults.sh     (AKIN_FAULTS_KILLS=20, AKIN_FAULTS_STEPS=120; raw results to bench/results/faults-DATE.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${AKIN_FAULTS_KILLS:-20}
steps=${AKIN_FAULTS_STEPS:-120}
akin=.build/release/akin
nice -n 10 swift build -c release --product akin >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source=/usr/share/datasets/fashion-mnist
"$akin" import-idx --images "$source/t10k-images-idx3-ubyte.gz" --labels "$source/t10k-labels-idx1-ubyte.gz" --out "$work/data" 2>/dev/null
train=("$akin" train "$work/data" --steps "$steps" --checkpoint-every 3 --threads 1 --seed 7)

# The uninterrupted run.
"${train[@]}" --out "$work/whole.safetensors" 2>/dev/null

# The same run, killed again and again.
killed=0 resumed=0 failures=0
rm -f "$work/killed.safetensors" "$work/killed.safetensors.checkpoint"
for ((i = 0; i < kills; i++)); do
  extra=()
  [ -f "$work/killed.safetensors.checkpoint" ] && extra=(--resume)
  "${train[@]}" --out "$work/killed.safetensors" "${extra[@]}" 2>>"$work/killed.log" &
  pid=$!
  sleep "$(python3 -c "import random; print(round(random.uniform(0.3, 2.5), 2))")"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$pid" 2>/dev/null || true
  [ ${#extra[@]} -gt 0 ] && resumed=$((resumed + 1))
done
if ! "${train[@]}" --out "$work/killed.safetensors" --resume 2>>"$work/killed.log"; then failures=$((failures + 1)); fi
same=false
cmp -s "$work/whole.safetensors" "$work/killed.safetensors" && same=true
grep -q "Error" "$work/killed.log" && failures=$((failures + 1))

# gallery add, killed mid-way.
python3 - "$work" <<'PY'
import struct, sys, random
n, d = 20000, 32
random.seed(1)
with open(sys.argv[1] + "/v.npy", "wb") as f:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (n, d)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<%df" % (n * d), *[random.uniform(-1, 1) for _ in range(n * d)]))
with open(sys.argv[1] + "/paths.txt", "w") as f:
    f.write("\n".join("item%d" % i for i in range(n)) + "\n")
PY
"$akin" gallery create --dim 32 --out "$work/g.akin" 2>/dev/null
add=("$akin" gallery add --gallery "$work/g.akin" --vectors "$work/v.npy" --paths "$work/paths.txt" --transaction 200 --skip-existing)
adds_killed=0 lost=0
for ((i = 0; i < kills / 2; i++)); do
  "${add[@]}" > "$work/ack-$i.txt" 2>/dev/null &
  pid=$!
  sleep "$(python3 -c "import random; print(round(random.uniform(0.01, 0.25), 2))")"
  if kill -9 "$pid" 2>/dev/null; then adds_killed=$((adds_killed + 1)); fi
  wait "$pid" 2>/dev/null || true
done
"${add[@]}" > "$work/ack-final.txt" 2>/dev/null
items=$("$akin" gallery stats --gallery "$work/g.akin" | sed -n 's/^items: //p')
acknowledged=$(cat "$work"/ack-*.txt | grep -c "^added" || true)
integrity=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$work/g.akin")
distinct=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('SELECT COUNT(DISTINCT path) FROM items').fetchone()[0])" "$work/g.akin")
leftovers=$(ls -a "$work" | grep -c "\.tmp-" || true)

mkdir -p bench/results
out=bench/results/faults-$(date +%Y%m%d-%H%M%S).jsonl
echo "{\"train\": {\"kills\": $killed, \"resumes\": $resumed, \"failures\": $failures, \"final_model_equals_uninterrupted\": $same}, \"gallery_add\": {\"kills\": $adds_killed, \"items\": $items, \"distinct_paths\": $distinct, \"acknowledged_transactions\": $acknowledged, \"integrity\": \"$integrity\", \"leftover_temporaries\": $leftovers}}" | tee -a "$out"
[ "$same" = true ] && [ "$failures" = 0 ] && [ "$items" = 20000 ] && [ "$distinct" = 20000 ] && [ "$integrity" = ok ]
