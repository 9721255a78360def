"""The SoVITS generator in training: the official ``SynthesizerTrn.forward`` on our modules.

:class:`SovitsTraining` builds the inference :class:`SovitsModel` *without* folding weight norm
(the layers the pretrained file stores as ``weight_g``/``weight_v`` get torch's weight-norm
reparametrisation back, so those two tensors are what trains, as officially), adds the
posterior encoder ``enc_q`` and runs the training forward on a padded batch:

1. speaker: ``ge = ref_enc(spec[:, :704] * mask)``; v2Pro adds the projected speaker-verification
   embedding and a PReLU, and MRTE gets the 512-wide projection;
2. content: the frozen ``ssl_proj`` + quantizer (always in eval mode: codebook vectors, no
   straight-through gradient, commitment loss 0) at 25 Hz, repeated to 50 Hz;
3. prior ``(m_p, logs_p)`` from the text encoder; posterior ``z`` from ``enc_q`` on the
   spectrogram; ``z_p = flow(z)``; the decoder renders a 32-frame slice of ``z`` (20480
   samples) from ``slice_start`` (random, or ``(length - 32) // 2`` in deterministic runs).

Parameters carry their official names (:meth:`SovitsTraining.official_parameters`), in the
official order, and :meth:`export_state` gives the generator state dict as the official
trainer saves it.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from server.engines.gpt_sovits.checkpoints import SovitsCheckpoint
from server.engines.gpt_sovits.sovits.attention import (
    FeedForward,
    RelativeEncoder,
    RelativeSelfAttention,
)
from server.engines.gpt_sovits.sovits.config import REF_ENC_BINS, SovitsConfig
from server.engines.gpt_sovits.sovits.model import SovitsModel
from server.engines.gpt_sovits.sovits.reference_encoder import (
    GatedConv,
    MelStyleEncoder,
    StyleSelfAttention,
)
from server.engines.gpt_sovits.training.posterior import PosteriorEncoder
from server.errors import FailedPrecondition

SEGMENT_FRAMES = 32  # segment_size 20480 / hop 640
POSTERIOR = "enc_q."
REF_ENC_DROPOUT = 0.1  # hard-coded in the official MelStyleEncoder
#: Parameter groups trained at ``text_low_lr_rate`` x the learning rate.
LOW_LR_PREFIXES = ("enc_p.text_embedding.", "enc_p.encoder_text.", "enc_p.mrte.")


@dataclass(frozen=True)
class GeneratorOutput:
    """What one training forward gives the losses."""

    audio: torch.Tensor  # (B, 1, 20480) decoded slice
    slice_start: torch.Tensor  # (B,) first latent frame of each slice
    mask: torch.Tensor  # (B, 1, T)
    z_p: torch.Tensor
    m_p: torch.Tensor
    logs_p: torch.Tensor
    logs_q: torch.Tensor


def _weight_norm(module: nn.Module) -> None:
    with warnings.catch_warnings():  # the deprecated API names the tensors weight_g/weight_v
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(module)


class SovitsTraining(nn.Module):
    """The trainable generator: the model, its posterior encoder, official naming."""

    def __init__(self, checkpoint: SovitsCheckpoint, *, deterministic: bool) -> None:
        super().__init__()
        state = checkpoint.state_dict
        embedding = state.get("enc_p.text_embedding.weight")
        if embedding is None or not any(k.startswith(POSTERIOR) for k in state):
            raise FailedPrecondition(f"{checkpoint.path} is not a SoVITS training file "
                                     "(it lacks enc_q); give the pretrained s2G training file")
        config = SovitsConfig.from_hps(checkpoint.config, checkpoint.version,
                                       int(embedding.shape[0]))
        self.config = config
        self.deterministic = deterministic
        self.model = SovitsModel(config)
        self.enc_q = PosteriorEncoder(SPEC_BINS, config.inter_channels, config.hidden_channels,
                                      config.gin_channels)
        for key in state:
            if key.endswith(".weight_g"):
                _weight_norm(self._module(key[: -len(".weight_g")]))
        ours = dict(self._named_tensors())
        missing = sorted(set(ours) - set(state))
        if missing:
            raise FailedPrecondition(f"{checkpoint.path} lacks SoVITS weights, e.g. {missing[0]}")
        with torch.no_grad():
            for key, tensor in ours.items():
                tensor.copy_(state[key].to(tensor.dtype))
        #: The official key order of the generator file, and the tensors only it holds (the
        #: frozen quantizer's statistics), for the export.
        self.official_keys = [k for k in state if not k.startswith(POSTERIOR)]
        self.kept = {k: state[k] for k in self.official_keys if k not in ours}
        self._order = [k for k in state if k in dict(self.named_parameters_official())]
        p_dropout = 0.0 if deterministic else float(checkpoint.config["model"].get("p_dropout", 0))
        self._set_dropout(p_dropout, 0.0 if deterministic else REF_ENC_DROPOUT)
        self.model.requires_grad_(True)

    # -- naming ---------------------------------------------------------------------------

    def _module(self, official: str) -> nn.Module:
        if official.startswith(POSTERIOR):
            return self.enc_q.get_submodule(official[len(POSTERIOR):])
        return self.model.get_submodule(official)

    def _named_tensors(self) -> list[tuple[str, torch.Tensor]]:
        return [(k, v) for k, v in self.model.state_dict(keep_vars=True).items()] + \
            [(POSTERIOR + k, v) for k, v in self.enc_q.state_dict(keep_vars=True).items()]

    def named_parameters_official(self) -> list[tuple[str, nn.Parameter]]:
        """``(official name, parameter)``, unordered (see :meth:`official_parameters`)."""
        return [(k, p) for k, p in self.model.named_parameters()] + \
            [(POSTERIOR + k, p) for k, p in self.enc_q.named_parameters()]

    def official_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """``(official name, parameter)`` in the official registration order."""
        named = dict(self.named_parameters_official())
        return [(k, named[k]) for k in self._order]

    def export_state(self) -> OrderedDict[str, torch.Tensor]:
        """The generator's state dict as the official trainer saves it (``enc_q`` left out)."""
        ours = dict(self._named_tensors())
        return OrderedDict((k, (ours[k] if k in ours else self.kept[k]).detach())
                           for k in self.official_keys)

    def _set_dropout(self, encoder_p: float, reference_p: float) -> None:
        for module in self.model.enc_p.modules():
            if isinstance(module, (RelativeEncoder, RelativeSelfAttention, FeedForward)):
                module.dropout = encoder_p
        for module in self.model.ref_enc.modules():
            if isinstance(module, (MelStyleEncoder, GatedConv, StyleSelfAttention)):
                module.dropout = reference_p

    # -- forward --------------------------------------------------------------------------

    def forward(self, ssl: torch.Tensor, spec: torch.Tensor, spec_lengths: torch.Tensor,
                phones: torch.Tensor, phone_lengths: torch.Tensor,
                sv_emb: torch.Tensor | None) -> GeneratorOutput:
        """The official training forward of a padded batch."""
        m = self.model
        mask = _sequence_mask(spec_lengths, spec.shape[2]).unsqueeze(1).to(spec.dtype)
        ge = m.ref_enc(spec[:, :REF_ENC_BINS] * mask, mask)
        mrte_ge = ge
        if m.sv_emb is not None and m.prelu is not None and m.ge_to512 is not None:
            assert sv_emb is not None
            ge = m.prelu(ge + m.sv_emb(sv_emb).unsqueeze(-1))
            mrte_ge = m.ge_to512(ge.transpose(2, 1)).transpose(2, 1)
        with torch.no_grad():  # frozen: no gradient reaches ssl_proj through the codebook
            m.ssl_proj.eval()
            m.quantizer.eval()
            quantized = m.quantizer.decode(m.quantizer.encode(m.ssl_proj(ssl)))
        quantized = F.interpolate(quantized, size=int(quantized.shape[-1] * 2), mode="nearest")
        phone_mask = _sequence_mask(phone_lengths, phones.shape[1]).unsqueeze(1).to(spec.dtype)
        content_mask = _sequence_mask(spec_lengths, quantized.shape[2]).unsqueeze(1).to(
            spec.dtype)
        _, m_p, logs_p = m.enc_p.forward_masked(quantized, content_mask, phones, phone_mask,
                                                mrte_ge)
        z, _, logs_q = self.enc_q(spec, mask, ge, noise=not self.deterministic)
        z_p = m.flow(z, ge, mask)
        if self.deterministic:
            start = torch.div(spec_lengths - SEGMENT_FRAMES, 2, rounding_mode="floor")
        else:
            limit = spec_lengths - SEGMENT_FRAMES + 1
            start = (torch.rand(spec_lengths.shape, device=spec.device) * limit).long()
        audio = m.dec(slice_frames(z, start, SEGMENT_FRAMES), ge)
        return GeneratorOutput(audio=audio, slice_start=start, mask=mask, z_p=z_p, m_p=m_p,
                               logs_p=logs_p, logs_q=logs_q)


SPEC_BINS = 1025  # filter_length 2048 // 2 + 1


def _sequence_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    return torch.arange(size, device=lengths.device)[None, :] < lengths[:, None]


def slice_frames(x: torch.Tensor, start: torch.Tensor, size: int) -> torch.Tensor:
    """``x[i, :, start[i]:start[i] + size]`` for every row (the official ``slice_segments``)."""
    out = torch.zeros_like(x[:, :, :size])
    for i in range(x.shape[0]):
        out[i] = x[i, :, int(start[i]):int(start[i]) + size]
    return out
