"""``SovitsModel``: the inference half of GPT-SoVITS's ``SynthesizerTrn`` (v2, v2Pro, v2ProPlus).

Two entry points, matching the official calls made by ``TTS.run``:

- :meth:`SovitsModel.extract_latent`: HuBERT features of the reference clip -> the prompt's
  25 Hz semantic codes (``ssl_proj`` then the codebook).
- :meth:`SovitsModel.decode`: semantic codes + target phones + reference spectrogram(s)
  (+ SV embeddings for Pro) -> 32 kHz audio. Steps:

  1. speaker vector ``ge``: ``ref_enc`` on each reference spectrogram; Pro variants add the
     projected SV embedding and apply a PReLU; several references are averaged;
  2. codes -> codebook vectors, each repeated for two 50 Hz frames;
  3. ``enc_p`` -> prior mean/log-std (the MRTE inside gets ``ge``, or for Pro its projection
     ``ge_to512``); ``speed != 1`` stretches the frames there;
  4. ``z = m + noise * exp(logs) * noise_scale``, inverted through the flow (conditioned on
     ``ge``);
  5. the HiFi-GAN generator (conditioned on ``ge``) -> audio, ``1280`` samples per code at
     speed 1.

:meth:`SovitsModel.decode_segments` reproduces how ``TTS.run`` decodes a batch of text
segments: at speed 1 it decodes their concatenation once and cuts it at the segment
boundaries; otherwise it decodes each segment alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import torch
from torch import nn

from server.engines.gpt_sovits.sovits.config import (
    CODEBOOK_SIZE,
    FLOW_COUPLINGS,
    FLOW_WN_KERNEL,
    FLOW_WN_LAYERS,
    FRAMES_PER_TOKEN,
    MRTE_DIM,
    REF_ENC_BINS,
    SSL_DIM,
    SV_EMB_DIM,
    SovitsConfig,
)
from server.engines.gpt_sovits.sovits.flow import ResidualCouplingFlow
from server.engines.gpt_sovits.sovits.generator import SovitsGenerator
from server.engines.gpt_sovits.sovits.quantizer import ResidualVectorQuantizer
from server.engines.gpt_sovits.sovits.reference_encoder import reference_encoder
from server.engines.gpt_sovits.sovits.text_encoder import TextEncoder
from server.engines.gpt_sovits.sovits.weights import load_strict, prepare_state_dict
from server.errors import FailedPrecondition, InvalidArgument

_log = logging.getLogger(__name__)

_TEXT_EMBEDDING = "enc_p.text_embedding.weight"


class SovitsCheckpointLike(Protocol):
    """What :meth:`SovitsModel.from_checkpoint` needs (``checkpoints.SovitsCheckpoint`` fits)."""

    @property
    def config(self) -> Mapping[str, Any]: ...

    @property
    def state_dict(self) -> Mapping[str, torch.Tensor]: ...

    @property
    def version(self) -> str: ...


class SovitsModel(nn.Module):
    """SoVITS decoder and prompt-code extractor; parameter names follow the checkpoints."""

    def __init__(self, config: SovitsConfig) -> None:
        super().__init__()
        if not config.is_pro and config.gin_channels != MRTE_DIM:
            raise FailedPrecondition(
                f"a v2 SoVITS model needs gin_channels == {MRTE_DIM}, got {config.gin_channels}"
            )
        self.config = config
        #: Checkpoint keys that were present but deliberately not loaded (training-only).
        self.ignored_keys: list[str] = []
        gin = config.gin_channels
        self.enc_p = TextEncoder(config)
        self.dec = SovitsGenerator(
            config.inter_channels, config.resblock, config.resblock_kernel_sizes,
            config.resblock_dilation_sizes, config.upsample_rates,
            config.upsample_initial_channel, config.upsample_kernel_sizes, gin,
        )
        self.flow = ResidualCouplingFlow(
            config.inter_channels, config.hidden_channels, FLOW_WN_KERNEL, 1, FLOW_WN_LAYERS,
            FLOW_COUPLINGS, gin,
        )
        self.ref_enc = reference_encoder(gin)
        # 50 Hz HuBERT frames -> 25 Hz (kernel 2, stride 2) before quantisation.
        self.ssl_proj = nn.Conv1d(SSL_DIM, SSL_DIM, 2, stride=2)
        self.quantizer = ResidualVectorQuantizer(SSL_DIM, CODEBOOK_SIZE)
        self.sv_emb: nn.Linear | None = None
        self.ge_to512: nn.Linear | None = None
        self.prelu: nn.PReLU | None = None
        if config.is_pro:
            self.sv_emb = nn.Linear(SV_EMB_DIM, gin)
            self.ge_to512 = nn.Linear(gin, MRTE_DIM)
            self.prelu = nn.PReLU(num_parameters=gin)

    @classmethod
    def from_checkpoint(cls, ckpt: SovitsCheckpointLike) -> SovitsModel:
        """Build from a loaded checkpoint (config as nested dicts, float tensors).

        Weight norm is folded, training-only tensors are skipped (listed in
        :attr:`ignored_keys`), every other tensor must match. Returns an fp32 CPU model in
        eval mode with gradients disabled.
        """
        embedding = ckpt.state_dict.get(_TEXT_EMBEDDING)
        if embedding is None:
            raise FailedPrecondition(f"SoVITS checkpoint has no {_TEXT_EMBEDDING}")
        config = SovitsConfig.from_hps(ckpt.config, ckpt.version, int(embedding.shape[0]))
        model = cls(config)
        tensors, ignored = prepare_state_dict(ckpt.state_dict)
        load_strict(model, tensors)
        model.ignored_keys = ignored
        if ignored:
            _log.debug("SoVITS: %d training-only tensors not loaded", len(ignored))
        model.requires_grad_(False)
        return model.eval()

    # -- prompt codes -------------------------------------------------------------------

    @torch.inference_mode()
    def extract_latent(self, ssl: torch.Tensor) -> torch.Tensor:
        """HuBERT features ``(B, 768, T50)`` -> semantic codes ``(B, 1, T50 // 2)`` int64."""
        if ssl.dim() != 3 or ssl.shape[1] != SSL_DIM or ssl.shape[2] < 2:
            raise InvalidArgument(
                f"SSL features must be (B, {SSL_DIM}, T>=2), got {tuple(ssl.shape)}"
            )
        codes = self.quantizer.encode(self.ssl_proj(ssl))  # (n_q, B, T25)
        return codes.transpose(0, 1)

    # -- decoding -----------------------------------------------------------------------

    def speaker_vector(
        self, refer_specs: Sequence[torch.Tensor], sv_emb: Sequence[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The global condition ``ge`` ``(1, gin, 1)``, averaged over the references."""
        if not refer_specs:
            raise InvalidArgument("SoVITS decoding needs at least one reference spectrogram")
        if self.config.is_pro and (sv_emb is None or len(sv_emb) < len(refer_specs)):
            raise InvalidArgument(
                f"{self.config.version} decoding needs one speaker embedding per reference"
            )
        vectors = []
        for i, spec in enumerate(refer_specs):
            if spec.dim() != 3 or spec.shape[0] != 1 or spec.shape[1] < REF_ENC_BINS:
                raise InvalidArgument(
                    f"reference spectrogram must be (1, >={REF_ENC_BINS}, T), "
                    f"got {tuple(spec.shape)}"
                )
            ge = self.ref_enc(spec)
            if self.sv_emb is not None and self.prelu is not None and sv_emb is not None:
                ge = self.prelu(ge + self.sv_emb(sv_emb[i]).unsqueeze(-1))
            vectors.append(ge)
        return torch.stack(vectors).mean(0)

    def _mrte_speaker(self, ge: torch.Tensor) -> torch.Tensor:
        """The speaker vector MRTE adds: ``ge`` itself, or its 512-wide projection for Pro."""
        if self.ge_to512 is None:
            return ge
        return self.ge_to512(ge.transpose(1, 2)).transpose(1, 2)

    @torch.inference_mode()
    def decode(
        self,
        codes: torch.Tensor,
        phones: torch.Tensor,
        refer_specs: Sequence[torch.Tensor],
        noise_scale: float = 0.5,
        speed: float = 1.0,
        sv_emb: Sequence[torch.Tensor] | None = None,
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        trace: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Synthesize ``(1, 1, N)`` audio at 32 kHz (``N = T * 1280`` at speed 1).

        ``codes`` ``(1, 1, T)`` int64, ``phones`` ``(1, P)`` int64, ``refer_specs`` each
        ``(1, 1025, Tr)``; ``sv_emb`` one ``(1, 20480)`` per reference (Pro only). The prior
        noise is ``noise`` when given (shape ``(1, inter_channels, frames)``, frames = ``2T``
        at speed 1, else ``int(2T / speed) + 1``), otherwise drawn from ``generator`` (or the
        global RNG). ``trace``, if given, receives the intermediates (parity checks).
        """
        if codes.dim() != 3 or codes.shape[:2] != (1, 1) or codes.shape[2] < 1:
            raise InvalidArgument(f"codes must be (1, 1, T>=1), got {tuple(codes.shape)}")
        if phones.dim() != 2 or phones.shape[0] != 1 or phones.shape[1] < 1:
            raise InvalidArgument(f"phones must be (1, P>=1), got {tuple(phones.shape)}")
        if speed <= 0:
            raise InvalidArgument(f"speed must be positive, got {speed}")
        _check_ids("codes", codes, CODEBOOK_SIZE)
        _check_ids("phones", phones, self.config.n_symbols)
        ge = self.speaker_vector(refer_specs, sv_emb)
        mrte_ge = self._mrte_speaker(ge)
        content = self.quantizer.decode(codes).repeat_interleave(FRAMES_PER_TOKEN, dim=-1)
        x, m, logs = self.enc_p(content, phones, mrte_ge, speed)
        if noise is None:
            noise = torch.randn(m.shape, generator=generator, dtype=m.dtype, device=m.device)
        elif tuple(noise.shape) != tuple(m.shape):
            raise InvalidArgument(f"noise must be {tuple(m.shape)}, got {tuple(noise.shape)}")
        z_p = m + noise.to(m) * torch.exp(logs) * noise_scale
        z = self.flow.reverse(z_p, ge)
        audio = self.dec(z, ge)
        if trace is not None:
            trace.update(ge=ge, mrte_ge=mrte_ge, content=content, x=x, m_p=m, logs_p=logs,
                         noise=noise, z_p=z_p, z=z, audio=audio)
        return audio

    @torch.inference_mode()
    def decode_segments(
        self,
        codes: Sequence[torch.Tensor],
        phones: Sequence[torch.Tensor],
        refer_specs: Sequence[torch.Tensor],
        noise_scale: float = 0.5,
        speed: float = 1.0,
        sv_emb: Sequence[torch.Tensor] | None = None,
        noise: Sequence[torch.Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> list[torch.Tensor]:
        """Decode a batch of segments the way ``TTS.run`` does; returns ``(N_i,)`` audios.

        ``codes[i]`` is ``(T_i,)`` and ``phones[i]`` ``(P_i,)`` (1-D). At speed 1 the segments
        are decoded as one sequence (so they influence each other through attention and
        convolutions, as officially) and split at ``T_i * 1280`` samples; at other speeds each
        is decoded alone. ``noise[i]`` optionally injects the prior noise per segment.
        """
        if len(codes) != len(phones) or not codes:
            raise InvalidArgument("need one phone sequence per code sequence, and at least one")
        if noise is not None and len(noise) != len(codes):
            raise InvalidArgument("need one noise tensor per segment")
        if speed != 1:
            return [
                self.decode(c.view(1, 1, -1), p.view(1, -1), refer_specs, noise_scale, speed,
                            sv_emb, None if noise is None else noise[i], generator)[0, 0]
                for i, (c, p) in enumerate(zip(codes, phones, strict=True))
            ]
        joined_noise = None if noise is None else torch.cat(list(noise), dim=-1)
        audio = self.decode(
            torch.cat([c.reshape(-1) for c in codes]).view(1, 1, -1),
            torch.cat([p.reshape(-1) for p in phones]).view(1, -1),
            refer_specs, noise_scale, speed, sv_emb, joined_noise, generator,
        )[0, 0]
        sizes = [int(c.numel()) * self.config.samples_per_token for c in codes]
        return list(torch.split(audio, sizes))


def _check_ids(what: str, ids: torch.Tensor, limit: int) -> None:
    """Refuse ids outside ``[0, limit)`` (an embedding lookup would fail obscurely, on GPU
    with a device-side assert)."""
    if ids.is_floating_point() or int(ids.min()) < 0 or int(ids.max()) >= limit:
        raise InvalidArgument(f"{what} must be integer ids in [0, {limit})")
