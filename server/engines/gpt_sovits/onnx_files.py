"""What the exported ONNX graphs share: their manifest, the source check, the sessions.

Every export writes a JSON manifest naming the checkpoint it came from (file name, size,
sha256). Loading refuses graphs exported from another checkpoint, so an operator who swaps in
fine-tuned weights without exporting again gets one clear line instead of the old model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from server.engines.checksums import file_sha256
from server.errors import FailedPrecondition

EXPORT_HINT = "`voxguard gpt-sovits export-onnx --models DIR --out ONNX_DIR`"


def file_source(path: Path, kind: str) -> dict[str, Any]:
    """``{kind}_file``, ``{kind}_bytes`` and ``{kind}_sha256`` of a checkpoint file.

    The hash is remembered per file version (path, size, modification time), so the start-up
    check and the model load of one process read a checkpoint once, not twice.
    """
    digest = file_sha256(path)
    return {f"{kind}_file": path.name, f"{kind}_bytes": path.stat().st_size, f"{kind}_sha256": digest}


def read_manifest(onnx_dir: Path, manifest_name: str, what: str,
                  expected_source: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest of ``what`` in ``onnx_dir``, checked against the loaded checkpoint."""
    path = onnx_dir / manifest_name
    if not path.is_file():
        raise FailedPrecondition(
            f"{onnx_dir} holds no exported {what} ({manifest_name} missing); run {EXPORT_HINT} first"
        )
    manifest: dict[str, Any] = json.loads(path.read_text())
    if expected_source is not None and manifest.get("source") != expected_source:
        exported = next((v for k, v in manifest.get("source", {}).items() if k.endswith("_file")),
                        "another checkpoint")
        wanted = next(v for k, v in expected_source.items() if k.endswith("_file"))
        raise FailedPrecondition(
            f"the {what} graphs in {onnx_dir} were exported from {exported}, not from {wanted} "
            f"as loaded now; export them again with {EXPORT_HINT}"
        )
    return manifest


def open_session(path: Path, providers: Sequence[str], threads: int | None) -> Any:
    """An ONNX Runtime session on ``providers`` with ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=list(providers))
