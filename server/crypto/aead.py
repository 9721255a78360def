"""AES-256-GCM sealing with a versioned token format and mandatory associated data.

Token layout (all sizes in bytes)::

    version (1) = 0x01 | key id (8) | nonce (12) | ciphertext (n) | GCM tag (16)

The GCM associated data is the token header (version and key id) followed by the
caller's :class:`AssociatedData`, so neither the header nor the context a token was
sealed for can be changed without the tag failing. Every failure to open a token (too
short, unknown version, other key, other associated data, any flipped bit) raises the
same :class:`server.errors.DecryptionError` with the same message.

Associated data is not optional and not raw bytes: it is built by
:func:`associated_data`, a canonical, length-prefixed encoding of a purpose and named
fields, so ``tenant="a", object="bc"`` can never collide with ``tenant="ab", object="c"``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server.errors import DecryptionError

TOKEN_VERSION = 1
KEY_SIZE = 32
KEY_ID_SIZE = 8
NONCE_SIZE = 12
TAG_SIZE = 16
HEADER_SIZE = 1 + KEY_ID_SIZE
TOKEN_OVERHEAD = HEADER_SIZE + NONCE_SIZE + TAG_SIZE

_AAD_MAGIC = b"voxguard-aad-v1"
_KEY_ID_LABEL = b"voxguard key id v1"
_OPAQUE_MESSAGE = "ciphertext could not be opened"

RandomSource = Callable[[int], bytes]
"""``n -> n random bytes``. Production code uses ``os.urandom`` (the default everywhere);
tests may inject a seeded source to make tokens reproducible. Never inject anything
predictable outside tests: a repeated GCM nonce under one key breaks confidentiality and
integrity."""


@dataclass(frozen=True)
class AssociatedData:
    """Canonically encoded context a ciphertext is bound to; build with :func:`associated_data`."""

    encoded: bytes
    purpose: str

    def __repr__(self) -> str:
        return f"AssociatedData(purpose={self.purpose!r}, {len(self.encoded)} bytes)"


def _length_prefixed(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">I", len(raw)) + raw


def associated_data(purpose: str, /, **fields: str) -> AssociatedData:
    """Encode ``purpose`` and ``fields`` into unambiguous associated data.

    Layout: magic, then the purpose, then the field count, then each ``name, value`` pair
    in sorted name order; every string is UTF-8 with a 4-byte big-endian length prefix.
    Sorting makes the keyword order irrelevant; length prefixes make concatenation
    ambiguities impossible. Values must be non-empty strings (an empty id is a bug).
    """
    if not isinstance(purpose, str) or not purpose:
        raise ValueError("associated data needs a non-empty purpose string")
    parts = [_AAD_MAGIC, _length_prefixed(purpose), struct.pack(">I", len(fields))]
    for name in sorted(fields):
        value = fields[name]
        if not isinstance(value, str) or not value:
            raise ValueError(f"associated data field {name!r} must be a non-empty string")
        parts.append(_length_prefixed(name))
        parts.append(_length_prefixed(value))
    return AssociatedData(encoded=b"".join(parts), purpose=purpose)


def derive_key_id(key: bytes) -> bytes:
    """Stable 8-byte id of a key: a keyed hash of the key, which reveals nothing about it.

    Deriving ids (instead of drawing them) means the same key has the same id whether it
    came from a key file or from the operator's settings.
    """
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).digest()[:KEY_ID_SIZE]


def token_key_id(token: bytes) -> bytes:
    """Key id a token names, after checking the version and minimum length.

    Raises :class:`DecryptionError` for anything that is not a well-formed token.
    """
    if not isinstance(token, bytes | bytearray | memoryview):
        raise TypeError("a token must be bytes")
    token = bytes(token)
    if len(token) < TOKEN_OVERHEAD or token[0] != TOKEN_VERSION:
        raise DecryptionError(_OPAQUE_MESSAGE)
    return token[1:HEADER_SIZE]


class SealingKey:
    """One AES-256-GCM key with its id: seals plaintexts into tokens and opens them.

    The key bytes are never part of ``repr``/``str``. Instances are immutable.
    """

    __slots__ = ("_aead", "_key_id", "_random")

    def __init__(self, key: bytes, *, random: RandomSource = os.urandom) -> None:
        if not isinstance(key, bytes) or len(key) != KEY_SIZE:
            raise ValueError(f"an AES-256 key is exactly {KEY_SIZE} bytes")
        self._aead = AESGCM(key)
        self._key_id = derive_key_id(key)
        self._random = random

    @classmethod
    def generate(cls, *, random: RandomSource = os.urandom) -> tuple[SealingKey, bytes]:
        """A fresh random key and its raw bytes (the caller wraps or stores those)."""
        material = random(KEY_SIZE)
        if len(material) != KEY_SIZE:
            raise ValueError("random source returned the wrong number of bytes")
        return cls(material, random=random), material

    @property
    def key_id(self) -> bytes:
        """The 8-byte id written into every token this key seals."""
        return self._key_id

    def seal(self, plaintext: bytes, aad: AssociatedData) -> bytes:
        """Encrypt and authenticate ``plaintext`` bound to ``aad``; return the token."""
        if not isinstance(aad, AssociatedData):
            raise TypeError("aad must be built with associated_data(...)")
        nonce = self._random(NONCE_SIZE)
        if len(nonce) != NONCE_SIZE:
            raise ValueError("random source returned the wrong number of bytes")
        header = bytes([TOKEN_VERSION]) + self._key_id
        body = self._aead.encrypt(nonce, bytes(plaintext), header + aad.encoded)
        return header + nonce + body

    def open(self, token: bytes, aad: AssociatedData) -> bytes:
        """Authenticate and decrypt ``token`` for ``aad``.

        Raises :class:`DecryptionError` (one opaque message) on any failure.
        """
        if not isinstance(aad, AssociatedData):
            raise TypeError("aad must be built with associated_data(...)")
        key_id = token_key_id(token)
        if not hmac.compare_digest(key_id, self._key_id):
            raise DecryptionError(_OPAQUE_MESSAGE)
        token = bytes(token)
        nonce = token[HEADER_SIZE : HEADER_SIZE + NONCE_SIZE]
        try:
            return self._aead.decrypt(
                nonce, token[HEADER_SIZE + NONCE_SIZE :], token[:HEADER_SIZE] + aad.encoded
            )
        except InvalidTag:
            raise DecryptionError(_OPAQUE_MESSAGE) from None

    def __repr__(self) -> str:
        return f"SealingKey(key_id={self._key_id.hex()})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("SealingKey cannot be pickled; pass the wrapped key instead")


def opaque_error() -> DecryptionError:
    """The single decryption error every module in this package raises."""
    return DecryptionError(_OPAQUE_MESSAGE)
