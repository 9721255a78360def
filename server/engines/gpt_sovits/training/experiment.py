"""The official GPT-SoVITS experiment folder: names, file formats, readers and writers.

The data preparation writes, and both training stages read, exactly these files (the layout
of the official ``logs/<exp_name>/``, so an experiment folder moves freely between voxguard
and the official tools):

- ``2-name2text.txt``: ``name<TAB>phones<TAB>word2ph<TAB>norm_text`` per item, phones as
  space-separated symbols, ``word2ph`` as a Python list literal (``None`` for English);
- ``3-bert/<name>.pt``: Mandarin items only, float32 ``(1024, n_phones)``;
- ``4-cnhubert/<name>.pt``: float32 ``(1, 768, T50)`` HuBERT features;
- ``5-wav32k/<name>``: 16-bit 32 kHz mono WAV (the name keeps the source file's extension);
- ``6-name2semantic.tsv``: header ``item_name<TAB>semantic_audio``, then
  ``name<TAB>codes`` per item;
- ``7-sv_cn/<name>.pt``: v2Pro/v2ProPlus only, float32 ``(1, 20480)`` speaker embedding.

``.pt`` files are written like the official ``my_save``: ``torch.save`` to a file named after
the current time, then moved into place, so the zip's root folder is that time stamp (and a
crash never leaves a half-written feature file under its final name).
"""

from __future__ import annotations

import ast
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.io import wavfile

from server.errors import FailedPrecondition

NAME2TEXT = "2-name2text.txt"
BERT_DIR = "3-bert"
HUBERT_DIR = "4-cnhubert"
WAV32K_DIR = "5-wav32k"
SEMANTIC_FILE = "6-name2semantic.tsv"
SV_DIR = "7-sv_cn"
SEMANTIC_HEADER = "item_name\tsemantic_audio"
WAV_RATE = 32_000


@dataclass(frozen=True)
class TextRow:
    """One line of ``2-name2text.txt``."""

    name: str
    phones: list[str]
    word2ph: list[int] | None
    norm_text: str

    def render(self) -> str:
        """The line as the official ``1-get-text.py`` formats it."""
        word2ph = "None" if self.word2ph is None else repr(list(self.word2ph))
        return f"{self.name}\t{' '.join(self.phones)}\t{word2ph}\t{self.norm_text}"


def save_tensor(tensor: torch.Tensor, path: Path, part: int = 0) -> None:
    """``torch.save`` as the official ``my_save`` does (time-stamped zip root), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f"{time.time()}{part}.pth"
    torch.save(tensor, temporary)
    os.replace(temporary, path)


def write_wav32k(path: Path, samples: np.ndarray) -> None:
    """16-bit 32 kHz WAV through ``scipy.io.wavfile``, as the official script writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    wavfile.write(temporary, WAV_RATE, samples.astype(np.int16))
    os.replace(temporary, path)


def write_name2text(exp_dir: Path, rows: list[TextRow]) -> None:
    """``2-name2text.txt``: the rows in order, one per line, newline-terminated."""
    _write_lines(exp_dir / NAME2TEXT, [row.render() for row in rows])


def write_semantic(exp_dir: Path, rows: list[tuple[str, list[int]]]) -> None:
    """``6-name2semantic.tsv``: the header, then ``name<TAB>codes`` per item."""
    lines = [SEMANTIC_HEADER] + [f"{name}\t{' '.join(str(c) for c in codes)}"
                                 for name, codes in rows]
    _write_lines(exp_dir / SEMANTIC_FILE, lines)


def _write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_name2text(exp_dir: Path) -> dict[str, TextRow]:
    """The rows of ``2-name2text.txt`` by name, in file order."""
    path = exp_dir / NAME2TEXT
    rows: dict[str, TextRow] = {}
    for number, line in enumerate(_lines(path), start=1):
        fields = line.split("\t")
        if len(fields) != 4:
            raise FailedPrecondition(
                f"{path} line {number} has {len(fields)} fields, not 4; prepare the "
                "experiment again")
        name, phones, word2ph, norm_text = fields
        rows[name] = TextRow(name=name, phones=phones.split(" "),
                             word2ph=_parse_word2ph(word2ph, path, number), norm_text=norm_text)
    return rows


def read_semantic(exp_dir: Path) -> list[tuple[str, list[int]]]:
    """The rows of ``6-name2semantic.tsv`` (header skipped), in file order."""
    path = exp_dir / SEMANTIC_FILE
    lines = _lines(path)
    if not lines or lines[0] != SEMANTIC_HEADER:
        raise FailedPrecondition(f"{path} does not start with the official header; prepare the "
                                 "experiment again")
    rows: list[tuple[str, list[int]]] = []
    for number, line in enumerate(lines[1:], start=2):
        name, _, codes = line.partition("\t")
        try:
            rows.append((name, [int(c) for c in codes.split(" ")]))
        except ValueError:
            raise FailedPrecondition(
                f"{path} line {number} holds codes that are not integers; prepare the "
                "experiment again") from None
    return rows


def load_tensor(path: Path) -> torch.Tensor:
    """A feature tensor of the folder (plain tensor pickles only; nothing else is run)."""
    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FailedPrecondition(f"{path} is missing; prepare the experiment again") from None
    except Exception as exc:  # a damaged or foreign file
        raise FailedPrecondition(f"{path} cannot be read ({type(exc).__name__}); prepare the "
                                 "experiment again") from exc
    if not isinstance(value, torch.Tensor):
        raise FailedPrecondition(f"{path} does not hold a tensor; prepare the experiment again")
    return value


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FailedPrecondition(
            f"{path} is missing; run `voxguard gpt-sovits prepare-dataset` first") from None
    return [line for line in text.split("\n") if line]


def _parse_word2ph(value: str, path: Path, number: int) -> list[int] | None:
    if value == "None":
        return None
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = None
    if not isinstance(parsed, list) or not all(isinstance(v, int) for v in parsed):
        raise FailedPrecondition(f"{path} line {number}: word2ph {value!r} is not a list of "
                                 "integers; prepare the experiment again")
    return parsed
