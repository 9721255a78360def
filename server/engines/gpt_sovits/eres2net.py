"""ERes2NetV2, the speaker-verification network that conditions the Pro SoVITS decoders.

GPT-SoVITS v2Pro/v2ProPlus ship 3D-Speaker's ERes2NetV2 (``pretrained_eres2netv2w24s4ep4``:
base width 24, scale 4, expansion 4, 53.6 M parameters) and use neither its statistics pooling
nor its 192-d projection: the decoder is conditioned on the last feature map averaged over
time, flattened to ``channels x frequency`` = 2048 x 10 = 20480 values. :meth:`ERes2NetV2.forward`
returns exactly that; :meth:`ERes2NetV2.projected_embedding` gives the network's own 192-d
embedding for completeness (its ``seg_1`` weights are in the checkpoint either way).

The network is a 2-D ResNet over the (frequency, time) fbank image. Each block is a Res2Net
bottleneck: a 1x1 conv widens to ``scale`` groups of ``width`` channels, the groups pass
through 3x3 convs in a chain where each group first absorbs the previous group's output (by
addition in stages 1-2, by attentional feature fusion in stages 3-4), and a 1x1 conv projects
back. Stage 3's output, downsampled by a strided 3x3 conv, is fused into stage 4's output.

Parameter names follow the official module tree, so the released state dict loads strictly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _clipped_relu(x: torch.Tensor) -> torch.Tensor:
    """The blocks' activation: ReLU capped at 20 (a Hardtanh over [0, 20])."""
    return F.hardtanh(x, 0.0, 20.0)


class AttentionalFusion(nn.Module):
    """Attentional feature fusion of two equally shaped maps (3D-Speaker's ``AFF``).

    A bottleneck of 1x1 convs over the concatenated inputs yields a gate ``a`` in (0, 2);
    the output is ``x * a + y * (2 - a)``, a learned per-element blend.
    """

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        inner = channels // reduction
        # Index layout 0/1/(2: SiLU)/3/4 matches the checkpoint's "local_att.N" keys.
        self.local_att = nn.Sequential(
            nn.Conv2d(channels * 2, inner, kernel_size=1),
            nn.BatchNorm2d(inner),
            nn.SiLU(),
            nn.Conv2d(inner, channels, kernel_size=1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gate = 1.0 + torch.tanh(self.local_att(torch.cat((x, y), dim=1)))
        return torch.mul(x, gate) + torch.mul(y, 2.0 - gate)


class Res2Block(nn.Module):
    """One ERes2NetV2 bottleneck block; ``fused`` selects AFF instead of addition between groups."""

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int,
        base_width: int,
        scale: int,
        expansion: int,
        fused: bool,
    ) -> None:
        super().__init__()
        width = planes * base_width // 64  # floor(planes * base_width / 64)
        out_channels = planes * expansion
        self.width = width
        self.conv1 = nn.Conv2d(in_channels, width * scale, kernel_size=1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(width * scale)
        self.convs = nn.ModuleList(
            nn.Conv2d(width, width, kernel_size=3, padding=1, bias=False) for _ in range(scale)
        )
        self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(scale))
        self.fuse_models = (
            nn.ModuleList(AttentionalFusion(width) for _ in range(scale - 1)) if fused else None
        )
        self.conv3 = nn.Conv2d(width * scale, out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = torch.split(_clipped_relu(self.bn1(self.conv1(x))), self.width, dim=1)
        outputs: list[torch.Tensor] = []
        carry: torch.Tensor | None = None
        for i, group in enumerate(groups):
            if carry is None:
                carry = group
            elif self.fuse_models is not None:
                carry = self.fuse_models[i - 1](carry, group)
            else:
                carry = carry + group
            carry = _clipped_relu(self.bns[i](self.convs[i](carry)))
            outputs.append(carry)
        out = self.bn3(self.conv3(torch.cat(outputs, dim=1)))
        return _clipped_relu(out + self.shortcut(x))


class ERes2NetV2(nn.Module):
    """ERes2NetV2 over ``(batch, frames, feat_dim)`` fbank features.

    Defaults are the GPT-SoVITS configuration (``w24s4ep4``); the sizes are parameters so
    tests can build small instances. ``feat_dim`` must be divisible by 8.
    """

    def __init__(
        self,
        *,
        feat_dim: int = 80,
        m_channels: int = 64,
        base_width: int = 24,
        scale: int = 4,
        expansion: int = 4,
        num_blocks: tuple[int, int, int, int] = (3, 4, 6, 3),
        embedding_size: int = 192,
    ) -> None:
        super().__init__()
        if feat_dim % 8:
            raise ValueError(f"feat_dim must be divisible by 8, got {feat_dim}")
        self.feat_dim = feat_dim
        self.out_channels = m_channels * 8 * expansion
        self.embedding_dim = self.out_channels * (feat_dim // 8)

        self.conv1 = nn.Conv2d(1, m_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        in_channels = m_channels
        stages = []
        for index, (blocks, stride) in enumerate(zip(num_blocks, (1, 2, 2, 2), strict=True)):
            planes = m_channels * 2**index
            layer = []
            for block_stride in [stride] + [1] * (blocks - 1):
                layer.append(
                    Res2Block(
                        in_channels,
                        planes,
                        block_stride,
                        base_width,
                        scale,
                        expansion,
                        fused=index >= 2,
                    )
                )
                in_channels = planes * expansion
            stages.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.layer3_ds = nn.Conv2d(
            m_channels * 4 * expansion,
            self.out_channels,
            kernel_size=3,
            padding=1,
            stride=2,
            bias=False,
        )
        self.fuse34 = AttentionalFusion(self.out_channels)
        # Mean and std statistics of every (channel, frequency) row -> 192-d projection.
        self.seg_1 = nn.Linear(self.embedding_dim * 2, embedding_size)

    def feature_map(self, feats: torch.Tensor) -> torch.Tensor:
        """``(B, T, feat_dim)`` -> the fused last feature map ``(B, C, feat_dim / 8, T')``."""
        if feats.dim() != 3 or feats.shape[-1] != self.feat_dim:
            raise ValueError(f"expected (batch, frames, {self.feat_dim}), got {tuple(feats.shape)}")
        x = feats.transpose(1, 2).unsqueeze(1)  # an image: (B, 1, freq, time)
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        stage3 = self.layer3(x)
        stage4 = self.layer4(stage3)
        return self.fuse34(stage4, self.layer3_ds(stage3))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """The GPT-SoVITS speaker embedding: the feature map averaged over time, ``(B, 20480)``."""
        return self.feature_map(feats).flatten(1, 2).mean(-1)

    def projected_embedding(self, feats: torch.Tensor) -> torch.Tensor:
        """The network's own 192-d embedding (mean+std pooling, then ``seg_1``); unused by TTS."""
        fmap = self.feature_map(feats)
        mean = fmap.mean(dim=-1).flatten(1)
        std = torch.sqrt(torch.var(fmap, dim=-1) + 1e-8).flatten(1)
        return self.seg_1(torch.cat((mean, std), dim=1))
