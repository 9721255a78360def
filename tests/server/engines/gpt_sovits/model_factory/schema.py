"""Schemas: what a GPT-SoVITS model folder contains, file by file, without the weight values.

A schema is JSON. ``files`` maps each relative path to one entry:

* ``{"format": "torch", "header": "PK"|"05"|"06", "zip_root": "unix-time"|"archive"|"stem",
  "object": SKELETON}`` -- a torch zip archive (see ``formats``). The skeleton is the pickled
  object with every tensor replaced by ``"<dtype[d0,d1,...]>"``; ``"<...=KEY>"`` marks a tensor
  whose values equal its sibling ``KEY`` (tied weights), ``"<...&KEY>"`` one that shares its
  storage. Plain dicts stay JSON objects; ``{"$type": "OrderedDict"|"utils.HParams"|"tuple",
  "items": ...}`` keeps the other containers. Key order is the order in the file.
* ``{"format": "json", "content": {...}}`` -- a JSON file, rendered with a 2-space indent.
* ``{"format": "bert-vocab", "layout": "full"|"micro", "tokens": N}`` -- a synthetic vocab.
* ``{"format": "bert-tokenizer-json"}`` -- ``tokenizer.json`` derived from the folder's vocab.

``extract_schema`` reads a folder with our own loaders only (``formats.load_checkpoint``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from .formats import HParams, classify_zip_root, load_checkpoint
from .vocab import detect_layout, render_tokenizer_json

SCHEMA_VERSION = 1
SCHEMA_DIR = Path(__file__).resolve().parents[4] / "fixtures" / "gpt_sovits" / "schemas"
IGNORED_FILES = frozenset({"oracle_manifest.json"})  # the reference harness's own notes
TENSOR_PATTERN = re.compile(r"^<([a-z0-9]+)\[([0-9,]*)\](?:([=&])(.+))?>$")
_TORCH_SUFFIXES = (".ckpt", ".pth", ".bin")


def tensor_token(t: torch.Tensor, link: str = "") -> str:
    dtype = str(t.dtype).removeprefix("torch.")
    return f"<{dtype}[{','.join(str(d) for d in t.shape)}]{link}>"


def parse_tensor_token(token: str) -> tuple[torch.dtype, tuple[int, ...], str, str] | None:
    """``(dtype, shape, link_kind, link_key)`` of a tensor token, or None for other strings."""
    match = TENSOR_PATTERN.match(token)
    if not match:
        return None
    dtype = getattr(torch, match.group(1))
    shape = tuple(int(d) for d in match.group(2).split(",")) if match.group(2) else ()
    return dtype, shape, match.group(3) or "", match.group(4) or ""


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha1(t.detach().contiguous().reshape(-1).view(torch.uint8).numpy()).hexdigest()


def _describe_mapping(items: Iterator[tuple[Any, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    by_value: dict[tuple[str, str], str] = {}
    by_storage: dict[int, tuple[str, torch.Tensor]] = {}
    for key, value in items:
        if not isinstance(key, str) or key == "$type":
            raise ValueError(f"unsupported mapping key {key!r}")
        if not isinstance(value, torch.Tensor):
            out[key] = describe(value)
            continue
        ptr = value.untyped_storage().data_ptr() if value.numel() else -1 - len(by_storage)
        if ptr in by_storage:
            other, first = by_storage[ptr]
            same_view = (value.storage_offset(), value.shape, value.stride()) == (
                first.storage_offset(),
                first.shape,
                first.stride(),
            )
            if not same_view:
                raise ValueError(f"{key}: partial storage sharing with {other} is not supported")
            out[key] = tensor_token(value, "&" + other)
            continue
        if value.untyped_storage().nbytes() != value.numel() * value.element_size():
            raise ValueError(f"{key}: the stored storage is larger than the tensor")
        by_storage[ptr] = (key, value)
        link = ""
        if value.numel() > 1:
            fingerprint = (tensor_token(value), _digest(value))
            if fingerprint in by_value:
                link = "=" + by_value[fingerprint]
            else:
                by_value[fingerprint] = key
        out[key] = tensor_token(value, link)
    return out


def describe(obj: Any) -> Any:
    """The JSON skeleton of an unpickled checkpoint object (see the module docstring)."""
    if isinstance(obj, torch.Tensor):
        return tensor_token(obj)
    if isinstance(obj, HParams):
        return {"$type": "utils.HParams", "items": _describe_mapping(obj.items())}
    if isinstance(obj, OrderedDict):
        return {"$type": "OrderedDict", "items": _describe_mapping(iter(obj.items()))}
    if type(obj) is dict:
        return _describe_mapping(iter(obj.items()))
    if type(obj) is list:
        return [describe(v) for v in obj]
    if type(obj) is tuple:
        return {"$type": "tuple", "items": [describe(v) for v in obj]}
    if isinstance(obj, str) and TENSOR_PATTERN.match(obj):
        raise ValueError(f"string {obj!r} looks like a tensor token")
    if obj is None or type(obj) in (str, int, float, bool):
        return obj
    raise ValueError(f"unsupported object of type {type(obj).__name__} in a checkpoint")


def render_json(content: Any) -> bytes:
    """JSON files of a model folder: 2-space indent, UTF-8, trailing newline (as HF writes)."""
    return (json.dumps(content, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _file_entry(path: Path, rel: str) -> dict[str, Any]:
    if path.suffix in _TORCH_SUFFIXES:
        loaded = load_checkpoint(path)
        return {
            "format": "torch",
            "header": loaded.header.decode("ascii"),
            "zip_root": classify_zip_root(loaded.zip_root, path),
            "object": describe(loaded.obj),
        }
    if path.name == "vocab.txt":
        tokens = path.read_text(encoding="utf-8").split("\n")[:-1]
        layout = detect_layout(tokens)
        if layout is None:
            raise ValueError(f"{rel}: not one of the synthetic vocab layouts")
        return {"format": "bert-vocab", "layout": layout, "tokens": len(tokens)}
    if path.name == "tokenizer.json":
        tokens = (path.parent / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
        if path.read_bytes() != render_tokenizer_json(tokens):
            raise ValueError(f"{rel}: differs from the tokenizer.json we derive from vocab.txt")
        return {"format": "bert-tokenizer-json"}
    if path.suffix == ".json":
        content = json.loads(path.read_bytes())
        if render_json(content) != path.read_bytes():
            raise ValueError(f"{rel}: JSON rendering differs from a 2-space indent")
        return {"format": "json", "content": content}
    raise ValueError(f"{rel}: no schema format for this file")


def _replace_strings(node: Any, replacements: Mapping[str, str]) -> Any:
    """Apply text replacements to every config string value (keys and tensors untouched)."""
    if isinstance(node, dict):
        return {k: _replace_strings(v, replacements) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_strings(v, replacements) for v in node]
    if isinstance(node, str) and not TENSOR_PATTERN.match(node):
        for old, new in replacements.items():
            node = node.replace(old, new)
    return node


def extract_schema(
    models_dir: Path,
    variant: str,
    size: str,
    note: str = "",
    replacements: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The schema of an official-format model folder (every file but ``IGNORED_FILES``).

    ``replacements`` rewrites config strings, e.g. the experiment name a training run left in
    the checkpoint configs, so that folders generated from the schema do not carry it.
    """
    files: dict[str, Any] = {}
    for path in sorted(p for p in models_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(models_dir).as_posix()
        if rel not in IGNORED_FILES:
            files[rel] = _file_entry(path, rel)
    if replacements:
        files = _replace_strings(files, replacements)
    schema: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "variant": variant, "size": size}
    if note:
        schema["note"] = note
    schema["files"] = files
    return schema


