"""Secret watermark keys and the keyring that lets them rotate.

A key is 32 random bytes. Everything the watermark needs (the time-frequency pattern, the
integrity tag) is derived from it with HMAC-SHA256 under fixed labels, so one secret per
deployment is all an operator stores. The keyring lists keys primary first: new outputs
are marked with the primary, and detection tries every key so that clips marked before a
rotation stay detectable.

Key file format (JSON, UTF-8, written with mode 0600)::

    {
      "format": "voxguard-watermark-keyring",
      "version": 1,
      "keys": [
        {"id": "3f2a9c41d0b7", "secret": "<base64 of 32 bytes>", "created": "2026-01-01T00:00:00Z"},
        ...
      ]
    }

``keys[0]`` is the primary. ``id`` is a public fingerprint (the first 6 bytes of
HMAC-SHA256(secret, "voxguard-watermark/key-id"), hex); it is checked on load so a
damaged file is refused instead of silently marking with a different key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from server.errors import InvalidArgument

SECRET_BYTES = 32
KEY_FILE_FORMAT = "voxguard-watermark-keyring"
KEY_FILE_VERSION = 1
_ID_LABEL = b"voxguard-watermark/key-id"


def _fingerprint(secret: bytes) -> str:
    return hmac.new(secret, _ID_LABEL, hashlib.sha256).digest()[:6].hex()


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WatermarkKey:
    """One secret watermark key: ``id`` is public, ``secret`` never leaves the server."""

    secret: bytes = field(repr=False)
    created: str = ""
    id: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes | bytearray) or len(self.secret) != SECRET_BYTES:
            raise InvalidArgument(f"a watermark key secret must be exactly {SECRET_BYTES} bytes")
        object.__setattr__(self, "secret", bytes(self.secret))
        object.__setattr__(self, "id", _fingerprint(self.secret))

    def derive(self, label: str) -> bytes:
        """A 32-byte sub-key for one purpose (pattern seed, tag key), independent of others."""
        return hmac.new(self.secret, b"voxguard-watermark/" + label.encode(), hashlib.sha256).digest()

    @classmethod
    def generate(
        cls,
        *,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        now: Callable[[], datetime] = _utc_now,
    ) -> WatermarkKey:
        """A fresh key from a cryptographic random source (injectable for tests)."""
        stamp = now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(secret=random_bytes(SECRET_BYTES), created=stamp)


@dataclass(frozen=True)
class Keyring:
    """Watermark keys, primary first; older keys stay for detection after a rotation."""

    keys: tuple[WatermarkKey, ...]

    def __post_init__(self) -> None:
        keys = tuple(self.keys)
        if not keys:
            raise InvalidArgument("a watermark keyring needs at least one key")
        ids = [key.id for key in keys]
        if len(set(ids)) != len(ids):
            raise InvalidArgument("a watermark keyring holds the same key twice")
        object.__setattr__(self, "keys", keys)

    @property
    def primary(self) -> WatermarkKey:
        """The key new outputs are marked with."""
        return self.keys[0]

    def find(self, key_id: str) -> WatermarkKey | None:
        """The key with this public id, or ``None``."""
        return next((key for key in self.keys if key.id == key_id), None)

    @classmethod
    def generate(
        cls,
        *,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        now: Callable[[], datetime] = _utc_now,
    ) -> Keyring:
        """A keyring holding one new key."""
        return cls(keys=(WatermarkKey.generate(random_bytes=random_bytes, now=now),))

    def rotate(
        self,
        *,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        now: Callable[[], datetime] = _utc_now,
    ) -> Keyring:
        """A new keyring whose primary is a fresh key, followed by all current keys."""
        return Keyring(keys=(WatermarkKey.generate(random_bytes=random_bytes, now=now), *self.keys))

    def to_json(self) -> str:
        """The key-file text (see the module docstring); it contains the secrets."""
        entries = [
            {
                "id": key.id,
                "secret": base64.b64encode(key.secret).decode("ascii"),
                "created": key.created,
            }
            for key in self.keys
        ]
        document = {"format": KEY_FILE_FORMAT, "version": KEY_FILE_VERSION, "keys": entries}
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        """Parse key-file text; raises :class:`InvalidArgument` on anything malformed."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgument("the watermark key file is not valid JSON") from exc
        if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
            raise InvalidArgument(f"the watermark key file must have format {KEY_FILE_FORMAT!r}")
        if document.get("version") != KEY_FILE_VERSION:
            raise InvalidArgument(
                f"watermark key file version {document.get('version')!r} is not supported; "
                f"this build reads version {KEY_FILE_VERSION}"
            )
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise InvalidArgument("the watermark key file has no 'keys' list")
        return cls(keys=tuple(_parse_entry(entry, index) for index, entry in enumerate(entries)))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Keyring:
        """Read a key file written by :meth:`save`."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise InvalidArgument(f"watermark key file {os.fspath(path)!r} does not exist") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"watermark key file {os.fspath(path)!r} cannot be read") from exc
        return cls.from_json(text)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the key file with mode 0600 (created that way, never world-readable).

        The file is written to a sibling temporary file and renamed into place, so a crash
        never leaves a half-written keyring behind.
        """
        target = Path(path)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(self.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    @property
    def ids(self) -> Sequence[str]:
        """Public ids of all keys, primary first."""
        return [key.id for key in self.keys]


def _parse_entry(entry: object, index: int) -> WatermarkKey:
    if not isinstance(entry, dict) or not isinstance(entry.get("secret"), str):
        raise InvalidArgument(f"watermark key #{index} has no 'secret' string")
    try:
        secret = base64.b64decode(entry["secret"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidArgument(f"watermark key #{index} secret is not base64") from exc
    key = WatermarkKey(secret=secret, created=str(entry.get("created", "")))
    if "id" in entry and entry["id"] != key.id:
        raise InvalidArgument(
            f"watermark key #{index} id {entry['id']!r} does not match its secret; "
            "the key file is damaged"
        )
    return key
