"""The SoVITS waveform generator on ONNX Runtime (the heavy part of decoding a segment).

Decoding a segment is: codebook lookup, the MRTE text encoder, the flow, and the HiFi-GAN
generator (``dec``: 50 Hz latent -> 32 kHz audio, most of the arithmetic). The generator is
a plain convolution stack, so it exports cleanly with a dynamic length:
``sovits_generator.onnx``: ``z (1, C, frames)``, ``ge (1, gin, 1)`` -> ``audio (1, 1, samples)``.
The rest of the decoder stays on PyTorch; :class:`OnnxGenerator` replaces ``dec`` in place.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from server.engines.gpt_sovits.onnx_files import file_source, open_session, read_manifest
from server.engines.gpt_sovits.sovits import SovitsModel

GENERATOR_FILE = "sovits_generator.onnx"
MANIFEST_FILE = "sovits_onnx.json"
OPSET = 17


def sovits_source(sovits_file: Path) -> dict[str, Any]:
    """What identifies the SoVITS checkpoint an export came from (name, size, sha256)."""
    return file_source(sovits_file, "sovits")


def export_generator(model: SovitsModel, out_dir: Path, source: dict[str, Any]) -> list[Path]:
    """Write the generator graph and its manifest to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dec = model.dec.float().cpu().eval()
    channels = dec.conv_pre.in_channels
    gin = dec.cond.in_channels
    path = out_dir / GENERATOR_FILE
    with torch.inference_mode():
        torch.onnx.export(
            dec, (torch.zeros(1, channels, 20), torch.zeros(1, gin, 1)), str(path), dynamo=False,
            opset_version=OPSET, input_names=["z", "ge"], output_names=["audio"],
            dynamic_axes={"z": {2: "frames"}, "audio": {2: "samples"}},
        )
    manifest = {"format": 1, "source": source, "channels": channels, "gin_channels": gin,
                "opset": OPSET}
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n")
    return [path, out_dir / MANIFEST_FILE]


class OnnxGenerator(nn.Module):
    """Drop-in for ``SovitsModel.dec``: the same call, run by ONNX Runtime."""

    def __init__(self, onnx_dir: Path, *, providers: Sequence[str] = ("CPUExecutionProvider",),
                 threads: int | None = None) -> None:
        super().__init__()
        read_manifest(onnx_dir, MANIFEST_FILE, "SoVITS generator", None)
        self._session = open_session(onnx_dir / GENERATOR_FILE, providers, threads)

    def forward(self, z: torch.Tensor, ge: torch.Tensor) -> torch.Tensor:
        (audio,) = self._session.run(None, {
            "z": z.detach().float().cpu().numpy(),
            "ge": ge.detach().float().cpu().numpy(),
        })
        return torch.from_numpy(np.ascontiguousarray(audio)).to(z.device, z.dtype)
