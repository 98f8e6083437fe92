#!/usr/bin/env bash
# Akin's default recipe against the same recipe in PyTorch + pytorch-metric-learning, on Fashion-MNIST,
# same steps and threads, scored by the same evaluator (pml's AccuracyCalculator), in one command:
#   bench/quality.sh [--steps 2000] [--held-out 0,2,4,6] [--skip-akin] [--skip-torch] [--disjoint-only]
# 1. all classes: train on the 60,000 training images, leave-one-out on the 10,000 test images;
# 2. class-disjoint: train on the 6 other classes only, leave-one-out on the test images of the 4
#    held-out classes (default 0,2,4,6: T-shirt/top, Pullover, Coat, Shirt, the classes raw pixels
#    confuse most), against the raw-pixel baseline on the same images.
# Needs Debian's dataset-fashion-mnist. Installs PyTorch 2.15, pytorch-metric-learning and faiss-cpu from
# PyPI into the cached virtual environment bench/speed.sh uses (AKIN_BENCH_VENV, default
# ~/.cache/akin-bench/venv); imports the class folders once (AKIN_BENCH_DATA, default
# ~/.cache/akin-bench/fashion-mnist). Models, galleries and logs go under runs/quality/<time>/; one JSON
# line per result is appended to bench/results/quality-<time>.jsonl (AKIN_BENCH_RESULTS overrides).
set -euo pipefail
cd "$(dirname "$0")/.."

steps=2000 skip_akin=0 skip_torch=0 disjoint_only=0 held_out=0,2,4,6
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=${2:?--steps needs a number}; shift 2 ;;
    --held-out) held_out=${2:?--held-out needs class numbers like 0,2,4,6}; shift 2 ;;
    --skip-akin) skip_akin=1; shift ;;
    --skip-torch) skip_torch=1; shift ;;
    --disjoint-only) disjoint_only=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $steps in ''|*[!0-9]*|0) echo "--steps must be a positive whole number, not '$steps'" >&2; exit 2 ;; esac

