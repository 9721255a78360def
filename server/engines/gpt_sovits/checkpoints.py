"""Reading the official GPT-SoVITS checkpoint files, unchanged and safely.

- **T2S** (``*.ckpt``): a torch zip ``{"weight": {"model.<key>": fp16}, "config": dict,
  "info": str}`` whose zip root folder is a unix time (``1723456789.011/``), not
  ``archive/``; torch reads it either way.
- **SoVITS** (``*.pth``): ``{"weight": {key: fp16}, "config": hps, "info": str}``. ``hps``
  is a pickled ``utils.HParams`` of the official training code (or a plain dict). v2Pro and
  v2ProPlus files start with the bytes ``05``/``06`` instead of the zip magic ``PK``.

Operators load files from the internet, so loading never executes code: ``torch.load``
runs with ``weights_only=True`` and one extra allowed global, ``utils.HParams``, mapped to
a harmless stand-in. Anything else (a pickled function, another class) is refused with a
clear error, as are truncated and foreign files.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from server.errors import ModelFilesError

#: First two bytes of the files the official ``my_save2`` writes, by model version.
_HEADER_VERSIONS = {b"05": "v2Pro", b"06": "v2ProPlus", b"03": "v3", b"04": "v4"}
SUPPORTED_SOVITS = ("v2", "v2Pro", "v2ProPlus")


class HParams:
    """Stand-in for the official ``utils.HParams`` (attribute bag) while unpickling."""

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self.__dict__.update(state)

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dicts."""
        return {k: v.to_dict() if isinstance(v, HParams) else v for k, v in vars(self).items()}


@dataclass(frozen=True)
class T2SCheckpoint:
    """A text-to-semantic model: its config and float32 weights (keys without ``model.``)."""

    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    path: Path

    @property
    def parameters(self) -> int:
        """Number of weight values."""
        return sum(t.numel() for t in self.state_dict.values())


@dataclass(frozen=True)
class SovitsCheckpoint:
    """A SoVITS model: its hps as nested dicts, float32 weights and its version."""

    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    version: str
    path: Path

    @property
    def parameters(self) -> int:
        """Number of weight values."""
        return sum(t.numel() for t in self.state_dict.values())


