"""The SoVITS (s2) training data: the official item filters, buckets, batches and padding.

Items are the names of ``2-name2text.txt`` that have HuBERT features, a 32 kHz WAV and (v2Pro)
a speaker embedding. Fewer than 100 are repeated ``max(2, 100 // n)`` times. The official
filters then drop items whose phones are not all in the symbol table or whose WAV (file size,
header included, / 64000) lasts 0.6 s or less, or 54 s or more; an item's length is its size
// 1280 (spectrogram frames). Deterministic runs keep the file order (the official code takes
a hash-ordered set and shuffles it with seed 1234; here a seeded shuffle of the file order).

Batches come from the official bucket sampler: lengths in (32, 300], (300, 400], ...,
(1800, 1900] (others dropped, empty buckets removed), each bucket padded to a multiple of the
batch size by repeating its own items, consecutive batches bucket by bucket; with shuffling
(the official default) items within buckets and then the batches are permuted by a
generator seeded with the epoch, exactly as officially. The collate pads and sorts each
batch's rows by spectrogram length, longest first (ties keep batch order).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.io import wavfile

from server.engines.gpt_sovits.spectrogram import reference_spectrogram
from server.engines.gpt_sovits.text.symbols import SYMBOL_TO_ID
from server.engines.gpt_sovits.training import experiment as ex
from server.errors import FailedPrecondition, InvalidArgument

BOUNDARIES = (32, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500,
              1600, 1700, 1800, 1900)
MIN_ITEMS = 100
MIN_SECONDS, MAX_SECONDS = 0.6, 54.0
BYTES_PER_SECOND = 64_000  # 32 kHz, 16 bit
BYTES_PER_FRAME = 1280  # 2 bytes x hop 640
SV_DIM = 20480


@dataclass(frozen=True)
class S2Item:
    """One utterance: name, phone ids and its length in spectrogram frames."""

    name: str
    phone_ids: list[int]
    length: int


@dataclass(frozen=True)
class S2Batch:
    """A padded batch, rows sorted by spectrogram length (longest first)."""

    names: list[str]  # in row order
    ssl: torch.Tensor  # (B, 768, T)
    spec: torch.Tensor  # (B, 1025, T)
    spec_lengths: torch.Tensor  # (B,)
    wav: torch.Tensor  # (B, 1, N)
    phones: torch.Tensor  # (B, P) int64
    phone_lengths: torch.Tensor  # (B,)
    sv_emb: torch.Tensor | None  # (B, 20480), v2Pro/v2ProPlus


def load_items(exp_dir: Path, pro: bool, deterministic: bool,
               seed: int = 1234) -> tuple[list[S2Item], dict[str, str]]:
    """The items after the official filters (repetition included) and the dropped ones."""
    texts = ex.read_name2text(exp_dir)
    names = [n for n in texts
             if (exp_dir / ex.HUBERT_DIR / f"{n}.pt").is_file()
             and (exp_dir / ex.WAV32K_DIR / n).is_file()
             and (not pro or (exp_dir / ex.SV_DIR / f"{n}.pt").is_file())]
    dropped = {n: "features missing (skipped by the preparation?)" for n in texts
               if n not in names}
    if not names:
        raise FailedPrecondition(f"no utterance of {exp_dir} has all its features; prepare the "
                                 "experiment again")
    if len(names) < MIN_ITEMS:
        names = names * max(2, MIN_ITEMS // len(names))
    if not deterministic:
        random.Random(seed).shuffle(names)
    items: list[S2Item] = []
    for name in names:
        phones = texts[name].phones
        if any(p not in SYMBOL_TO_ID for p in phones):
            dropped[name] = "phones outside the symbol table"
            continue
        size = (exp_dir / ex.WAV32K_DIR / name).stat().st_size
        if not MIN_SECONDS < size / BYTES_PER_SECOND < MAX_SECONDS:
            dropped[name] = f"{size / BYTES_PER_SECOND:.2f} s (outside {MIN_SECONDS}-{MAX_SECONDS})"
            continue
        items.append(S2Item(name, [SYMBOL_TO_ID[p] for p in phones], size // BYTES_PER_FRAME))
    if len(items) <= 1:
        raise InvalidArgument(
            f"{exp_dir} has {len({i.name for i in items})} usable utterance(s) for the SoVITS "
            f"stage ({_reasons(dropped)}); record more speech (0.6-54 s per clip)")
    return items, dropped


def _reasons(dropped: dict[str, str]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in list(dropped.items())[:5]) or "none"


def buckets(items: list[S2Item], batch_size: int) -> list[list[int]]:
    """Item indices per length bucket (the official ``_create_buckets``), empty ones removed."""
    by_bucket: list[list[int]] = [[] for _ in range(len(BOUNDARIES) - 1)]
    for index, item in enumerate(items):
        for b in range(len(BOUNDARIES) - 1):
            if BOUNDARIES[b] < item.length <= BOUNDARIES[b + 1]:
                by_bucket[b].append(index)
                break
    return [bucket for bucket in by_bucket if bucket]


def epoch_batches(items: list[S2Item], batch_size: int, shuffle: bool,
                  epoch: int) -> list[list[int]]:
    """The batches (item indices) of ``epoch`` (1-based), as the official sampler yields them."""
    generator = torch.Generator()
    generator.manual_seed(epoch)
    groups = buckets(items, batch_size)
    orders = [torch.randperm(len(b), generator=generator).tolist() if shuffle
              else list(range(len(b))) for b in groups]
    batches: list[list[int]] = []
    for bucket, ids in zip(groups, orders):
        rem = (batch_size - len(bucket) % batch_size) % batch_size
        ids = ids + ids * (rem // len(bucket)) + ids[:rem % len(bucket)]
        batches += [[bucket[i] for i in ids[j:j + batch_size]]
                    for j in range(0, len(ids), batch_size)]
    if shuffle:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return batches


def load_example(exp_dir: Path, item: S2Item, pro: bool) -> tuple[torch.Tensor, ...]:
    """``(ssl (1, 768, T), spec (1025, T), wav (1, N), phones, sv_emb or empty)`` of an item."""
    rate, pcm = wavfile.read(exp_dir / ex.WAV32K_DIR / item.name)
    if rate != ex.WAV_RATE or pcm.dtype != np.int16 or pcm.ndim != 1:
        raise FailedPrecondition(f"{item.name} in {ex.WAV32K_DIR} is not 16-bit 32 kHz mono; "
                                 "prepare the experiment again")
    wav = torch.from_numpy(pcm.astype(np.float32) / 32768.0)[None]
    spec = reference_spectrogram(wav)[0]
    ssl = ex.load_tensor(exp_dir / ex.HUBERT_DIR / f"{item.name}.pt").float()
    if ssl.shape[-1] != spec.shape[-1]:  # the official fix-up: one frame short at most
        ssl = F.pad(ssl, (0, 1), mode="replicate")
    sv = ex.load_tensor(exp_dir / ex.SV_DIR / f"{item.name}.pt").float() if pro \
        else torch.zeros(0)
    return ssl, spec, wav, torch.tensor(item.phone_ids, dtype=torch.int64), sv


def collate(names: list[str], examples: list[tuple[torch.Tensor, ...]], pro: bool) -> S2Batch:
    """Pad and sort a batch as the official ``TextAudioSpeakerCollate``."""
    order = sorted(range(len(examples)), key=lambda i: -examples[i][1].shape[1])  # stable
    ssl_len = 2 * (max(e[0].shape[2] for e in examples) // 2 + 1)
    spec_len = 2 * (max(e[1].shape[1] for e in examples) // 2 + 1)
    wav_len = max(e[2].shape[1] for e in examples)
    phone_len = max(e[3].shape[0] for e in examples)
    b = len(examples)
    ssl = torch.zeros(b, examples[0][0].shape[1], ssl_len)
    spec = torch.zeros(b, examples[0][1].shape[0], spec_len)
    wav = torch.zeros(b, 1, wav_len)
    phones = torch.zeros(b, phone_len, dtype=torch.int64)
    sv = torch.zeros(b, SV_DIM) if pro else None
    spec_lengths, phone_lengths = torch.zeros(b, dtype=torch.int64), torch.zeros(b, dtype=torch.int64)
    for row, i in enumerate(order):
        e_ssl, e_spec, e_wav, e_phones, e_sv = examples[i]
        ssl[row, :, :e_ssl.shape[2]] = e_ssl[0]
        spec[row, :, :e_spec.shape[1]] = e_spec
        spec_lengths[row] = e_spec.shape[1]
        wav[row, :, :e_wav.shape[1]] = e_wav
        phones[row, :e_phones.shape[0]] = e_phones
        phone_lengths[row] = e_phones.shape[0]
        if sv is not None:
            sv[row] = e_sv.reshape(-1)
    return S2Batch(names=[names[i] for i in order], ssl=ssl, spec=spec,
                   spec_lengths=spec_lengths, wav=wav, phones=phones,
                   phone_lengths=phone_lengths, sv_emb=sv)
