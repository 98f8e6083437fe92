#!/usr/bin/env bash
# t-SNE speed: Akin's Barnes-Hut t-SNE against scikit-learn's, same 10,000 × 50 input (Fashion-MNIST
# test images reduced by PCA), same defaults (perplexity 30, 1000 iterations, PCA init, theta 0.5), in one run.
#   bench/tsne.sh     (AKIN_BENCH_THREADS=2, AKIN_BENCH_TSNE_N=10000)
# Needs Debian's dataset-fashion-mnist and scikit-learn in the cached venv (~/.cache/akin-bench/venv).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${AKIN_BENCH_VENV:-$HOME/.cache/akin-bench/venv}
threads=${AKIN_BENCH_THREADS:-2}
n=${AKIN_BENCH_TSNE_N:-10000}
d=50
if ! "$venv/bin/python" -c "import sklearn" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q scikit-learn numpy
fi
nice -n 10 swift build -c release --product akin-bench >&2  # no -j 1: another flag rebuilds every module
work=$(mktemp -d)
"$venv/bin/python" bench/sklearn_tsne.py prepare "$work/x.f32" "$n" "$d"
akin=$(.build/release/akin-bench tsne --input "$work/x.f32" --n "$n" --d "$d" --threads "$threads")
sklearn=$(OMP_NUM_THREADS=$threads "$venv/bin/python" bench/sklearn_tsne.py run "$work/x.f32" "$n" "$d")
echo "{\"akin\": $akin, \"sklearn\": $sklearn}"
"$venv/bin/python" - "$akin" "$sklearn" <<'PY'
import json, sys
a, s = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"t-SNE of {a['n']} points: Akin {a['seconds']:.1f} s ({a['cpu_seconds']:.1f} s of CPU), KL {a['kl_divergence']:.3f}; "
      f"scikit-learn {s['seconds']:.1f} s ({s['cpu_seconds']:.1f} s of CPU), KL {s['kl_divergence']:.3f}. "
      f"Akin / scikit-learn: {a['seconds'] / s['seconds']:.2f}x the time, {a['cpu_seconds'] / s['cpu_seconds']:.2f}x the CPU time. "
      f"10-NN class agreement in the map: Akin {s['akin_knn_agreement']:.3f}, scikit-learn {s['sklearn_knn_agreement']:.3f}")
PY
rm -rf "$work"
