"""Secret watermark keys and the keyring that lets them rotate.

A key is 32 random bytes. Everything the watermark needs (the time-frequency pattern, the
integrity tag) is derived from it with HMAC-SHA256 under fixed labels, so one secret per
deployment is all an operator stores. The keyring lists keys primary first: new outputs
are marked with the primary, and detection tries every key so that clips marked before a
rotation stay detectable.

Key file: the common keyring format of :mod:`server.crypto.keyring_file` with format
``voxguard-watermark-keyring`` (older files that spell the fields ``secret``/``created`` are
still read), checked like every key file by :mod:`server.crypto.keyfile` (owner-only).

``keys[0]`` is the primary. ``id`` is a public fingerprint (the first 6 bytes of
HMAC-SHA256(secret, "voxguard-watermark/key-id"), hex); it is checked on load so a
damaged file is refused instead of silently marking with a different key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from server.crypto.keyfile import KeyFileError, read_key_file, replace_key_file
from server.crypto.keyring_file import (
    KeyringFormatError,
    StoredKey,
    decode_keyring,
    encode_keyring,
)
from server.errors import InvalidArgument

SECRET_BYTES = 32
KEY_FILE_FORMAT = "voxguard-watermark-keyring"
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
        return encode_keyring(KEY_FILE_FORMAT, [
            StoredKey(id=key.id, material=key.secret, created_at=key.created or None)
            for key in self.keys
        ]).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        """Parse key-file text; raises :class:`InvalidArgument` on anything malformed."""
        try:
            stored = decode_keyring(text.encode("utf-8"), KEY_FILE_FORMAT, "watermark")
        except KeyringFormatError as exc:
            raise InvalidArgument(f"the watermark key file {exc}") from None
        keys = []
        for number, entry in enumerate(stored, start=1):
            key = WatermarkKey(secret=entry.material, created=entry.created_at or "")
            if entry.id != key.id:
                raise InvalidArgument(
                    f"watermark key #{number} id {entry.id!r} does not match its secret; "
                    "the key file is damaged"
                )
            keys.append(key)
        return cls(keys=tuple(keys))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Keyring:
        """Read a key file written by :meth:`save` (owner-only permissions are enforced)."""
        try:
            raw = read_key_file(Path(path))
        except FileNotFoundError as exc:
            raise InvalidArgument(f"watermark key file {os.fspath(path)!r} does not exist") from exc
        except KeyFileError as exc:
            raise InvalidArgument(exc.message) from None
        try:
            return cls.from_json(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"watermark key file {os.fspath(path)!r} cannot be read") from exc

    def save(self, path: str | os.PathLike[str]) -> None:
        """Atomically write the key file with mode 0600 (a crash never leaves half a file)."""
        replace_key_file(Path(path), self.to_json().encode("utf-8"))

    @property
    def ids(self) -> Sequence[str]:
        """Public ids of all keys, primary first."""
        return [key.id for key in self.keys]
