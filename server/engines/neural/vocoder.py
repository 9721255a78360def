"""The neural vocoder: HiFi-GAN V1 compiled to an int8 ONNX Runtime graph, streamed by window.

The float PyTorch generator runs at about 0.4x real time on one core here; the same
network exported to ONNX and statically quantised to int8 (per-channel weights, QDQ
format) runs at about 0.13x with the same transcripts (docs/engines.md). The quantised
graph is derived, not shipped: it is built from the bundled checkpoint the first time a
process needs it (about half a minute) and cached on disk, named by the checkpoint's hash,
so a changed checkpoint never meets a stale graph.

Mel frames are vocoded in windows with context on both sides, so the first audio of a
sentence is ready after one window rather than after the whole sentence.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from server.engines.neural.hifigan import HOP, N_MELS, bundled_checkpoint, load_generator

LOG = logging.getLogger(__name__)
#: Mel frames per streamed window (about 0.74 s) and context frames on each side; the
#: generator's receptive field is well inside 16 frames, so windows join seamlessly. The
#: first window of an utterance is shorter, so its first audio comes out sooner.
WINDOW_FRAMES = 64
FIRST_WINDOW_FRAMES = 24
CONTEXT_FRAMES = 16
_FORMAT = "hifigan-v1-int8-1"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/voxguard`` (``~/.cache/voxguard``); ``VOXGUARD_CACHE_DIR`` overrides it
    through the settings."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voxguard"


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def build_int8_graph(
    checkpoint: Path, target: Path, calibration: list[np.ndarray]
) -> None:
    """Export the generator to ONNX, quantise it to int8 with ``calibration`` mels, write ``target``."""
    import torch
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            mel = next(self._items, None)
            return None if mel is None else {"mel": mel.T[None].astype(np.float32)}

    generator = load_generator(checkpoint)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        plain = Path(scratch) / "float.onnx"
        prepared = Path(scratch) / "prepared.onnx"
        quantised = Path(scratch) / "int8.onnx"
        with torch.inference_mode():
            torch.onnx.export(
                generator,
                (torch.zeros(1, N_MELS, 2 * WINDOW_FRAMES),),
                str(plain),
                input_names=["mel"],
                output_names=["audio"],
                dynamic_axes={"mel": {2: "frames"}, "audio": {2: "samples"}},
                opset_version=17,
                dynamo=False,
            )
        quant_pre_process(str(plain), str(prepared))
        quantize_static(
            str(prepared),
            str(quantised),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
        )
        os.replace(quantised, target)  # atomic: a concurrent reader sees old or new, whole


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
        checkpoint = bundled_checkpoint()
        if backend == "torch":
            import torch

            self._generator = load_generator(checkpoint)
            self._torch = torch
            self._session = None
            return
        import onnxruntime

        cache = cache_dir or default_cache_dir()
        graph = cache / f"{_FORMAT}-{_file_hash(checkpoint)}.onnx"
        if not graph.exists():
            LOG.info("building the int8 vocoder graph once, into %s", graph.parent)
            build_int8_graph(checkpoint, graph, calibration())
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )

    def _run(self, mel: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(mel.T[None], dtype=np.float32)
        with self._lock:
            if self._session is not None:
                audio = self._session.run(None, {"mel": batch})[0]
            else:
                with self._torch.inference_mode():
                    audio = self._generator(self._torch.from_numpy(batch)).numpy()
        return np.asarray(audio, dtype=np.float32).reshape(-1)

    def stream(
        self, mel: np.ndarray, window: int = WINDOW_FRAMES, first: int = FIRST_WINDOW_FRAMES
    ) -> Iterator[np.ndarray]:
        """Audio for ``mel`` window by window (each window vocoded with context frames)."""
        frames = len(mel)
        bounds = [0, *range(min(first, frames), frames, window), frames]
        for start, stop in itertools.pairwise(bounds):
            if stop <= start:
                continue
            left = max(0, start - CONTEXT_FRAMES)
            right = min(frames, stop + CONTEXT_FRAMES)
            audio = self._run(mel[left:right])
            offset = (start - left) * HOP
            yield audio[offset : offset + (stop - start) * HOP]

    def vocode(self, mel: np.ndarray) -> np.ndarray:
        """Whole-utterance audio for ``mel``."""
        pieces = list(self.stream(mel))
        return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
