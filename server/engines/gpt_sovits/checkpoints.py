"""Reading the official GPT-SoVITS checkpoint files, unchanged and safely.

- **T2S** (``*.ckpt``): a torch zip ``{"weight": {"model.<key>": fp16}, "config": dict,
  "info": str}`` whose zip root folder is a unix time (``1723456789.011/``), not
  ``archive/``; torch reads it either way.
- **SoVITS** (``*.pth``): ``{"weight": {key: fp16}, "config": hps, "info": str}``. ``hps``
  is a pickled ``utils.HParams`` of the official training code (or a plain dict). Files
  the official trainer tags (v2Pro, v2ProPlus, ...) start with two ASCII digits naming the
  model version (``05``, ``06``) instead of the zip magic ``PK``; v2 files are plain zips.

Operators load files from the internet, so loading never executes code: ``torch.load``
runs with ``weights_only=True`` and one extra allowed global, ``utils.HParams``, mapped to
a harmless stand-in. Any other global (a function, another class) is refused with an error
naming it, as are truncated, foreign and mislabelled files. Every problem is one
:class:`~server.errors.ModelFilesError` line that names the file and says what to do.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from server.errors import ModelFilesError

SUPPORTED_SOVITS = ("v2", "v2Pro", "v2ProPlus")
PRO_VERSIONS = ("v2Pro", "v2ProPlus")
#: First two bytes of tagged SoVITS files -> model version (the official trainer's table).
HEADER_VERSIONS: dict[bytes, str] = {
    b"00": "v1", b"01": "v2", b"02": "v3", b"03": "v3 LoRA", b"04": "v4 LoRA",
    b"05": "v2Pro", b"06": "v2ProPlus",
}
#: Rows of the SoVITS text embedding: v1 has its own smaller phone table.
V1_PHONE_ROWS = 322
#: v2ProPlus's decoder starts with a wider first upsampling kernel than v2Pro's (20 vs 16);
#: the two share every other structural feature, including the speaker-embedding layers.
PROPLUS_FIRST_UPSAMPLE_KERNEL = 20
_ZIP_MAGIC = b"PK"
_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


class HParams:
    """Stand-in for the official ``utils.HParams`` (an attribute bag) while unpickling.

    It only receives the pickled attribute dict; it has no behaviour a file could trigger.
    """

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self.__dict__.update(state)

    def to_dict(self) -> dict[str, Any]:
        """The attributes as nested plain dicts."""
        return {k: _plain(v) for k, v in vars(self).items()}


def _plain(value: Any) -> Any:
    if isinstance(value, HParams):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class T2SCheckpoint:
    """A text-to-semantic model: its config and weights (keys without ``model.``).

    Floating-point weights are float32 (they are fp16 on disk).
    """

    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    path: Path
    info: str = ""  # the trainer's note, e.g. "GPT-e15"

    @property
    def parameters(self) -> int:
        """Number of weight values."""
        return sum(t.numel() for t in self.state_dict.values())


@dataclass(frozen=True)
class SovitsCheckpoint:
    """A SoVITS model: its hps as nested plain dicts, float32 weights and its version.

    ``config`` is kept as written; its ``model.version`` is not trusted (``version`` is).
    """

    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    version: str
    path: Path
    info: str = ""  # the trainer's note, e.g. "8epoch_2333iteration"

    @property
    def parameters(self) -> int:
        """Number of weight values."""
        return sum(t.numel() for t in self.state_dict.values())


class _ZipMagicRestored(io.RawIOBase):
    """A read-only view of a tagged file with its first two bytes put back to ``PK``.

    Streaming through this view avoids holding a patched copy of a file of hundreds of MB.
    """

    def __init__(self, raw: io.RawIOBase) -> None:
        super().__init__()
        self._raw = raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer: Any) -> int:
        start = self._raw.tell()
        count = self._raw.readinto(buffer) or 0
        if start < len(_ZIP_MAGIC) and count:
            end = min(count, len(_ZIP_MAGIC) - start)
            memoryview(buffer).cast("B")[:end] = _ZIP_MAGIC[start:start + end]
        return count


def read_header(path: Path, what: str) -> bytes:
    """The first two bytes of ``path`` (``PK`` or a version tag); clear errors otherwise."""
    try:
        with open(path, "rb") as f:
            header = f.read(4)[:2]
    except FileNotFoundError as exc:
        raise ModelFilesError(f"{what} file {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise ModelFilesError(f"{what} file {path} is a folder, not a checkpoint file") from exc
    except OSError as exc:
        raise ModelFilesError(f"{what} file {path} cannot be read: {exc.strerror}") from exc
    if len(header) < 2:
        raise ModelFilesError(f"{what} file {path} is empty or truncated; download it again")
    if header != _ZIP_MAGIC and header not in HEADER_VERSIONS:
        raise ModelFilesError(
            f"{what} file {path} is not a PyTorch checkpoint (it starts with {header!r}); "
            "give the official file"
        )
    return header


def _load_document(path: Path, what: str) -> Any:
    """Unpickle the checkpoint with ``weights_only`` and the HParams stand-in."""
    with open(path, "rb", buffering=0) as raw:
        stream = io.BufferedReader(_ZipMagicRestored(raw), buffer_size=1 << 20)
        try:
            with zipfile.ZipFile(stream) as archive:
                names = archive.namelist()
                damaged = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ModelFilesError(
                f"{what} file {path} is truncated or damaged (not a readable zip); "
                "download it again"
            ) from exc
        if damaged is not None:
            raise ModelFilesError(
                f"{what} file {path} is damaged ({damaged} fails its checksum); download it again"
            )
        if not any(name.endswith("/data.pkl") for name in names):
            raise ModelFilesError(
                f"{what} file {path} is a zip but not a PyTorch checkpoint; give the official file"
            )
        stream.seek(0)
        try:
            with torch.serialization.safe_globals([(HParams, "utils.HParams")]):
                return torch.load(stream, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ...
            refused = _REFUSED_GLOBAL.search(str(exc))
            if refused:
                raise ModelFilesError(
                    f"{what} file {path} refused: it references {refused.group(1)}, which a "
                    "weights file never needs (loading it could run code); use the official file"
                ) from exc
            raise ModelFilesError(
                f"{what} file {path} could not be read ({type(exc).__name__}); it is damaged or "
                "not a GPT-SoVITS checkpoint; download it again"
            ) from exc


def _weight_table(document: Any, path: Path, what: str) -> Mapping[str, Any]:
    if isinstance(document, Mapping) and isinstance(document.get("weight"), Mapping):
        return document["weight"]
    keys = set(document) if isinstance(document, Mapping) else set()
    if {"model", "optimizer"} <= keys or {"state_dict", "optimizer_states"} <= keys:
        hint = "a training checkpoint (with optimizer state); use the weights the trainer exports"
    elif keys and all(isinstance(v, torch.Tensor) for v in document.values()):
        hint = "a bare state dict (HuBERT, BERT or speaker-verification weights?)"
    else:
        hint = "it has no 'weight' table"
    raise ModelFilesError(f"{what} file {path} is not a GPT-SoVITS {what} checkpoint: {hint}")


def _float32(table: Mapping[str, Any], prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of ``table`` whose key starts with ``prefix`` (removed), floats upcast.

    Entries are dropped from ``table`` as they are converted, so the fp16 originals can be
    freed one by one instead of living next to the float32 copy.
    """
    out: dict[str, torch.Tensor] = {}
    for key in [k for k in table if str(k).startswith(prefix)]:
        value = table.pop(key) if isinstance(table, dict) else table[key]
        if isinstance(value, torch.Tensor):
            out[str(key)[len(prefix):]] = value.float() if value.is_floating_point() else value
    return out


