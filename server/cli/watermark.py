"""``voxguard watermark``: operator tools for provenance keys, embedding and detection.

- ``keygen --key-file K [--rotate]`` writes a new key file (mode 0600); with ``--rotate``
  it puts a new primary key in front of the keys already in ``K``.
- ``embed --key-file K --payload HEX16 IN OUT`` marks IN (WAV/FLAC/Ogg/MP3) with the
  primary key and writes OUT as 16-bit WAV at IN's sample rate.
- ``detect --key-file K IN`` prints one JSON object: ``detected``, ``payload`` (16 hex
  digits or null), ``confidence``, ``key_id``, ``start_seconds``, ``end_seconds``,
  ``sync_z``, ``false_positive_bound``.

Errors print ``error: ...`` on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from server.audio import AudioFormat, decode_audio, encode_audio
from server.errors import InvalidArgument, VoxguardError
from server.watermark import Keyring, detect_any_speed, embed

_HEX16 = re.compile(r"[0-9a-fA-F]{16}")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``watermark`` command group."""
    parser = subparsers.add_parser("watermark", help="provenance watermark keys, embed, detect")
    parser.set_defaults(handler=lambda _args: parser.print_help() or 2)
    commands = parser.add_subparsers(dest="watermark_command", metavar="SUBCOMMAND")

    keygen = commands.add_parser("keygen", help="write a new secret watermark key file (mode 0600)")
    keygen.add_argument("--key-file", required=True, type=Path, help="key file to create")
    keygen.add_argument(
        "--rotate",
        action="store_true",
        help="add a new primary key in front of the keys already in --key-file",
    )
    keygen.set_defaults(handler=_guarded(_keygen))

    embed_cmd = commands.add_parser("embed", help="mark an audio file with a 64-bit payload")
    embed_cmd.add_argument("--key-file", required=True, type=Path, help="watermark key file")
    embed_cmd.add_argument("--payload", required=True, help="generation id: 16 hex digits")
    embed_cmd.add_argument("input", type=Path, help="WAV/FLAC/Ogg/MP3 file to mark")
    embed_cmd.add_argument("output", type=Path, help="marked 16-bit WAV file to write")
    embed_cmd.set_defaults(handler=_guarded(_embed))

    detect_cmd = commands.add_parser("detect", help="look for a watermark; prints JSON")
    detect_cmd.add_argument("--key-file", required=True, type=Path, help="watermark key file")
    detect_cmd.add_argument("input", type=Path, help="WAV/FLAC/Ogg/MP3 file to check")
    detect_cmd.set_defaults(handler=_guarded(_detect))


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except VoxguardError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2

    return run


def _keygen(args: argparse.Namespace) -> int:
    path: Path = args.key_file
    if args.rotate:
        keyring = Keyring.load(path).rotate()
    elif path.exists():
        raise InvalidArgument(
            f"{path} already exists; use --rotate to add a new primary key to it, "
            "or choose another file"
        )
    else:
        keyring = Keyring.generate()
    keyring.save(path)
    print(json.dumps({"key_file": str(path), "primary_key_id": keyring.primary.id, "keys": len(keyring.keys)}))
    return 0


def _read_audio(path: Path) -> tuple:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"cannot read {path}: {exc.strerror or exc}") from exc
    audio = decode_audio(data)
    return audio.samples, audio.sample_rate


def _embed(args: argparse.Namespace) -> int:
    if not _HEX16.fullmatch(args.payload):
        raise InvalidArgument("--payload must be exactly 16 hex digits (a 64-bit generation id)")
    keyring = Keyring.load(args.key_file)
    samples, rate = _read_audio(args.input)
    marked = embed(samples, rate, bytes.fromhex(args.payload), keyring)
    data, _ = encode_audio(marked, rate, AudioFormat.WAV)
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        raise InvalidArgument(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    summary = {
        "output": str(args.output),
        "payload": args.payload.lower(),
        "key_id": keyring.primary.id,
        "sample_rate": rate,
        "seconds": round(len(marked) / rate, 3),
    }
    print(json.dumps(summary))
    return 0


def _detect(args: argparse.Namespace) -> int:
    keyring = Keyring.load(args.key_file)
    samples, rate = _read_audio(args.input)
    result = detect_any_speed(samples, rate, keyring)
    report = {
        "detected": result.detected,
        "payload": result.payload_hex,
        "confidence": round(result.confidence, 4),
        "key_id": result.key_id,
        "start_seconds": None if result.start_seconds is None else round(result.start_seconds, 3),
        "end_seconds": None if result.end_seconds is None else round(result.end_seconds, 3),
        "sync_z": round(result.sync_z, 2),
        "false_positive_bound": result.false_positive_bound,
        "speed": result.speed,
    }
    print(json.dumps(report))
    return 0
