# Sourced by the benchmark scripts that compare with Python tools: makes sure the cached virtual
# environment (AKIN_BENCH_VENV, default ~/.cache/akin-bench/venv) has PyTorch 2.15 and the packages
# a script needs, and sets $venv and $python.
#   source bench/venv.sh
#   bench_venv "import onnx, PIL" onnx==1.23.2 pillow     # a check, then what to install when it fails
bench_venv() {
  venv=${AKIN_BENCH_VENV:-$HOME/.cache/akin-bench/venv}
  python="$venv/bin/python"
  if ! "$python" -c "import torch" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch==2.15.0 numpy
  fi
  local check=$1
  shift
  [ $# -eq 0 ] || "$python" -c "$check" 2>/dev/null || "$venv/bin/pip" install -q "$@"
}
