"""Phone-level BERT features: layer choice, word2ph expansion and shapes, on a tiny random BERT."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

from server.engines.gpt_sovits.text.bert import BertFeatures
from server.errors import FailedPrecondition, InvalidArgument

CHARS = "你好世界今天天气很我们一起去公园散步吧,.!?…-"
HIDDEN = 32


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BertForMaskedLM (5 layers, seed 0) with a character vocabulary, saved like a hub
    folder (config, weights, vocab.txt and tokenizer files)."""
    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(CHARS)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=HIDDEN,
        num_hidden_layers=5,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertForMaskedLM(config).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def features(bert_dir: Path) -> BertFeatures:
    return BertFeatures.load(bert_dir)


def test_reads_third_to_last_layer(bert_dir: Path, features: BertFeatures) -> None:
    text = "你好,世界!"
    chars = features.char_features(text)
    assert chars.shape == (len(text), HIDDEN)
    # Reference: hidden_states[-3] of the full masked-LM model, without [CLS] and [SEP].
    tokenizer = BertTokenizerFast.from_pretrained(bert_dir)
    model = BertForMaskedLM.from_pretrained(bert_dir).eval()
    with torch.no_grad():
        states = model(**tokenizer(text, return_tensors="pt"), output_hidden_states=True)
    layers = [h[0, 1:-1] for h in states.hidden_states]
    torch.testing.assert_close(chars, layers[-3], rtol=0, atol=1e-6)
    for other in (-1, -2, -4):
        assert not torch.allclose(chars, layers[other], atol=1e-3)


def test_expands_characters_by_word2ph(features: BertFeatures) -> None:
    text = "我们去公园散步吧."
    word2ph = [2, 2, 2, 2, 2, 2, 2, 2, 1]
    out = features(text, word2ph)
    assert out.shape == (HIDDEN, sum(word2ph))
    assert out.dtype == torch.float32
    chars = features.char_features(text)
    expected = torch.stack([chars[i] for i, count in enumerate(word2ph) for _ in range(count)])
    assert torch.equal(out, expected.T)


def test_rejects_misaligned_word2ph(features: BertFeatures) -> None:
    with pytest.raises(InvalidArgument):
        features("你好", [2])


def test_empty_text(features: BertFeatures) -> None:
    assert features("", []).shape == (HIDDEN, 0)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FailedPrecondition):
        BertFeatures.load(tmp_path / "nowhere")
