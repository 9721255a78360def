"""The sealed store of a tenant's biometric objects (voices, consents).

Ties the key hierarchy (``server.crypto``) to the blob store (``server.storage``): each
object gets its own data key, wrapped by its tenant's key; its blobs are sealed with
that key and bound to tenant, object and purpose. Erasing an object deletes its blobs,
and the caller deletes the wrapped key from the row: from then on no copy of a blob
(backups included) can be opened.
"""

from __future__ import annotations

from server.crypto.envelope import KeyHierarchy, ObjectKey, TenantKey, open_blob, seal_blob
from server.storage.blobs import BlobStore, blob_key


class Vault:
    """Seals, opens and erases per-object blobs of tenants."""

    def __init__(self, keys: KeyHierarchy, blobs: BlobStore) -> None:
        self.keys = keys
        self.blobs = blobs

    def new_tenant_key(self, tenant_id: str) -> bytes:
        """A new wrapped tenant key to store in the tenant row."""
        return self.keys.new_tenant_key(tenant_id).wrapped

    def new_object(self, tenant_id: str, wrapped_tenant_key: bytes, object_id: str) -> tuple[ObjectKey, bytes]:
        """A fresh data key for an object; returns it and its wrapped form for the row."""
        tenant_key = self._tenant_key(tenant_id, wrapped_tenant_key)
        issued = self.keys.new_object_key(tenant_key, object_id)
        return issued.key, issued.wrapped

    def object_key(self, tenant_id: str, wrapped_tenant_key: bytes, object_id: str,
                   wrapped_object_key: bytes) -> ObjectKey:
        """Open a stored object key (opaque DecryptionError if it is not this object's)."""
        tenant_key = self._tenant_key(tenant_id, wrapped_tenant_key)
        return self.keys.open_object_key(tenant_key, object_id, wrapped_object_key)

    def put(self, key: ObjectKey, purpose: str, plaintext: bytes) -> str:
        """Seal ``plaintext`` with the object's key and store it; returns the blob key."""
        name = blob_key("tenants", key.tenant_id, "objects", key.object_id, purpose)
        self.blobs.put(name, seal_blob(key, purpose, plaintext))
        return name

    def get(self, key: ObjectKey, purpose: str, name: str) -> bytes:
        """Read and open a blob stored by :meth:`put`."""
        return open_blob(key, purpose, self.blobs.get(name))

    @staticmethod
    def seal(key: ObjectKey, purpose: str, plaintext: bytes) -> bytes:
        """Seal a small value kept in a database column (e.g. a speaker embedding)."""
        return seal_blob(key, purpose, plaintext)

    @staticmethod
    def open(key: ObjectKey, purpose: str, sealed: bytes) -> bytes:
        """Open a value sealed by :meth:`seal`."""
        return open_blob(key, purpose, sealed)

    def erase_object(self, tenant_id: str, object_id: str) -> int:
        """Delete every blob of an object; returns how many were removed."""
        return self.blobs.delete_prefix(blob_key("tenants", tenant_id, "objects", object_id))

    def erase_tenant(self, tenant_id: str) -> int:
        """Delete every blob of a tenant; returns how many were removed."""
        return self.blobs.delete_prefix(blob_key("tenants", tenant_id))

    def _tenant_key(self, tenant_id: str, wrapped: bytes) -> TenantKey:
        return self.keys.open_tenant_key(tenant_id, wrapped)
