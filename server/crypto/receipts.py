"""Signed deletion receipts: an Ed25519 server key signs canonical JSON statements.

A receipt proves, to anyone holding the server's public key, that this server stated
"these voices and keys were destroyed at this time". Encoded form (ASCII, URL-safe)::

    vgr1.<base64url(payload)>.<base64url(signature)>

where ``payload`` is the canonical JSON of
``{"type": "voxguard.receipt", "version": 1, "key_id": <16 hex>, "issued_at": <UTC>,
"fields": {...caller's fields...}}`` and the signature is Ed25519 over exactly those
payload bytes. The signing key lives in a PKCS#8 PEM file created with mode 0600 on first
start; its id is the first 8 bytes of SHA-256 of the raw public key, in hex.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from server.crypto.canonical import canonical_json, format_utc
from server.crypto.keyfile import KeyFileError, create_key_file, read_key_file

RECEIPT_TYPE = "voxguard.receipt"
RECEIPT_VERSION = 1
_PREFIX = "vgr1"


class InvalidReceipt(Exception):
    """A receipt is malformed, signed by another key, or was changed after signing."""


def public_key_id(public_key: Ed25519PublicKey) -> str:
    """Short hex id of a receipt-signing public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:8].hex()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class SignedReceipt:
    """A signed statement: the exact payload bytes and their Ed25519 signature."""

    payload: bytes
    signature: bytes

    @property
    def contents(self) -> dict[str, Any]:
        """The parsed payload (unverified: call :func:`verify_receipt` before trusting it)."""
        return json.loads(self.payload)

    @property
    def key_id(self) -> str:
        """Id of the key that claims to have signed this receipt."""
        return str(self.contents["key_id"])

    @property
    def fields(self) -> dict[str, Any]:
        """The caller's fields as signed (unverified)."""
        return dict(self.contents["fields"])

    def encode(self) -> str:
        """The ``vgr1.<payload>.<signature>`` text form (safe in JSON, URLs, proto strings)."""
        return f"{_PREFIX}.{_b64(self.payload)}.{_b64(self.signature)}"

    def to_bytes(self) -> bytes:
        """``encode()`` as ASCII bytes."""
        return self.encode().encode("ascii")

    @classmethod
    def decode(cls, text: str | bytes) -> SignedReceipt:
        """Parse the text form; :class:`InvalidReceipt` if it is not one (no signature check)."""
        try:
            if isinstance(text, bytes):
                text = text.decode("ascii")
            prefix, payload, signature = text.strip().split(".")
            if prefix != _PREFIX:
                raise ValueError(prefix)
            return cls(_unb64(payload), _unb64(signature))
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise InvalidReceipt("not a voxguard receipt") from None


@dataclass(frozen=True)
class VerifiedReceipt:
    """What a valid receipt says."""

    key_id: str
    issued_at: str
    fields: dict[str, Any]


class ReceiptSigner:
    """Signs receipts with the server's Ed25519 key; ``clock`` is injectable for tests."""

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._private_key = private_key
        self._clock = clock
        self.key_id = public_key_id(private_key.public_key())

    @classmethod
    def load_or_create(
        cls, path: Path, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> ReceiptSigner:
        """Load the signing key at ``path``, creating it (mode 0600) on first start.

        An unsafe or malformed file raises :class:`~server.crypto.keyfile.KeyFileError`.
        """
        try:
            return cls(_load_private_key(path), clock=clock)
        except FileNotFoundError:
            pass
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            create_key_file(path, pem)
        except FileExistsError:
            return cls(_load_private_key(path), clock=clock)
        return cls(key, clock=clock)

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The public half, for :func:`verify_receipt`."""
        return self._private_key.public_key()

    def public_key_pem(self) -> str:
        """The public key as SubjectPublicKeyInfo PEM, to publish to receipt holders."""
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def public_key_raw(self) -> bytes:
        """The 32 raw public key bytes."""
        return self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def sign(self, fields: Mapping[str, Any], *, issued_at: datetime | None = None) -> SignedReceipt:
        """Sign ``fields`` (canonical-JSON-able values) with a timestamp and this key's id.

        Ed25519 signatures are deterministic, so signing the same fields with the same
        ``issued_at`` again gives the same receipt, byte for byte (idempotent revocation).
        """
        payload = canonical_json(
            {
                "type": RECEIPT_TYPE,
                "version": RECEIPT_VERSION,
                "key_id": self.key_id,
                "issued_at": format_utc(issued_at if issued_at is not None else self._clock()),
                "fields": dict(fields),
            }
        )
        return SignedReceipt(payload, self._private_key.sign(payload))

    def __repr__(self) -> str:
        return f"ReceiptSigner(key_id={self.key_id})"


def load_public_key(data: bytes | str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text or its 32 raw bytes."""
    if isinstance(data, str):
        data = data.encode("ascii")
    if len(data) == 32:
        return Ed25519PublicKey.from_public_bytes(data)
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise TypeError("not an Ed25519 public key")
    return key


def verify_receipt(
    receipt: SignedReceipt | str | bytes, public_key: Ed25519PublicKey | bytes | str
) -> VerifiedReceipt:
    """Check a receipt's signature and structure; return what it says.

    ``public_key`` is a key object, PEM text or raw bytes. Any changed byte, another
    key, or a payload that is not a voxguard receipt raises :class:`InvalidReceipt`.
    """
    if not isinstance(receipt, SignedReceipt):
        receipt = SignedReceipt.decode(receipt)
    if not isinstance(public_key, Ed25519PublicKey):
        public_key = load_public_key(public_key)
    try:
        public_key.verify(receipt.signature, receipt.payload)
    except InvalidSignature:
        raise InvalidReceipt("receipt signature does not verify") from None
    try:
        contents = json.loads(receipt.payload)
        valid = (
            contents["type"] == RECEIPT_TYPE
            and contents["version"] == RECEIPT_VERSION
            and contents["key_id"] == public_key_id(public_key)
            and isinstance(contents["fields"], dict)
            and isinstance(contents["issued_at"], str)
        )
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise InvalidReceipt("signed payload is not a voxguard receipt")
    return VerifiedReceipt(contents["key_id"], contents["issued_at"], contents["fields"])


def _load_private_key(path: Path) -> Ed25519PrivateKey:
    pem = read_key_file(path)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"key file {path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"key file {path} does not hold an Ed25519 key")
    return key
