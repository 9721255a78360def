"""The GPT (s1) training data: the official item filters, batch order and padding.

Items are the rows of ``6-name2semantic.tsv`` in file order, joined with ``2-name2text.txt``,
kept when (as the official ``Text2SemanticDataset``):

- the name has phones, every phone is in the symbol table,
- there are at most ``MAX_SECONDS * 25`` codes and ``MAX_SECONDS * 25 / 2.5`` phones,
- the speaking rate ``phones / (codes / 25)`` lies in ``[3, 25]`` phones per second.

Fewer than 100 items are repeated ``max(2, 100 // n)`` times back to back. The batch size is
``max(min(B, n // 4), 1)``. Deterministic runs take the items in index order, consecutive
batches with the last one partial, every epoch the same (the official sampler with
``shuffle=False``). Otherwise the official shuffle is followed in kind: items are bucketed by
length in 2 s steps, shuffled within buckets, cut into batches, and the batches shuffled, from
a generator seeded per epoch (the same seed gives the same order; it is not the official
random stream).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch

from server.engines.gpt_sovits.text.symbols import SYMBOL_TO_ID
from server.engines.gpt_sovits.training import experiment as ex
from server.errors import FailedPrecondition

CODE_RATE = 25  # semantic codes per second
MAX_SECONDS = 54
MIN_RATE, MAX_RATE = 3, 25  # phones per second
MIN_ITEMS = 100
PAD_CODE = 1024  # the EOS token pads the codes
BERT_DIM = 1024
BUCKET_SECONDS = 2.0


@dataclass(frozen=True)
class S1Item:
    """One training utterance: its phones, codes and (Mandarin only) BERT features."""

    name: str
    phone_ids: list[int]
    codes: list[int]
    bert: torch.Tensor | None  # (1024, n_phones) float32, or None (zeros)


@dataclass(frozen=True)
class S1Batch:
    """A padded batch, rows in sampler order."""

    names: list[str]
    phone_ids: torch.Tensor  # (B, Tx) int64, right-padded with 0
    phone_lens: torch.Tensor  # (B,) int64
    codes: torch.Tensor  # (B, Ty) int64, right-padded with PAD_CODE
    code_lens: torch.Tensor  # (B,) int64
    bert: torch.Tensor  # (B, 1024, Tx) float32, zero-padded


def load_items(exp_dir: Path) -> tuple[list[S1Item], dict[str, str]]:
    """The kept items (after repetition) and the dropped names with the reason."""
    texts = ex.read_name2text(exp_dir)
    kept: list[S1Item] = []
    dropped: dict[str, str] = {}
    for name, codes in ex.read_semantic(exp_dir):
        reason = None
        row = texts.get(name)
        if row is None:
            reason = "not in 2-name2text.txt"
        elif any(p not in SYMBOL_TO_ID for p in row.phones):
            reason = "phones outside the symbol table"
        elif len(codes) > MAX_SECONDS * CODE_RATE:
            reason = f"longer than {MAX_SECONDS} s"
        elif len(row.phones) > MAX_SECONDS * CODE_RATE / 2.5:
            reason = "too many phones"
        else:
            rate = len(row.phones) / (len(codes) / CODE_RATE)
            if not MIN_RATE <= rate <= MAX_RATE:
                reason = f"{rate:.1f} phones per second (outside {MIN_RATE}-{MAX_RATE})"
        if reason is not None or row is None:  # (row is None always has a reason)
            dropped[name] = reason or ""
            continue
        bert_path = exp_dir / ex.BERT_DIR / f"{name}.pt"
        bert = ex.load_tensor(bert_path).float() if bert_path.is_file() else None
        phone_ids = [SYMBOL_TO_ID[p] for p in row.phones]
        if bert is not None and bert.shape != (BERT_DIM, len(phone_ids)):
            raise FailedPrecondition(f"{bert_path} does not match the phones of {name}; "
                                     "prepare the experiment again")
        kept.append(S1Item(name, phone_ids, codes, bert))
    if not kept:
        raise FailedPrecondition(
            f"no utterance of {exp_dir} is usable for the GPT stage ({_reasons(dropped)})")
    if len(kept) < MIN_ITEMS:
        kept = kept * max(2, MIN_ITEMS // len(kept))
    return kept, dropped


def _reasons(dropped: dict[str, str]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in list(dropped.items())[:5])


def effective_batch_size(requested: int, n_items: int) -> int:
    """The official ``max(min(B, n // 4), 1)``."""
    return max(min(requested, n_items // 4), 1)


def epoch_order(items: list[S1Item], batch_size: int, deterministic: bool, seed: int,
                epoch: int) -> list[list[int]]:
    """The item indices of each batch of one epoch (``epoch`` counts from 1)."""
    if deterministic:
        order = list(range(len(items)))
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng = random.Random(seed * 1000 + epoch)
    by_length = sorted(range(len(items)), key=lambda i: len(items[i].codes))
    buckets: list[list[int]] = []
    current: list[int] = []
    limit = BUCKET_SECONDS
    for index in by_length:  # the official make_buckets, empty buckets included
        if len(items[index].codes) / CODE_RATE < limit:
            current.append(index)
        else:
            buckets.append(current)
            current = [index]
            limit += BUCKET_SECONDS
    if current:
        buckets.append(current)
    chained: list[int] = []
    for bucket in buckets:
        rng.shuffle(bucket)
        chained += bucket
    batches = [chained[i:i + batch_size] for i in range(0, len(chained), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(items: list[S1Item]) -> S1Batch:
    """Pad a batch as the official collate does."""
    n_phones = max(len(i.phone_ids) for i in items)
    n_codes = max(len(i.codes) for i in items)
    phone_ids = torch.zeros(len(items), n_phones, dtype=torch.int64)
    codes = torch.full((len(items), n_codes), PAD_CODE, dtype=torch.int64)
    bert = torch.zeros(len(items), BERT_DIM, n_phones)
    for row, item in enumerate(items):
        phone_ids[row, :len(item.phone_ids)] = torch.tensor(item.phone_ids)
        codes[row, :len(item.codes)] = torch.tensor(item.codes)
        if item.bert is not None:
            bert[row, :, :item.bert.shape[-1]] = item.bert
    return S1Batch(
        names=[i.name for i in items], phone_ids=phone_ids,
        phone_lens=torch.tensor([len(i.phone_ids) for i in items]),
        codes=codes, code_lens=torch.tensor([len(i.codes) for i in items]), bert=bert)
