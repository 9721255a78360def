"""Speaker embedding of the reference clip for the Pro SoVITS decoders (v2Pro, v2ProPlus).

The official inference computes it in two places, reproduced here as one call:
``TTS._get_ref_spec`` resamples the reference to 32 kHz, limits its peak, and resamples it
back to 16 kHz (see :func:`~server.engines.gpt_sovits.resample.prepare_reference_audio`);
``SV.compute_embedding3`` then takes 80-bin Kaldi fbank features of each row and runs
ERes2NetV2 on them, giving a ``(1, 20480)`` embedding per reference clip.

The checkpoint ``sv/pretrained_eres2netv2w24s4ep4.ckpt`` is a plain fp32 state dict (no
wrapper), loaded strictly. The model always runs in eval mode, fp32, without autograd.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from server.engines.gpt_sovits.eres2net import ERes2NetV2
from server.engines.gpt_sovits.fbank import fbank
from server.engines.gpt_sovits.resample import SV_SAMPLE_RATE, prepare_reference_audio
from server.errors import FailedPrecondition, InvalidArgument

#: Width of the embedding the Pro decoders consume.
SV_EMBEDDING_DIM = 20480
NUM_MEL_BINS = 80


def sv_input_from_reference(wav: torch.Tensor, sample_rate: int = 16000) -> torch.Tensor:
    """The ``(1, N)`` 16 kHz waveform the official code feeds to speaker verification.

    ``wav`` is the decoded reference clip (``(N,)`` or ``(channels, N)``, float in [-1, 1]) at
    ``sample_rate``. Even a 16 kHz clip goes through 16k -> 32k -> 16k resampling, with the
    32 kHz peak rule in between, because that is what the official ``_get_ref_spec`` does.
    """
    wav16k = prepare_reference_audio(wav, sample_rate, with_sv_input=True).wav16k_sv
    if wav16k is None:  # cannot happen with with_sv_input=True; keeps the type narrow
        raise RuntimeError("reference chain produced no speaker-verification input")
    return wav16k


class Eres2NetEncoder:
    """ERes2NetV2 loaded from the released checkpoint, ready to embed 16 kHz audio.

    Concurrent calls are safe: the model is only read (eval mode, no autograd).
    """

    def __init__(self, model: ERes2NetV2, device: torch.device) -> None:
        self.model = model.eval().requires_grad_(False)
        self.device = device

    @classmethod
    def from_state_dict(
        cls, state_dict: Mapping[str, torch.Tensor], device: torch.device | str = "cpu"
    ) -> Eres2NetEncoder:
        """Build the GPT-SoVITS ERes2NetV2 (w24 s4 e4) and load ``state_dict`` strictly.

        The module is built on the meta device and takes over the given tensors (fp32 ones
        are used as they are, not copied), which skips initialising 53.6 M throw-away weights.
        """
        with torch.device("meta"):
            model = ERes2NetV2()
        expected = model.state_dict()
        missing = [k for k in expected if k not in state_dict]
        unexpected = [k for k in state_dict if k not in expected]
        wrong_shape = [
            k for k in expected if k in state_dict and state_dict[k].shape != expected[k].shape
        ]
        if missing or unexpected or wrong_shape:
            raise FailedPrecondition(
                "speaker-verification checkpoint does not match ERes2NetV2 (w24 s4 e4): "
                f"{len(missing)} missing keys (e.g. {sorted(missing)[:3]}), "
                f"{len(unexpected)} unexpected keys (e.g. {sorted(unexpected)[:3]}), "
                f"{len(wrong_shape)} keys with another shape (e.g. {sorted(wrong_shape)[:3]})"
            )
        tensors = {k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()}
        model.load_state_dict(tensors, strict=True, assign=True)
        device = torch.device(device)
        return cls(model.to(device=device), device)

    @classmethod
    def load(cls, path: Path, device: torch.device | str = "cpu") -> Eres2NetEncoder:
        """Load ``sv/pretrained_eres2netv2w24s4ep4.ckpt`` (a plain state dict)."""
        try:
            state = torch.load(Path(path), map_location="cpu", weights_only=True)
        except FileNotFoundError as exc:
            raise FailedPrecondition(f"speaker-verification model not found: {path}") from exc
        except Exception as exc:  # corrupt file or an unexpected pickle
            raise FailedPrecondition(
                f"speaker-verification model could not be read: {path.name} ({exc})"
            ) from exc
        if not isinstance(state, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in state.values()
        ):
            raise FailedPrecondition(
                f"speaker-verification model {path.name} is not a tensor state dict"
            )
        return cls.from_state_dict(state, device)

    def features(self, wav16k: torch.Tensor) -> torch.Tensor:
        """``(B, N)`` 16 kHz audio -> ``(B, frames, 80)`` fbank features, one row at a time."""
        if wav16k.dim() == 1:
            wav16k = wav16k[None, :]
        if wav16k.dim() != 2:
            raise InvalidArgument(f"expected (batch, samples) audio, got {tuple(wav16k.shape)}")
        wav16k = wav16k.to(device=self.device, dtype=torch.float32)
        return torch.stack([fbank(row, NUM_MEL_BINS, SV_SAMPLE_RATE) for row in wav16k])

    def __call__(self, wav16k: torch.Tensor) -> torch.Tensor:
        """``(B, N)`` 16 kHz audio (already through the official chain) -> ``(B, 20480)``."""
        # no_grad rather than inference_mode: the result stays an ordinary tensor that callers
        # may combine with anything, in or out of inference mode.
        with torch.no_grad():
            return self.model(self.features(wav16k))

    def embed_reference(self, wav: torch.Tensor, sample_rate: int = 16000) -> torch.Tensor:
        """The official ``sv_emb`` of a decoded reference clip: chain, fbank, network."""
        return self(sv_input_from_reference(wav, sample_rate))
