"""The GPT (T2S) model in training: the official teacher-forced loss on our T2S weights.

:class:`T2STraining` wraps :class:`~server.engines.gpt_sovits.t2s.T2SModel` (the inference
model, same parameters) with the official training forward (``forward_old``):

- the input is ``[phones, codes]`` per row; phones are right-padded with 0 and the codes with
  EOS; the loss predicts every code and a final EOS from the position before it (the last
  phone predicts the first code), summed cross-entropy over all ``B * (Ty + 1)`` targets,
  padding included (padded targets are EOS);
- phones attend to phones only, codes to phones and causally to codes, nothing attends to
  padded positions - except that the official code masks the phones with a *left*-padding
  mask although they are right-padded, so in a batch a shorter text hides its first
  ``max_len - len`` phones and shows its trailing padding. That is reproduced by default
  (``official_phone_mask``), because parity needs it; batch size 1 is unaffected;
- dropout 0.1 on both positional embeddings, the attention weights, after attention, inside
  and after the MLP (off when ``dropout`` is 0, as in deterministic runs).

Parameters are named as in the official files (``h.layers.0.self_attn.in_proj_weight``) by
:meth:`T2STraining.official_parameters`, in the official order.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from server.engines.gpt_sovits.t2s import T2SLayer, T2SModel, official_key_map
from server.engines.gpt_sovits.training.s1_data import S1Batch

DROPOUT = 0.1  # the official value of every dropout of the GPT stage
TOP_K_ACCURACY = 3


class T2STraining(nn.Module):
    """Training forward and official naming around a T2S model."""

    def __init__(self, model: T2SModel, *, dropout: float = DROPOUT,
                 official_phone_mask: bool = True) -> None:
        super().__init__()
        self.model = model
        self.dropout = dropout
        self.official_phone_mask = official_phone_mask
        self._names = official_key_map(model.config.n_layers)

    def official_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """``(official name, parameter)`` in the official registration order."""
        params = dict(self.model.named_parameters())
        return [(official, params[local]) for official, local in self._names.items()]

    def official_state_dict(self, key_order: list[str]) -> OrderedDict[str, torch.Tensor]:
        """The weights under their official names (``model.`` prefix), in ``key_order``."""
        params = dict(self.official_parameters())
        return OrderedDict((f"model.{key}", params[key].detach()) for key in key_order)

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.dropout, self.training) if self.dropout else x

    def forward(self, batch: S1Batch) -> tuple[torch.Tensor, float]:
        """Summed cross-entropy of the batch and the official top-3 accuracy (EOS ignored)."""
        m = self.model
        device = m.device
        phones, phone_lens = batch.phone_ids.to(device), batch.phone_lens.to(device)
        codes, code_lens = batch.codes.to(device), batch.code_lens.to(device)
        n_x = phones.shape[1]
        n_y = codes.shape[1]
        eos = m.config.eos

        x = m.phone_embedding(phones) + m.bert_proj(batch.bert.to(device).transpose(1, 2))
        table = m.sinusoids(max(n_x, n_y))
        x = self._drop(x + m.phone_alpha * table[:n_x])
        positions = torch.arange(n_y, device=device)
        code_padding = positions[None, :] >= code_lens[:, None]
        inputs = codes.masked_fill(code_padding, eos)  # the official pad_y_eos input
        y = m.semantic_embedding(inputs) + m.semantic_alpha * table[:n_y]
        y = self._drop(y)

        mask = self._attention_mask(phone_lens, code_padding, n_x, n_y)
        h = torch.cat([x, y], dim=1)
        for layer in m.blocks:
            h = self._layer(layer, h, mask)
        logits = m.head(h[:, n_x - 1:])  # (B, Ty + 1, V)
        targets = F.pad(codes.masked_fill(code_padding, eos), (0, 1), value=eos)
        loss = F.cross_entropy(logits.transpose(1, 2), targets, reduction="sum")
        return loss, _top_k_accuracy(logits.detach(), targets, eos)

    def _attention_mask(self, phone_lens: torch.Tensor, code_padding: torch.Tensor,
                        n_x: int, n_y: int) -> torch.Tensor:
        """Additive mask ``(B, 1, Tx+Ty, Tx+Ty)``: 0 where visible, -inf where hidden."""
        device = phone_lens.device
        idx = torch.arange(n_x, device=device)
        if self.official_phone_mask:  # make_pad_mask_left on right-padded phones
            phone_padding = idx[None, :] < (n_x - phone_lens)[:, None]
        else:
            phone_padding = idx[None, :] >= phone_lens[:, None]
        key_padding = torch.cat([phone_padding, code_padding], dim=1)  # (B, L)
        hidden = torch.zeros(n_x + n_y, n_x + n_y, dtype=torch.bool, device=device)
        hidden[:n_x, n_x:] = True  # phones never see codes
        hidden[n_x:, n_x:] = torch.ones(n_y, n_y, dtype=torch.bool, device=device).triu(1)
        hidden = hidden[None, :, :] | key_padding[:, None, :]
        additive = torch.zeros(hidden.shape, dtype=torch.float32, device=device)
        return additive.masked_fill(hidden, float("-inf"))[:, None]

    def _layer(self, layer: T2SLayer, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = layer.norm_attn(h + self._drop(self._attention(layer, h, mask)))
        inner = self._drop(F.relu(layer.ff_in(h)))
        return layer.norm_ff(h + self._drop(layer.ff_out(inner)))

    def _attention(self, layer: T2SLayer, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Self-attention computed in the official layout (time-major, heads folded into the
        batch), so that rounding - which alone drives the key bias, whose true gradient is
        zero - follows the official code as closely as possible."""
        rows, time, dim = h.shape
        heads = layer.n_heads
        x = h.transpose(0, 1)  # (T, B, E)
        packed = F.linear(x, layer.qkv.weight, layer.qkv.bias)
        q, k, v = packed.unflatten(-1, (3, dim)).unsqueeze(0).transpose(0, -2).squeeze(-2) \
            .contiguous()
        q, k, v = (t.view(time, rows * heads, dim // heads).transpose(0, 1)
                   .view(rows, heads, time, dim // heads) for t in (q, k, v))
        full_mask = mask.expand(rows, heads, time, time)
        attn = F.scaled_dot_product_attention(
            q, k, v, full_mask, dropout_p=self.dropout if self.training else 0.0)
        attn = attn.permute(2, 0, 1, 3).contiguous().view(time * rows, dim)
        out = F.linear(attn, layer.out.weight, layer.out.bias).view(time, rows, dim)
        return out.transpose(0, 1)


def _top_k_accuracy(logits: torch.Tensor, targets: torch.Tensor, ignore: int) -> float:
    """Micro top-3 accuracy over the targets that are not ``ignore`` (0 when there are none)."""
    counted = targets != ignore
    if not counted.any():
        return 0.0
    top = logits.topk(TOP_K_ACCURACY, dim=-1).indices  # (B, T, k)
    hit = (top == targets[..., None]).any(-1) & counted
    return float(hit.sum()) / float(counted.sum())

