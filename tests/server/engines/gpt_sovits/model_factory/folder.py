"""Write a random-weight GPT-SoVITS model folder from a schema and a seed.

Every file gets its own generator, seeded from (seed, relative path), so a file's bytes depend
on nothing else; configs, key order, dtypes, shapes and the container/format details are
copied from the schema. The output is byte-identical for the same schema and seed on any
machine with the same torch version (see ``draws`` for why the draws are portable).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from .draws import Draws, derive_seed
from .formats import HParams, save_checkpoint
from .rules import InitContext, TensorSpec, random_tensors
from .schema import parse_tensor_token, render_json
from .vocab import build_vocab, render_tokenizer_json, render_vocab_txt

_TIME_BASE = 1723456789  # a plausible time.time() for the unix-time zip roots


def _is_container(node: Any) -> bool:
    return isinstance(node, dict) and "$type" in node


def _unwrap(node: Any) -> Any:
    """The items of a ``$type`` container node, or the node itself."""
    return node["items"] if _is_container(node) else node


def tensor_groups(skeleton: Any) -> list[list[TensorSpec]]:
    """The tensors of a torch-file skeleton, one list per mapping that holds any, in file order."""
    groups: list[list[TensorSpec]] = []

    def visit(node: Any) -> None:
        node = _unwrap(node) if isinstance(node, dict) else node
        if isinstance(node, list):
            for item in node:
                visit(item)
        if not isinstance(node, dict):
            return
        specs: list[TensorSpec] = []
        for key, value in node.items():
            parsed = parse_tensor_token(value) if isinstance(value, str) else None
            if parsed is None:
                visit(value)
                continue
            dtype, shape, link, other = parsed
            specs.append(TensorSpec(key, dtype, shape, equals=other if link == "=" else None))
        if specs:
            groups.append(specs)

    visit(skeleton)
    return groups


def _build(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Turn a skeleton back into the object to pickle, taking tensors from ``tensors``."""
    if isinstance(node, list):
        return [_build(v, tensors) for v in node]
    if not isinstance(node, dict):
        return node
    if _is_container(node):
        kind, items = node["$type"], node["items"]
        if kind == "tuple":
            return tuple(_build(v, tensors) for v in items)
        built = _build_mapping(items, tensors)
        if kind == "OrderedDict":
            return OrderedDict(built)
        if kind == "utils.HParams":
            return HParams(**built)
        raise ValueError(f"unknown container type {kind!r}")
    return _build_mapping(node, tensors)


def _build_mapping(items: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in items.items():
        parsed = parse_tensor_token(value) if isinstance(value, str) else None
        if parsed is None:
            out[key] = _build(value, tensors)
        elif parsed[2] == "&":
            out[key] = out[parsed[3]]  # the same tensor object: torch.save stores it once
        else:
            out[key] = tensors[key]
    return out


def _init_context(skeleton: Any) -> InitContext:
    """Config values the randomisation rules need, found in the file's own config."""
    node = skeleton
    for name in ("config", "model", "upsample_rates"):
        node = _unwrap(node) if isinstance(node, dict) else None
        node = node.get(name) if isinstance(node, dict) else None
    return InitContext(upsample_rates=tuple(node)) if isinstance(node, list) else InitContext()


def _torch_object(entry: dict[str, Any], seed: int, rel: str) -> Any:
    skeleton = entry["object"]
    groups = tensor_groups(skeleton)
    draws = Draws(derive_seed(seed, rel))
    context = _init_context(skeleton)
    tensors: dict[str, torch.Tensor] = {}
    for specs in groups:
        clash = tensors.keys() & {s.key for s in specs}
        if clash:
            raise ValueError(f"{rel}: tensor keys repeated across mappings: {sorted(clash)[:3]}")
        tensors.update(random_tensors(specs, draws, context))
    return _build(skeleton, tensors)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_folder(
    schema: dict[str, Any], seed: int, out: Path, only: set[str] | None = None
) -> dict[str, str]:
    """Write the files of ``schema`` (or those in ``only``) under ``out``; path -> sha256.

    Runs torch single-threaded (restored afterwards): the work is serial random draws and
    memory-bound integer maths, which extra threads only slow down on a busy machine. The
    bytes do not depend on the thread count.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _write_files(schema, seed, out, only)
    finally:
        torch.set_num_threads(threads)


def _write_files(
    schema: dict[str, Any], seed: int, out: Path, only: set[str] | None
) -> dict[str, str]:
    files: dict[str, Any] = schema["files"]
    unknown = (only or set()) - files.keys()
    if unknown:
        raise KeyError(f"not in the schema: {sorted(unknown)}")
    timestamps: dict[str, str] = {}
    for rel, entry in files.items():  # fixed per schema, independent of ``only``
        if entry["format"] == "torch" and entry["zip_root"] == "unix-time":
            timestamps[rel] = f"{_TIME_BASE + len(timestamps)}.{seed % 10**6:06d}"
    written: dict[str, str] = {}
    for rel, entry in files.items():
        if only is not None and rel not in only:
            continue
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        kind = entry["format"]
        if kind == "torch":
            obj = _torch_object(entry, seed, rel)
            save_checkpoint(
                obj,
                path,
                entry["zip_root"],
                entry["header"].encode("ascii"),
                timestamps.get(rel, ""),
            )
        elif kind == "json":
            path.write_bytes(render_json(entry["content"]))
        elif kind == "bert-vocab":
            path.write_bytes(render_vocab_txt(build_vocab(entry["layout"])))
        elif kind == "bert-tokenizer-json":
            vocab_rel = (Path(rel).parent / "vocab.txt").as_posix()
            path.write_bytes(render_tokenizer_json(build_vocab(files[vocab_rel]["layout"])))
        else:
            raise ValueError(f"{rel}: unknown schema format {kind!r}")
        written[rel] = _sha256(path)
    return written
