"""Int8 ONNX graphs derived from bundled float models, built once and cached on disk.

Both neural models of the embedded-neural engine (the Piper voice's decoder and the
HiFi-GAN vocoder) are convolution stacks that ONNX Runtime runs about 1.7-3x faster on
one CPU core after static int8 quantisation (int8 weights per output channel, uint8
activations, QDQ format), with unchanged transcripts (docs/engines.md). The quantised
graph is derived, not shipped: it is built from the bundled model the first time a
process needs it and cached under a name that carries the source model's hash, so a
changed model never meets a stale graph. Writes are atomic (a concurrent reader sees no
graph or a whole one).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from server.engines.checksums import file_sha256
from server.errors import FailedPrecondition

LOG = logging.getLogger(__name__)

Feed = dict[str, np.ndarray]


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/voxguard`` (``~/.cache/voxguard``); ``VOXGUARD_CACHE_DIR`` overrides
    it through the settings."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voxguard"


def file_hash(path: Path) -> str:
    """First 16 hex digits of the file's SHA-256 (read once per process)."""
    return file_sha256(path)[:16]


def cached_int8_graph(
    target: Path,
    write_float_graph: Callable[[Path], None],
    calibration: Callable[[], Iterable[Feed]],
    nodes: Callable[[list[str]], list[str]] | None = None,
) -> Path:
    """``target`` if it exists, else build it: write the float graph, quantise, cache.

    ``write_float_graph`` writes the float ONNX model to the path it is given;
    ``calibration`` yields input feeds resembling real use; ``nodes`` picks, from all node
    names, the ones to quantise (default: every supported node).
    """
    if target.exists():
        return target
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class _Reader(CalibrationDataReader):
        def __init__(self, feeds: Iterator[Feed]) -> None:
            self._feeds = feeds

        def get_next(self) -> Feed | None:
            return next(self._feeds, None)

    LOG.info("building %s once (int8 quantisation), into %s", target.name, target.parent)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch_dir = tempfile.TemporaryDirectory(dir=target.parent)
    except OSError as exc:
        raise FailedPrecondition(
            f"cannot write the int8 model cache in {target.parent} ({exc.strerror or exc}); "
            "set VOXGUARD_CACHE_DIR to a writable folder"
        ) from exc
    with scratch_dir as scratch:
        plain = Path(scratch) / "float.onnx"
        prepared = Path(scratch) / "prepared.onnx"
        quantised = Path(scratch) / "int8.onnx"
        write_float_graph(plain)
        quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
        selected = None
        if nodes is not None:
            import onnx

            selected = nodes([node.name for node in onnx.load(str(prepared)).graph.node])
        quantize_static(
            str(prepared),
            str(quantised),
            _Reader(iter(calibration())),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_quantize=selected,
        )
        os.replace(quantised, target)
    return target


def cpu_session(model: Path | bytes, threads: int) -> object:
    """An ONNX Runtime CPU session running ``threads`` intra-op threads, one inter-op."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
