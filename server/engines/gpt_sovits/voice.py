"""The GPT-SoVITS voice model: what enrollment keeps for synthesis, and its byte format.

A voice is the reference clip (16 kHz float32, 3-10 s), what it says, the phones of that
text, the clip's semantic prompt codes and, for v2Pro/v2ProPlus, its speaker embedding.
The audio and text are the voice; the codes and the embedding are derived from them by
the base models, so they are tagged with a fingerprint of those models and recomputed from
the clip when an operator changes models (:meth:`VoicePrompt.matches`).

Bytes: an ``.npz`` archive (``numpy.savez``) read back with ``allow_pickle=False``, so a
voice model can carry arrays and one JSON header and nothing executable. The platform
seals these bytes like every voice model (per-voice key, AES-256-GCM).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from server.errors import FailedPrecondition

FORMAT_VERSION = 1
REFERENCE_RATE = 16_000
#: The official reference limits: 3-10 s at 16 kHz.
MIN_REFERENCE_SAMPLES = 48_000
MAX_REFERENCE_SAMPLES = 160_000


@dataclass(frozen=True)
class VoicePrompt:
    """Everything synthesis needs about one enrolled voice."""

    language: str  # front-end code of the reference text: "en" or "zh"
    text: str  # what the reference clip says
    reference: np.ndarray = field(repr=False)  # (N,) float32 at 16 kHz
    phone_ids: tuple[int, ...] = field(repr=False)  # reference text phones (official v2 ids)
    prompt_codes: np.ndarray = field(repr=False)  # (T25,) int64 semantic codes of the clip
    sv_embedding: np.ndarray | None = field(default=None, repr=False)  # (20480,) Pro only
    variant: str = "v2"
    fingerprint: str = ""  # base models the codes/embedding were computed with

    def matches(self, variant: str, fingerprint: str) -> bool:
        """True when the derived arrays were made by these base models."""
        return self.fingerprint == fingerprint and self.variant == variant

    def to_bytes(self) -> bytes:
        """Serialise as an ``.npz`` archive with a JSON header."""
        header = {
            "format": FORMAT_VERSION,
            "language": self.language,
            "text": self.text,
            "variant": self.variant,
            "fingerprint": self.fingerprint,
        }
        arrays: dict[str, np.ndarray] = {
            "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
            "reference": np.asarray(self.reference, dtype=np.float32),
            "phone_ids": np.asarray(self.phone_ids, dtype=np.int64),
            "prompt_codes": np.asarray(self.prompt_codes, dtype=np.int64),
        }
        if self.sv_embedding is not None:
            arrays["sv_embedding"] = np.asarray(self.sv_embedding, dtype=np.float32)
        buffer = io.BytesIO()
        np.savez(buffer, **cast(dict[str, Any], arrays))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> VoicePrompt:
        """Parse :meth:`to_bytes` output; :class:`FailedPrecondition` if it is not one."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                header = json.loads(bytes(archive["header"]).decode())
                arrays = {name: archive[name] for name in archive.files if name != "header"}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            raise FailedPrecondition(
                "stored GPT-SoVITS voice model is corrupt; enroll the voice again"
            ) from exc
        if header.get("format") != FORMAT_VERSION:
            raise FailedPrecondition(
                f"GPT-SoVITS voice model format {header.get('format')} is not supported "
                f"(this build reads {FORMAT_VERSION}); enroll the voice again"
            )
        try:
            return cls(
                language=str(header["language"]),
                text=str(header["text"]),
                reference=arrays["reference"].astype(np.float32, copy=False),
                phone_ids=tuple(int(i) for i in arrays["phone_ids"]),
                prompt_codes=arrays["prompt_codes"].astype(np.int64, copy=False),
                sv_embedding=arrays.get("sv_embedding"),
                variant=str(header["variant"]),
                fingerprint=str(header["fingerprint"]),
            )
        except KeyError as exc:
            raise FailedPrecondition(
                "stored GPT-SoVITS voice model is incomplete; enroll the voice again"
            ) from exc
