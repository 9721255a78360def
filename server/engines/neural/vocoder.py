"""The neural vocoder: HiFi-GAN V1 compiled to an int8 ONNX Runtime graph, streamed by window.

The float PyTorch generator runs at about 0.4-0.6x real time on one core here; the same
network exported to ONNX and statically quantised to int8 (:mod:`quantize`) runs at about
0.13-0.17x with the same transcripts (docs/engines.md).

Mel frames are vocoded in windows with context on both sides, so the first audio of a
sentence is ready after one short window rather than after the whole sentence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from server.engines.neural.hifigan import (
    HOP,
    N_MELS,
    bundled_checkpoint,
    load_generator,
    with_polyphase_upsampling,
)
from server.engines.neural.quantize import (
    cached_int8_graph,
    cpu_session,
    default_cache_dir,
    file_hash,
)

#: Streamed windows: the first is short, so a sentence's first audio leaves early; each
#: next one is twice as long (up to the maximum), so the context overhead shrinks while
#: every window is still ready before the audio already sent has finished playing.
FIRST_WINDOW_FRAMES = 24
MAX_WINDOW_FRAMES = 256
#: Mel frames of context on each side of a window. A frame influences the generator's
#: output for 12.5 frames either way (measured), so 13 frames make windowed output equal
#: to whole-utterance output.
CONTEXT_FRAMES = 13
_FORMAT = "hifigan-v1-int8-3"


def _export_generator(checkpoint: Path) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import torch

        generator = with_polyphase_upsampling(load_generator(checkpoint))
        with torch.inference_mode():
            torch.onnx.export(
                generator,
                (torch.zeros(1, N_MELS, 128),),
                str(path),
                input_names=["mel"],
                output_names=["audio"],
                dynamic_axes={"mel": {2: "frames"}, "audio": {2: "samples"}},
                opset_version=17,
                dynamo=False,
            )

    return write


def windows(frames: int, start: int = 0) -> list[tuple[int, int]]:
    """(start, stop) frame ranges covering ``start``-``frames``: 24 frames first (from frame
    0), then each window twice the last, at most :data:`MAX_WINDOW_FRAMES`; a remainder
    shorter than half a window joins the window before it."""
    bounds: list[tuple[int, int]] = []
    size = FIRST_WINDOW_FRAMES
    cursor = start
    if start > 0:
        size = min(2 * FIRST_WINDOW_FRAMES, MAX_WINDOW_FRAMES)
    while cursor < frames:
        stop = min(frames, cursor + size)
        if bounds and frames - stop < size // 2:
            stop = frames
        bounds.append((cursor, stop))
        cursor, size = stop, min(2 * size, MAX_WINDOW_FRAMES)
    return bounds


class Vocoder:
    """Log-mel frames (frames, 80) -> 22,050 Hz audio, in streamed windows.

    ``backend`` ``int8`` (default) runs the quantised ONNX graph; ``torch`` runs the float
    generator (slower, for comparison). ``calibration`` supplies mels to quantise with the
    first time the int8 graph is built.
    """

    def __init__(
        self,
        calibration: Callable[[], list[np.ndarray]],
        backend: str = "int8",
        cache_dir: Path | None = None,
        threads: int = 1,
    ) -> None:
        self.backend = backend
        self._lock = threading.Lock()
        self._session: Any = None
        checkpoint = bundled_checkpoint()
        if backend == "torch":
            import torch

            self._generator = load_generator(checkpoint)
            self._torch = torch
            return
        graph = cached_int8_graph(
            (cache_dir or default_cache_dir()) / f"{_FORMAT}-{file_hash(checkpoint)}.onnx",
            _export_generator(checkpoint),
            lambda: ({"mel": mel.T[None].astype(np.float32)} for mel in calibration()),
        )
        self._session = cpu_session(graph, threads)

    def _run(self, mel: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(mel.T[None], dtype=np.float32)
        with self._lock:
            if self._session is not None:
                audio = self._session.run(None, {"mel": batch})[0]
            else:
                with self._torch.inference_mode():
                    audio = self._generator(self._torch.from_numpy(batch)).numpy()
        return np.asarray(audio, dtype=np.float32).reshape(-1)

    def render(self, mel: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Audio for mel frames ``start``-``stop``, vocoded with context frames on each side."""
        left = max(0, start - CONTEXT_FRAMES)
        right = min(len(mel), stop + CONTEXT_FRAMES)
        audio = self._run(mel[left:right])
        offset = (start - left) * HOP
        return audio[offset : offset + (stop - start) * HOP]

    def stream(self, mel: np.ndarray, start: int = 0) -> Iterator[np.ndarray]:
        """Audio for ``mel`` from frame ``start`` on, window by window (see :func:`windows`)."""
        for first, last in windows(len(mel), start):
            yield self.render(mel, first, last)

    def vocode(self, mel: np.ndarray) -> np.ndarray:
        """Whole-utterance audio for ``mel``."""
        pieces = list(self.stream(mel))
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
