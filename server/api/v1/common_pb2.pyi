from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class DeletionReceipt(_message.Message):
    __slots__ = ("receipt_id", "payload_json", "signature", "signing_key_id")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    payload_json: bytes
    signature: bytes
    signing_key_id: str
    def __init__(self, receipt_id: _Optional[str] = ..., payload_json: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., signing_key_id: _Optional[str] = ...) -> None: ...
