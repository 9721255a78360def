"""The one key-file format of every voxguard keyring (master keys, watermark keys).

A keyring file is JSON, UTF-8, mode 0600 (written and checked by :mod:`.keyfile`)::

    {"format": "voxguard-<kind>-keyring", "version": 1,
     "keys": [{"id": "<hex fingerprint>", "key": "<base64 of 32 bytes>",
               "created_at": "<ISO 8601 UTC or null>"}, ...]}      # primary first

Each keyring decides how its ids are derived and checks them; this module only reads and
writes the document. Watermark key files written before the formats were unified spell two
fields differently (``secret``, ``created``); they are still read, and rewritten in this
format the next time the keyring is saved.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

FILE_VERSION = 1
KEY_SIZE = 32
#: Field spellings of older files, still accepted when reading.
_LEGACY_FIELDS = {"key": "secret", "created_at": "created"}


class KeyringFormatError(ValueError):
    """The document is not a readable keyring of the expected kind (message says why)."""


@dataclass(frozen=True)
class StoredKey:
    """One key as the file holds it."""

    id: str
    material: bytes = field(repr=False)
    created_at: str | None = None


def encode_keyring(file_format: str, keys: Sequence[StoredKey]) -> bytes:
    """The key-file bytes for ``keys`` (primary first); they contain the secrets."""
    document = {
        "format": file_format,
        "version": FILE_VERSION,
        "keys": [
            {"id": key.id, "key": base64.b64encode(key.material).decode("ascii"),
             "created_at": key.created_at}
            for key in keys
        ],
    }
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def decode_keyring(raw: bytes, file_format: str, what: str) -> list[StoredKey]:
    """Parse key-file bytes of ``file_format``; ``what`` names the keyring in messages."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyringFormatError(f"is not a voxguard {what} keyring (bad JSON)") from None
    if not isinstance(document, dict) or document.get("format") != file_format:
        raise KeyringFormatError(f"is not a voxguard {what} keyring (format {file_format!r})")
    if document.get("version") != FILE_VERSION:
        raise KeyringFormatError(
            f"has keyring version {document.get('version')!r}; this voxguard reads version "
            f"{FILE_VERSION}"
        )
    entries = document.get("keys")
    if not isinstance(entries, list) or not entries:
        raise KeyringFormatError("holds no keys")
    return [_decode_entry(entry, index + 1) for index, entry in enumerate(entries)]


def decode_key_material(text: str, what: str) -> bytes:
    """32 key bytes from base64 (standard or URL-safe, padding optional)."""
    try:
        padded = text + "=" * (-len(text) % 4)
        material = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringFormatError(f"{what} is not valid base64") from None
    if len(material) != KEY_SIZE:
        raise KeyringFormatError(
            f"{what} decodes to {len(material)} bytes; a key is exactly {KEY_SIZE} bytes"
        )
    return material


def _field(entry: dict[str, object], name: str) -> object:
    return entry[name] if name in entry else entry.get(_LEGACY_FIELDS.get(name, name))


def _decode_entry(entry: object, number: int) -> StoredKey:
    if not isinstance(entry, dict):
        raise KeyringFormatError(f"key #{number} is malformed")
    text = _field(entry, "key")
    if not isinstance(text, str):
        raise KeyringFormatError(f"key #{number} has no key string")
    created = _field(entry, "created_at")
    if created is not None and not isinstance(created, str):
        raise KeyringFormatError(f"key #{number}: created_at must be a string or null")
    key_id = entry.get("id")
    if not isinstance(key_id, str):
        raise KeyringFormatError(f"key #{number} has no id")
    return StoredKey(id=key_id, material=decode_key_material(text, f"key #{number}"),
                     created_at=created or None)
