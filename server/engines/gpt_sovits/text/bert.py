"""Phone-level BERT features for Mandarin text (chinese-roberta-wwm-ext-large).

GPT-SoVITS conditions its T2S model on BERT features of the Mandarin text: the hidden state
of the third-to-last transformer layer for every character, repeated once per phone of that
character (``word2ph``), transposed to ``(hidden, n_phones)``. Other languages get zeros
(the front end's business, not this module's).

Only the layers up to the one that is read are kept: the later layers cannot change it, so
dropping them saves compute without changing a single value. The tokenizer always comes from
the model folder (its vocabulary decides the token ids).
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoTokenizer, BertModel, PreTrainedTokenizerBase

from server.errors import FailedPrecondition, InvalidArgument

# hidden_states[-3] in the reference: the output of the third-to-last layer.
_LAYERS_DROPPED = 2


class BertFeatures:
    """Character-level BERT hidden states expanded to phone level."""

    def __init__(self, model: BertModel, tokenizer: PreTrainedTokenizerBase) -> None:
        self.model = model
        self.tokenizer = tokenizer

    @classmethod
    def load(
        cls, bert_dir: Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
    ) -> BertFeatures:
        """Load the model and tokenizer from a Hugging Face folder (config, weights, vocab).

        Weights stored in fp16 are computed in ``dtype`` (fp32 by default, as the reference
        does on CPU). Raises FailedPrecondition if the folder cannot be loaded.
        """
        bert_dir = Path(bert_dir)
        try:
            tokenizer = AutoTokenizer.from_pretrained(bert_dir)
            model = BertModel.from_pretrained(bert_dir, add_pooling_layer=False, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise FailedPrecondition(
                f"cannot load the BERT model folder {bert_dir.name!r}: {exc}"
            ) from exc
        n_layers = model.config.num_hidden_layers
        if n_layers <= _LAYERS_DROPPED:
            raise FailedPrecondition(
                f"BERT model {bert_dir.name!r} has {n_layers} layers; at least "
                f"{_LAYERS_DROPPED + 1} are needed"
            )
        kept = n_layers - _LAYERS_DROPPED
        model.encoder.layer = model.encoder.layer[:kept]
        model.config.num_hidden_layers = kept
        model.eval().to(device)
        return cls(model, tokenizer)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @torch.inference_mode()
    def char_features(self, norm_text: str) -> torch.Tensor:
        """Hidden states of the read layer for every token between [CLS] and [SEP]: (T, H)."""
        encoded = self.tokenizer(norm_text, return_tensors="pt")
        inputs = {name: tensor.to(self.device) for name, tensor in encoded.items()}
        hidden = self.model(**inputs).last_hidden_state
        return hidden[0, 1:-1]

    def __call__(self, norm_text: str, word2ph: list[int]) -> torch.Tensor:
        """Phone-level features ``(hidden, sum(word2ph))`` on the model's device and dtype.

        ``norm_text`` is the normalised Mandarin text and ``word2ph`` its per-character phone
        counts (``mandarin_to_phones``). Like the reference, token i is taken as character i:
        every Hanzi and punctuation mark is one token for this vocabulary.
        """
        if len(word2ph) != len(norm_text):
            raise InvalidArgument(
                f"word2ph has {len(word2ph)} entries for {len(norm_text)} characters"
            )
        if not word2ph:
            return torch.zeros(self.hidden_size, 0, dtype=self.model.dtype, device=self.device)
        chars = self.char_features(norm_text)
        if chars.shape[0] < len(word2ph):
            raise InvalidArgument(
                f"the BERT tokenizer gives {chars.shape[0]} tokens for {len(word2ph)} "
                f"characters of {norm_text!r}"
            )
        repeats = torch.tensor(word2ph, dtype=torch.long, device=chars.device)
        return chars[: len(word2ph)].repeat_interleave(repeats, dim=0).T


__all__ = ["BertFeatures"]
