"""The master keyring: the root AES-256 keys that wrap every tenant key.

A keyring is an immutable list of keys, primary first. New wraps always use the
primary; unwrapping picks the key named by the id inside the wrapped token, so after
:meth:`MasterKeyring.rotate` everything wrapped under older keys still opens. Rotation
procedure (see ``docs/security-crypto.md``): rotate and save, rewrap every stored tenant
key with :meth:`MasterKeyring.rewrap` while :meth:`MasterKeyring.needs_rewrap` says so,
then :meth:`MasterKeyring.retire` the old key and save again.

Key file: the common keyring format of :mod:`server.crypto.keyring_file` with format
``voxguard-master-keyring`` and 16-hex-digit ids (the sealing key's id).

Operator-provided keys (``from_operator_key``) are base64 strings, comma-separated,
primary first; key ids are derived from the key bytes, so a key has the same id in a
file and in the settings.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from server.crypto.aead import (
    KEY_SIZE,
    AssociatedData,
    RandomSource,
    SealingKey,
    opaque_error,
    token_key_id,
)
from server.crypto.keyfile import KeyFileError, create_key_file, read_key_file, replace_key_file
from server.crypto.keyring_file import (
    KeyringFormatError,
    StoredKey,
    decode_key_material,
    decode_keyring,
    encode_keyring,
)

FILE_FORMAT = "voxguard-master-keyring"

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MasterKeyInfo:
    """Public facts about one master key (safe to print)."""

    key_id: str
    created_at: datetime | None
    primary: bool


@dataclass(frozen=True, repr=False)
class _Entry:
    material: bytes
    created_at: datetime | None


class MasterKeyring:
    """Immutable list of 256-bit master keys, primary first; wraps and unwraps key material.

    ``random`` (default ``os.urandom``) supplies new keys and GCM nonces and ``clock``
    stamps new keys; both are injectable for tests only.
    """

    def __init__(
        self,
        materials: Sequence[tuple[bytes, datetime | None]],
        *,
        random: RandomSource = os.urandom,
        clock: Clock = _utc_now,
    ) -> None:
        if not materials:
            raise ValueError("a master keyring needs at least one key")
        self._entries = tuple(_Entry(m, c) for m, c in materials)
        self._random = random
        self._clock = clock
        self._keys = tuple(SealingKey(e.material, random=random) for e in self._entries)
        ids = [k.key_id for k in self._keys]
        if len(set(ids)) != len(ids):
            raise ValueError("the same master key appears twice in the keyring")
        self._by_id = {k.key_id: k for k in self._keys}

    # -- construction -------------------------------------------------------------------

    @classmethod
    def generate(
        cls, *, random: RandomSource = os.urandom, clock: Clock = _utc_now
    ) -> MasterKeyring:
        """A keyring holding one fresh random key."""
        return cls([(_fresh_material(random), clock())], random=random, clock=clock)

    @classmethod
    def load(
        cls, path: Path, *, random: RandomSource = os.urandom, clock: Clock = _utc_now
    ) -> MasterKeyring:
        """Read a keyring file; :class:`KeyFileError` if it is unsafe or malformed.

        Raises ``FileNotFoundError`` when the file does not exist.
        """
        raw = read_key_file(path)
        return cls(_parse_file(raw, path), random=random, clock=clock)

    @classmethod
    def load_or_create(
        cls, path: Path, *, random: RandomSource = os.urandom, clock: Clock = _utc_now
    ) -> MasterKeyring:
        """Load the keyring at ``path``, creating it (mode 0600) with one new key if absent.

        Creation is atomic and exclusive: if another process creates the file first, its
        keyring is loaded instead of being overwritten.
        """
        try:
            return cls.load(path, random=random, clock=clock)
        except FileNotFoundError:
            pass
        ring = cls.generate(random=random, clock=clock)
        try:
            create_key_file(path, ring._serialise())
        except FileExistsError:
            return cls.load(path, random=random, clock=clock)
        return ring

    @classmethod
    def from_operator_key(
        cls, value: str, *, random: RandomSource = os.urandom, clock: Clock = _utc_now
    ) -> MasterKeyring:
        """Keyring from operator settings: comma-separated base64 keys, primary first.

        Each key must decode (standard or URL-safe base64) to exactly 32 bytes.
        """
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts:
            raise ValueError("the operator master key setting is empty")
        materials = [(_decode_key(p, f"operator master key #{i + 1}"), None)
                     for i, p in enumerate(parts)]
        return cls(materials, random=random, clock=clock)

    @staticmethod
    def generate_operator_key(random: RandomSource = os.urandom) -> str:
        """A new random key as the base64 string ``from_operator_key`` accepts."""
        return base64.b64encode(_fresh_material(random)).decode("ascii")

    # -- inspection ---------------------------------------------------------------------

    @property
    def primary_key_id(self) -> str:
        """Hex id of the key new wraps use."""
        return self._keys[0].key_id.hex()

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Hex ids of every key, primary first."""
        return tuple(k.key_id.hex() for k in self._keys)

    def describe(self) -> tuple[MasterKeyInfo, ...]:
        """Id, creation time and primary flag of each key (no secrets), primary first."""
        return tuple(
            MasterKeyInfo(key.key_id.hex(), entry.created_at, index == 0)
            for index, (key, entry) in enumerate(zip(self._keys, self._entries, strict=True))
        )

    def key_id_of(self, wrapped: bytes) -> str:
        """Hex id of the master key that wrapped ``wrapped`` (``DecryptionError`` if malformed)."""
        return token_key_id(wrapped).hex()

    # -- wrapping -----------------------------------------------------------------------

    def wrap(self, key_material: bytes, aad: AssociatedData) -> bytes:
        """Seal ``key_material`` under the primary key, bound to ``aad``."""
        return self._keys[0].seal(key_material, aad)

    def unwrap(self, wrapped: bytes, aad: AssociatedData) -> bytes:
        """Open ``wrapped`` with whichever key it names; opaque ``DecryptionError`` on failure."""
        key = self._by_id.get(token_key_id(wrapped))
        if key is None:
            raise opaque_error()
        return key.open(wrapped, aad)

    def needs_rewrap(self, wrapped: bytes) -> bool:
        """Whether ``wrapped`` was sealed under a key other than the primary."""
        return token_key_id(wrapped) != self._keys[0].key_id

    def rewrap(self, wrapped: bytes, aad: AssociatedData) -> bytes:
        """Open ``wrapped`` and seal its content again under the primary (fresh nonce)."""
        return self.wrap(self.unwrap(wrapped, aad), aad)

    # -- key management -----------------------------------------------------------------

    def rotate(self) -> MasterKeyring:
        """A new keyring whose primary is a fresh key; every current key stays for unwrapping."""
        fresh = (_fresh_material(self._random), self._clock())
        return self._with([fresh, *((e.material, e.created_at) for e in self._entries)])

    def retire(self, key_id: str) -> MasterKeyring:
        """A new keyring without the non-primary key ``key_id``.

        Call only after every token wrapped under it was rewrapped: what it wrapped becomes
        unreadable. The primary cannot be retired (rotate first).
        """
        ids = self.key_ids
        if key_id not in ids:
            raise ValueError(f"no master key with id {key_id!r} in the keyring")
        if key_id == ids[0]:
            raise ValueError("the primary master key cannot be retired; rotate first")
        kept = [(e.material, e.created_at) for e, i in zip(self._entries, ids, strict=True)
                if i != key_id]
        return self._with(kept)

    def save(self, path: Path) -> None:
        """Atomically write the keyring to ``path`` (mode 0600, parent directories 0700)."""
        replace_key_file(path, self._serialise())

    def export_operator_key(self) -> str:
        """All keys as the comma-separated base64 setting ``from_operator_key`` reads.

        This string is the secret itself: show it only to the operator who asked for it.
        """
        return ",".join(base64.b64encode(e.material).decode("ascii") for e in self._entries)

    def __repr__(self) -> str:
        return f"MasterKeyring(primary={self.primary_key_id}, keys={len(self._keys)})"

    __str__ = __repr__

    # -- internals ----------------------------------------------------------------------

    def _with(self, materials: Sequence[tuple[bytes, datetime | None]]) -> MasterKeyring:
        return MasterKeyring(materials, random=self._random, clock=self._clock)

    def _serialise(self) -> bytes:
        return encode_keyring(FILE_FORMAT, [
            StoredKey(id=key.key_id.hex(), material=entry.material,
                      created_at=_format_time(entry.created_at))
            for key, entry in zip(self._keys, self._entries, strict=True)
        ])


def _fresh_material(random: RandomSource) -> bytes:
    material = random(KEY_SIZE)
    if len(material) != KEY_SIZE:
        raise ValueError("random source returned the wrong number of bytes")
    return material


def _decode_key(text: str, what: str) -> bytes:
    return decode_key_material(text, what)


def _format_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(text: object, path: Path) -> datetime | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise KeyFileError(f"key file {path}: created_at must be a string or null")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise KeyFileError(f"key file {path}: created_at {text!r} is not ISO 8601") from None


def _parse_file(raw: bytes, path: Path) -> list[tuple[bytes, datetime | None]]:
    try:
        stored = decode_keyring(raw, FILE_FORMAT, "master")
    except KeyringFormatError as exc:
        raise KeyFileError(f"key file {path} {exc}") from None
    materials = []
    for number, key in enumerate(stored, start=1):
        if key.id != SealingKey(key.material).key_id.hex():
            raise KeyFileError(
                f"key file {path}: key #{number} does not match its id (file corrupted?)"
            )
        materials.append((key.material, _parse_time(key.created_at, path)))
    return materials
