"""The key hierarchy: master keyring -> tenant keys -> object keys -> sealed blobs.

- The :class:`~server.crypto.master.MasterKeyring` wraps one random 256-bit key per
  tenant; the wrapped tenant key is stored in the tenant's database row.
- A :class:`TenantKey` wraps one random 256-bit key per *object*: the unit whose data
  must be destroyable on its own (a voice, a consent and its recording). The wrapped
  object key is stored in that object's row; deleting the row crypto-shreds the object.
- An :class:`ObjectKey` seals that object's blobs (voice model, consent recording).

Every token is bound by associated data to where it belongs:

=====================  =====================  ===========================================
token                  sealed with            associated data
=====================  =====================  ===========================================
wrapped tenant key     master (primary)       ``voxguard/tenant-key`` tenant
wrapped object key     tenant key             ``voxguard/object-key`` tenant, object
blob                   object key             ``voxguard/blob`` tenant, object, purpose
=====================  =====================  ===========================================

so a wrapped key or blob copied to another tenant, object or purpose fails to open with
the one opaque :class:`server.errors.DecryptionError`. Key objects carry their tenant and
object ids, which is where the blob's associated data comes from; they never show key
bytes in ``repr`` and cannot be pickled (open blobs in the process that holds the keys).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Generic, NoReturn, TypeVar

from server.crypto.aead import AssociatedData, RandomSource, SealingKey, associated_data
from server.crypto.master import MasterKeyring

TENANT_KEY_AAD = "voxguard/tenant-key"
OBJECT_KEY_AAD = "voxguard/object-key"
BLOB_AAD = "voxguard/blob"

PURPOSE_VOICE_MODEL = "voice-model"
PURPOSE_CONSENT_RECORDING = "consent-recording"

_PURPOSE_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_MAX_ID_LENGTH = 256


def _check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_ID_LENGTH:
        raise ValueError(f"{what} must be a non-empty string of at most {_MAX_ID_LENGTH} chars")
    return value


def _check_purpose(purpose: str) -> str:
    if not isinstance(purpose, str) or not _PURPOSE_RE.fullmatch(purpose):
        raise ValueError(
            f"blob purpose {purpose!r} must be 1-64 chars of a-z, 0-9, '.', '_', '-' "
            "(for example 'voice-model')"
        )
    return purpose


class TenantKey:
    """An opened tenant key: wraps and unwraps the tenant's object keys."""

    __slots__ = ("_key", "tenant_id")

    def __init__(self, tenant_id: str, key: SealingKey) -> None:
        self.tenant_id = tenant_id
        self._key = key

    def __repr__(self) -> str:
        return f"TenantKey(tenant_id={self.tenant_id!r}, key_id={self._key.key_id.hex()})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("TenantKey cannot be pickled; pass the wrapped key instead")


class ObjectKey:
    """An opened object (data) key: seals and opens one object's blobs."""

    __slots__ = ("_key", "object_id", "tenant_id")

    def __init__(self, tenant_id: str, object_id: str, key: SealingKey) -> None:
        self.tenant_id = tenant_id
        self.object_id = object_id
        self._key = key

    def __repr__(self) -> str:
        return (
            f"ObjectKey(tenant_id={self.tenant_id!r}, object_id={self.object_id!r}, "
            f"key_id={self._key.key_id.hex()})"
        )

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("ObjectKey cannot be pickled; pass the wrapped key instead")


K = TypeVar("K", TenantKey, ObjectKey)


@dataclass(frozen=True)
class IssuedKey(Generic[K]):
    """A newly generated key: ``key`` to use now, ``wrapped`` to store in the database."""

    key: K
    wrapped: bytes

    def __repr__(self) -> str:
        return f"IssuedKey(key={self.key!r}, wrapped=<{len(self.wrapped)} bytes>)"