def load_t2s_checkpoint(path: Path) -> T2SCheckpoint:
    """Read an official T2S (GPT) checkpoint; floating-point weights become float32."""
    path = Path(path)
    what = "GPT (T2S)"
    if read_header(path, what) != _ZIP_MAGIC:
        raise ModelFilesError(
            f"{what} file {path} is a tagged SoVITS file, not a T2S checkpoint; give the .ckpt "
            "of the GPT model"
        )
    document = _load_document(path, what)
    table = _weight_table(document, path, what)
    config = document.get("config")
    if not any(str(k).startswith("model.") for k in table):
        raise ModelFilesError(
            f"{what} file {path} has no 'model.*' weights: it is not a T2S checkpoint (a SoVITS "
            ".pth given as GPT weights?)"
        )
    if not isinstance(config, Mapping) or not isinstance(config.get("model"), Mapping):
        raise ModelFilesError(f"{what} file {path} has no model config; use the official file")
    state = _float32(table, "model.")
    if not state:
        raise ModelFilesError(f"{what} file {path} holds no weights; download it again")
    return T2SCheckpoint(config=_plain(config), state_dict=state, path=path,
                         info=str(document.get("info", "")))


def load_sovits_checkpoint(path: Path) -> SovitsCheckpoint:
    """Read an official SoVITS checkpoint; floating-point weights become float32.

    The version comes from the header tag when there is one, otherwise from the weights
    (see :func:`detect_sovits_version`).
    """
    path = Path(path)
    what = "SoVITS"
    tagged = HEADER_VERSIONS.get(read_header(path, what))
    if tagged is not None and tagged not in SUPPORTED_SOVITS:
        raise _unsupported(path, tagged)
    document = _load_document(path, what)
    table = _weight_table(document, path, what)
    if any(str(k).startswith("model.") for k in table):
        raise ModelFilesError(
            f"{what} file {path} is a GPT (T2S) checkpoint; give the .pth of the SoVITS model"
        )
    config = _plain(document.get("config"))
    if not isinstance(config, dict) or not isinstance(config.get("model"), Mapping):
        raise ModelFilesError(f"{what} file {path} has no model config; use the official file")
    state = _float32(table)
    if not state:
        raise ModelFilesError(f"{what} file {path} holds no weights; download it again")
    version = detect_sovits_version(state, config, tagged, path)
    return SovitsCheckpoint(config=config, state_dict=state, version=version, path=path,
                            info=str(document.get("info", "")))


