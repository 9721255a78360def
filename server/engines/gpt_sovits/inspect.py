"""``voxguard gpt-sovits inspect``: what an operator's model folder holds, before serving it.

Reads every file the way the engine will (so a damaged file fails here with the same
one-line message), and reports the variant, each file with its size and parameter count,
and the config values that decide the architecture. Offline: no server, no tenant data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.engines.gpt_sovits.checkpoints import (
    SovitsCheckpoint,
    T2SCheckpoint,
    check_pair,
    load_sovits_checkpoint,
    load_t2s_checkpoint,
)
from server.engines.gpt_sovits.layout import HF_WEIGHTS, resolve_model_files
from server.errors import ModelFilesError

_T2S_MODEL_KEYS = ("embedding_dim", "hidden_dim", "head", "linear_units", "n_layer",
                   "vocab_size", "phoneme_vocab_size", "EOS", "dropout")
_SOVITS_DATA_KEYS = ("sampling_rate", "filter_length", "hop_length", "win_length", "n_speakers")
_SOVITS_MODEL_KEYS = ("inter_channels", "hidden_channels", "filter_channels", "n_heads",
                      "n_layers", "kernel_size", "resblock", "resblock_kernel_sizes",
                      "upsample_rates", "upsample_initial_channel", "upsample_kernel_sizes",
                      "gin_channels", "semantic_frame_rate")
_HUBERT_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "num_conv_pos_embeddings", "feat_extract_norm")
_BERT_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
              "vocab_size")


@dataclass(frozen=True)
class FileReport:
    """One file (or Hugging Face folder) of the model folder."""

    role: str
    path: Path
    bytes: int
    parameters: int | None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InspectReport:
    """What ``inspect`` found."""

    models_dir: Path
    variant: str
    files: tuple[FileReport, ...]

    def format(self) -> str:
        """Lines for a person: the variant, then each file with its config values."""
        lines = [f"GPT-SoVITS model folder {self.models_dir}", f"variant: {self.variant}"]
        for item in self.files:
            params = f", {item.parameters:,} parameters" if item.parameters is not None else ""
            lines.append(f"{item.role}: {_shown(self.models_dir, item.path)} "
                         f"({item.bytes:,} bytes{params})")
            lines.extend(f"    {key} = {json.dumps(value)}" for key, value in item.config.items())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The same facts as plain JSON values (for ``--json``)."""
        return {"models_dir": str(self.models_dir), "variant": self.variant,
                "files": [{"role": f.role, "path": str(f.path), "bytes": f.bytes,
                           "parameters": f.parameters, "config": f.config} for f in self.files]}


def inspect_models(models_dir: Path, variant: str | None = None,
                   gpt_weights: Path | None = None,
                   sovits_weights: Path | None = None) -> InspectReport:
    """Resolve and read every file of the folder (raises ModelFilesError like the engine)."""
    files = resolve_model_files(Path(models_dir), variant=variant, gpt_weights=gpt_weights,
                                sovits_weights=sovits_weights)
    t2s = load_t2s_checkpoint(files.t2s)
    sovits = load_sovits_checkpoint(files.sovits)
    check_pair(t2s, sovits)
    reports = [_t2s_report(t2s), _sovits_report(sovits)]
    del t2s, sovits  # hundreds of MB at full size; the HF models come next
    if files.sv is not None:
        reports.append(_sv_report(files.sv))
    reports.append(_hubert_report(files.hubert_dir))
    reports.append(_bert_report(files.bert_dir))
    if files.g2pw_dir is not None:
        reports.append(FileReport("G2PW (Mandarin polyphones)", files.g2pw_dir,
                                  _size(files.g2pw_dir), None))
    return InspectReport(Path(models_dir), files.variant, tuple(reports))


def _pick(source: Mapping[str, Any], keys: Iterable[str], prefix: str = "") -> dict[str, Any]:
    return {prefix + k: source[k] for k in keys if k in source}


