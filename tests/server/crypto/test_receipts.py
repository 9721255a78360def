"""Deletion receipts: signing key file, verification, and rejection of any change."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.crypto.keyfile import KeyFileError
from server.crypto.receipts import (
    InvalidReceipt,
    ReceiptSigner,
    SignedReceipt,
    load_public_key,
    verify_receipt,
)

WHEN = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
FIELDS = {
    "event": "consent.revoked",
    "tenant_id": "t1",
    "consent_id": "c1",
    "deleted_voice_ids": ["v1", "v2"],
    "destroyed_key_ids": ["0123456789abcdef"],
    "deleted_at": WHEN,
}


@pytest.fixture
def signer(tmp_path: Path) -> ReceiptSigner:
    return ReceiptSigner.load_or_create(tmp_path / "keys" / "receipts.pem", clock=lambda: WHEN)


def test_key_file_is_private_and_stable(tmp_path: Path, signer: ReceiptSigner) -> None:
    path = tmp_path / "keys" / "receipts.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = ReceiptSigner.load_or_create(path)
    assert again.key_id == signer.key_id
    assert again.public_key_raw() == signer.public_key_raw()
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        ReceiptSigner.load_or_create(path)


def test_a_receipt_verifies_with_the_public_key_in_every_form(signer: ReceiptSigner) -> None:
    receipt = signer.sign(FIELDS)
    for key in (signer.public_key, signer.public_key_pem(), signer.public_key_raw()):
        for form in (receipt, receipt.encode(), receipt.to_bytes()):
            verified = verify_receipt(form, key)
            assert verified.key_id == signer.key_id
            assert verified.issued_at == "2024-06-01T09:30:00Z"
            assert verified.fields["deleted_voice_ids"] == ["v1", "v2"]
            assert verified.fields["deleted_at"] == "2024-06-01T09:30:00Z"
    assert SignedReceipt.decode(receipt.encode()) == receipt
    assert receipt.encode().startswith("vgr1.")


def test_any_changed_byte_fails_verification(signer: ReceiptSigner) -> None:
    receipt = signer.sign(FIELDS)
    key = signer.public_key
    for i in range(len(receipt.payload)):
        changed = bytearray(receipt.payload)
        changed[i] ^= 0x01
        with pytest.raises(InvalidReceipt):
            verify_receipt(SignedReceipt(bytes(changed), receipt.signature), key)
    for i in range(len(receipt.signature)):
        changed = bytearray(receipt.signature)
        changed[i] ^= 0x01
        with pytest.raises(InvalidReceipt):
            verify_receipt(SignedReceipt(receipt.payload, bytes(changed)), key)


def test_another_servers_key_or_garbage_is_refused(tmp_path: Path, signer: ReceiptSigner) -> None:
    other = ReceiptSigner.load_or_create(tmp_path / "other.pem")
    receipt = signer.sign(FIELDS)
    with pytest.raises(InvalidReceipt):
        verify_receipt(receipt, other.public_key)
    for garbage in ("", "vgr1.abc", "jwt.a.b", "vgr1.!!.??", b"\xff\xfe"):
        with pytest.raises(InvalidReceipt):
            verify_receipt(garbage, signer.public_key)


def test_a_valid_signature_over_a_non_receipt_payload_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = Ed25519PrivateKey.generate()
    forged = SignedReceipt(b'{"fields":{}}', raw.sign(b'{"fields":{}}'))
    with pytest.raises(InvalidReceipt, match="not a voxguard receipt"):
        verify_receipt(forged, raw.public_key())


def test_unsafe_fields_are_refused_before_signing(signer: ReceiptSigner) -> None:
    with pytest.raises(TypeError):
        signer.sign({"blob": b"raw"})
    with pytest.raises(ValueError):
        signer.sign({"when": datetime(2024, 1, 1)})


def test_public_key_loading_rejects_other_key_types() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(TypeError):
        load_public_key(pem)