def detect_sovits_version(state: Mapping[str, torch.Tensor], config: Mapping[str, Any],
                          tagged: str | None, path: Path) -> str:
    """The model version of a SoVITS file: ``v2``, ``v2Pro`` or ``v2ProPlus``.

    The weights decide the family: the Pro models alone have the speaker-embedding
    projection (``sv_emb``, with ``prelu`` and ``ge_to512``), v1 has a 322-row phone table
    and v3/v4 have no text embedding at all. Within the Pro family the header tag wins,
    then the config's ``model.version``, then the decoder (v2ProPlus's first upsampling
    kernel is 20 wide). A tag that contradicts the weights (a Pro tag on weights without
    ``sv_emb``) is refused: the model could not be built from them. The official loader
    instead guesses untagged files' versions from their size and would run an untagged
    Pro file as v2; the weights are the better witness.
    """
    embedding = state.get("enc_p.text_embedding.weight")
    if embedding is None:
        raise ModelFilesError(
            f"SoVITS file {path} has no text embedding: it is a GPT-SoVITS v3/v4 model or not "
            "a SoVITS file; use v2, v2Pro or v2ProPlus weights"
        )
    if embedding.shape[0] == V1_PHONE_ROWS:
        raise _unsupported(path, "v1")
    has_sv = "sv_emb.weight" in state
    if tagged in PRO_VERSIONS and not has_sv:
        raise ModelFilesError(
            f"SoVITS file {path} is tagged {tagged} but lacks the speaker-embedding layers "
            "(sv_emb); it is damaged or mislabelled; download it again"
        )
    if not has_sv:
        return "v2"
    if tagged in PRO_VERSIONS:
        return tagged
    declared = str(config.get("model", {}).get("version", ""))
    if declared in PRO_VERSIONS:
        return declared
    first_up = state.get("dec.ups.0.weight_v", state.get("dec.ups.0.weight"))
    wide = first_up is not None and first_up.shape[-1] == PROPLUS_FIRST_UPSAMPLE_KERNEL
    return "v2ProPlus" if wide else "v2Pro"


def _unsupported(path: Path, version: str) -> ModelFilesError:
    return ModelFilesError(
        f"SoVITS file {path} is a GPT-SoVITS {version} model, which voxguard does not run; "
        "use v2, v2Pro or v2ProPlus weights"
    )


def sovits_version(path: Path) -> str:
    """The version of a SoVITS file, reading only its header when it is tagged."""
    tagged = HEADER_VERSIONS.get(read_header(Path(path), "SoVITS"))
    if tagged in PRO_VERSIONS:
        return tagged
    return load_sovits_checkpoint(Path(path)).version


def check_pair(t2s: T2SCheckpoint, sovits: SovitsCheckpoint) -> None:
    """Refuse a T2S/SoVITS pair that cannot work together.

    The two models meet at two tables only: the phone symbols (T2S input, SoVITS text
    encoder) and the semantic tokens (T2S output minus its EOS token, SoVITS codebook).
    Their sizes must agree. Nothing else is shared: the T2S embedding width is its own
    business, and the official code loads any T2S with any SoVITS. So a v2 T2S
    (``s1bert25hz...ckpt``) with a v2Pro SoVITS, or ``s1v3.ckpt`` with v2, is accepted:
    both T2S generations use the same 732 phones and 1024 semantic tokens.
    """
    model = t2s.config.get("model", {})
    t2s_phones = _rows(t2s.state_dict.get("ar_text_embedding.word_embeddings.weight"))
    t2s_phones = t2s_phones or int(model.get("phoneme_vocab_size", 0))
    sovits_phones = _rows(sovits.state_dict.get("enc_p.text_embedding.weight"))
    if t2s_phones and sovits_phones and t2s_phones != sovits_phones:
        raise ModelFilesError(
            f"GPT file {t2s.path.name} ({t2s_phones} phone symbols) and SoVITS file "
            f"{sovits.path.name} ({sovits_phones} phone symbols) do not belong together; use a "
            "T2S and SoVITS pair of the same GPT-SoVITS version"
        )
    t2s_vocab = _rows(t2s.state_dict.get("ar_audio_embedding.word_embeddings.weight"))
    t2s_vocab = t2s_vocab or int(model.get("vocab_size", 0))
    codebook = next((v for k, v in sovits.state_dict.items() if k.endswith("_codebook.embed")),
                    None)
    codes = int(codebook.shape[-2]) if codebook is not None and codebook.dim() >= 2 else 0
    if t2s_vocab and codes and t2s_vocab != codes + 1:
        raise ModelFilesError(
            f"GPT file {t2s.path.name} ({t2s_vocab - 1} semantic tokens + EOS) and SoVITS file "
            f"{sovits.path.name} (codebook of {codes}) do not belong together; use a T2S and "
            "SoVITS pair of the same GPT-SoVITS version"
        )


def _rows(tensor: torch.Tensor | None) -> int:
    return int(tensor.shape[0]) if tensor is not None and tensor.dim() >= 1 else 0
