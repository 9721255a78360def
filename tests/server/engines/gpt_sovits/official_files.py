"""Small GPT-SoVITS files in the official on-disk formats, for fast loader tests.

The formats (see ``server.engines.gpt_sovits.checkpoints``):

- T2S ``.ckpt`` and v2 SoVITS ``.pth``: a torch zip whose root folder is a unix time (the
  official trainer saves to ``<time.time()>.pth`` and moves the file);
- Pro SoVITS ``.pth``: saved to memory (root ``archive/``), first two bytes ``05``/``06``;
- SoVITS ``config``: an instance of the official ``utils.HParams``, pickled by the ordinary
  pickler under that name. ``HParams`` below is registered as module ``utils`` only while a
  file is written, so the bytes are what the official code writes.

Weights are tiny except where the official code fixes a size (732 phones, 1024 semantic
tokens, HuBERT width 768, the 20480-wide speaker embedding is shrunk: only its presence
matters to the loader).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

PHONES = 732
CODES = 1024
T2S_FILES = {
    "v2": "gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt",
    "v2Pro": "s1v3.ckpt",
    "v2ProPlus": "s1v3.ckpt",
}
SOVITS_FILES = {
    "v2": "gsv-v2final-pretrained/s2G2333k.pth",
    "v2Pro": "v2Pro/s2Gv2Pro.pth",
    "v2ProPlus": "v2Pro/s2Gv2ProPlus.pth",
}
SV_FILE = "sv/pretrained_eres2netv2w24s4ep4.ckpt"
HEADERS = {"v2Pro": b"05", "v2ProPlus": b"06"}


class HParams:
    """Same shape as the official ``utils.HParams``: nested dicts become HParams."""

    def __init__(self, **items: Any) -> None:
        for key, value in items.items():
            setattr(self, key, HParams(**value) if isinstance(value, dict) else value)


HParams.__module__ = "utils"


@contextlib.contextmanager
def _utils_module() -> Iterator[None]:
    """Make ``utils.HParams`` importable (as the pickler checks) while writing."""
    previous = sys.modules.get("utils")
    module = types.ModuleType("utils")
    module.HParams = HParams  # type: ignore[attr-defined]
    sys.modules["utils"] = module
    try:
        yield
    finally:
        if previous is None:
            del sys.modules["utils"]
        else:
            sys.modules["utils"] = previous


def save_official(obj: Any, path: Path, header: bytes = b"PK",
                  zip_root: str = "1723456789.011") -> None:
    """Write ``obj`` as the official savers do (unix-time root, or tagged ``archive/``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _utils_module():
        if header == b"PK":
            temporary = path.parent / f"{zip_root}.pth"  # torch names the root after the stem
            torch.save(obj, str(temporary))
            temporary.replace(path)
        else:
            buffer = io.BytesIO()
            torch.save(obj, buffer)
            path.write_bytes(header + buffer.getvalue()[2:])


def _randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape).half()


def t2s_document(dim: int = 8, layers: int = 1, phones: int = PHONES,
                 vocab: int = CODES + 1) -> dict[str, Any]:
    """A T2S checkpoint document: Lightning-style ``model.*`` fp16 weights and a config."""
    weight: dict[str, torch.Tensor] = {
        "model.bert_proj.weight": _randn(dim, 1024),
        "model.ar_text_embedding.word_embeddings.weight": _randn(phones, dim),
        "model.ar_audio_embedding.word_embeddings.weight": _randn(vocab, dim),
        "model.ar_predict_layer.weight": _randn(vocab, dim),
    }
    for layer in range(layers):
        weight[f"model.h.layers.{layer}.self_attn.in_proj_weight"] = _randn(3 * dim, dim)
    config = {
        "data": {"max_sec": 54, "pad_val": 1024},
        "model": {"vocab_size": vocab, "phoneme_vocab_size": phones, "embedding_dim": dim,
                  "hidden_dim": dim, "head": 2, "linear_units": 4 * dim, "n_layer": layers,
                  "dropout": 0, "EOS": vocab - 1},
    }
    return {"weight": weight, "config": config, "info": "GPT-e15"}


def sovits_hps(version: str) -> dict[str, Any]:
    """A SoVITS hps like the official ``s2*.json`` plus the webui's keys."""
    pro = version in HEADERS
    plus = version == "v2ProPlus"
    return {
        "train": {"segment_size": 20480, "fp16_run": True},
        "data": {"sampling_rate": 32000, "filter_length": 2048, "hop_length": 640,
                 "win_length": 2048, "n_speakers": 300},
        "model": {"inter_channels": 192, "hidden_channels": 192, "filter_channels": 8,
                  "n_heads": 2, "n_layers": 1, "kernel_size": 3, "resblock": "1",
                  "resblock_kernel_sizes": [3], "resblock_dilation_sizes": [[1, 3, 5]],
                  "upsample_rates": [10, 8, 2, 2, 2],
                  "upsample_initial_channel": 12 if plus else 8,
                  "upsample_kernel_sizes": [20 if plus else 16, 16, 8, 2, 2],
                  "gin_channels": 1024 if pro else 512, "semantic_frame_rate": "25hz",
                  "version": version},
    }


