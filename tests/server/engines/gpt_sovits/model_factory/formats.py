"""Reading and writing GPT-SoVITS checkpoint files in their official on-disk forms.

The forms (all torch zip archives with a pickled ``data.pkl``):

* zip root ``<unix-time>/`` -- what the official trainer's save helper produces for the GPT
  ``.ckpt`` and the v2 SoVITS ``.pth`` (it saves to a temporary ``<time.time()>.pth`` first, and
  torch names the root folder after the file). Ours uses a fixed, seed-derived timestamp.
* zip root ``archive/`` with the first two bytes replaced by ``05`` (v2Pro) or ``06``
  (v2ProPlus) instead of ``PK`` -- the Pro SoVITS files (saved to memory, then tagged).
* zip root named after the file (``pytorch_model/``, ``pretrained_eres2netv2w24s4ep4/``) -- a
  plain ``torch.save`` to the path (HF weights, speaker-verification net).

The SoVITS ``config`` is pickled as an instance of ``utils.HParams`` (the official trainer's
attribute-dict class). ``HParams`` below stands in for it: it is written under that global name
and read back (with ``weights_only`` loading) as this class, so no official code is needed.
"""

from __future__ import annotations

import io
import os
import pickle
import types
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

ZipRoot = Literal["unix-time", "archive", "stem"]
HPARAMS_GLOBAL = "utils.HParams"
PRO_HEADERS = {"v2Pro": b"05", "v2ProPlus": b"06"}


class HParams:
    """Attribute dict pickled as the official ``utils.HParams`` (NEWOBJ + BUILD of __dict__)."""

    def __init__(self, **items: Any) -> None:
        self.__dict__.update(items)

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __contains__(self, key: object) -> bool:
        return key in self.__dict__

    def items(self) -> Iterator[tuple[str, Any]]:
        return iter(self.__dict__.items())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HParams) and self.__dict__ == other.__dict__

    def __repr__(self) -> str:
        return f"HParams({self.__dict__!r})"


class _HParamsPickler(pickle._Pickler):  # type: ignore[name-defined]  # pure-Python pickler
    """Pickler that writes the ``HParams`` class as the global ``utils.HParams``.

    The C pickler insists that a global resolves to the same object on import, which a
    stand-in cannot; the Python pickler lets us emit the GLOBAL opcode directly.
    """

    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj is HParams:
            module, _, qualname = HPARAMS_GLOBAL.partition(".")
            self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode("ascii"))
            self.memoize(obj)
            return
        super().save_global(obj, name)


_HPARAMS_PICKLE = types.SimpleNamespace(Pickler=_HParamsPickler, __name__="pickle")


def _contains_hparams(obj: Any) -> bool:
    if isinstance(obj, HParams):
        return True
    if isinstance(obj, dict):
        return any(_contains_hparams(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_contains_hparams(v) for v in obj)
    return False


def _save(obj: Any, target: str | io.BytesIO) -> None:
    if _contains_hparams(obj):
        torch.save(obj, target, pickle_module=_HPARAMS_PICKLE)
    else:
        torch.save(obj, target)


def save_checkpoint(
    obj: Any, path: Path, zip_root: ZipRoot, header: bytes = b"PK", timestamp: str = ""
) -> None:
    """Write ``obj`` to ``path`` as a torch zip with the given root folder and leading bytes.

    ``timestamp`` names the root for ``unix-time`` (e.g. ``"1723456789.000007"``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if zip_root == "stem":
        if header != b"PK":
            raise ValueError("a tagged header needs the archive/ root")
        _save(obj, str(path))
    elif zip_root == "unix-time":
        if not timestamp or header != b"PK":
            raise ValueError("unix-time roots need a timestamp and a PK header")
        tmp = path.parent / f"{timestamp}.pth"  # torch names the zip root after the file stem
        _save(obj, str(tmp))
        os.replace(tmp, path)
    else:
        buffer = io.BytesIO()
        _save(obj, buffer)
        data = buffer.getvalue()
        path.write_bytes(header + data[2:])


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint file as read back: its object and the two format facts."""

    obj: Any
    header: bytes
    zip_root: str  # the literal root folder name inside the zip


def load_checkpoint(path: Path) -> LoadedCheckpoint:
    """Read any of the forms above with ``weights_only`` loading (no code runs from the file)."""
    with open(path, "rb") as f:
        header = f.read(2)
    if header == b"PK":
        source: str | io.BytesIO = str(path)
        with zipfile.ZipFile(path) as archive:
            root = archive.namelist()[0].split("/", 1)[0]
    else:
        data = b"PK" + path.read_bytes()[2:]
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            root = archive.namelist()[0].split("/", 1)[0]
        source = io.BytesIO(data)
    with torch.serialization.safe_globals([(HParams, HPARAMS_GLOBAL)]):
        obj = torch.load(source, map_location="cpu", weights_only=True, mmap=False)
    return LoadedCheckpoint(obj=obj, header=header, zip_root=root)


def classify_zip_root(root: str, path: Path) -> ZipRoot:
    """Name the root-folder convention of a file (see the module docstring)."""
    if root == "archive":
        return "archive"
    if root == path.stem:
        return "stem"
    if root.replace(".", "", 1).isdigit():
        return "unix-time"
    raise ValueError(f"{path}: unknown zip root folder {root!r}")
