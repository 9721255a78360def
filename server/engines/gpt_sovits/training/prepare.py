"""The official GPT-SoVITS data preparation, reproduced: a ``.list`` -> an experiment folder.

The four official scripts run one after the other, each loading one model (so the peak
memory is one model, not four):

1. **text** (``1-get-text.py``): each transcript, after the official ``%`` -> ``-`` and
   ``￥`` -> ``,`` replacements, goes through ``clean_text`` in its one language (no
   language split); Mandarin items also get phone-level BERT features;
2. **audio** (``2-get-hubert-wav32k.py``): the clip is decoded and resampled to 32 kHz mono
   by FFmpeg; ``x / peak * 0.95 * 0.5 * S + 0.5 * S * x`` becomes the 16-bit WAV
   (``S`` = 32768) and, with ``S`` = 1145.14, is resampled to 16 kHz by soxr (librosa's
   ``soxr_hq``) for HuBERT. Clips whose peak is above 2.2 are skipped, as officially;
3. **speaker** (``2-get-sv.py``, v2Pro/v2ProPlus): the written WAV, resampled to 16 kHz
   (torchaudio's kernel), Kaldi fbank, ERes2NetV2;
4. **codes** (``3-get-semantic.py``): the SoVITS training generator's ``ssl_proj`` and
   quantizer turn the HuBERT features into semantic codes.

Unlike the official scripts, which skip a failing item and carry on, the ``.list`` is checked
before any model is loaded, and any other failure stops the run. The folder is built under a
temporary name next to ``out_dir`` and renamed at the end, so a failed run leaves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soxr
import torch
from scipy.io import wavfile

from server.audio.codecs import decode_with_ffmpeg
from server.engines.gpt_sovits.checkpoints import load_sovits_checkpoint
from server.engines.gpt_sovits.hubert import HubertFeatures
from server.engines.gpt_sovits.resample import resample
from server.engines.gpt_sovits.sovits import SovitsModel
from server.engines.gpt_sovits.speaker_verification import Eres2NetEncoder
from server.engines.gpt_sovits.text.bert import BertFeatures
from server.engines.gpt_sovits.text.frontend import TextFrontEnd
from server.engines.gpt_sovits.training import experiment as ex
from server.engines.gpt_sovits.training.dataset_list import ListItem, read_list
from server.engines.gpt_sovits.training.files import TrainingFiles, resolve_training_files
from server.errors import FailedPrecondition, InvalidArgument, InvalidAudio

#: The official loudness rule: the peak is scaled to MAX_PEAK * ALPHA, mixed with (1 - ALPHA)
#: of the original.
MAX_PEAK = 0.95
ALPHA = 0.5
INT16_SCALE = 32768.0
HUBERT_SCALE = 1145.14  # the official script's constant for the HuBERT input
#: Clips louder than this are skipped by the official script (decoding gone wrong).
PEAK_LIMIT = 2.2
HUBERT_RATE = 16_000
#: Longest utterance decoded (the s2 stage keeps items under 54 s).
MAX_ITEM_SECONDS = 600.0
REPORT_FILE = "voxguard_prepare.json"

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class PrepareReport:
    """What a preparation run did (also written to ``REPORT_FILE`` in the folder)."""

    variant: str
    items: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # name -> reason
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> wall time

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def prepare_dataset(
    models_dir: Path, list_file: Path, out_dir: Path, *, variant: str | None = None,
    wav_dir: Path | None = None, zh_g2p: str = "pypinyin", device: str = "cpu",
    progress: Progress | None = None,
) -> PrepareReport:
    """Write the official experiment folder ``out_dir`` for the utterances of ``list_file``."""
    items = read_list(list_file, wav_dir)
    files = resolve_training_files(models_dir, variant, need_discriminator=False)
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InvalidArgument(f"{out_dir} already exists and is not empty; give a new folder "
                              "for the experiment")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        report = _Preparation(files, items, work, torch.device(device), zh_g2p, progress).run()
        (work / REPORT_FILE).write_text(json.dumps(report.to_json(), indent=1,
                                                   ensure_ascii=False) + "\n", encoding="utf-8")
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return report


class _Preparation:
    """One run: the four stages over the items, writing into ``work``."""

    def __init__(self, files: TrainingFiles, items: list[ListItem], work: Path,
                 device: torch.device, zh_g2p: str, progress: Progress | None) -> None:
        self.files = files
        self.items = items
        self.work = work
        self.device = device
        self.zh_g2p = zh_g2p
        self.progress = progress or (lambda stage, done, total: None)
        self.report = PrepareReport(variant=files.variant, items=[i.name for i in items])

    def run(self) -> PrepareReport:
        for stage, method in (("text", self._text), ("audio", self._audio),
                              ("speaker", self._speaker), ("codes", self._codes)):
            if stage == "speaker" and self.files.models.sv is None:
                continue
            started = time.perf_counter()
            method()
            self.report.seconds[stage] = round(time.perf_counter() - started, 3)
        return self.report

    def _kept(self) -> list[ListItem]:
        return [item for item in self.items if item.name not in self.report.skipped]

    def _text(self) -> None:
        bert = BertFeatures.load(self.files.models.bert_dir, device=self.device)
        frontend = TextFrontEnd(bert, zh_g2p=self.zh_g2p)
        rows: list[ex.TextRow] = []
        for done, item in enumerate(self.items, start=1):
            text = item.text.replace("%", "-").replace("￥", ",")
            cleaned = frontend.clean(text, item.language)
            if not cleaned.norm_text.strip() or not cleaned.phones:
                raise InvalidArgument(
                    f"line {item.line} ({item.name}): the {item.language} transcript "
                    f"{item.text!r} has nothing to pronounce after normalisation; give the "
                    "words spoken in the clip")
            if item.language == "zh":
                features = frontend.features(cleaned, "zh")
                ex.save_tensor(features.float().cpu(), self.work / ex.BERT_DIR / f"{item.name}.pt")
            rows.append(ex.TextRow(item.name, list(cleaned.phones), cleaned.word2ph,
                                   cleaned.norm_text))
            self.progress("text", done, len(self.items))
        ex.write_name2text(self.work, rows)

    def _audio(self) -> None:
        hubert = HubertFeatures.load(self.files.models.hubert_dir, device=self.device)
        for done, item in enumerate(self.items, start=1):
            try:
                samples, _ = decode_with_ffmpeg(str(item.wav_path), sample_rate=ex.WAV_RATE,
                                                max_seconds=MAX_ITEM_SECONDS)
            except InvalidAudio as error:
                raise InvalidAudio(f"line {item.line} ({item.name}): {error.message}") from None
            peak = np.abs(samples).max()
            if peak > PEAK_LIMIT:
                self.report.skipped[item.name] = f"peak {float(peak):.2f} is above {PEAK_LIMIT}"
                continue
            if peak == 0:
                raise InvalidAudio(f"line {item.line} ({item.name}): the clip is silent")
            wav32k = loudness_normalized(samples, peak, INT16_SCALE)
            hubert_input = hubert_input_16k(loudness_normalized(samples, peak, HUBERT_SCALE))
            ssl = hubert(torch.from_numpy(hubert_input)).float().cpu()
            if torch.isnan(ssl).any():
                self.report.skipped[item.name] = "HuBERT features are NaN"
                continue
            ex.write_wav32k(self.work / ex.WAV32K_DIR / item.name, wav32k)
            ex.save_tensor(ssl.contiguous(), self.work / ex.HUBERT_DIR / f"{item.name}.pt")
            self.progress("audio", done, len(self.items))

    def _speaker(self) -> None:
        assert self.files.models.sv is not None
        encoder = Eres2NetEncoder.load(self.files.models.sv, device=self.device)
        kept = self._kept()
        for done, item in enumerate(kept, start=1):
            rate, pcm = wavfile.read(self.work / ex.WAV32K_DIR / item.name)
            wav = torch.from_numpy(pcm.astype(np.float32) / INT16_SCALE)[None, :]
            embedding = encoder(resample(wav, rate, HUBERT_RATE).to(self.device))
            ex.save_tensor(embedding.float().cpu(), self.work / ex.SV_DIR / f"{item.name}.pt")
            self.progress("speaker", done, len(kept))

    def _codes(self) -> None:
        sovits = SovitsModel.from_checkpoint(load_sovits_checkpoint(self.files.generator))
        sovits = sovits.to(self.device).eval()
        rows: list[tuple[str, list[int]]] = []
        kept = self._kept()
        for done, item in enumerate(kept, start=1):
            ssl = ex.load_tensor(self.work / ex.HUBERT_DIR / f"{item.name}.pt")
            codes = sovits.extract_latent(ssl.to(self.device))
            rows.append((item.name, [int(c) for c in codes[0, 0].tolist()]))
            self.progress("codes", done, len(kept))
        if not rows:
            raise FailedPrecondition("every clip was skipped; nothing is left to train on")
        ex.write_semantic(self.work, rows)


def loudness_normalized(samples: np.ndarray, peak: np.floating, scale: float) -> np.ndarray:
    """The official ``x / peak * (0.95 * 0.5 * scale) + (0.5 * scale) * x``, in float32."""
    samples = np.asarray(samples, dtype=np.float32)
    peak32 = np.float32(peak)
    return (samples / peak32 * np.float32(MAX_PEAK * ALPHA * scale)
            + np.float32((1 - ALPHA) * scale) * samples)


def hubert_input_16k(samples32k: np.ndarray) -> np.ndarray:
    """32 -> 16 kHz as ``librosa.resample`` (soxr HQ, length ``ceil(n / 2)``), float32."""
    out = soxr.resample(samples32k, ex.WAV_RATE, HUBERT_RATE, quality="HQ")
    length = -(-len(samples32k) * HUBERT_RATE // ex.WAV_RATE)
    if len(out) < length:
        out = np.pad(out, (0, length - len(out)))
    return np.ascontiguousarray(out[:length], dtype=np.float32)
