"""Deterministic random-weight GPT-SoVITS model folders in the official formats and layout.

Parity tests compare our engine with the official GPT-SoVITS on random weights. Weights cannot
be committed, so a test regenerates the exact folder the official outputs were computed on:

1. ``generate_models(variant, size, seed, out)`` writes the folder (same bytes on any machine
   with the same torch version);
2. the official reference is run on that folder once, outside CI, and its small outputs are
   committed;
3. CI regenerates the folder from the seed and compares our engine's outputs with them.

What a folder contains is data, not code: one schema per variant and size in
``tests/fixtures/gpt_sovits/schemas/`` (see ``schema``), extracted with
``tools/gpt_sovits_schema.py`` from folders whose structure the official loaders accept.

Sizes: ``full`` (official dimensions), ``tiny`` (small configurable dimensions) and ``micro``
(smaller still, for fast CI: ``MICRO`` below). Dimensions the official code hard-codes stay:
BERT hidden 1024, HuBERT hidden 768, SoVITS hidden 192, gin 512/1024, 1025 semantic tokens,
732 phones, the x640 upsampling and the whole ERes2NetV2 speaker net.

Provenance of the schemas: ``tiny`` and ``full`` were extracted from the reference harness's
``make-models`` folders, ``micro`` from folders the harness built the same way with its tiny
settings replaced by ``MICRO`` and its vocabulary by ``vocab.build_vocab("micro")``. The
harness builds them with the official model classes and savers and verifies each folder
through the official loaders (every tensor loaded, none left at a default). The experiment
name the harness puts into the configs was replaced by ``random-weights`` (``--replace``).
Generated micro folders also pass the official ``TTS.run`` (harness ``reference``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .folder import write_folder
from .schema import extract_schema, load_schema

VARIANTS = ("v2", "v2Pro", "v2ProPlus")
SIZES = ("micro", "tiny", "full")

# Where each file sits, relative to an official GPT_SoVITS/pretrained_models/ folder.
LAYOUT: dict[str, dict[str, str]] = {
    "v2": {
        "t2s": "gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt",
        "sovits": "gsv-v2final-pretrained/s2G2333k.pth",
    },
    "v2Pro": {
        "t2s": "s1v3.ckpt",
        "sovits": "v2Pro/s2Gv2Pro.pth",
        "sv": "sv/pretrained_eres2netv2w24s4ep4.ckpt",
    },
    "v2ProPlus": {
        "t2s": "s1v3.ckpt",
        "sovits": "v2Pro/s2Gv2ProPlus.pth",
        "sv": "sv/pretrained_eres2netv2w24s4ep4.ckpt",
    },
}
# The training files (``generate_models(..., training=True)``): the SoVITS generator with its
# posterior encoder, next to the inference file, and the pretrained discriminator.
TRAINING_LAYOUT: dict[str, dict[str, str]] = {
    "v2": {"s2G": "gsv-v2final-pretrained/s2G2333k.train.pth",
           "s2D": "gsv-v2final-pretrained/s2D2333k.pth"},
    "v2Pro": {"s2G": "v2Pro/s2Gv2Pro.train.pth", "s2D": "v2Pro/s2Dv2Pro.pth"},
}
HUBERT_DIR = "chinese-hubert-base"
BERT_DIR = "chinese-roberta-wwm-ext-large"

# The config values of the micro size (the rest as in the official configs). Recorded in the
# micro schemas; listed here for reference and checked by the tests.
MICRO: dict[str, dict[str, Any]] = {
    "t2s": {"embedding_dim": 64, "hidden_dim": 64, "head": 2, "n_layer": 2, "linear_units": 256},
    "sovits": {
        "filter_channels": 64,
        "n_layers": 2,
        "upsample_initial_channel": 64,
        "resblock_kernel_sizes": [3, 7],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
    },
    "sovits_v2ProPlus": {"upsample_initial_channel": 96},
    "hubert": {
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 256,
        "conv_dim": [32] * 7,
        "num_conv_pos_embeddings": 16,
    },
    # Three layers: the engine reads hidden_states[-3], the output of the first layer.
    "bert": {
        "num_hidden_layers": 3,
        "num_attention_heads": 2,
        "intermediate_size": 256,
        "vocab_size": 2729,
    },
}


def generate_models(
    variant: str, size: str, seed: int, out: Path, only: set[str] | None = None,
    training: bool = False,
) -> dict[str, str]:
    """Write the ``variant``/``size`` folder for ``seed`` under ``out``; relative path -> sha256.

    ``only`` restricts the output to some relative paths (each file is independent of the
    others, so a subset has the same bytes as in the whole folder). ``training`` adds the
    files fine-tuning starts from (``TRAINING_LAYOUT``); the others keep their bytes.
    """
    if variant not in VARIANTS or size not in SIZES:
        raise ValueError(f"unknown variant/size {variant!r}/{size!r}")
    schema = load_schema(variant, size)
    if training:
        extra = load_schema(variant, size, training=True)["files"]
        schema = {**schema, "files": {**schema["files"], **extra}}
    return write_folder(schema, seed, Path(out), only)


__all__ = [
    "BERT_DIR",
    "HUBERT_DIR",
    "LAYOUT",
    "MICRO",
    "SIZES",
    "TRAINING_LAYOUT",
    "VARIANTS",
    "extract_schema",
    "generate_models",
    "load_schema",
    "write_folder",
]
