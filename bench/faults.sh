#!/usr/bin/env bash
# Faults, repeated: `akin train` killed with SIGKILL at 20 random moments and resumed each time;
# every resume must work, no checkpoint may be corrupt, and the final model must equal an
# uninterrupted run's, byte for byte. Then `gallery add --transaction` killed at random moments:
# every acknowledged item must be in the gallery, SQLite's integrity check clean, and a rerun with
# --skip-existing must finish the add without a duplicate. Then `embed` and `index build` killed
# at random moments: the gallery or index is either absent, the old one, or whole; a search after
# each kill answers correctly; a torn index is detected and rebuilt; no temporary file outlives the
# next run. Last, a reader searching while a writer adds: every search succeeds and finds each
# query's own item first (an item committed before the writer started).
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
python3 - "$work" <<'PY'
import struct, sys
work, d = sys.argv[1], 32
raw = open(work + "/v.npy", "rb").read()
start = 10 + struct.unpack("<H", raw[8:10])[0]
def write(name, first, last):
    rows = last - first
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, d)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(work + "/" + name, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(raw[start + first * d * 4:start + last * d * 4])
write("first.npy", 0, 2000)
write("rest.npy", 2000, 20000)
write("queries.npy", 0, 10)
paths = open(work + "/paths.txt").read().split()
open(work + "/first.txt", "w").write("\n".join(paths[:2000]) + "\n")
open(work + "/rest.txt", "w").write("\n".join(paths[2000:]) + "\n")
PY
# Seconds a command takes uninterrupted, so that kills can be drawn within its run.
seconds_of() {
  local start
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)"
}
# Sleeps a uniformly drawn time between $1 and $2 seconds.
random_sleep() { sleep "$(python3 -c "import random, sys; print(round(random.uniform(float(sys.argv[1]), float(sys.argv[2])), 3))" "$1" "$2")"; }

"$akin" gallery create --dim 32 --out "$work/g.akin" 2>/dev/null
add=("$akin" gallery add --gallery "$work/g.akin" --vectors "$work/v.npy" --paths "$work/paths.txt" --transaction 5 --skip-existing)
"$akin" gallery create --dim 32 --out "$work/timing.akin" 2>/dev/null
add_seconds=$(seconds_of "$akin" gallery add --gallery "$work/timing.akin" --vectors "$work/v.npy" --paths "$work/paths.txt" --transaction 5)
adds_killed=0 lost=0
for ((i = 0; i < kills / 2; i++)); do
  "${add[@]}" > "$work/ack-$i.txt" 2>/dev/null &
  pid=$!
  # Each run resumes where the last stopped, so each is given a tenth of the whole add, or less.
  random_sleep 0.02 "$(python3 -c "print(max(0.05, $add_seconds / 10))")"
  if kill -9 "$pid" 2>/dev/null; then adds_killed=$((adds_killed + 1)); fi
  wait "$pid" 2>/dev/null || true
done
"${add[@]}" > "$work/ack-final.txt" 2>/dev/null
items=$("$akin" gallery stats --gallery "$work/g.akin" | sed -n 's/^items: //p')
acknowledged=$(cat "$work"/ack-*.txt | grep -c "^added" || true)
integrity=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$work/g.akin")
distinct=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('SELECT COUNT(DISTINCT path) FROM items').fetchone()[0])" "$work/g.akin")
leftovers=$(ls -a "$work" | grep -c "\.tmp-" || true)

# Searches for queries.npy (items 0–9's own vectors) and counts the queries whose best hit is not
# their own item at similarity ≈ 1; a failed search counts all ten.
wrong_answers() {
  "$akin" search --gallery "$1" --vectors "$work/queries.npy" -k 3 --json 2>>"$work/search.log" > "$work/answer.json" || { echo 10; return; }
  python3 -c "
import json, sys
answers = json.load(open(sys.argv[1]))
print(sum(1 for i, a in enumerate(answers) if not a['results'] or a['results'][0]['id'] != i or a['results'][0]['similarity'] < 0.999))" "$work/answer.json"
}

# embed, killed mid-way: the gallery is absent or whole, and opens.
embed=("$akin" embed "$work/data" --model "$work/whole.safetensors" --out "$work/e.akin" --threads 1)
embed_seconds=$(seconds_of "${embed[@]/e.akin/timing-e.akin}")
embeds_killed=0 embed_broken=0
for ((i = 0; i < kills / 2; i++)); do
  extra=()
  [ -f "$work/e.akin" ] && extra=(--overwrite)
  "${embed[@]}" "${extra[@]}" 2>/dev/null &
  pid=$!
  random_sleep 0.1 "$embed_seconds"
  if kill -9 "$pid" 2>/dev/null; then embeds_killed=$((embeds_killed + 1)); fi
  wait "$pid" 2>/dev/null || true
  if [ -f "$work/e.akin" ]; then
    count=$("$akin" gallery stats --gallery "$work/e.akin" 2>/dev/null | sed -n 's/^items: //p')
    [ "$count" = 10000 ] || embed_broken=$((embed_broken + 1))
  fi