def sovits_weights(version: str, phones: int = PHONES, codes: int = CODES,
                   speaker_layers: bool | None = None) -> dict[str, torch.Tensor]:
    """SoVITS fp16 weights with the keys the loader looks at (``enc_q`` left out)."""
    plus = version == "v2ProPlus"
    channels, kernel = (12, 20) if plus else (8, 16)
    weight = {
        "enc_p.text_embedding.weight": _randn(phones, 4),
        "quantizer.vq.layers.0._codebook.embed": _randn(codes, 6),
        "quantizer.vq.layers.0._codebook.inited": torch.ones(1).half(),
        "dec.conv_pre.weight": _randn(channels, 4, 7),
        "dec.ups.0.weight_g": _randn(channels, 1, 1),
        "dec.ups.0.weight_v": _randn(channels, channels // 2, kernel),
        "ref_enc.fc.fc.weight": _randn(4, 4),
    }
    if speaker_layers if speaker_layers is not None else version in HEADERS:
        weight |= {"sv_emb.weight": _randn(8, 16), "sv_emb.bias": _randn(8),
                   "prelu.weight": _randn(8), "ge_to512.weight": _randn(4, 8)}
    return weight


def sovits_document(version: str, config_format: str = "hparams",
                    weight: Mapping[str, torch.Tensor] | None = None) -> dict[str, Any]:
    """A SoVITS checkpoint document with its hps as ``utils.HParams`` or a plain dict."""
    hps: Any = sovits_hps(version)
    if config_format == "hparams":
        hps = HParams(**hps)
    return {"weight": dict(weight if weight is not None else sovits_weights(version)),
            "config": hps, "info": "8epoch_2333iteration"}


def write_t2s(path: Path, **kwargs: Any) -> Path:
    """An official-format T2S file at ``path``."""
    save_official(t2s_document(**kwargs), path)
    return path


def write_sovits(path: Path, version: str, tagged: bool = True, **kwargs: Any) -> Path:
    """An official-format SoVITS file (Pro files tagged ``05``/``06`` unless ``tagged=False``)."""
    header = HEADERS.get(version, b"PK") if tagged else b"PK"
    save_official(sovits_document(version, **kwargs), path, header=header)
    return path


def write_hubert(folder: Path, hidden: int = 768, old_weight_norm_names: bool = True,
                 drop: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """A one-layer HuBERT folder saved like the distributed one (fp16, ``weight_g/_v``).

    Returns the saved state dict (fp16) for comparisons.
    """
    from transformers import HubertConfig, HubertModel

    config = HubertConfig(
        hidden_size=hidden, num_hidden_layers=1, num_attention_heads=4, intermediate_size=32,
        conv_dim=(16,) * 7, num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=16,
        feat_extract_norm="group", conv_bias=False, vocab_size=32,
    )
    torch.manual_seed(0)
    model = HubertModel(config).eval()
    state = {}
    for key, value in model.state_dict().items():
        if old_weight_norm_names:
            key = key.replace("parametrizations.weight.original0", "weight_g")
            key = key.replace("parametrizations.weight.original1", "weight_v")
        # Random non-default values everywhere, so a re-initialised weight would show.
        state[key] = (value + torch.randn_like(value) * 0.1).half()
    for key in drop:
        del state[key]
    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(folder)
    torch.save(state, folder / "pytorch_model.bin")
    return state


BERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "，", "。", "你", "好", "a", "b"]


def write_bert(folder: Path, drop: tuple[str, ...] = ()) -> None:
    """A tiny BertForMaskedLM folder (``bert.*`` + ``cls.*`` keys, fp16) with a vocab."""
    from transformers import BertConfig, BertForMaskedLM

    config = BertConfig(vocab_size=len(BERT_VOCAB), hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    torch.manual_seed(0)
    state = {k: v.half() for k, v in BertForMaskedLM(config).state_dict().items()
             if k not in drop}
    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(folder)
    torch.save(state, folder / "pytorch_model.bin")
    (folder / "vocab.txt").write_text("\n".join(BERT_VOCAB) + "\n", encoding="utf-8")


def write_placeholder_folder(root: Path, variants: tuple[str, ...] = ("v2",)) -> Path:
    """A model folder whose files exist but are empty (enough for layout resolution)."""
    for variant in variants:
        for name in (T2S_FILES[variant], SOVITS_FILES[variant],
                     *((SV_FILE,) if variant in HEADERS else ())):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).touch()
    for folder, files in (("chinese-hubert-base", ("config.json", "pytorch_model.bin")),
                          ("chinese-roberta-wwm-ext-large",
                           ("config.json", "pytorch_model.bin", "vocab.txt"))):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in files:
            (root / folder / name).write_text(json.dumps({}) if name.endswith(".json") else "")
    return root