class KeyHierarchy:
    """Generates, wraps and opens tenant and object keys under a master keyring.

    ``random`` (default ``os.urandom``) supplies new keys and nonces; inject a seeded
    source only in tests.
    """

    def __init__(self, master: MasterKeyring, *, random: RandomSource = os.urandom) -> None:
        self._master = master
        self._random = random

    @property
    def master(self) -> MasterKeyring:
        """The master keyring in use."""
        return self._master

    def new_tenant_key(self, tenant_id: str) -> IssuedKey[TenantKey]:
        """A fresh tenant key, wrapped under the master primary for ``tenant_id``."""
        _check_id(tenant_id, "tenant_id")
        key, material = SealingKey.generate(random=self._random)
        wrapped = self._master.wrap(material, _tenant_aad(tenant_id))
        return IssuedKey(TenantKey(tenant_id, key), wrapped)

    def open_tenant_key(self, tenant_id: str, wrapped: bytes) -> TenantKey:
        """Unwrap the stored tenant key of ``tenant_id``; opaque ``DecryptionError`` on failure."""
        _check_id(tenant_id, "tenant_id")
        material = self._master.unwrap(wrapped, _tenant_aad(tenant_id))
        return TenantKey(tenant_id, SealingKey(material, random=self._random))

    def tenant_key_needs_rewrap(self, wrapped: bytes) -> bool:
        """Whether a stored tenant key is wrapped under a non-primary master key."""
        return self._master.needs_rewrap(wrapped)

    def rewrap_tenant_key(self, tenant_id: str, wrapped: bytes) -> bytes:
        """The stored tenant key rewrapped under the master primary (after a rotation)."""
        _check_id(tenant_id, "tenant_id")
        return self._master.rewrap(wrapped, _tenant_aad(tenant_id))

    def new_object_key(self, tenant_key: TenantKey, object_id: str) -> IssuedKey[ObjectKey]:
        """A fresh key for object ``object_id`` of the tenant, wrapped under ``tenant_key``."""
        _check_id(object_id, "object_id")
        key, material = SealingKey.generate(random=self._random)
        wrapped = tenant_key._key.seal(material, _object_aad(tenant_key.tenant_id, object_id))
        return IssuedKey(ObjectKey(tenant_key.tenant_id, object_id, key), wrapped)

    def open_object_key(self, tenant_key: TenantKey, object_id: str, wrapped: bytes) -> ObjectKey:
        """Unwrap the stored key of ``object_id``; opaque ``DecryptionError`` on failure."""
        _check_id(object_id, "object_id")
        material = tenant_key._key.open(wrapped, _object_aad(tenant_key.tenant_id, object_id))
        return ObjectKey(tenant_key.tenant_id, object_id, SealingKey(material, random=self._random))


def seal_blob(key: ObjectKey, purpose: str, plaintext: bytes) -> bytes:
    """Encrypt one blob of ``key``'s object, bound to its tenant, object and ``purpose``."""
    return key._key.seal(plaintext, _blob_aad(key, _check_purpose(purpose)))


def open_blob(key: ObjectKey, purpose: str, sealed: bytes) -> bytes:
    """Decrypt a blob sealed by :func:`seal_blob` for the same object and purpose.

    Raises the opaque ``DecryptionError`` if the blob belongs to another tenant, object
    or purpose, or was changed in any way.
    """
    return key._key.open(sealed, _blob_aad(key, _check_purpose(purpose)))


def _tenant_aad(tenant_id: str) -> AssociatedData:
    return associated_data(TENANT_KEY_AAD, tenant=tenant_id)


def _object_aad(tenant_id: str, object_id: str) -> AssociatedData:
    return associated_data(OBJECT_KEY_AAD, tenant=tenant_id, object=object_id)


def _blob_aad(key: ObjectKey, purpose: str) -> AssociatedData:
    return associated_data(BLOB_AAD, tenant=key.tenant_id, object=key.object_id, purpose=purpose)