def _read(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelFilesError(f"{what} file {path} does not exist") from exc
    except OSError as exc:
        raise ModelFilesError(f"{what} file {path} cannot be read: {exc.strerror}") from exc
    if len(data) < 4:
        raise ModelFilesError(f"{what} file {path} is empty or truncated; download it again")
    return data


def _load(data: bytes, path: Path, what: str) -> Any:
    """``torch.load`` with ``weights_only`` and the HParams stand-in; clear errors."""
    try:
        zipfile.ZipFile(io.BytesIO(data)).testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelFilesError(
            f"{what} file {path} is truncated or not a PyTorch checkpoint; download it again"
        ) from exc
    try:
        with torch.serialization.safe_globals([(HParams, "utils.HParams")]):
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ...
        raise ModelFilesError(
            f"{what} file {path} could not be loaded safely ({type(exc).__name__}): it holds "
            "more than weights and a config, or is damaged; use the official file"
        ) from exc


def _weights(document: Any, path: Path, what: str) -> tuple[dict[str, torch.Tensor], Any]:
    if not isinstance(document, dict) or not isinstance(document.get("weight"), Mapping):
        raise ModelFilesError(
            f"{what} file {path} is not a GPT-SoVITS {what} checkpoint (no 'weight' table)"
        )
    tensors = {str(k): v for k, v in document["weight"].items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ModelFilesError(f"{what} file {path} holds no weights")
    return tensors, document.get("config")


def load_t2s_checkpoint(path: Path) -> T2SCheckpoint:
    """Read an official T2S (GPT) checkpoint; weights become float32."""
    path = Path(path)
    data = _read(path, "GPT (T2S)")
    if data[:2] != b"PK":
        raise ModelFilesError(
            f"GPT (T2S) file {path} is not a T2S checkpoint (it looks like a SoVITS file); "
            "give the .ckpt of the GPT model"
        )
    tensors, config = _weights(_load(data, path, "GPT (T2S)"), path, "GPT (T2S)")
    if not isinstance(config, Mapping) or "model" not in config:
        raise ModelFilesError(f"GPT (T2S) file {path} has no model config; use the official file")
    if not any(k.startswith("model.") for k in tensors):
        raise ModelFilesError(
            f"GPT (T2S) file {path} has no 'model.*' weights: it is not a T2S checkpoint "
            "(a SoVITS file given as GPT?)"
        )
    state = {k[len("model."):]: v.float() for k, v in tensors.items() if k.startswith("model.")}
    return T2SCheckpoint(config=dict(config), state_dict=state, path=path)


def load_sovits_checkpoint(path: Path) -> SovitsCheckpoint:
    """Read an official SoVITS checkpoint; weights become float32; version detected."""
    path = Path(path)
    data = _read(path, "SoVITS")
    header = data[:2]
    version = _HEADER_VERSIONS.get(header)
    if header != b"PK" and version is None:
        raise ModelFilesError(f"SoVITS file {path} is not a PyTorch checkpoint; download it again")
    if version in ("v3", "v4"):
        raise ModelFilesError(
            f"SoVITS file {path} is a GPT-SoVITS {version} model, which voxguard does not run; "
            "use v2, v2Pro or v2ProPlus weights"
        )
    document = _load(b"PK" + data[2:], path, "SoVITS")
    tensors, config = _weights(document, path, "SoVITS")
    if any(k.startswith("model.") for k in tensors):
        raise ModelFilesError(
            f"SoVITS file {path} is a GPT (T2S) checkpoint; give the .pth of the SoVITS model"
        )
    if isinstance(config, HParams):
        config = config.to_dict()
    if not isinstance(config, Mapping) or "model" not in config:
        raise ModelFilesError(f"SoVITS file {path} has no model config; use the official file")
    version = version or _version_from_weights(tensors, config)
    if version not in SUPPORTED_SOVITS:
        raise ModelFilesError(
            f"SoVITS file {path} is a GPT-SoVITS {version} model, which voxguard does not run; "
            "use v2, v2Pro or v2ProPlus weights"
        )
    state = {k: v.float() for k, v in tensors.items()}
    return SovitsCheckpoint(config=dict(config), state_dict=state, version=version, path=path)


def _version_from_weights(tensors: Mapping[str, torch.Tensor], config: Mapping[str, Any]) -> str:
    """The version of a plain-zip SoVITS file (fine-tuned files may lack the header)."""
    declared = str(config.get("model", {}).get("version", ""))
    if "sv_emb.weight" in tensors:
        return declared if declared in ("v2Pro", "v2ProPlus") else "v2Pro"
    embedding = tensors.get("enc_p.text_embedding.weight")
    if embedding is None:
        return declared or "unknown"
    return "v2" if embedding.shape[0] == 732 else "v1"


def check_pair(t2s: T2SCheckpoint, sovits: SovitsCheckpoint) -> None:
    """Refuse a T2S/SoVITS pair that cannot work together.

    The T2S model's phone table and semantic vocabulary must match the SoVITS model's text
    embedding and codebook: both come from the same generation of the official models. A
    v2 T2S with a v2Pro SoVITS (or the reverse) is accepted when those agree, since the
    official code loads any such pair.
    """
    model = t2s.config.get("model", {})
    phones = int(model.get("phoneme_vocab_size", 0))
    text_rows = sovits.state_dict.get("enc_p.text_embedding.weight")
    if text_rows is not None and phones and text_rows.shape[0] != phones:
        raise ModelFilesError(
            f"GPT file {t2s.path.name} ({phones} phone symbols) and SoVITS file "
            f"{sovits.path.name} ({text_rows.shape[0]} symbols) do not belong together; use a "
            "T2S and SoVITS pair of the same GPT-SoVITS version"
        )
    codebook = next((v for k, v in sovits.state_dict.items() if k.endswith("_codebook.embed")), None)
    vocab = int(model.get("vocab_size", 0))
    if codebook is not None and vocab and codebook.shape[-2] + 1 != vocab:
        raise ModelFilesError(
            f"GPT file {t2s.path.name} (vocabulary {vocab}) and SoVITS file {sovits.path.name} "
            f"(codebook {codebook.shape[-2]}) do not belong together"
        )