venv=${AKIN_BENCH_VENV:-$HOME/.cache/akin-bench/venv}
data=${AKIN_BENCH_DATA:-$HOME/.cache/akin-bench/fashion-mnist}
source_dir=${AKIN_BENCH_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
threads=${AKIN_BENCH_THREADS:-2}
stamp=$(date +%Y%m%d-%H%M%S)
run=runs/quality/$stamp
results=${AKIN_BENCH_RESULTS:-bench/results/quality-$stamp.jsonl}
akin=.build/release/akin
python=$venv/bin/python

for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  [ -f "$source_dir/$f" ] || { echo "$source_dir/$f is missing: apt-get install dataset-fashion-mnist (or set AKIN_BENCH_FASHION_MNIST)" >&2; exit 1; }
done

# The same pins as bench/speed.sh for torch; Akin's vectors are scored by pml too, so this is needed even with --skip-torch.
if ! "$python" -c "import torch" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch==2.15.0 numpy
fi
if ! "$python" -c "import pytorch_metric_learning, faiss" 2>/dev/null; then
  "$venv/bin/pip" install -q pytorch-metric-learning==2.9.0 faiss-cpu==1.15.1
fi

if [ "$skip_akin" = 0 ] || [ ! -d "$data/test" ] || [ ! -d "$data/train" ]; then
  nice -n 10 swift build -c release --product akin >&2
fi

# Class folders named 0…9, the IDX label numbers, so both sides and the gallery labels agree.
import_split() {  # split, IDX prefix
  [ -d "$data/$1" ] && return 0
  rm -rf "$data/$1.partial"
  "$akin" import-idx --images "$source_dir/$2-images-idx3-ubyte.gz" --labels "$source_dir/$2-labels-idx1-ubyte.gz" --out "$data/$1.partial"
  mv "$data/$1.partial" "$data/$1"
}
subset() {  # name, split, classes…: a folder of symlinks to some class folders
  local name=$1 split=$2; shift 2
  [ -d "$data/$name" ] && return 0
  rm -rf "$data/$name.partial"; mkdir -p "$data/$name.partial"
  for c in "$@"; do ln -s "../$split/$c" "$data/$name.partial/$c"; done
  mv "$data/$name.partial" "$data/$name"
}
mkdir -p "$data" "$run" "$(dirname "$results")"
import_split train train
import_split test t10k
held=(${held_out//,/ }) kept=()
for c in 0 1 2 3 4 5 6 7 8 9; do [[ ",$held_out," == *",$c,"* ]] || kept+=("$c"); done
[ ${#held[@]} -ge 2 ] && [ ${#kept[@]} -ge 2 ] || { echo "--held-out must name at least 2 and at most 8 of the classes 0–9" >&2; exit 2; }
kept_list=$(IFS=,; echo "${kept[*]}") tag=$(IFS=; echo "${held[*]}")
subset "train-without-$tag" train "${kept[@]}"
subset "test-$tag" test "${held[@]}"

now() { date +%s.%N; }
seconds_since() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 3))" "$1" "$(now)"; }

akin_side() {  # variant, training folder, evaluation folder, folders to embed…
  local variant=$1 train_dir=$2 eval_dir=$3; shift 3
  local out=$run/akin-$variant start seconds
  echo "== Akin, $variant: akin train $train_dir --steps $steps --threads $threads" >&2
  start=$(now)
  "$akin" train "$train_dir" --out "$out.safetensors" --steps "$steps" --threads "$threads" --log "$out-train.csv" 2>&1 \
    | tee "$out-train.log" >&2 || return 1
  seconds=$(seconds_since "$start")
  "$akin" eval --model "$out.safetensors" --threads "$threads" --json "$eval_dir" > "$out-eval.json" || return 1
  "$akin" embed --model "$out.safetensors" --threads "$threads" --out "$out-gallery.akin" --overwrite "$@" || return 1
  "$python" bench/pml_reference.py --threads "$threads" --eval-embeddings "$out-gallery.akin" > "$out-pml.json" || return 1
  python3 bench/summarize_quality.py akin-record --variant "$variant" --steps "$steps" --command-seconds "$seconds" \
    --train-log "$out-train.log" --akin-eval "$out-eval.json" --pml-score "$out-pml.json" >> "$results"
}

torch_side() {  # variant, pml_reference.py options…
  local variant=$1 out=$run/torch-$1 start seconds; shift
  echo "== PyTorch + pml, $variant: pml_reference.py --steps $steps $*" >&2
  start=$(now)
  "$python" bench/pml_reference.py --steps "$steps" --threads "$threads" --data-dir "$source_dir" \
    --log "$out-train.jsonl" --out-embeddings "$out.npy" "$@" > "$out.json" || return 1
  seconds=$(seconds_since "$start")
  python3 bench/summarize_quality.py torch-record --variant "$variant" --command-seconds "$seconds" --output "$out.json" >> "$results"
}

pixel_side() {  # variant, evaluation folder, pml_reference.py options…
  local variant=$1 eval_dir=$2 out=$run/pixels-$1 akin_eval=(); shift 2
  echo "== raw pixels, $variant" >&2
  if [ -x "$akin" ]; then
    "$akin" eval --pixels --threads "$threads" --json "$eval_dir" > "$out-eval.json" || return 1
    akin_eval=(--akin-eval "$out-eval.json")
  fi
  "$python" bench/pml_reference.py --threads "$threads" --data-dir "$source_dir" --eval-pixels "$@" > "$out-pml.json" || return 1
  python3 bench/summarize_quality.py pixels-record --variant "$variant" "${akin_eval[@]}" --pml-score "$out-pml.json" >> "$results"
}

failed=()
attempt() { "$@" || { failed+=("$1 $2"); echo "!! $1 $2 failed; continuing (logs in $run)" >&2; }; }

if [ "$disjoint_only" = 0 ]; then
  [ "$skip_akin" = 1 ] || attempt akin_side all-classes "$data/train" "$data/test" "$data/test"
  [ "$skip_torch" = 1 ] || attempt torch_side all-classes
  attempt pixel_side all-classes "$data/test"
fi
held_dirs=(); for c in "${held[@]}"; do held_dirs+=("$data/test/$c"); done
[ "$skip_akin" = 1 ] || attempt akin_side class-disjoint "$data/train-without-$tag" "$data/test-$tag" "${held_dirs[@]}"
[ "$skip_torch" = 1 ] || attempt torch_side class-disjoint --train-classes "$kept_list" --eval-classes "$held_out"
attempt pixel_side class-disjoint "$data/test-$tag" --eval-classes "$held_out"

echo
echo "Quality, $steps steps, $threads threads, $(date '+%Y-%m-%d %H:%M'), load average $(cut -d' ' -f1-3 /proc/loadavg); results in $results"
[ -s "$results" ] && python3 bench/summarize_quality.py table "$results"
if [ ${#failed[@]} -gt 0 ]; then
  echo; echo "failed: ${failed[*]} (see $run)"; exit 1
fi
