"""The GPT-SoVITS inference pipeline: the official ``TTS.run`` as a sequence of small steps.

``GptSovitsModels`` holds the loaded stack (T2S, SoVITS, HuBERT, BERT, speaker
verification, text front end) and runs:

1. ``voice_features``: reference clip -> prompt codes (HuBERT on the clip plus 0.3 s of
   zeros at 32 kHz's count, i.e. 0.6 s at 16 kHz, as the official does) and, for Pro, the
   speaker embedding. Done once at enrollment and stored in the voice model.
2. ``prepare``: a stored voice -> the tensors every request reuses (reference phones and
   BERT features, prompt codes, linear spectrogram, speaker embedding). Workers cache it.
3. ``synthesize``: text -> official segments -> per segment T2S tokens (batched decoder,
   batch of one here) -> SoVITS decode -> 32 kHz audio, yielded segment by segment so the
   caller can stream. The official output puts ``FRAGMENT_INTERVAL`` of silence after every
   segment; ``synthesize`` yields that separately (``SegmentAudio.pause``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from server.engines.gpt_sovits.batcher import SynthesisBatch
from server.engines.gpt_sovits.checkpoints import (
    check_pair,
    load_sovits_checkpoint,
    load_t2s_checkpoint,
)
from server.engines.gpt_sovits.hubert import HubertFeatures
from server.engines.gpt_sovits.inference import FRAGMENT_INTERVAL, InferenceOptions, PreparedVoice
from server.engines.gpt_sovits.layout import ModelFiles
from server.engines.gpt_sovits.onnx_files import read_manifest
from server.engines.gpt_sovits.resample import prepare_reference_audio
from server.engines.gpt_sovits.sovits import SovitsModel
from server.engines.gpt_sovits.sovits_onnx import MANIFEST_FILE as SOVITS_MANIFEST
from server.engines.gpt_sovits.sovits_onnx import OnnxGenerator, sovits_source
from server.engines.gpt_sovits.speaker_verification import Eres2NetEncoder
from server.engines.gpt_sovits.spec import OUTPUT_RATE
from server.engines.gpt_sovits.spectrogram import reference_spectrogram
from server.engines.gpt_sovits.t2s import T2SModel
from server.engines.gpt_sovits.t2s_backend import T2SBackend
from server.engines.gpt_sovits.t2s_onnx import MANIFEST_FILE as T2S_MANIFEST
from server.engines.gpt_sovits.t2s_onnx import OnnxT2SModel, t2s_source
from server.engines.gpt_sovits.text.bert import BertFeatures
from server.engines.gpt_sovits.text.frontend import PhoneSegment, TextFrontEnd
from server.engines.gpt_sovits.voice import REFERENCE_RATE, VoicePrompt
from server.errors import FailedPrecondition

#: The official prompt padding: ``int(32000 * 0.3)`` zeros appended at 16 kHz.
PROMPT_PADDING_SAMPLES = int(OUTPUT_RATE * 0.3)
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class SegmentAudio:
    """One decoded text segment."""

    index: int
    segment: PhoneSegment
    tokens: np.ndarray  # (n,) int64 semantic tokens
    eos: bool
    audio: np.ndarray = field(repr=False)  # (samples,) float32 at OUTPUT_RATE

    @property
    def pause(self) -> np.ndarray:
        """The official silence that follows this segment."""
        return np.zeros(int(OUTPUT_RATE * FRAGMENT_INTERVAL), dtype=np.float32)


@dataclass
class GptSovitsModels:
    """The loaded model stack of one process (read-only after loading; thread-safe use)."""

    files: ModelFiles
    t2s: T2SBackend
    sovits: SovitsModel
    hubert: HubertFeatures
    bert: BertFeatures
    sv: Eres2NetEncoder | None
    frontend: TextFrontEnd
    device: torch.device
    dtype: torch.dtype
    fingerprint: str
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(
        cls, files: ModelFiles, *, device: str = "cpu", dtype: str = "float32",
        zh_g2p: str = "pypinyin", backend: str = "torch", onnx_dir: Path | None = None,
    ) -> GptSovitsModels:
        """Load every model of ``files`` once (fp16 weights on disk become ``dtype``).

        ``backend="onnx"`` runs T2S and the SoVITS waveform generator on ONNX Runtime from
        the graphs in ``onnx_dir`` (made by ``voxguard gpt-sovits export-onnx`` from the same
        files); the rest of SoVITS, HuBERT, BERT and speaker verification stay on PyTorch.
        """
        torch_device = torch.device(device)
        torch_dtype = DTYPES[dtype]
        t2s_ckpt = load_t2s_checkpoint(files.t2s)
        sovits_ckpt = load_sovits_checkpoint(files.sovits)
        check_pair(t2s_ckpt, sovits_ckpt)
        t2s: T2SBackend
        sovits = SovitsModel.from_checkpoint(sovits_ckpt).to(torch_device, torch_dtype).eval()
        if backend == "onnx":
            # The ONNX generator is called exactly like the torch one it replaces.
            t2s, sovits.dec = load_onnx_backend(files, onnx_dir, device)  # type: ignore[assignment]
        else:
            t2s = T2SModel.from_checkpoint(t2s_ckpt).to(torch_device, torch_dtype).eval()
        hubert = HubertFeatures.load(files.hubert_dir, device=torch_device, dtype=torch_dtype)
        bert = BertFeatures.load(files.bert_dir, device=torch_device, dtype=torch_dtype)
        sv = Eres2NetEncoder.load(files.sv, device=torch_device) if files.sv is not None else None
        frontend = TextFrontEnd(bert, zh_g2p=zh_g2p)
        return cls(
            files=files, t2s=t2s, sovits=sovits, hubert=hubert, bert=bert, sv=sv,
            frontend=frontend, device=torch_device, dtype=torch_dtype,
            fingerprint=_fingerprint(files, sovits_ckpt.state_dict),
        )

    @property
    def variant(self) -> str:
        """v2, v2Pro or v2ProPlus."""
        return self.files.variant

    # -- enrollment ---------------------------------------------------------------------

    @torch.inference_mode()
    def prompt_codes(self, reference16k: np.ndarray) -> np.ndarray:
        """Semantic codes of a 16 kHz reference clip (official ``_set_prompt_semantic``)."""
        wav = torch.from_numpy(np.asarray(reference16k, dtype=np.float32))
        padded = torch.cat([wav, torch.zeros(PROMPT_PADDING_SAMPLES)]).to(self.device, self.dtype)
        ssl = self.hubert(padded)
        codes = self.sovits.extract_latent(ssl.to(self.dtype))
        return codes[0, 0].to("cpu", torch.int64).numpy()

    @torch.inference_mode()
    def speaker_embedding(self, reference16k: np.ndarray) -> np.ndarray | None:
        """The Pro speaker embedding of the clip (None for v2)."""
        if self.sv is None:
            return None
        wav = torch.from_numpy(np.asarray(reference16k, dtype=np.float32))
        return self.sv.embed_reference(wav, REFERENCE_RATE)[0].float().cpu().numpy()

    # -- synthesis ----------------------------------------------------------------------

    @torch.inference_mode()
    def prepare(self, voice: VoicePrompt) -> PreparedVoice:
        """Per-voice tensors; recomputes codes/embedding if the base models changed."""
        codes, embedding = voice.prompt_codes, voice.sv_embedding
        if not voice.matches(self.variant, self.fingerprint):
            codes = self.prompt_codes(voice.reference)
            embedding = self.speaker_embedding(voice.reference)
        wav = torch.from_numpy(np.asarray(voice.reference, dtype=np.float32))
        reference = prepare_reference_audio(wav, REFERENCE_RATE, with_sv_input=False)
        spec = reference_spectrogram(reference.wav32k.to(self.device))
        sv = None
        if self.sv is not None:
            if embedding is None:
                embedding = self.speaker_embedding(voice.reference)
            sv = torch.from_numpy(np.asarray(embedding, dtype=np.float32))[None].to(self.device)
        return PreparedVoice(
            language=voice.language,
            prompt=self.frontend.prompt(voice.text, voice.language),
            prompt_codes=torch.from_numpy(np.asarray(codes, dtype=np.int64)).to(self.device),
            refer_spec=spec.to(self.dtype),
            sv_embedding=None if sv is None else sv.to(self.dtype),
        )

    def segments(self, text: str, language: str, split_method: str = "cut1") -> list[PhoneSegment]:
        """The official text segments of ``text`` with their phones and BERT features."""
        return self.frontend.segments(text, language, split_method)

    @torch.inference_mode()
    def synthesize(
        self,
        voice: PreparedVoice,
        segments: list[PhoneSegment],
        options: InferenceOptions,
        *,
        semantic_override: list[list[int]] | None = None,
        noise: list[torch.Tensor] | None = None,
    ) -> Iterator[SegmentAudio]:
        """Speak ``segments`` (from :meth:`segments`) one by one, in text order.

        This is the batch-of-one case of :class:`SynthesisBatch` (the serving path batches
        many requests in the same class). ``semantic_override`` skips T2S and decodes the
        given tokens (one list per segment); ``noise`` injects the decoder noise per segment.
        """
        batch = SynthesisBatch(self)
        batch.add(0, voice, segments, options, semantic_override=semantic_override, noise=noise)
        while len(batch) or batch.pending:
            for output in batch.step():
                yield SegmentAudio(index=output.index, segment=output.segment,
                                   tokens=output.tokens, eos=output.eos, audio=output.audio)

    @torch.inference_mode()
    def decode_segment(
        self, voice: PreparedVoice, segment: PhoneSegment, tokens: torch.Tensor,
        options: InferenceOptions, noise: torch.Tensor | None,
        generator: torch.Generator | None, *, normalize: bool = True,
    ) -> np.ndarray:
        """SoVITS audio (32 kHz float32) of one segment's semantic tokens.

        ``normalize`` applies the official post-processing (an over-full segment is scaled to
        peak 1); streamed windows are clipped instead, so pieces of a segment keep one level.
        """
        if tokens.numel() == 0:
            return np.zeros(0, dtype=np.float32)
        codes = tokens.to(self.device).view(1, 1, -1)
        phones = torch.tensor(segment.phone_ids, dtype=torch.int64, device=self.device)[None]
        audio = self.sovits.decode(
            codes, phones, [voice.refer_spec], noise_scale=options.noise_scale,
            speed=options.speed,
            sv_emb=None if voice.sv_embedding is None else [voice.sv_embedding],
            noise=noise, generator=generator,
        )
        samples = audio[0, 0].float().cpu()
        peak = samples.abs().max()
        if peak > 1:  # the official post-processing: only an over-full segment is scaled
            samples = samples / peak if normalize else samples.clamp(-1.0, 1.0)
        return samples.numpy().astype(np.float32, copy=False)


def load_onnx_backend(files: ModelFiles, onnx_dir: Path | None,
                      device: str) -> tuple[OnnxT2SModel, OnnxGenerator]:
    """The exported T2S and SoVITS generator of ``files`` on ONNX Runtime.

    A cuda device selects the CUDA execution provider (``onnxruntime-gpu``), CPU otherwise.
    Graphs exported from other checkpoints are refused with the command that fixes it.
    """
    onnx_dir = check_onnx_export(files, onnx_dir)
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda"):
        providers.insert(0, "CUDAExecutionProvider")
    threads = torch.get_num_threads()
    t2s = OnnxT2SModel(onnx_dir, providers=providers, threads=threads)
    generator = OnnxGenerator(onnx_dir, providers=providers, threads=threads)
    return t2s, generator


def check_onnx_export(files: ModelFiles, onnx_dir: Path | None) -> Path:
    """The export folder, once its manifests name exactly these checkpoints (no sessions).

    Cheap enough for server start (it hashes the two checkpoints and reads two small JSON
    files): a missing or stale export is refused before any worker starts.
    """
    if onnx_dir is None:
        raise FailedPrecondition(
            "the onnx back end needs the exported graphs: set VOXGUARD_GPT_SOVITS_ONNX_DIR to "
            "the folder written by `voxguard gpt-sovits export-onnx`"
        )
    folder = Path(onnx_dir)
    read_manifest(folder, T2S_MANIFEST, "T2S", t2s_source(files.t2s))
    read_manifest(folder, SOVITS_MANIFEST, "SoVITS generator", sovits_source(files.sovits))
    return folder


def _fingerprint(files: ModelFiles, sovits_state: dict[str, torch.Tensor]) -> str:
    """Identify the base models prompt codes depend on (HuBERT, ssl_proj, quantizer)."""
    digest = hashlib.sha256(files.variant.encode())
    for name in sorted(sovits_state):
        if name.startswith(("ssl_proj.", "quantizer.")):
            digest.update(name.encode())
            digest.update(sovits_state[name].detach().float().cpu().numpy().tobytes())
    for path in sorted(Path(files.hubert_dir).glob("*")):
        if path.is_file() and path.suffix in (".json", ".bin", ".safetensors"):
            digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:32]
