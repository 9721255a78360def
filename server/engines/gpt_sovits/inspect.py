"""``voxguard gpt-sovits inspect``: what an operator's model folder holds, before serving it.

Reads every file the way the engine will (so a damaged file fails here with the same
message), and reports the variant, each file with its size and parameter count, and the
config values that decide the architecture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.engines.gpt_sovits.checkpoints import (
    check_pair,
    load_sovits_checkpoint,
    load_t2s_checkpoint,
)
from server.engines.gpt_sovits.layout import resolve_model_files

_T2S_KEYS = ("embedding_dim", "hidden_dim", "head", "linear_units", "n_layer", "vocab_size",
             "phoneme_vocab_size", "EOS", "dropout")
_SOVITS_MODEL_KEYS = ("version", "inter_channels", "hidden_channels", "filter_channels",
                      "n_heads", "n_layers", "kernel_size", "upsample_rates",
                      "upsample_initial_channel", "upsample_kernel_sizes",
                      "resblock_kernel_sizes", "semantic_frame_rate", "gin_channels")
_SOVITS_DATA_KEYS = ("sampling_rate", "filter_length", "hop_length", "win_length")
_HF_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
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
        """Lines for a person."""
        lines = [f"GPT-SoVITS model folder {self.models_dir}", f"variant: {self.variant}"]
        for item in self.files:
            params = f", {item.parameters:,} parameters" if item.parameters is not None else ""
            lines.append(f"{item.role}: {item.path} ({item.bytes:,} bytes{params})")
            for key, value in item.config.items():
                lines.append(f"    {key} = {json.dumps(value)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {"models_dir": str(self.models_dir), "variant": self.variant,
                "files": [{"role": f.role, "path": str(f.path), "bytes": f.bytes,
                           "parameters": f.parameters, "config": f.config} for f in self.files]}


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _hf_folder(role: str, folder: Path) -> FileReport:
    config = json.loads((folder / "config.json").read_text())
    weights = next((folder / n for n in ("pytorch_model.bin", "model.safetensors")
                    if (folder / n).is_file()), None)
    parameters = None
    if weights is not None and weights.suffix == ".bin":
        import torch

        state = torch.load(weights, map_location="cpu", weights_only=True)
        parameters = sum(t.numel() for t in state.values() if hasattr(t, "numel"))
    return FileReport(role, folder, _size(folder), parameters,
                      {k: config[k] for k in _HF_KEYS if k in config})


def inspect_models(models_dir: Path, variant: str | None = None,
                   gpt_weights: Path | None = None,
                   sovits_weights: Path | None = None) -> InspectReport:
    """Resolve and read every file of the folder (raises ModelFilesError like the engine)."""
    files = resolve_model_files(Path(models_dir), variant=variant, gpt_weights=gpt_weights,
                                sovits_weights=sovits_weights)
    t2s = load_t2s_checkpoint(files.t2s)
    sovits = load_sovits_checkpoint(files.sovits)
    check_pair(t2s, sovits)
    t2s_model = t2s.config.get("model", {})
    sovits_model = sovits.config.get("model", {})
    sovits_data = sovits.config.get("data", {})
    t2s_values = {k: t2s_model[k] for k in _T2S_KEYS if k in t2s_model}
    if "hz" in t2s.config.get("data", {}):
        t2s_values["hz"] = t2s.config["data"]["hz"]
    reports = [
        FileReport("T2S (GPT)", files.t2s, _size(files.t2s), t2s.parameters, t2s_values),
        FileReport("SoVITS", files.sovits, _size(files.sovits), sovits.parameters,
                   {"detected_version": sovits.version}
                   | {k: sovits_model[k] for k in _SOVITS_MODEL_KEYS if k in sovits_model}
                   | {k: sovits_data[k] for k in _SOVITS_DATA_KEYS if k in sovits_data}),
    ]
    if files.sv is not None:
        from server.engines.gpt_sovits.speaker_verification import SpeakerEncoder

        encoder = SpeakerEncoder.load(files.sv)
        parameters = sum(t.numel() for t in encoder.model.state_dict().values())
        reports.append(FileReport("speaker verification (ERes2NetV2)", files.sv,
                                  _size(files.sv), parameters, {"embedding": 20480}))
    reports.append(_hf_folder("HuBERT", files.hubert_dir))
    reports.append(_hf_folder("BERT", files.bert_dir))
    if files.g2pw_dir is not None:
        reports.append(FileReport("G2PW (polyphones)", files.g2pw_dir, _size(files.g2pw_dir),
                                  None))
    return InspectReport(Path(models_dir), files.variant, tuple(reports))
