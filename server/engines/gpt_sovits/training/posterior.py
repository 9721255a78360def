"""The posterior encoder ``enc_q`` of SoVITS, used only in training.

It reads the linear spectrogram of the training clip and gives the posterior latent
``z = (m + noise * exp(logs)) * mask``, which the flow maps into the prior's space (for the KL
term) and whose slice the decoder turns back into audio (for the reconstruction and
adversarial terms). Deterministic runs use zero noise, i.e. ``z = m * mask``. The speaker
condition is detached, as officially: the posterior does not train the reference encoder.
"""

from __future__ import annotations

import torch
from torch import nn

from server.engines.gpt_sovits.sovits.flow import WaveNet

KERNEL_SIZE = 5
N_LAYERS = 16


class PosteriorEncoder(nn.Module):
    """``pre`` (1x1 conv) -> 16-layer WaveNet conditioned on the speaker -> ``proj``."""

    def __init__(self, spec_channels: int, out_channels: int, hidden_channels: int,
                 gin_channels: int) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.pre = nn.Conv1d(spec_channels, hidden_channels, 1)
        self.enc = WaveNet(hidden_channels, KERNEL_SIZE, 1, N_LAYERS, gin_channels)
        self.proj = nn.Conv1d(hidden_channels, 2 * out_channels, 1)

    def forward(self, spec: torch.Tensor, mask: torch.Tensor, g: torch.Tensor,
                noise: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``spec (B, F, T)``, ``mask (B, 1, T)``, ``g (B, gin, 1)`` -> ``(z, m, logs)``."""
        x = self.pre(spec) * mask
        x = self.enc(x, g.detach(), mask)
        m, logs = torch.split(self.proj(x) * mask, self.out_channels, dim=1)
        if noise:
            return (m + torch.randn_like(m) * torch.exp(logs)) * mask, m, logs
        return (m + torch.zeros_like(m) * torch.exp(logs)) * mask, m, logs
