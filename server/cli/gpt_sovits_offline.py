"""``voxguard gpt-sovits run``: one synthesis from files, without a server or tenant data.

For operators checking a model folder and for parity tests against the official code: the
defaults are those of the official ``TTS.run`` and ``--trace`` writes the intermediates the
oracle writes (phones, prompt codes, tokens, audio). Like every audio voxguard writes, the
output carries the watermark (key from the data directory's watermark keyring).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from server.audio import resample
from server.engines.base import TEXT_SPLIT_METHODS
from server.engines.gpt_sovits.engine import front_end_language
from server.engines.gpt_sovits.layout import resolve_model_files
from server.engines.gpt_sovits.models import OUTPUT_RATE, GptSovitsModels, InferenceOptions
from server.engines.gpt_sovits.t2s_decode import MAX_NEW_TOKENS
from server.engines.gpt_sovits.voice import (
    MAX_REFERENCE_SAMPLES,
    MIN_REFERENCE_SAMPLES,
    REFERENCE_RATE,
    VoicePrompt,
)
from server.errors import InvalidArgument, InvalidAudio
from server.watermark import Keyring, embed


@dataclass(frozen=True)
class OfflineRun:
    """Everything ``voxguard gpt-sovits run`` was asked to do."""

    models_dir: Path
    ref: Path
    ref_text: str
    ref_language: str
    text: str
    language: str
    out: Path
    variant: str | None = None
    gpt_weights: Path | None = None
    sovits_weights: Path | None = None
    options: InferenceOptions = field(default_factory=InferenceOptions)
    zh_g2p: str = "pypinyin"
    device: str = "cpu"
    dtype: str = "float32"
    semantic_in: Path | None = None
    trace_dir: Path | None = None
    backend: str = "torch"
    onnx_dir: Path | None = None


@dataclass(frozen=True)
class OfflineResult:
    """What the run produced (for the command's report)."""

    variant: str
    generation_id: str
    segments: int
    tokens: int
    seconds: float


def check_text_split(method: str) -> str:
    """An official text split method name (``cut0``-``cut5``)."""
    name = method.strip().lower()
    if name not in TEXT_SPLIT_METHODS:
        raise InvalidArgument(
            f"text split {method!r} is unknown; use one of {', '.join(TEXT_SPLIT_METHODS)}"
        )
    return name


def read_reference(path: Path) -> np.ndarray:
    """The reference clip as 16 kHz mono float32, checked to be 3-10 s like the official."""
    samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    clip = resample(np.ascontiguousarray(mono), int(rate), REFERENCE_RATE)
    if not MIN_REFERENCE_SAMPLES <= len(clip) <= MAX_REFERENCE_SAMPLES:
        raise InvalidAudio(
            f"reference {path.name} is {len(clip) / REFERENCE_RATE:.2f} s long; GPT-SoVITS needs "
            "a 3-10 s reference clip"
        )
    return clip


def read_semantic(path: Path, n_segments: int) -> list[list[int]]:
    """``{"segments": [[tokens], ...]}`` with one token list per text segment."""
    try:
        data = json.loads(path.read_text())
        segments = [[int(t) for t in tokens] for tokens in data["segments"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(
            f"{path.name} must be JSON like {{\"segments\": [[12, 7, ...], ...]}}"
        ) from exc
    if len(segments) != n_segments:
        raise InvalidArgument(
            f"{path.name} has {len(segments)} token lists but the text splits into "
            f"{n_segments} segments; give one list per segment"
        )
    if any(not 0 <= t < 1024 for tokens in segments for t in tokens):
        raise InvalidArgument(f"{path.name}: semantic tokens must lie in 0-1023")
    return segments


def run_offline(run: OfflineRun, keyring: Keyring) -> OfflineResult:
    """Load the models, synthesize, watermark and write ``run.out`` (and the trace)."""
    files = resolve_model_files(run.models_dir, variant=run.variant,
                                gpt_weights=run.gpt_weights, sovits_weights=run.sovits_weights)
    models = GptSovitsModels.load(files, device=run.device, dtype=run.dtype, zh_g2p=run.zh_g2p,
                                  backend=run.backend, onnx_dir=run.onnx_dir)
    reference = read_reference(run.ref)
    ref_language = front_end_language(run.ref_language)
    language = front_end_language(run.language)
    prompt = models.frontend.prompt(run.ref_text, ref_language)
    voice = VoicePrompt(
        language=ref_language, text=run.ref_text, reference=reference,
        phone_ids=tuple(prompt.phone_ids), prompt_codes=models.prompt_codes(reference),
        sv_embedding=models.speaker_embedding(reference), variant=models.variant,
        fingerprint=models.fingerprint,
    )
    prepared = models.prepare(voice)
    segments = models.segments(run.text, language, run.options.text_split)
    if not segments:
        raise InvalidArgument("the text has nothing to speak; send words in the language given")
    override = read_semantic(run.semantic_in, len(segments)) if run.semantic_in else None
    pieces = list(models.synthesize(prepared, segments, run.options, semantic_override=override))
    generation = secrets.token_bytes(8)
    speech = np.concatenate([p.audio for p in pieces]).astype(np.float32)
    full = np.concatenate([np.concatenate([p.audio, p.pause]) for p in pieces])
    marked = embed(full, OUTPUT_RATE, generation, keyring)
    run.out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(run.out), marked, OUTPUT_RATE, subtype="PCM_16")
    if run.trace_dir is not None:
        _write_trace(run.trace_dir, prepared.prompt.phone_ids, voice.prompt_codes, pieces,
                     embed(speech, OUTPUT_RATE, generation, keyring) if speech.size else speech)
    return OfflineResult(
        variant=models.variant, generation_id=generation.hex(), segments=len(pieces),
        tokens=sum(len(p.tokens) for p in pieces), seconds=len(full) / OUTPUT_RATE,
    )


def _write_trace(folder: Path, prompt_phones: list[int], prompt_codes: np.ndarray,
                 pieces: list, audio: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    phones = {"prompt": [int(i) for i in prompt_phones],
              "segments": [[int(i) for i in p.segment.phone_ids] for p in pieces]}
    (folder / "phones.json").write_text(json.dumps(phones) + "\n")
    np.save(folder / "prompt_semantic.npy", np.asarray(prompt_codes, dtype=np.int64))
    tokens = [np.asarray(p.tokens, dtype=np.int64) for p in pieces]
    np.save(folder / "semantic.npy", np.concatenate(tokens) if tokens else np.zeros(0, np.int64))
    np.save(folder / "audio.npy", np.asarray(audio, dtype=np.float32))


def default_max_new_tokens() -> int:
    """The official per-segment cap (its 1500-step loop, last step dropped)."""
    return MAX_NEW_TOKENS
