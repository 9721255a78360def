"""The SoVITS prior encoder ``enc_p``: semantic tokens + phones + speaker vector -> the mean
and log-std of the latent the flow inverts.

Data flow for one decode (channels-first, ``T`` = 50 Hz frames, ``P`` = phones):

1. the quantized 25 Hz content (``(1, 768, T)`` after frame doubling) is projected to the
   hidden width and run through ``encoder_ssl`` (relative-position transformer, half depth);
2. phone ids are embedded and run through ``encoder_text`` (full depth);
3. MRTE mixes them: the content attends over the phones, and the speaker vector is added;
4. ``encoder2`` (half depth) refines the result; for ``speed != 1`` it is linearly resampled
   in time to ``int(T / speed) + 1`` frames;
5. a 1x1 projection gives ``m`` and ``logs`` (``inter_channels`` each).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from server.engines.gpt_sovits.sovits.attention import CrossAttention, RelativeEncoder
from server.engines.gpt_sovits.sovits.config import (
    MRTE_DIM,
    MRTE_HEADS,
    REL_WINDOW,
    SSL_DIM,
    SovitsConfig,
)


class MRTE(nn.Module):
    """Multi-reference timbre encoder: content queries attend over the phone sequence.

    Output is ``c_post(attn(c_pre(content), text_pre(text)) + c_pre(content) + speaker)``,
    all at the fixed MRTE width of 512 before projecting back to the hidden width.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.cross_attention = CrossAttention(MRTE_DIM, MRTE_HEADS)
        self.c_pre = nn.Conv1d(channels, MRTE_DIM, 1)
        self.text_pre = nn.Conv1d(channels, MRTE_DIM, 1)
        self.c_post = nn.Conv1d(MRTE_DIM, channels, 1)

    def forward(
        self, content: torch.Tensor, text: torch.Tensor, speaker: torch.Tensor,
        content_mask: torch.Tensor | None = None, text_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``content (B, C, T)``, ``text (B, C, P)``, ``speaker (B, 512, 1)`` -> ``(B, C, T)``.

        The masks ``(B, 1, T)``/``(B, 1, P)`` (training batches) hide padded frames/phones.
        """
        if content_mask is None or text_mask is None:
            content = self.c_pre(content)
            text = self.text_pre(text)
            return self.c_post(self.cross_attention(content, text) + content + speaker)
        attn_mask = text_mask.unsqueeze(2) * content_mask.unsqueeze(-1)
        content = self.c_pre(content * content_mask)
        text = self.text_pre(text * text_mask)
        mixed = self.cross_attention(content * content_mask, text * text_mask, attn_mask)
        return self.c_post((mixed + content + speaker) * content_mask)


class TextEncoder(nn.Module):
    """``enc_p`` of the released checkpoints (inference path of ``decode``)."""

    def __init__(self, config: SovitsConfig) -> None:
        super().__init__()
        hidden = config.hidden_channels
        self.out_channels = config.inter_channels

        def encoder(n_layers: int) -> RelativeEncoder:
            return RelativeEncoder(
                hidden, config.filter_channels, config.n_heads, n_layers, config.kernel_size,
                REL_WINDOW,
            )

        self.ssl_proj = nn.Conv1d(SSL_DIM, hidden, 1)
        self.encoder_ssl = encoder(config.n_layers // 2)
        self.encoder_text = encoder(config.n_layers)
        self.text_embedding = nn.Embedding(config.n_symbols, hidden)
        self.mrte = MRTE(hidden)
        self.encoder2 = encoder(config.n_layers // 2)
        self.proj = nn.Conv1d(hidden, 2 * config.inter_channels, 1)

    def forward(
        self,
        content: torch.Tensor,
        phones: torch.Tensor,
        speaker: torch.Tensor,
        speed: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Prior statistics for the decoder.

        ``content`` is the quantized SSL content at 50 Hz ``(1, 768, T)``, ``phones`` the ids
        ``(1, P)``, ``speaker`` the MRTE speaker vector ``(1, 512, 1)``. Returns
        ``(x, m, logs)``: the encoder output and the two halves of its projection, each with
        ``int(T / speed) + 1`` frames when ``speed != 1`` and ``T`` frames otherwise.
        """
        x = self.encoder_ssl(self.ssl_proj(content))
        text = self.encoder_text(self.text_embedding(phones).transpose(1, 2))
        x = self.encoder2(self.mrte(x, text, speaker))
        if speed != 1:
            x = F.interpolate(x, size=int(x.shape[-1] / speed) + 1, mode="linear")
        m, logs = torch.split(self.proj(x), self.out_channels, dim=1)
        return x, m, logs

    def forward_masked(
        self, content: torch.Tensor, content_mask: torch.Tensor, phones: torch.Tensor,
        phone_mask: torch.Tensor, speaker: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The training forward on a padded batch: masks ``(B, 1, T)`` and ``(B, 1, P)``
        applied as the official encoder applies them. Returns ``(x, m, logs)``."""
        y = self.ssl_proj(content * content_mask) * content_mask
        y = self.encoder_ssl(y * content_mask, content_mask)
        text = self.text_embedding(phones).transpose(1, 2)
        text = self.encoder_text(text * phone_mask, phone_mask)
        y = self.mrte(y, text, speaker, content_mask, phone_mask)
        y = self.encoder2(y * content_mask, content_mask)
        m, logs = torch.split(self.proj(y) * content_mask, self.out_channels, dim=1)
        return y, m, logs