def schema_path(variant: str, size: str, training: bool = False) -> Path:
    return SCHEMA_DIR / f"{variant}-{size}{'-training' if training else ''}.json"


def load_schema(variant: str, size: str, training: bool = False) -> dict[str, Any]:
    """A committed schema (``tests/fixtures/gpt_sovits/schemas/<variant>-<size>.json``).

    ``training`` gives the extra files of ``make-models --training`` instead
    (``<variant>-<size>-training.json``: the SoVITS generator with ``enc_q`` and the
    discriminator), which exist for the variants and sizes training is tested on.
    """
    path = schema_path(variant, size, training)
    if not path.exists():
        raise FileNotFoundError(f"no schema for {variant}/{size}: {path}")
    schema = json.loads(path.read_text(encoding="utf-8"))
    if schema.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema_version {schema.get('schema_version')}")
    return schema


def _dump(node: Any, indent: int) -> str:
    if isinstance(node, dict) and node:
        pad = " " * (indent + 1)
        lines = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_dump(v, indent + 1)}"
            for k, v in node.items()
        ]
        return "{\n" + ",\n".join(lines) + "\n" + " " * indent + "}"
    return json.dumps(node, ensure_ascii=False)  # lists stay on one line


def dump_schema(schema: dict[str, Any]) -> str:
    """Schema JSON text: one line per tensor or config value, compact enough to commit."""
    return _dump(schema, 0) + "\n"
