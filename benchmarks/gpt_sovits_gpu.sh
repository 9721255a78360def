#!/usr/bin/env bash
# GPT-SoVITS on a GPU, as one prepared run for a lent device machine (see docs/benchmarks.md).
#
#   bash benchmarks/gpt_sovits_gpu.sh [OUT_DIR]
#
# Needs a CUDA build of torch in .venv (the CPU wheel of `make setup` cannot see the GPU:
# `pip install torch==2.13.0` from the CUDA index the machine offers, or the cached wheel).
# Generates full-size random v2Pro weights (about 1.4 GB, 20 s), then runs the load benchmark
# on cuda:0 in float16 at concurrency 1, 16 and 64 (one sentence), writing JSON to OUT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-${OUT:-/tmp/gsv-gpu}}"
MODELS="$(mktemp -d)/full-v2Pro"
mkdir -p "$OUT"
.venv/bin/python -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" || true
.venv/bin/python tools/gpt_sovits_random_models.py --variant v2Pro --size full --seed 3 --out "$MODELS"
for dtype in float16 float32; do
  .venv/bin/python benchmarks/gpt_sovits_load.py --models "$MODELS" --variant v2Pro \
    --device cuda:0 --dtype "$dtype" --concurrency 1 16 64 --texts one --serial-max 16 \
    --out "$OUT/gpt_sovits_load_cuda_$dtype.json"
done