def _t2s_report(ckpt: T2SCheckpoint) -> FileReport:
    config = ckpt.config
    values = {"info": ckpt.info} if ckpt.info else {}
    values |= _pick(config.get("model", {}), _T2S_MODEL_KEYS)
    values |= _pick(config.get("data", {}), ("max_sec", "hz"), "data.")
    return FileReport("T2S (GPT)", ckpt.path, _size(ckpt.path), ckpt.parameters, values)


def _sovits_report(ckpt: SovitsCheckpoint) -> FileReport:
    config = ckpt.config
    values: dict[str, Any] = {"version": ckpt.version}
    if ckpt.info:
        values["info"] = ckpt.info
    values |= _pick(config.get("data", {}), _SOVITS_DATA_KEYS)
    values |= _pick(config.get("train", {}), ("segment_size",))
    values |= _pick(config.get("model", {}), _SOVITS_MODEL_KEYS)
    return FileReport("SoVITS", ckpt.path, _size(ckpt.path), ckpt.parameters, values)


def _sv_report(path: Path) -> FileReport:
    from server.engines.gpt_sovits.speaker_verification import Eres2NetEncoder

    encoder = Eres2NetEncoder.load(path)
    parameters = sum(t.numel() for t in encoder.model.state_dict().values())
    return FileReport("speaker verification (ERes2NetV2)", path, _size(path), parameters,
                      {"embedding_dim": 20480})


def _hubert_report(folder: Path) -> FileReport:
    from server.engines.gpt_sovits.hubert import HubertFeatures

    hubert = HubertFeatures.load(folder)  # refuses missing weights, checks the width
    parameters = sum(t.numel() for t in hubert.model.state_dict().values())
    return FileReport("HuBERT", folder, _size(folder), parameters,
                      _pick(_read_config(folder), _HUBERT_KEYS))


def _bert_report(folder: Path) -> FileReport:
    config = _read_config(folder)
    state = _hf_state_shapes(folder)
    _check_bert_weights(folder, state)
    values = _pick(config, _BERT_KEYS)
    vocab = folder / "vocab.txt"
    if vocab.is_file():
        values["vocab.txt tokens"] = sum(1 for _ in vocab.open(encoding="utf-8"))
    values["tokenizer"] = ", ".join(name for name in ("vocab.txt", "tokenizer.json",
                                                      "tokenizer_config.json")
                                    if (folder / name).is_file())
    parameters = sum(_numel(shape) for shape in state.values())
    return FileReport("BERT", folder, _size(folder), parameters, values)


def _read_config(folder: Path) -> dict[str, Any]:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFilesError(
            f"{folder}/config.json cannot be read ({exc}); download the folder again"
        ) from exc
    if not isinstance(config, dict):
        raise ModelFilesError(f"{folder}/config.json is not a JSON object; download it again")
    return config


def _hf_state_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    """Weight names and shapes of a Hugging Face folder, without reading the values."""
    weights = next(folder / n for n in HF_WEIGHTS if (folder / n).is_file())
    try:
        if weights.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(weights), framework="pt") as f:
                return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
        import torch

        state = torch.load(weights, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch/safetensors raise many types for damaged files
        raise ModelFilesError(
            f"{weights} cannot be read ({type(exc).__name__}); download it again"
        ) from exc
    return {str(k): tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}


def _check_bert_weights(folder: Path, state: Mapping[str, tuple[int, ...]]) -> None:
    """Every weight the engine's BertModel needs is in the file, with its shape.

    ``transformers`` would silently initialise a missing one at random.
    """
    import torch
    from transformers import BertConfig, BertModel

    with torch.device("meta"):
        model = BertModel(BertConfig.from_pretrained(str(folder)), add_pooling_layer=False)
    problems = []
    for key, tensor in model.state_dict().items():
        shape = state.get(f"bert.{key}", state.get(key))
        if shape is None or shape != tuple(tensor.shape):
            problems.append(key)
    if problems:
        raise ModelFilesError(
            f"BERT model in {folder} lacks {len(problems)} weight(s) or has them in another "
            f"shape ({problems[0]}, ...); use the official chinese-roberta-wwm-ext-large folder"
        )


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _shown(folder: Path, path: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)

