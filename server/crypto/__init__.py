"""Sealed storage cryptography: AEAD tokens, the master keyring, the key hierarchy,
signed deletion receipts and the audit hash chain.

No database or gRPC imports: callers store the small wrapped keys this package produces
and pass them back in. See ``docs/security-crypto.md``.
"""