done
"${embed[@]}" --overwrite 2>/dev/null
embed_items=$("$akin" gallery stats --gallery "$work/e.akin" | sed -n 's/^items: //p')
embed_leftovers=$(ls -a "$work" | grep -c '^\.e\.akin.*\.tmp-' || true)

# index build, killed mid-way: a search after each kill answers right (old, rebuilt or new index).
build=("$akin" index build --gallery "$work/g.akin" --kind hnsw --threads 1)
build_seconds=$(seconds_of "${build[@]}")
builds_killed=0 wrong_after_build=0
for ((i = 0; i < kills / 2; i++)); do
  "${build[@]}" >/dev/null 2>&1 &
  pid=$!
  random_sleep 0.02 "$(python3 -c "print(0.9 * $build_seconds)")"
  if kill -9 "$pid" 2>/dev/null; then builds_killed=$((builds_killed + 1)); fi
  wait "$pid" 2>/dev/null || true
  wrong_after_build=$((wrong_after_build + $(wrong_answers "$work/g.akin")))
done
"${build[@]}" >/dev/null 2>&1
# A torn index (cut in half, as a full disk or a copy cut short would leave it) is detected and rebuilt.
size=$(stat -c %s "$work/g.akin.index")
truncate -s $((size / 2)) "$work/g.akin.index"
wrong_after_tear=$(wrong_answers "$work/g.akin")
torn_rebuilt=false
[ "$(stat -c %s "$work/g.akin.index")" = "$size" ] && torn_rebuilt=true
index_leftovers=$(ls -a "$work" | grep -c '^\.g\.akin.*\.tmp-' || true)

# A reader searching while a writer adds, transaction by transaction.
"$akin" gallery create --dim 32 --out "$work/r.akin" 2>/dev/null
"$akin" gallery add --gallery "$work/r.akin" --vectors "$work/first.npy" --paths "$work/first.txt" >/dev/null 2>&1
"$akin" gallery add --gallery "$work/r.akin" --vectors "$work/rest.npy" --paths "$work/rest.txt" --transaction 1 >/dev/null 2>"$work/writer.log" &
writer=$!
searches=0 wrong_while_writing=0
while kill -0 "$writer" 2>/dev/null && [ "$searches" -lt 200 ]; do
  wrong_while_writing=$((wrong_while_writing + $(wrong_answers "$work/r.akin")))
  searches=$((searches + 1))
done
writer_status=0
wait "$writer" || writer_status=$?
reader_items=$("$akin" gallery stats --gallery "$work/r.akin" | sed -n 's/^items: //p')

mkdir -p bench/results
out=bench/results/faults-$(date +%Y%m%d-%H%M%S).jsonl
echo "{\"train\": {\"kills\": $killed, \"resumes\": $resumed, \"failures\": $failures, \"final_model_equals_uninterrupted\": $same}, \"gallery_add\": {\"uninterrupted_seconds\": $add_seconds, \"kills\": $adds_killed, \"items\": $items, \"distinct_paths\": $distinct, \"acknowledged_transactions\": $acknowledged, \"integrity\": \"$integrity\", \"leftover_temporaries\": $leftovers}, \"embed\": {\"uninterrupted_seconds\": $embed_seconds, \"kills\": $embeds_killed, \"broken_galleries\": $embed_broken, \"items\": $embed_items, \"leftover_temporaries\": $embed_leftovers}, \"index_build\": {\"uninterrupted_seconds\": $build_seconds, \"kills\": $builds_killed, \"wrong_answers_after_kills\": $wrong_after_build, \"torn_index_rebuilt\": $torn_rebuilt, \"wrong_answers_after_tear\": $wrong_after_tear, \"leftover_temporaries\": $index_leftovers}, \"reader_while_writer\": {\"searches\": $searches, \"wrong_answers\": $wrong_while_writing, \"writer_exit\": $writer_status, \"items\": $reader_items}}" | tee -a "$out"
[ "$same" = true ] && [ "$failures" = 0 ] && [ "$items" = 20000 ] && [ "$distinct" = 20000 ] && [ "$acknowledged" -le 4000 ] && [ "$integrity" = ok ] &&
  [ "$embed_broken" = 0 ] && [ "$embed_items" = 10000 ] && [ "$embed_leftovers" = 0 ] &&
  [ "$wrong_after_build" = 0 ] && [ "$torn_rebuilt" = true ] && [ "$wrong_after_tear" = 0 ] && [ "$index_leftovers" = 0 ] &&
  [ "$wrong_while_writing" = 0 ] && [ "$writer_status" = 0 ] && [ "$reader_items" = 20000 ]
