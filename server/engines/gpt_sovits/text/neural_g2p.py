"""``g2p_en``'s neural letter-to-phone model, run with numpy from its shipped weights.

GPT-SoVITS falls back on this model for English words that no dictionary or compound split
covers. It is a character-level GRU encoder-decoder (hidden size 256): the encoder reads the
letters of the word and an end mark, and the decoder, started from the encoder's last state and
a start symbol, emits ARPAbet phones greedily until it produces the end symbol or 20 phones.

The computation mirrors the reference implementation operation by operation in float32 (one
matrix product per step and gate layout ``reset | update | new``), so the arg-max decisions and
therefore the phones are the same.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from server.errors import FailedPrecondition

# Input alphabet: three markers, then the 26 lower-case letters (index 1 = unknown character).
_GRAPHEMES = ("<pad>", "<unk>", "</s>", *string.ascii_lowercase)
_GRAPHEME_INDEX = {grapheme: index for index, grapheme in enumerate(_GRAPHEMES)}
_UNKNOWN_GRAPHEME = 1
_END_GRAPHEME = 2

# Output alphabet: four markers, then ARPAbet in g2p_en's order (which includes a bare "UW").
_PHONEMES = (
    "<pad>", "<unk>", "<s>", "</s>",
    "AA0", "AA1", "AA2", "AE0", "AE1", "AE2", "AH0", "AH1", "AH2", "AO0", "AO1", "AO2",
    "AW0", "AW1", "AW2", "AY0", "AY1", "AY2", "B", "CH", "D", "DH",
    "EH0", "EH1", "EH2", "ER0", "ER1", "ER2", "EY0", "EY1", "EY2", "F", "G", "HH",
    "IH0", "IH1", "IH2", "IY0", "IY1", "IY2", "JH", "K", "L", "M", "N", "NG",
    "OW0", "OW1", "OW2", "OY0", "OY1", "OY2", "P", "R", "S", "SH", "T", "TH",
    "UH0", "UH1", "UH2", "UW", "UW0", "UW1", "UW2", "V", "W", "Y", "Z", "ZH",
)
_START_PHONEME = 2
_END_PHONEME = 3
MAX_PHONES = 20

_WEIGHT_NAMES = (
    "enc_emb", "enc_w_ih", "enc_w_hh", "enc_b_ih", "enc_b_hh",
    "dec_emb", "dec_w_ih", "dec_w_hh", "dec_b_ih", "dec_b_hh", "fc_w", "fc_b",
)


@dataclass(frozen=True)
class _GRUCell:
    """One GRU layer's weights (rows: reset, update and new gates)."""

    w_ih: np.ndarray
    w_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray

    def __call__(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        """One step: input ``x`` (1, E) and state ``h`` (1, H) -> the new state (1, H)."""
        from_input = np.matmul(x, self.w_ih.T) + self.b_ih
        from_state = np.matmul(h, self.w_hh.T) + self.b_hh
        split = from_input.shape[-1] * 2 // 3
        gates = 1 / (1 + np.exp(-(from_input[:, :split] + from_state[:, :split])))
        reset, update = np.split(gates, 2, -1)
        candidate = np.tanh(from_input[:, split:] + reset * from_state[:, split:])
        return (1 - update) * candidate + update * h


class NeuralG2P:
    """Greedy phone prediction for one lower-case word."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        missing = [name for name in _WEIGHT_NAMES if name not in weights]
        if missing:
            raise FailedPrecondition(f"g2p_en weights lack {', '.join(missing)}")
        self._enc_emb = weights["enc_emb"]
        self._dec_emb = weights["dec_emb"]
        self._encoder = _GRUCell(*(weights[f"enc_{n}"] for n in ("w_ih", "w_hh", "b_ih", "b_hh")))
        self._decoder = _GRUCell(*(weights[f"dec_{n}"] for n in ("w_ih", "w_hh", "b_ih", "b_hh")))
        self._fc_w = weights["fc_w"]
        self._fc_b = weights["fc_b"]
        if self._fc_w.shape[0] != len(_PHONEMES) or self._enc_emb.shape[0] != len(_GRAPHEMES):
            raise FailedPrecondition("g2p_en weights do not match its phone/letter alphabets")

    @classmethod
    def load(cls, path: Path) -> NeuralG2P:
        """Read the ``checkpoint20.npz`` that ships with ``g2p_en``."""
        if not path.is_file():
            raise FailedPrecondition(f"g2p_en weights not found at {path}")
        with np.load(path) as archive:
            return cls({name: np.asarray(archive[name]) for name in archive.files})

    def predict(self, word: str) -> list[str]:
        """Phones for ``word``; characters other than a-z count as one unknown symbol each.

        The result may contain ``g2p_en`` markers (``<unk>``, ``<pad>``...) and the bare
        ``UW``; the English front end filters those like the official code does.
        """
        indices = [_GRAPHEME_INDEX.get(char, _UNKNOWN_GRAPHEME) for char in word]
        inputs = np.take(self._enc_emb, [indices + [_END_GRAPHEME]], axis=0)  # (1, T, E)
        state = np.zeros((1, self._encoder.w_hh.shape[1]), np.float32)
        for step in range(inputs.shape[1]):
            state = self._encoder(inputs[:, step, :], state)
        previous = np.take(self._dec_emb, [_START_PHONEME], axis=0)
        phones: list[str] = []
        for _ in range(MAX_PHONES):
            state = self._decoder(previous, state)
            logits = np.matmul(state, self._fc_w.T) + self._fc_b
            best = int(logits.argmax())
            if best == _END_PHONEME:
                break
            phones.append(_PHONEMES[best])
            previous = np.take(self._dec_emb, [best], axis=0)
        return phones


__all__ = ["MAX_PHONES", "NeuralG2P"]
