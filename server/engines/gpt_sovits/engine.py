"""The ``gpt-sovits`` synthesis engine: enrollment and streaming synthesis on the platform.

Construction checks the operator's model folder at once (every file present, every
checkpoint readable and of a known format, T2S and SoVITS belonging together), so a bad
folder stops the server at start with one clear line. The models themselves load on first
use, or at once in synthesis workers (:meth:`GptSovitsEngine.prepare`).

Enrollment picks a 3-10 s whole-phrase reference clip (:mod:`.reference`), finds its words
(the caller's transcript, else the bundled English recogniser), and stores the clip, its
text and phones, its prompt codes and, for Pro, its speaker embedding (:mod:`.voice`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from server.audio import Audio, resample
from server.engines.base import (
    SAMPLING_OPTIONS,
    AudioChunk,
    EnrollmentHints,
    SynthesisParams,
    SynthesisRequest,
    VoiceModel,
)
from server.engines.batching import BatchingEngine, BatchRunner
from server.engines.gpt_sovits.checkpoints import (
    check_pair,
    load_sovits_checkpoint,
    load_t2s_checkpoint,
)
from server.engines.gpt_sovits.layout import ModelFiles, resolve_model_files
from server.engines.gpt_sovits.models import (
    DTYPES,
    OUTPUT_RATE,
    GptSovitsModels,
    InferenceOptions,
    PreparedVoice,
)
from server.engines.gpt_sovits.reference import choose_clip, locate_in_transcript, proportional_text
from server.engines.gpt_sovits.runner import GptSovitsRunner, SynthesisPlan, segment_chunk
from server.engines.gpt_sovits.spec import ENGINE_NAME, ENGINE_VERSION, FRONT_END_LANGUAGES
from server.engines.gpt_sovits.streaming import StreamPlan
from server.engines.gpt_sovits.t2s_decode import MAX_NEW_TOKENS
from server.engines.gpt_sovits.voice import REFERENCE_RATE, VoicePrompt
from server.errors import FailedPrecondition, InvalidArgument, InvalidAudio, ModelFilesError
from server.text import base_language

#: Requests one worker advances together by default, and at most (engine option ``max_batch``).
DEFAULT_MAX_BATCH = 16
MAX_BATCH = 256


class GptSovitsEngine(BatchingEngine):
    """GPT-SoVITS v2 / v2Pro / v2ProPlus on the operator's official checkpoints."""

    name = ENGINE_NAME
    version = ENGINE_VERSION
    native_sample_rate = OUTPUT_RATE
    supported_options = frozenset(SAMPLING_OPTIONS)
    batches_requests = True

    def __init__(
        self,
        models_dir: str | None = None,
        variant: str | None = None,
        device: str = "cpu",
        dtype: str = "float32",
        gpt_weights: str | None = None,
        sovits_weights: str | None = None,
        sv_weights: str | None = None,
        hubert_dir: str | None = None,
        bert_dir: str | None = None,
        g2pw_dir: str | None = None,
        zh_g2p: str = "auto",
        max_text_chars: int = 5_000,
        asr_model_path: str | None = None,
        max_new_tokens: int | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        backend: str = "torch",
        onnx_dir: str | None = None,
        stream_chunk_tokens: int = 0,
    ) -> None:
        if not models_dir:
            raise ModelFilesError(
                "the gpt-sovits engine needs the official pretrained models: set "
                "VOXGUARD_GPT_SOVITS_MODELS to the folder laid out like GPT_SoVITS/pretrained_models"
            )
        if dtype not in DTYPES:
            raise InvalidArgument(f"dtype {dtype!r} is unknown; use one of {', '.join(DTYPES)}")
        overrides = {
            key: value for key, value in {
                "sv_weights": sv_weights, "hubert_dir": hubert_dir, "bert_dir": bert_dir,
                "g2pw_dir": g2pw_dir,
            }.items() if value
        }
        self.files: ModelFiles = resolve_model_files(
            Path(models_dir), variant=variant,
            gpt_weights=Path(gpt_weights) if gpt_weights else None,
            sovits_weights=Path(sovits_weights) if sovits_weights else None,
            overrides=overrides,
        )
        check_pair(load_t2s_checkpoint(self.files.t2s), load_sovits_checkpoint(self.files.sovits))
        if zh_g2p == "auto":
            zh_g2p = "g2pw" if self.files.g2pw_dir is not None else "pypinyin"
        self.zh_g2p = zh_g2p
        self.device = device
        self.dtype = dtype
        self.uses_gpu = device.startswith("cuda")
        self.max_text_chars = int(max_text_chars)
        if max_new_tokens is not None and not 1 <= int(max_new_tokens) <= MAX_NEW_TOKENS:
            raise InvalidArgument(
                f"max_new_tokens {max_new_tokens} is out of range; use 1-{MAX_NEW_TOKENS} "
                "semantic tokens (25 per second of speech) per text segment"
            )
        self._max_new_tokens = int(max_new_tokens) if max_new_tokens else MAX_NEW_TOKENS
        if not 1 <= int(max_batch) <= MAX_BATCH:
            raise InvalidArgument(
                f"max_batch {max_batch} is out of range; use 1-{MAX_BATCH} requests per worker"
            )
        self.max_batch = int(max_batch)
        if not 0 <= int(stream_chunk_tokens) <= MAX_NEW_TOKENS:
            raise InvalidArgument(
                f"stream_chunk_tokens {stream_chunk_tokens} is out of range; use 0 (send whole "
                "segments, exact) or the tokens per streamed piece, e.g. 40 (25 per second)"
            )
        #: Streamed windows (see ``streaming.py``), or None: whole segments (the default).
        self.stream_plan = (
            StreamPlan(chunk_tokens=int(stream_chunk_tokens),
                       first_chunk_tokens=min(12, int(stream_chunk_tokens)))
            if stream_chunk_tokens else None
        )
        if backend not in ("torch", "onnx"):
            raise InvalidArgument(f"backend {backend!r} is unknown; use torch or onnx")
        self.backend = backend
        self.onnx_dir = Path(onnx_dir) if onnx_dir else None
        if backend == "onnx":  # a missing or stale export stops the server at start
            from server.engines.gpt_sovits.models import check_onnx_export

            check_onnx_export(self.files, self.onnx_dir)
        self._asr_model_path = asr_model_path
        self._models: GptSovitsModels | None = None
        self._transcriber: Any = None
        self._lock = threading.Lock()
        # Keyed by the worker's cached VoiceModel object: when the worker evicts a voice
        # (deletion, revocation) and drops the model, its prepared tensors go with it.
        self._prepared: weakref.WeakKeyDictionary[VoiceModel, PreparedVoice] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def supported_languages(self) -> tuple[str, ...]:
        """English and Mandarin (with English words inside Mandarin text)."""
        return tuple(sorted(FRONT_END_LANGUAGES))

    @property
    def models(self) -> GptSovitsModels:
        """The loaded model stack (loaded once, on first use)."""
        with self._lock:
            if self._models is None:
                self._models = GptSovitsModels.load(
                    self.files, device=self.device, dtype=self.dtype, zh_g2p=self.zh_g2p,
                    backend=self.backend, onnx_dir=self.onnx_dir,
                )
            return self._models

    @property
    def loaded(self) -> bool:
        """True once this process holds the models (workers do; the gRPC process should not)."""
        return self._models is not None

    def prepare(self) -> None:
        """Load every model now (synthesis workers call this before taking jobs)."""
        _ = self.models

    # -- enrollment ---------------------------------------------------------------------

    def enroll(
        self, samples: np.ndarray, sample_rate: int, hints: EnrollmentHints | None = None
    ) -> VoiceModel:
        """Choose the reference clip, find its words, and compute its prompt features."""
        hints = hints or EnrollmentHints()
        language = front_end_language(hints.language)
        audio16k = resample(np.asarray(samples, dtype=np.float32), sample_rate, REFERENCE_RATE)
        can_hear = language == "en"
        if not can_hear and not hints.transcript:
            raise InvalidArgument(
                f"enrolling a {hints.language!r} voice with the gpt-sovits engine needs the "
                "transcript of the enrollment audio (EnrollMetadata.transcript): the bundled "
                "speech recogniser understands English only"
            )
        choice = choose_clip(audio16k, from_start=not can_hear)
        clip = np.ascontiguousarray(audio16k[choice.start : choice.end])
        if can_hear:
            heard = self._transcribe(clip)
            text = heard
            if hints.transcript:
                text = locate_in_transcript(heard, hints.transcript) or heard
        else:
            text = proportional_text(hints.transcript or "", choice)
        if not text.strip():
            raise InvalidAudio(
                "no words were recognised in the enrollment audio; record clear speech or "
                "send its transcript"
            )
        models = self.models
        prompt = models.frontend.prompt(text, language)
        voice = VoicePrompt(
            language=language, text=text, reference=clip.astype(np.float32),
            phone_ids=tuple(prompt.phone_ids), prompt_codes=models.prompt_codes(clip),
            sv_embedding=models.speaker_embedding(clip), variant=models.variant,
            fingerprint=models.fingerprint,
        )
        return VoiceModel(engine=self.name, engine_version=self.version, data=voice.to_bytes())

    def _transcribe(self, clip: np.ndarray) -> str:
        from server.speech.asr import Transcriber

        with self._lock:
            if self._transcriber is None:
                path = Path(self._asr_model_path) if self._asr_model_path else None
                self._transcriber = Transcriber(path)
        return str(self._transcriber.transcribe(Audio(clip, REFERENCE_RATE))).strip()

    # -- synthesis ----------------------------------------------------------------------

    def stream(self, voice_model: VoiceModel, request: SynthesisRequest) -> Iterator[AudioChunk]:
        """Prepare up front, then yield one chunk per official text segment."""
        return self._chunks(self.plan(voice_model, request))

    def plan(self, voice_model: VoiceModel, request: SynthesisRequest) -> SynthesisPlan:
        """Prepare what decoding a checked request needs (raises for an unusable voice or text)."""
        self.check_voice_model(voice_model)
        code = front_end_language(request.language)
        options = replace(inference_options(request.params), max_new_tokens=self._max_new_tokens)
        models = self.models
        voice = self._prepared_voice(voice_model, models)
        segments = models.segments(request.text, code, options.text_split)
        if not segments:
            raise InvalidArgument("the text has nothing to speak; send words in the language given",
                                  field="text")
        return SynthesisPlan(voice=voice, segments=segments, options=options,
                             sample_rate=request.params.sample_rate or OUTPUT_RATE)

    def batch_runner(self) -> BatchRunner:
        """Up to ``max_batch`` requests of any voices decoded together (one T2S step each)."""
        return GptSovitsRunner(self, capacity=self.max_batch)

    def _chunks(self, plan: SynthesisPlan) -> Iterator[AudioChunk]:
        for piece in self.models.synthesize(plan.voice, plan.segments, plan.options):
            yield segment_chunk(piece.audio, piece.segment.text, plan.sample_rate)

    def _prepared_voice(self, voice_model: VoiceModel, models: GptSovitsModels) -> PreparedVoice:
        with self._lock:
            prepared = self._prepared.get(voice_model)
        if prepared is None:
            prepared = models.prepare(VoicePrompt.from_bytes(voice_model.data))
            with self._lock:
                self._prepared[voice_model] = prepared
        return prepared


def front_end_language(language: str) -> str:
    """``"en"``/``"zh"`` for a platform language tag; InvalidArgument otherwise."""
    code = base_language(language)
    if code not in FRONT_END_LANGUAGES:
        raise InvalidArgument(
            f"language {language!r} is not supported by the gpt-sovits engine; use en or zh"
        )
    return FRONT_END_LANGUAGES[code]


def inference_options(params: SynthesisParams) -> InferenceOptions:
    """The request's options over the official defaults."""
    defaults = InferenceOptions()
    return InferenceOptions(
        top_k=params.top_k if params.top_k is not None else defaults.top_k,
        top_p=params.top_p if params.top_p is not None else defaults.top_p,
        temperature=params.temperature if params.temperature is not None else defaults.temperature,
        repetition_penalty=(params.repetition_penalty if params.repetition_penalty is not None
                            else defaults.repetition_penalty),
        seed=params.seed,
        speed=float(params.speed),
        text_split=params.text_split or defaults.text_split,
    )


__all__ = ["ENGINE_NAME", "FailedPrecondition", "GptSovitsEngine", "front_end_language"]
