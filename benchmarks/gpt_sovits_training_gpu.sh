#!/usr/bin/env bash
# GPT-SoVITS fine-tuning on a GPU, as one prepared run for a lent device machine
# (see docs/benchmarks.md, "GPT-SoVITS fine-tuning").
#
#   bash benchmarks/gpt_sovits_training_gpu.sh [OUT_DIR] [CORPUS]
#
# Needs a CUDA build of torch in .venv (the CPU wheel of `make setup` cannot see the GPU) and
# the team corpus. Generates full-size random v2Pro weights with the training files (about
# 1.7 GB, 25 s), then runs a whole fine-tune (60 s of one speaker; s2 8 epochs, s1 15 epochs,
# the official batch-size rule) on cuda:0, writing JSON to OUT_DIR. voxguard trains in fp32 on
# every device (the official CUDA runs use fp16 mixed precision): compare with that in mind.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-${OUT:-/tmp/gsv-train-gpu}}"
CORPUS="${2:-../shared/corpus}"
MODELS="$(mktemp -d)/full-v2Pro"
mkdir -p "$OUT"
.venv/bin/python -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" || true
.venv/bin/python tools/gpt_sovits_random_models.py --variant v2Pro --size full --seed 7 \
  --training --out "$MODELS" > /dev/null
.venv/bin/python benchmarks/gpt_sovits_training.py finetune --models "$MODELS" --variant v2Pro \
  --corpus "$CORPUS" --device cuda:0 --threads 4 --out "$OUT/gpt_sovits_training_finetune_cuda.json"
