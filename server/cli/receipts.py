"""Deletion receipts as files: the text form the CLI writes, and every form it reads.

The CLI saves receipts in their compact text form (``vgr1.<payload>.<signature>``, see
``server.crypto.receipts``). ``voxguard admin verify-receipt`` also accepts JSON: an
object with a ``receipt`` field in that text form, or the ``DeletionReceipt`` message as
protobuf JSON (``payload_json`` / ``payloadJson`` and ``signature`` in base64), which is
what a client written in another language most likely stores.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from server.crypto.receipts import InvalidReceipt, SignedReceipt


def receipt_text(payload_json: bytes, signature: bytes) -> str:
    """The compact text form of a receipt returned by the API."""
    return SignedReceipt(payload_json, signature).encode()


def parse_receipt(text: str) -> SignedReceipt:
    """A receipt from any accepted file form; :class:`InvalidReceipt` if it is none of them."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return SignedReceipt.decode(stripped)
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError:
        raise InvalidReceipt("the file is neither a receipt nor valid JSON") from None
    if not isinstance(document, dict):
        raise InvalidReceipt("the JSON file does not hold a receipt object")
    document = document.get("receipt", document)
    if isinstance(document, str):
        return SignedReceipt.decode(document)
    if not isinstance(document, dict):
        raise InvalidReceipt("the JSON field 'receipt' is not a receipt")
    payload = document.get("payload_json", document.get("payloadJson"))
    signature = document.get("signature")
    if payload is None or signature is None:
        raise InvalidReceipt("the JSON receipt needs payload_json and signature")
    return SignedReceipt(_payload_bytes(payload), _b64(signature, "signature"))


def _payload_bytes(value: Any) -> bytes:
    if isinstance(value, dict):
        raise InvalidReceipt("payload_json must be the exact signed bytes (base64), not re-encoded JSON")
    if isinstance(value, str) and value.lstrip().startswith("{"):
        return value.encode("utf-8")
    return _b64(value, "payload_json")


def _b64(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidReceipt(f"{name} must be a base64 string")
    try:
        return base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4),
                                validate=True)
    except (binascii.Error, ValueError):
        raise InvalidReceipt(f"{name} is not valid base64") from None
