#!/usr/bin/env bash
# `akin export pytorch` checked with PyTorch itself (too heavy for CI): trains three small models
# on Fashion-MNIST's test images (seed network; ResNet; ResNet on 3 channels embedding with its
# pooled features), exports each, loads it with the written akin_model.py
# (`load_state_dict(strict=True)`), and compares PyTorch's embeddings of every image with the
# ones Akin wrote (`akin export projector`). The raw results go to
# bench/results/pytorch-export-<time>.jsonl; the run fails if any model differs by more than 1e-4.
# Uses the benchmark's virtual environment (AKIN_BENCH_VENV, default ~/.cache/akin-bench/venv),
# adding safetensors and Pillow to it the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/venv.sh
bench_venv "import safetensors, PIL" safetensors pillow

swift build -c release --product akin >&2
akin=.build/release/akin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source=/usr/share/datasets/fashion-mnist
"$akin" import-idx --images "$source/t10k-images-idx3-ubyte.gz" --labels "$source/t10k-labels-idx1-ubyte.gz" --out "$work/all" >&2
# 40 images of each class keep the run to a minute.
for class in "$work"/all/*/; do
  files=("$class"*.png)
  mkdir -p "$work/data/$(basename "$class")"
  cp "${files[@]:0:40}" "$work/data/$(basename "$class")/"
done

mkdir -p bench/results
results=bench/results/pytorch-export-$(date +%Y%m%d-%H%M%S).jsonl
check() {
  local name=$1; shift
  "$akin" train "$work/data" --out "$work/$name.safetensors" --steps 30 --overwrite "$@" >&2
  "$akin" export pytorch --model "$work/$name.safetensors" --out "$work/$name-pytorch" >&2
  "$akin" export projector --model "$work/$name.safetensors" --data "$work/data" --out "$work/$name-projector" >&2
  "$python" bench/check_pytorch_export.py "$work/$name-pytorch" "$work/$name-projector" "$name" "$*" | tee -a "$results"
}
check seed --recipe seed
check resnet --widths 16,32 --blocks 1,2
check resnet-rgb-features --channels 3 --widths 8,16 --embed-from features
echo "results: $results" >&2
