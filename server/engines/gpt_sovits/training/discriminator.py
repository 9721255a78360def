"""The SoVITS multi-period discriminator (HiFi-GAN style), as the official trainer builds it.

One scale discriminator on the raw waveform and one period discriminator per period (2, 3,
5, 7, 11; v2Pro/v2ProPlus add 17 and 23), every convolution weight-normalised. Parameter
names and order follow the official module (``discriminators.<i>.convs.<j>.weight_g``...), so
the pretrained ``s2D*.pth`` loads strictly and traces name the same tensors.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.1
PERIODS = {"v2": (2, 3, 5, 7, 11), "v2Pro": (2, 3, 5, 7, 11, 17, 23),
           "v2ProPlus": (2, 3, 5, 7, 11, 17, 23)}

Scores = tuple[torch.Tensor, list[torch.Tensor]]  # flattened logits, feature maps


def _weight_norm(module: nn.Module) -> nn.Module:
    # The deprecated API on purpose: it names the tensors weight_g/weight_v, as the files do.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.nn.utils.weight_norm(module)


def _score(convs: nn.ModuleList, post: nn.Module, x: torch.Tensor) -> Scores:
    """Leaky-ReLU conv stack, then the 1-channel output conv; every layer's output is a map."""
    fmap = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LEAKY_SLOPE)
        fmap.append(x)
    x = post(x)
    fmap.append(x)
    return torch.flatten(x, 1, -1), fmap


class ScaleDiscriminator(nn.Module):
    """The official ``DiscriminatorS``: grouped strided 1-D convolutions on the waveform."""

    def __init__(self) -> None:
        super().__init__()
        layers = [(1, 16, 15, 1, 1, 7), (16, 64, 41, 4, 4, 20), (64, 256, 41, 4, 16, 20),
                  (256, 1024, 41, 4, 64, 20), (1024, 1024, 41, 4, 256, 20),
                  (1024, 1024, 5, 1, 1, 2)]
        self.convs = nn.ModuleList(
            _weight_norm(nn.Conv1d(i, o, k, s, groups=g, padding=p)) for i, o, k, s, g, p in layers)
        self.conv_post = _weight_norm(nn.Conv1d(1024, 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor) -> Scores:
        return _score(self.convs, self.conv_post, x)


class PeriodDiscriminator(nn.Module):
    """The official ``DiscriminatorP``: the waveform folded into ``period`` columns."""

    def __init__(self, period: int, kernel_size: int = 5, stride: int = 3) -> None:
        super().__init__()
        self.period = period
        pad = (kernel_size - 1) // 2
        channels = [(1, 32, stride), (32, 128, stride), (128, 512, stride), (512, 1024, stride),
                    (1024, 1024, 1)]
        self.convs = nn.ModuleList(
            _weight_norm(nn.Conv2d(i, o, (kernel_size, 1), (s, 1), padding=(pad, 0)))
            for i, o, s in channels)
        self.conv_post = _weight_norm(nn.Conv2d(1024, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> Scores:
        b, c, t = x.shape
        if t % self.period:
            pad = self.period - t % self.period
            x = F.pad(x, (0, pad), "reflect")
            t += pad
        return _score(self.convs, self.conv_post, x.view(b, c, t // self.period, self.period))


class MultiPeriodDiscriminator(nn.Module):
    """All discriminators of a variant; scores real and generated audio side by side."""

    def __init__(self, variant: str) -> None:
        super().__init__()
        discriminators: list[nn.Module] = [ScaleDiscriminator()]
        discriminators += [PeriodDiscriminator(p) for p in PERIODS[variant]]
        self.discriminators = nn.ModuleList(discriminators)

    def forward(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[
            list[torch.Tensor], list[torch.Tensor], list[list[torch.Tensor]],
            list[list[torch.Tensor]]]:
        """``(scores_real, scores_fake, fmaps_real, fmaps_fake)``, one entry per discriminator."""
        scores_r, scores_g, fmaps_r, fmaps_g = [], [], [], []
        for discriminator in self.discriminators:
            score_r, fmap_r = discriminator(real)
            score_g, fmap_g = discriminator(fake)
            scores_r.append(score_r)
            scores_g.append(score_g)
            fmaps_r.append(fmap_r)
            fmaps_g.append(fmap_g)
        return scores_r, scores_g, fmaps_r, fmaps_g
