#!/usr/bin/env bash
# The main job on a small default: import Fashion-MNIST (Debian's dataset-fashion-mnist), train the
# default recipe briefly, evaluate it against the raw-pixel baseline, and search the test split with a few
# training images.
# Everything goes under runs/demo (override with AKIN_DEMO_DIR). Set AKIN_DEMO_STEPS for a longer run.
set -euo pipefail
cd "$(dirname "$0")/.."
akin=.build/release/akin
out=${AKIN_DEMO_DIR:-runs/demo}
steps=${AKIN_DEMO_STEPS:-150}
source=/usr/share/datasets/fashion-mnist
names="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"

[ -x "$akin" ] || swift build -c release
mkdir -p "$out"
if [ ! -d "$out/fashion-mnist/train" ]; then
  "$akin" import-idx --images "$source/train-images-idx3-ubyte.gz" --labels "$source/train-labels-idx1-ubyte.gz" \
    --class-names "$names" --out "$out/fashion-mnist/train"
  "$akin" import-idx --images "$source/t10k-images-idx3-ubyte.gz" --labels "$source/t10k-labels-idx1-ubyte.gz" \
    --class-names "$names" --out "$out/fashion-mnist/test"
fi

"$akin" train "$out/fashion-mnist/train" --out "$out/model.safetensors" --steps "$steps" --log "$out/train.csv" --overwrite

echo "== raw pixels (the baseline) on the test split, leave-one-out"
"$akin" eval --pixels "$out/fashion-mnist/test"
echo "== the trained model on the test split, leave-one-out"
"$akin" eval --model "$out/model.safetensors" "$out/fashion-mnist/test"

"$akin" embed --model "$out/model.safetensors" --out "$out/gallery.akin" --overwrite "$out/fashion-mnist/test"
"$akin" index build --gallery "$out/gallery.akin" --kind hnsw
# The queries come from the training split, so the gallery (the test split) does not hold them: what
# a user's new photo is to a catalogue.
echo "== the 5 test images most similar to three training images the gallery does not hold"
"$akin" search --model "$out/model.safetensors" --gallery "$out/gallery.akin" -k 5 \
  "$out/fashion-mnist/train/Sneaker/00006.png" "$out/fashion-mnist/train/Bag/00023.png" "$out/fashion-mnist/train/Dress/00003.png"
